"""The public API: runs, nesting, logging, reading back."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

import autolog
from autolog.errors import InvalidInputError, RunNotFoundError


class TestRuns:
    def test_readme_example_reads_back(self, store: Path, tmp_path: Path) -> None:
        """The README's first example records params, 100 metric steps and an artifact."""
        (tmp_path / "report.html").write_text("<h1>report</h1>")
        with autolog.start_run(name="sweep", experiment="demo") as run:
            run.log_params({"lr": 0.01, "layers": [64, 32]})
            for step in range(100):
                run.log_metrics({"loss": 1 / (step + 1)}, step=step)
            run.log_artifact("report.html")
        [found] = autolog.search_runs(experiment="demo")
        assert (found.id, found.name, found.experiment, found.status) == (
            run.id,
            "sweep",
            "demo",
            "FINISHED",
        )
        assert found.params == {"lr": "0.01", "layers": "[64, 32]"}
        assert found.metrics == {"loss": 0.01}
        assert found.artifacts == ["report.html"]
        assert found.end_time >= found.start_time > 0
        history = autolog.get_metric_history(run.id, "loss")
        assert [p.step for p in history] == list(range(100))
        assert history[3].value == 0.25 and history[3].timestamp > 0
        assert (store / run.id / "artifacts" / "report.html").read_text() == "<h1>report</h1>"

    def test_run_ids_are_32_hex(self, store: Path) -> None:
        """Run ids are uuid4 hex strings."""
        with autolog.start_run() as run:
            pass
        assert len(run.id) == 32 and int(run.id, 16) >= 0

    def test_nested_start_run_makes_a_child_in_the_parents_experiment(self, store: Path) -> None:
        """A run started inside another is its child, tagged parent_run_id, same experiment."""
        with autolog.start_run(name="parent", experiment="sweeps") as parent:
            with autolog.start_run(name="child") as child:
                assert autolog.active_run() is child
            assert autolog.active_run() is parent
        assert autolog.active_run() is None
        read = autolog.get_run(child.id)
        assert read.parent_id == parent.id and read.experiment == "sweeps"
        assert read.tags["parent_run_id"] == parent.id

    def test_block_that_raises_ends_failed_and_reraises(self, store: Path) -> None:
        """An exception in the block ends the run FAILED and propagates unchanged."""
        error = ValueError("boom")
        with pytest.raises(ValueError) as caught, autolog.start_run() as run:
            raise error
        assert caught.value is error
        assert autolog.get_run(run.id).status == "FAILED"

    def test_keyboard_interrupt_ends_killed(self, store: Path) -> None:
        """Ctrl-C inside the block ends the run KILLED."""
        with pytest.raises(KeyboardInterrupt), autolog.start_run() as run:
            raise KeyboardInterrupt
        assert autolog.get_run(run.id).status == "KILLED"

    def test_module_level_functions_log_to_the_active_run(self, store: Path) -> None:
        """log_param(s), log_metric(s), set_tag(s) act on the innermost active run."""
        with autolog.start_run() as run:
            autolog.log_params({"a": 1})
            autolog.log_param("b", "x")
            autolog.log_metric("m", 1.5)
            autolog.log_metric("m", 2.5)
            autolog.log_metrics({"n": 3}, step=10)
            autolog.set_tags({"t": "v"})
            autolog.set_tag("u", 2)
        read = autolog.get_run(run.id)
        assert read.params == {"a": "1", "b": "x"}
        assert read.metrics == {"m": 2.5, "n": 3.0}
        assert {"t": "v", "u": "2"}.items() <= read.tags.items()
        assert [p.step for p in autolog.get_metric_history(run.id, "m")] == [0, 1]

    def test_logging_without_an_active_run_is_a_clear_error(self, store: Path) -> None:
        """Module-level logging outside a run says how to start one."""
        with pytest.raises(InvalidInputError, match="start_run"):
            autolog.log_metric("x", 1)

    def test_start_run_without_with_and_end_run(self, store: Path) -> None:
        """start_run() also works without a with-block, ended by end_run()."""
        run = autolog.start_run(name="plain")
        autolog.log_metric("x", 1)
        autolog.end_run()
        assert autolog.get_run(run.id).status == "FINISHED"

    def test_search_with_filter_and_order(self, store: Path) -> None:
        """search_runs filters with MLflow syntax and orders by a metric."""
        for i, aic in enumerate([30.0, 10.0, 20.0]):
            with autolog.start_run(name=f"r{i}", experiment="e") as run:
                run.log_metric("aic", aic)
                run.log_param("i", i)
        names = [r.name for r in autolog.search_runs("e", order_by=["metrics.aic ASC"])]
        assert names == ["r1", "r2", "r0"]
        assert [r.name for r in autolog.search_runs("e", filter="metrics.aic > 15")] != []
        assert {r.name for r in autolog.search_runs("e", filter="metrics.aic > 15")} == {"r0", "r2"}
        assert autolog.search_runs("other") == []

    def test_unknown_run_is_a_clear_error(self, store: Path) -> None:
        """get_run of an id that does not exist raises RunNotFoundError naming it."""
        with pytest.raises(RunNotFoundError, match="0" * 32):
            autolog.get_run("0" * 32)

    def test_start_run_works_without_autolog(self, tmp_path: Path) -> None:
        """Without autolog(), runs go to ./autolog-runs."""
        with autolog.start_run() as run:
            autolog.log_metric("x", 1)
        assert (tmp_path / "autolog-runs" / run.id / "journal.jsonl").exists()

    def test_log_model_round_trip(self, store: Path) -> None:
        """A picklable object saved as the run's model loads back equal."""
        with autolog.start_run() as run:
            manifest = run.log_model({"weights": [1, 2, 3]})
        assert manifest["flavor"] == "pickle"
        assert autolog.load_model(run.id) == {"weights": [1, 2, 3]}


class TestValues:
    def test_nan_and_inf_metrics_read_back(self, store: Path) -> None:
        """NaN and infinities go through the API and read back as such."""
        with autolog.start_run() as run:
            run.log_metrics({"nan": float("nan"), "inf": float("inf"), "ninf": -math.inf})
        metrics = autolog.get_run(run.id).metrics
        assert math.isnan(metrics["nan"]) and metrics["inf"] == math.inf
        assert metrics["ninf"] == -math.inf

    def test_numpy_and_tensor_like_values_convert(self, store: Path) -> None:
        """numpy scalars and 0-d arrays become plain floats and strings."""
        with autolog.start_run() as run:
            run.log_metrics({"f32": np.float32(0.5), "i64": np.int64(3), "arr": np.array(2.0)})
            run.log_params({"p": np.float64(0.25), "none": None, "nested": {"a": {"b": 1}}})
        read = autolog.get_run(run.id)
        assert read.metrics == {"f32": 0.5, "i64": 3.0, "arr": 2.0}
        assert read.params == {"p": "0.25", "none": "None", "nested.a.b": "1"}

    @pytest.mark.parametrize("value", ["abc", None, [1, 2], {"a": 1}, b"1"])
    def test_non_numeric_metric_names_the_key(self, store: Path, value: object) -> None:
        """A non-numeric metric raises ValueError naming the key, and nothing is lost."""
        with autolog.start_run() as run:
            run.log_metric("good", 1.0)
            with pytest.raises(ValueError, match="'acc'"):
                run.log_metric("acc", value)
        assert autolog.get_run(run.id).metrics == {"good": 1.0}

    @pytest.mark.parametrize(
        "key, message",
        [("x" * 251, "250"), ("/etc/passwd", "absolute"), ("a/../b", r"\.\."), ("", "non-empty")],
    )
    def test_bad_keys_are_refused(self, store: Path, key: str, message: str) -> None:
        """Over-long keys, absolute paths and '..' are refused with a clear message."""
        with autolog.start_run() as run, pytest.raises(ValueError, match=message):
            run.log_metric(key, 1.0)

    def test_long_param_is_truncated_with_a_warning(self, store: Path) -> None:
        """A param value over 6000 characters is cut to 6000 and a warning says so."""
        with autolog.start_run() as run, pytest.warns(UserWarning, match="truncated to 6000"):
            run.log_param("long", "x" * 7000)
        assert len(autolog.get_run(run.id).params["long"]) == 6000

    def test_secret_params_and_url_credentials_never_reach_the_journal(self, store: Path) -> None:
        """Secret-looking keys become *** and URL passwords are hidden, on disk too."""
        with autolog.start_run() as run:
            run.log_params(
                {
                    "db_password": "hunter2",
                    "api_key": "k-123",
                    "sas": "sig=abc",
                    "uri": "postgresql://bob:hunter3@db:5432/x",
                    "lr": 0.1,
                }
            )
            run.set_tags({"AZURE_CONNECTION_STRING": "AccountKey=zzz", "note": "ok"})
        read = autolog.get_run(run.id)
        assert read.params["db_password"] == read.params["api_key"] == "***"
        assert read.params["sas"] == "***"
        assert read.params["uri"] == "postgresql://bob:***@db:5432/x"
        assert read.tags["AZURE_CONNECTION_STRING"] == "***"
        journal = (store / run.id / "journal.jsonl").read_text()
        for secret in ("hunter2", "k-123", "hunter3", "zzz", "sig=abc"):
            assert secret not in journal

    def test_param_cannot_change_within_a_run(self, store: Path) -> None:
        """Logging a param again with another value raises; the same value is fine."""
        with autolog.start_run() as run:
            run.log_param("lr", 0.1)
            run.log_param("lr", 0.1)
            with pytest.raises(ValueError, match=r"already '0\.1'"):
                run.log_param("lr", 0.2)
        assert autolog.get_run(run.id).params == {"lr": "0.1"}

    def test_non_integer_step_is_refused(self, store: Path) -> None:
        """A fractional step is refused naming the metric."""
        with autolog.start_run() as run, pytest.raises(ValueError, match="'loss'"):
            run.log_metric("loss", 1.0, step=1.5)


class TestArtifacts:
    def test_missing_file_is_a_clear_error(self, store: Path) -> None:
        """log_artifact of a path that does not exist names it."""
        with autolog.start_run(), pytest.raises(ValueError, match=r"nope\.txt"):
            autolog.log_artifact("nope.txt")

    def test_folder_and_rename(self, store: Path, tmp_path: Path) -> None:
        """A folder is copied whole; name= places a file under another path."""
        (tmp_path / "plots").mkdir()
        (tmp_path / "plots" / "a.png").write_bytes(b"png")
        (tmp_path / "notes.txt").write_text("n")
        with autolog.start_run() as run:
            run.log_artifact(tmp_path / "plots")
            run.log_artifact(tmp_path / "notes.txt", name="docs/notes.txt")
        assert sorted(autolog.get_run(run.id).artifacts) == ["docs/notes.txt", "plots/a.png"]


class TestTensors:
    def test_torch_scalars_convert(self, store: Path) -> None:
        """0-d torch tensors work as metric and param values."""
        import torch

        with autolog.start_run() as run:
            run.log_metric("loss", torch.tensor(0.25))
            run.log_param("lr", torch.tensor(0.5))
            with pytest.raises(ValueError, match="'vector'"):
                run.log_metric("vector", torch.tensor([1.0, 2.0]))
        read = autolog.get_run(run.id)
        assert read.metrics == {"loss": 0.25} and read.params == {"lr": "0.5"}
