"""The autolog command line."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

import autolog
from autolog.cli import main
from tests.support.processes import run_autolog_cli


def cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return run_autolog_cli(*args, cwd=cwd, timeout=60)


@pytest.fixture
def two_runs(tmp_path: Path) -> tuple[str, str]:
    """A parent and a child run in ./autolog-runs."""
    with (
        autolog.start_run(name="grid", experiment="arima") as parent,
        autolog.start_run(name="order-1-1-1") as child,
    ):
        child.log_params({"order": (1, 1, 1)})
        child.log_metrics({"aic": 1021.5, "bic": 1030.25})
    return parent.id, child.id


def test_version_is_printed_on_stdout(tmp_path: Path) -> None:
    """--version names the installed version on stdout and exits 0, like argparse's own action."""
    out = cli("--version", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert out.stdout == f"autolog {autolog.__version__}\n"
    assert out.stderr == ""


class TestRuns:
    def test_ls_prints_a_table(self, tmp_path: Path, two_runs) -> None:
        """runs ls shows id, name, status, start, duration and metric columns (one experiment)."""
        out = cli("runs", "ls", cwd=tmp_path)
        assert out.returncode == 0, out.stderr
        header, _rule, *rows = out.stdout.splitlines()
        assert header.split()[:5] == ["id", "name", "status", "start", "duration"]
        assert "aic" in header and "bic" in header
        assert len(rows) == 2
        assert "grid" in rows[0]
        assert "└ order-1-1-1" in rows[1] and "1021.5" in rows[1] and "FINISHED" in rows[1]

    def test_ls_filter_and_experiment(self, tmp_path: Path, two_runs) -> None:
        """--filter and --experiment narrow the table."""
        out = cli("runs", "ls", "-e", "arima", "--filter", "metrics.aic < 1000", cwd=tmp_path)
        assert out.stdout.strip() == "no runs (deleted runs: --deleted)"

    def test_ls_keeps_the_asked_order_under_a_parent(self, tmp_path: Path) -> None:
        """A grid's children ordered by a metric are listed best first under their parent,
        not in the order they ran; by default, in the order they ran."""
        with autolog.start_run(name="grid", experiment="arima"):
            for name, aic in (("second-best", 950.0), ("worst", 990.0), ("best", 920.0)):
                with autolog.start_run(name=name) as child:
                    child.log_metric("aic", aic)
        ordered = cli(
            "runs", "ls", "-f", "metrics.aic < 1000", "-o", "metrics.aic ASC", cwd=tmp_path
        )
        names = [row.split()[2] for row in ordered.stdout.splitlines()[3:6]]
        assert names == ["best", "second-best", "worst"], ordered.stdout
        default = cli("runs", "ls", cwd=tmp_path)
        names = [row.split()[2] for row in default.stdout.splitlines()[3:6]]
        assert names == ["second-best", "worst", "best"], default.stdout

    def test_show_prints_everything_about_a_run(self, tmp_path: Path, two_runs) -> None:
        """runs show (with a 12-character id) prints params, metrics, tags and parent."""
        parent_id, child_id = two_runs
        out = cli("runs", "show", child_id[:12], cwd=tmp_path)
        assert out.returncode == 0, out.stderr
        assert f"run         {child_id}" in out.stdout
        assert f"parent      {parent_id}" in out.stdout
        assert "order  [1, 1, 1]" in out.stdout and "aic  1021.5" in out.stdout

    @pytest.mark.parametrize(
        "args, message",
        [
            (["runs", "show", "0" * 32], "no run"),
            (["runs", "show", "zz"], "no run id starts with 'zz'"),
            (["runs", "ls", "--filter", "metrics.aic <<< 1"], "invalid filter"),
            (["runs", "ls", "--limit", "-3"], "whole number above 0"),
            (["runs", "ls", "--backend", "s4://x"], "no backend handles 's4://x'"),
            (["sync", "--backend", "nope://x"], "no backend handles 'nope://x'"),
            (["runs"], "required"),
            (["runs", "tag", "0" * 32, "novalue"], "is not KEY=VALUE"),
            (["runs", "rename", "zz", "x"], "no run id starts with 'zz'"),
            (["fly"], "invalid choice"),
        ],
    )
    def test_bad_arguments_exit_nonzero_with_one_clear_line(
        self, tmp_path: Path, two_runs, args: list[str], message: str
    ) -> None:
        """Every bad argument exits non-zero with a message, no traceback."""
        out = cli(*args, cwd=tmp_path)
        assert out.returncode != 0
        assert message in out.stderr
        assert "Traceback" not in out.stderr

    @pytest.mark.parametrize(
        "args",
        [
            ["runs"],
            ["runs", "ls"],
            ["runs", "show"],
            ["runs", "rename"],
            ["runs", "tag"],
            ["runs", "note"],
            ["runs", "rm"],
            ["runs", "restore"],
            ["experiments"],
            ["experiments", "ls"],
            ["sync"],
            ["server"],
            ["ui"],
        ],
    )
    def test_help_for_each_command_has_an_example(
        self, args: list[str], capsys: pytest.CaptureFixture
    ) -> None:
        """--help works for every command and subcommand, and shows an example."""
        with pytest.raises(SystemExit) as exited:
            main([*args, "--help"])
        assert exited.value.code == 0
        text = capsys.readouterr().out
        assert "usage: autolog" in text
        assert "example" in text and f"autolog {' '.join(args)}" in text


class TestSync:
    def test_sync_without_remote_backends_says_so(self, tmp_path: Path, two_runs) -> None:
        """sync with only the local store explains there is nothing to send."""
        out = cli("sync", cwd=tmp_path)
        assert out.returncode == 0 and "nothing to sync" in out.stderr

    def test_sync_shows_progress_and_reports_failure(self, tmp_path: Path, two_runs) -> None:
        """sync to a replica copies every run; to a failing backend it exits 1."""
        out = cli("sync", "--backend", str(tmp_path / "copy"), cwd=tmp_path)
        assert out.returncode == 0, out.stderr
        assert "sent to" in out.stderr and "100%" in out.stderr
        assert len(autolog.search_runs(backend=str(tmp_path / "copy"))) == 2
        failed = cli("sync", "--backend", "faulty://raise", cwd=tmp_path)
        assert failed.returncode == 1 and "fails on purpose" in failed.stderr
