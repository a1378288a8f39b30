"""Every run says where it came from: script, arguments, git, versions, host."""

from __future__ import annotations

import platform
import socket
import subprocess
import sys
from pathlib import Path

import autolog
from autolog._provenance import redact_argv

SCRIPT = """
import autolog
autolog.autolog(backend="runs")
with autolog.start_run() as run:
    pass
print(run.id)
"""


def git(*args: str, cwd: Path) -> None:
    subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True)


class TestProvenance:
    def test_tags_of_a_script_in_a_git_repository(self, tmp_path: Path) -> None:
        """A run from a committed script has script, redacted args, commit, dirty flag, host."""
        git("init", "-q", cwd=tmp_path)
        (tmp_path / "train.py").write_text(SCRIPT)
        git("add", "train.py", cwd=tmp_path)
        git("-c", "user.email=a@b", "-c", "user.name=a", "commit", "-qm", "x", cwd=tmp_path)
        head = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=tmp_path, capture_output=True, text=True
        ).stdout.strip()
        out = subprocess.run(
            [
                sys.executable,
                "train.py",
                "--lr",
                "0.1",
                "--api-key",
                "s3cr3t",
                "--password=pw",
                "db=postgresql://u:hunter2@h/db",
            ],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            check=True,
        )
        tags = autolog.get_run(out.stdout.strip(), backend=str(tmp_path / "runs")).tags
        assert tags["autolog.source.script"] == str(tmp_path / "train.py")
        assert tags["autolog.source.args"] == (
            "--lr 0.1 --api-key *** --password=*** db=postgresql://u:***@h/db"
        )
        assert tags["autolog.git.commit"] == head
        assert tags["autolog.git.dirty"] == "false"
        assert tags["autolog.python.version"] == platform.python_version()
        assert tags["autolog.host"] == socket.gethostname()

    def test_dirty_flag(self, tmp_path: Path) -> None:
        """A modified tracked file makes the run's git.dirty true."""
        git("init", "-q", cwd=tmp_path)
        (tmp_path / "train.py").write_text(SCRIPT)
        git("add", "train.py", cwd=tmp_path)
        git("-c", "user.email=a@b", "-c", "user.name=a", "commit", "-qm", "x", cwd=tmp_path)
        (tmp_path / "train.py").write_text(SCRIPT + "\n# changed\n")
        out = subprocess.run(
            [sys.executable, "train.py"], cwd=tmp_path, capture_output=True, text=True, check=True
        )
        tags = autolog.get_run(out.stdout.strip(), backend=str(tmp_path / "runs")).tags
        assert tags["autolog.git.dirty"] == "true"

    def test_outside_git_there_are_no_git_tags(self, tmp_path: Path) -> None:
        """A run outside a repository has no git tags rather than wrong ones."""
        (tmp_path / "train.py").write_text(SCRIPT)
        out = subprocess.run(
            [sys.executable, "train.py"], cwd=tmp_path, capture_output=True, text=True, check=True
        )
        tags = autolog.get_run(out.stdout.strip(), backend=str(tmp_path / "runs")).tags
        assert not any(key.startswith("autolog.git") for key in tags)
        assert tags["autolog.source.script"] == str(tmp_path / "train.py")

    def test_redact_argv(self) -> None:
        """Secret option values are hidden in every spelling; others are kept."""
        assert redact_argv(["--token", "t", "-p", "1", "--secret=s", "API_KEY=k", "x"]) == [
            "--token",
            "***",
            "-p",
            "1",
            "--secret=***",
            "API_KEY=***",
            "x",
        ]
