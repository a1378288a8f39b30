"""The local store as a unit: runs written by autolog's real API, read back through LocalStore."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
from pathlib import Path

import pytest

import autolog
from autolog._store import LocalStore, local_path, sha256_file, write_atomically
from autolog.errors import RunNotFoundError


def log_run(name: str, experiment: str = "Default", lr: float = 0.1, steps: int = 3) -> str:
    """One finished run with a param, a metric history and a file artifact; returns its id."""
    with autolog.start_run(name=name, experiment=experiment) as run:
        run.log_param("lr", lr)
        for step in range(steps):
            run.log_metric("loss", 1.0 / (step + 1), step=step)
        notes = Path(f"{name}-notes.txt")
        notes.write_text(f"notes of {name}\n")
        run.log_artifact(notes)
    return run.id


class TestReading:
    def test_a_run_reads_back_with_its_params_metrics_and_history(self, store: Path) -> None:
        run_id = log_run("first", lr=0.5, steps=4)
        local = LocalStore(store)

        run = local.get_run(run_id)
        history = local.get_metric_history(run_id, "loss")

        assert (run.name, run.params["lr"], run.metrics["loss"]) == ("first", "0.5", 0.25)
        assert [(p.step, p.value) for p in history] == [(0, 1.0), (1, 0.5), (2, 1 / 3), (3, 0.25)]
        assert local.get_metric_history(run_id, "never-logged") == []

    def test_close_lets_go_of_the_index_file_and_reading_reopens_it(self, store: Path) -> None:
        """A closed store holds no file of its folder open (a disk can be unmounted)."""
        run_id = log_run("first")
        local = LocalStore(store)

        def open_in_store() -> list[str]:
            names = []
            for fd in os.listdir("/proc/self/fd"):
                with contextlib.suppress(OSError):  # the listing's own descriptor is gone
                    names.append(os.readlink(f"/proc/self/fd/{fd}"))
            return [name for name in names if name.startswith(str(store.resolve()))]

        assert local.get_run(run_id).name == "first"
        assert open_in_store()  # the index answered, from its SQLite file
        local.close()
        assert open_in_store() == []
        assert local.get_run(run_id).name == "first"

    def test_run_ids_list_only_folders_that_hold_a_journal(self, store: Path) -> None:
        ids = {log_run("a"), log_run("b")}
        (store / "not-a-run").mkdir()
        (store / ("0" * 32)).mkdir()  # a run id's shape, but no journal in it

        assert set(LocalStore(store).run_ids()) == ids

    def test_a_store_that_does_not_exist_lists_nothing(self, tmp_path: Path) -> None:
        missing = LocalStore(tmp_path / "nowhere")

        assert list(missing.run_ids()) == []
        assert missing.search_runs() == []

    def test_search_selects_by_experiment_and_filter(self, store: Path) -> None:
        low = log_run("low", experiment="grid", lr=0.01)
        high = log_run("high", experiment="grid", lr=0.5)
        log_run("elsewhere", experiment="other", lr=0.5)
        local = LocalStore(store)

        assert {r.id for r in local.search_runs(experiment="grid")} == {low, high}
        assert [r.id for r in local.search_runs("grid", filter="params.lr = '0.5'")] == [high]
        assert len(local.search_runs()) == 3

    def test_unknown_and_malformed_ids_are_refused_naming_the_store(self, store: Path) -> None:
        local = LocalStore(store)
        for run_id in ("f" * 32, "../../etc", ""):
            with pytest.raises(RunNotFoundError, match="local store"):
                local.get_run(run_id)

    def test_a_journal_without_a_header_is_not_a_run(self, store: Path) -> None:
        run_id = "a" * 32
        LocalStore(store).create_run_dir(run_id)
        LocalStore(store).journal_path(run_id).write_bytes(b"")

        with pytest.raises(RunNotFoundError, match="no readable header"):
            LocalStore(store).get_run(run_id)
        assert LocalStore(store).search_runs() == []

    def test_creating_a_run_folder_twice_is_an_error(self, tmp_path: Path) -> None:
        local = LocalStore(tmp_path)
        local.create_run_dir("b" * 32)

        with pytest.raises(FileExistsError):
            local.create_run_dir("b" * 32)


class TestArtifacts:
    def test_a_logged_file_downloads_with_the_same_bytes(self, store: Path, tmp_path: Path) -> None:
        run_id = log_run("art")

        copy = LocalStore(store).download_artifacts(run_id, "art-notes.txt", tmp_path / "out")

        assert copy == tmp_path / "out" / "art-notes.txt"
        assert copy.read_text() == "notes of art\n"

    def test_paths_leaving_the_artifact_folder_are_refused(self, store: Path) -> None:
        run_id = log_run("art")
        local = LocalStore(store)

        for path in ("../journal.jsonl", "../../other", "/etc/passwd"):
            with pytest.raises(ValueError, match="leaves the run's artifact folder"):
                local.artifact_path(run_id, path)
        assert local.artifact_path(run_id, "") == local.artifacts_dir(run_id).resolve()

    def test_a_missing_artifact_is_named_in_the_error(self, store: Path, tmp_path: Path) -> None:
        run_id = log_run("art")

        with pytest.raises(RunNotFoundError, match="no artifact 'absent.bin'"):
            LocalStore(store).download_artifacts(run_id, "absent.bin", tmp_path)


class TestAcknowledgedOffsets:
    def test_an_offset_survives_a_new_store_object_and_is_per_backend(self, store: Path) -> None:
        run_id = log_run("shipped")
        LocalStore(store).set_acked_offset(run_id, "backend-a", "http://a", 123)

        again = LocalStore(store)
        assert again.acked_offset(run_id, "backend-a") == 123
        assert again.acked_offset(run_id, "backend-b") == 0
        saved = json.loads((store / run_id / "shipped" / "backend-a.json").read_text())
        assert saved == {"uri": "http://a", "offset": 123}

    def test_a_damaged_offset_file_means_start_from_zero(self, store: Path) -> None:
        run_id = log_run("shipped")
        shipped = store / run_id / "shipped"
        shipped.mkdir()
        (shipped / "half.json").write_text('{"offset": ')
        (shipped / "wrong.json").write_text('{"offset": "many"}')

        assert LocalStore(store).acked_offset(run_id, "half") == 0
        assert LocalStore(store).acked_offset(run_id, "wrong") == 0


class TestHelpers:
    def test_local_path_reads_paths_and_file_uris_and_nothing_else(self, tmp_path: Path) -> None:
        assert local_path("runs") == Path("runs")
        assert local_path("~/runs") == Path.home() / "runs"
        assert local_path("file:///data/my%20runs") == Path("/data/my runs")
        assert local_path("http://server:5000") is None
        assert local_path("wasbs://c@a.blob.core.windows.net/runs") is None

    def test_write_atomically_replaces_whole_and_leaves_no_temporary(self, tmp_path: Path) -> None:
        target = tmp_path / "state.json"
        target.write_text("old")

        write_atomically(target, "new")

        assert target.read_text() == "new"
        assert os.listdir(tmp_path) == ["state.json"]

    def test_sha256_file_matches_hashlib_across_chunk_boundaries(self, tmp_path: Path) -> None:
        data = os.urandom((1 << 20) + 17)
        path = tmp_path / "blob"
        path.write_bytes(data)

        assert sha256_file(path) == hashlib.sha256(data).hexdigest()
