"""Readers survive crafted stores: malformed records, huge lines, symlinks, FIFOs, devices.

One store holds a good run, a run whose journal interleaves every kind of bad
record with good ones, and runs whose files point elsewhere. Every reader
(``runs ls``, ``runs show``, ``get_run``, ``search_runs``, ``autolog ui``'s API)
must read the good records, skip the bad ones with one warning each naming
the run and line, ignore unknown future kinds silently, and never hang,
follow a link, or answer 500.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import warnings
import zlib
from collections.abc import Iterator
from pathlib import Path

import pytest

import autolog
from autolog._journal import encode
from autolog.errors import AutologWarning, RunNotFoundError

GOOD, CRAFTED = "1" * 32, "2" * 32
LINKED_RUN, ZERO_JOURNAL, FIFO_JOURNAL, ETC_ARTIFACTS = "3" * 32, "4" * 32, "5" * 32, "6" * 32


def line(body: bytes) -> bytes:
    """A journal line with a valid checksum around any bytes."""
    return b"%08x %s\n" % (zlib.crc32(body), body)


def raw(record: object) -> bytes:
    return line(json.dumps(record).encode())


def header(run_id: str, name: str) -> list:
    return ["run", {"id": run_id, "name": name, "experiment": "crafted", "start_time": 1000}]


#: Each malformed shape, as the journal line that carries it.
MALFORMED = {
    "params value not text": raw(["params", {"alpha": 1}]),
    "params body a list": raw(["params", ["alpha", "1"]]),
    "tags value a dict": raw(["tags", {"team": {"a": "b"}}]),
    "metric value text": raw(["m", "loss", "high", 3, 1003]),
    "metric step float": raw(["m", "loss", 0.5, 3.5, 1003]),
    "metric value bool": raw(["m", "loss", True, 3, 1003]),
    "metric too short": raw(["m", "loss", 0.5]),
    "artifact path number": raw(["artifact", {"path": 7, "size": 1, "sha256": ""}]),
    "artifact size text": raw(["artifact", {"path": "a.txt", "size": "big", "sha256": ""}]),
    "model nested deep": raw(["model", {"path": "model", "x": json.loads("[" * 60 + "]" * 60)}]),
    "end status unknown": raw(["end", {"status": "EXPLODED", "end_time": 5}]),
    "end time text": raw(["end", {"status": "FINISHED", "end_time": "soon"}]),
    "second header for another run": raw(header("f" * 32, "impostor")),
    "header name a number": raw(["run", {"id": CRAFTED, "name": 5}]),
    "not an array": raw({"kind": "params"}),
    "empty array": raw([]),
    "nesting beyond the decoder": line(b"[" * 200_000 + b"]" * 200_000),
    "huge line": line(b'["params",{"big":"' + b"x" * (5 << 20) + b'"}]'),
    "line longer than one read": line(b'["params",{"big":"' + b"y" * (12 << 20) + b'"}]'),
    "not UTF-8": line(b'["params",{"name":"\xff\xfe"}]'),
}


def crafted_journal() -> bytes:
    """Good records with each malformed one (and an unknown future kind) in between."""
    good = [
        header(CRAFTED, "crafted"),
        ["params", {"alpha": "0.1"}],
        ["future_kind", {"anything": [1, 2, 3]}],
        ["m", "loss", 0.9, 0, 1001],
    ]
    data = b"".join(encode(r) for r in good)
    for bad in MALFORMED.values():
        data += bad
    tail = [
        ["m", "loss", 0.2, 1, 1002],
        ["tags", {"team": "vision"}],
        ["end", {"status": "FINISHED", "end_time": 2000}],
    ]
    return data + b"".join(encode(r) for r in tail)


@pytest.fixture
def crafted_store(store: Path) -> Iterator[Path]:
    """The configured store with the good, the crafted and the pointing-elsewhere runs."""
    run_dir = store / GOOD
    run_dir.mkdir(parents=True)
    good = [header(GOOD, "good"), ["params", {"alpha": "0.5"}], ["m", "loss", 0.3, 0, 1001]]
    good.append(["artifact", {"path": "notes.txt", "size": 2, "sha256": ""}])
    good.append(["end", {"status": "FINISHED", "end_time": 3000}])
    (run_dir / "journal.jsonl").write_bytes(b"".join(encode(r) for r in good))
    (run_dir / "artifacts").mkdir()
    (run_dir / "artifacts" / "notes.txt").write_text("ok")
    (store / CRAFTED).mkdir()
    (store / CRAFTED / "journal.jsonl").write_bytes(crafted_journal())
    os.symlink(store / GOOD, store / LINKED_RUN)  # a run folder that is a symlink
    (store / ZERO_JOURNAL).mkdir()
    os.symlink("/dev/zero", store / ZERO_JOURNAL / "journal.jsonl")
    (store / FIFO_JOURNAL).mkdir()
    os.mkfifo(store / FIFO_JOURNAL / "journal.jsonl")
    etc = store / ETC_ARTIFACTS
    etc.mkdir()
    records = [
        header(ETC_ARTIFACTS, "etc"),
        ["artifact", {"path": "passwd", "size": 1, "sha256": ""}],
    ]
    (etc / "journal.jsonl").write_bytes(b"".join(encode(r) for r in records))
    os.symlink("/etc", etc / "artifacts")
    yield store


def readable_ids() -> set[str]:
    return {GOOD, CRAFTED, ETC_ARTIFACTS}


class TestApi:
    def test_each_bad_record_is_skipped_with_one_warning(self, crafted_store: Path) -> None:
        """The crafted run reads its good records; each bad line warns once, naming run and line."""
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            run = autolog.get_run(CRAFTED)
            autolog.get_run(CRAFTED)  # read again: no second warning
        messages = [str(w.message) for w in caught if issubclass(w.category, AutologWarning)]
        assert len(messages) == len(MALFORMED), "\n".join(messages)
        assert all(CRAFTED in m and "line " in m for m in messages)
        assert not any("future_kind" in m for m in messages)
        assert (run.name, run.status, run.end_time) == ("crafted", "FINISHED", 2000)
        assert run.params == {"alpha": "0.1"} and run.tags == {"team": "vision"}
        assert run.metrics == {"loss": 0.2}
        history = autolog.get_metric_history(CRAFTED, "loss")
        assert [(p.step, p.value) for p in history] == [(0, 0.9), (1, 0.2)]

    def test_search_reads_every_other_run(self, crafted_store: Path) -> None:
        """search_runs lists the good and crafted runs; links, FIFOs and devices are skipped."""
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", AutologWarning)
            runs = autolog.search_runs()
            found = autolog.search_runs(filter="params.alpha = '0.1'")
        assert {r.id for r in runs} == readable_ids()
        assert [r.id for r in found] == [CRAFTED]

    @pytest.mark.parametrize("run_id", [LINKED_RUN, ZERO_JOURNAL, FIFO_JOURNAL])
    def test_runs_pointing_elsewhere_are_not_found(self, crafted_store: Path, run_id: str) -> None:
        """A symlinked run folder, a journal linked to /dev/zero and a FIFO are not read."""
        with pytest.raises(RunNotFoundError):
            autolog.get_run(run_id)

    def test_an_artifacts_folder_linked_to_etc_is_not_followed(
        self, crafted_store: Path, tmp_path: Path
    ) -> None:
        from autolog._store import LocalStore

        with pytest.raises(RunNotFoundError):
            LocalStore(crafted_store).download_artifacts(ETC_ARTIFACTS, "passwd", tmp_path)
        assert not (tmp_path / "passwd").exists()


class TestCli:
    def run_cli(self, store: Path, *args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-m", "autolog", *args],
            env={**os.environ, "AUTOLOG_DIR": str(store)},
            capture_output=True,
            text=True,
            timeout=60,
        )

    def test_runs_ls_lists_the_readable_runs(self, crafted_store: Path) -> None:
        done = self.run_cli(crafted_store, "runs", "ls")
        assert done.returncode == 0, done.stderr
        assert "good" in done.stdout and "crafted" in done.stdout
        assert "Traceback" not in done.stderr
        assert done.stderr.count(CRAFTED) == len(MALFORMED)

    @pytest.mark.slow  # CLI processes
    def test_runs_show_of_the_crafted_run(self, crafted_store: Path) -> None:
        done = self.run_cli(crafted_store, "runs", "show", CRAFTED)
        assert done.returncode == 0, done.stderr
        assert "alpha" in done.stdout and "vision" in done.stdout
        for run_id in (ZERO_JOURNAL, FIFO_JOURNAL):
            missing = self.run_cli(crafted_store, "runs", "show", run_id)
            assert missing.returncode != 0 and "Traceback" not in missing.stderr


class TestUi:
    @pytest.fixture
    def client(self, crafted_store: Path) -> Iterator:
        from starlette.testclient import TestClient

        from autolog.ui.app import create_ui_app
        from autolog.ui.journal_reader import open_reader

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield TestClient(
                create_ui_app(open_reader(str(crafted_store))), base_url="http://127.0.0.1"
            )

    def test_every_page_answers_without_a_500(self, client) -> None:
        """Listing, runs, the crafted run, charts and the linked runs: 200 or 4xx, never 500."""
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", AutologWarning)
            experiments = client.get("/ui-api/experiments")
            assert experiments.status_code == 200
            assert [e["runs"] for e in experiments.json()["experiments"]] == [3]
            runs = client.get("/ui-api/runs", params={"experiment": "crafted"})
            assert runs.status_code == 200 and len(runs.json()["runs"]) == 3
            assert client.get(f"/ui-api/runs/{CRAFTED}").json()["tags"] == {"team": "vision"}
            chart = client.get(f"/ui-api/runs/{CRAFTED}/metric", params={"key": "loss"})
            assert chart.json()["value"] == [0.9, 0.2]
            for run_id in (LINKED_RUN, ZERO_JOURNAL, FIFO_JOURNAL):
                assert client.get(f"/ui-api/runs/{run_id}").status_code == 404

    def test_an_artifacts_folder_linked_to_etc_is_not_served(self, client) -> None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", AutologWarning)
            answer = client.get(f"/ui-api/runs/{ETC_ARTIFACTS}/artifacts/passwd")
            good = client.get(f"/ui-api/runs/{GOOD}/artifacts/notes.txt")
        assert answer.status_code == 404 and b"root:" not in answer.content
        assert good.status_code == 200 and good.content == b"ok"
