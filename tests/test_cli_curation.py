"""The CLI's curation commands and formats, on the local store and on a tracking server."""

from __future__ import annotations

import csv
import io
import json
import subprocess
from pathlib import Path

import pytest

import autolog
from autolog._journal import read_journal
from autolog._records import RunReplay
from tests.support.processes import run_autolog_cli


def cli(*args: str, cwd: Path, env: dict | None = None) -> subprocess.CompletedProcess:
    return run_autolog_cli(*args, cwd=cwd, env=env, timeout=60)


@pytest.fixture
def grid(tmp_path: Path) -> tuple[str, list[str]]:
    """A parent with six children of a small grid in ./autolog-runs."""
    children = []
    with autolog.start_run(name="grid", experiment="arima") as parent:
        for p in range(3):
            for q in range(2):
                with autolog.start_run(name=f"order-{p}-{q}") as child:
                    child.log_params({"p": p, "q": q, "fixed": "same"})
                    child.log_metrics({"aic": 100.0 - p * 10 + q, "bic": 110.0 + p})
                    children.append(child.id)
    return parent.id, children


class TestCurationLocal:
    @pytest.mark.slow  # a dozen CLI processes
    def test_rename_tag_note_show_in_runs_show_and_journal(self, tmp_path: Path, grid) -> None:
        """Each edit is one journal record; runs show reads them back."""
        _, children = grid
        run_id = children[0]
        assert cli("runs", "rename", run_id[:12], "best one", cwd=tmp_path).returncode == 0
        tagged = cli("runs", "tag", run_id, "stage=candidate", "owner=ana", cwd=tmp_path)
        assert tagged.returncode == 0
        assert cli("runs", "tag", run_id, "--remove", "owner", cwd=tmp_path).returncode == 0
        assert cli("runs", "note", run_id, "residuals look white", cwd=tmp_path).returncode == 0
        shown = cli("runs", "show", run_id, cwd=tmp_path).stdout
        assert "name        best one" in shown
        assert "note        residuals look white" in shown
        assert "stage" in shown and "owner" not in shown
        journal = tmp_path / "autolog-runs" / run_id / "journal.jsonl"
        kinds = [record[0] for record in read_journal(journal).records]
        assert kinds[-4:] == ["rename", "tags", "untag", "tags"]
        replay = RunReplay().feed(read_journal(journal).records)
        assert replay.run is not None and replay.run.name == "best one"

    @pytest.mark.slow  # a dozen CLI processes
    def test_rm_hides_and_restore_brings_back(self, tmp_path: Path, grid) -> None:
        """A deleted run leaves runs ls, shows with --deleted, and comes back on restore."""
        _, children = grid
        out = cli("runs", "rm", children[0], children[1], cwd=tmp_path)
        assert out.returncode == 0, out.stderr
        listed = cli("runs", "ls", "--format", "json", cwd=tmp_path).stdout
        assert {children[0], children[1]}.isdisjoint(r["id"] for r in json.loads(listed))
        listed = cli("runs", "ls", "--deleted", "--format", "json", cwd=tmp_path).stdout
        everything = json.loads(listed)
        stages = {r["id"]: r["lifecycle_stage"] for r in everything}
        assert stages[children[0]] == "deleted"
        assert cli("runs", "restore", children[0], cwd=tmp_path).returncode == 0
        listed = json.loads(cli("runs", "ls", "--format", "json", cwd=tmp_path).stdout)
        assert children[0] in {r["id"] for r in listed}

    def test_removing_a_missing_tag_says_which(self, tmp_path: Path, grid) -> None:
        """--remove of a tag the run does not have fails naming it, nothing is written."""
        _, children = grid
        out = cli("runs", "tag", children[0], "--remove", "nope", cwd=tmp_path)
        assert out.returncode == 1 and "has no tag 'nope'" in out.stderr
        assert "Traceback" not in out.stderr


class TestFormats:
    def test_csv_has_every_param_and_metric(self, tmp_path: Path, grid) -> None:
        """--format csv: one row per run, every params./metrics. column, no truncation."""
        text = cli("runs", "ls", "--format", "csv", cwd=tmp_path).stdout
        rows = list(csv.DictReader(io.StringIO(text)))
        assert len(rows) == 7
        columns = {"params.p", "params.q", "params.fixed", "metrics.aic", "metrics.bic"}
        assert columns <= set(rows[0])

    def test_json_is_machine_readable(self, tmp_path: Path, grid) -> None:
        """--format json parses, and carries params, metrics and parent ids."""
        parent_id, _ = grid
        runs = json.loads(cli("runs", "ls", "--format", "json", cwd=tmp_path).stdout)
        assert len(runs) == 7
        child = next(r for r in runs if r["parent_id"] == parent_id)
        assert set(child["params"]) == {"p", "q", "fixed"} and "aic" in child["metrics"]

    def test_table_picks_varying_params_and_keeps_the_parent(self, tmp_path: Path, grid) -> None:
        """The table shows p and q (not the constant param); -n 2 keeps the children's parent."""
        out = cli("runs", "ls", cwd=tmp_path, env={"COLUMNS": "200"}).stdout
        header = out.splitlines()[0].split()
        assert "p" in header and "q" in header and "fixed" not in header
        out = cli("runs", "ls", "-n", "2", cwd=tmp_path, env={"COLUMNS": "200"}).stdout
        _header, _rule, *rows = out.splitlines()
        assert rows[0].split()[1] == "grid" and rows[1].split()[1] == "└"

    def test_narrow_terminal_truncates_names_not_ids(self, tmp_path: Path, grid) -> None:
        """At 60 columns every line fits, ids stay whole, names end in an ellipsis."""
        with autolog.start_run(name="a-very-long-run-name-that-cannot-fit", experiment="x") as run:
            run.log_metric("aic", 1.0)
        out = cli("runs", "ls", cwd=tmp_path, env={"COLUMNS": "60"}).stdout
        lines = out.splitlines()
        assert all(len(line) <= 60 for line in lines)
        assert any(line.startswith(run.id[:12]) and "…" in line for line in lines)

    def test_no_colour_in_a_pipe_and_colour_when_forced(self, tmp_path: Path, grid) -> None:
        """Status is coloured on a terminal (FORCE_COLOR stands in for one), never in a pipe."""
        assert "\x1b[" not in cli("runs", "ls", cwd=tmp_path).stdout
        forced = cli("runs", "ls", cwd=tmp_path, env={"FORCE_COLOR": "1"}).stdout
        assert "\x1b[32mFINISHED" in forced

    def test_control_characters_are_escaped(self, tmp_path: Path) -> None:
        """A run name with ANSI and OSC sequences is printed escaped, never raw."""
        with autolog.start_run(name="evil\x1b[31mred\x1b]0;title\x07", experiment="x") as run:
            run.set_tag("t", "\x1b[2J")
        for args in (["runs", "ls"], ["runs", "show", run.id], ["runs", "ls", "--format", "csv"]):
            out = cli(*args, cwd=tmp_path).stdout
            assert "\x1b" not in out and "\x07" not in out
            assert "evil\\e[31mred" in out

    def test_experiments_ls(self, tmp_path: Path, grid) -> None:
        """experiments ls lists each experiment with its number of runs, in every format."""
        assert "arima" in cli("experiments", "ls", cwd=tmp_path).stdout
        listing = json.loads(cli("experiments", "ls", "--format", "json", cwd=tmp_path).stdout)
        assert listing[0]["name"] == "arima" and listing[0]["runs"] == 7

    def test_version_and_bare_command(self, tmp_path: Path) -> None:
        """--version prints the version; a bare autolog prints the help and exits 0."""
        version = cli("--version", cwd=tmp_path)
        assert version.returncode == 0 and version.stdout.startswith("autolog ")
        bare = cli(cwd=tmp_path)
        assert bare.returncode == 0 and "usage: autolog" in bare.stdout
