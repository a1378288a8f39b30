"""autolog's warnings point at the user's line, never at autolog's own source."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

SCRIPT = """
import autolog
autolog.autolog(dir="runs")
with autolog.start_run():
    autolog.log_param("long", "x" * 7000)  # the line the warning must show
"""

BACKGROUND = """
import autolog, warnings
from autolog._warnings import warn
import threading
t = threading.Thread(target=warn, args=("from a background thread",))
t.start(); t.join()
"""


def _run(tmp_path: Path, source: str) -> str:
    script = tmp_path / "train.py"
    script.write_text(source)
    result = subprocess.run(
        [sys.executable, "-P", str(script)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return result.stderr


def test_a_warning_shows_the_users_line(tmp_path: Path) -> None:
    """The truncation warning names train.py:5 and shows that line, no autolog file."""
    err = _run(tmp_path, SCRIPT)
    lines = [line for line in err.splitlines() if line.strip()]
    assert lines[0].startswith(f"{tmp_path / 'train.py'}:5: AutologWarning: param 'long'")
    assert lines[1].strip().startswith('autolog.log_param("long"')
    assert "autolog/" not in err.replace(str(tmp_path), "")


def test_a_warning_without_user_code_has_no_source_line(tmp_path: Path) -> None:
    """From a thread with no user frame, the warning is one line."""
    err = _run(tmp_path, BACKGROUND)
    lines = [line for line in err.splitlines() if line.strip()]
    assert lines == ["autolog:0: AutologWarning: from a background thread"]
