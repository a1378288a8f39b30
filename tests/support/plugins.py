"""Third-party plugins installed for real: pip-installed into a folder, used from a subprocess.

A plugin is installed into a temporary target (never into the shared
environment) and put on a fresh interpreter's PYTHONPATH, where autolog finds
it through its ``autolog`` entry point exactly as after ``pip install``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "plugins"


def install_plugin(name: str, work: Path) -> Path:
    """examples/plugins/NAME pip-installed (no dependencies, no network); the target folder."""
    source = work / "source"
    shutil.copytree(EXAMPLES / name, source)  # building writes build/ and *.egg-info beside it
    target = work / "site"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-index",
         "--no-build-isolation", "--target", str(target), str(source)],
        check=True,
        capture_output=True,
    )  # fmt: skip
    return target


def run_with_plugin(
    script: str, folder: Path, plugin: Path | None, timeout: float = 300
) -> subprocess.CompletedProcess:
    """Python source ``script`` in a fresh interpreter, with ``plugin``'s folder on its path."""
    env = dict(os.environ)
    if plugin is not None:
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(plugin), env.get("PYTHONPATH")]))
    return subprocess.run(
        [sys.executable, "-P", "-c", script],
        cwd=folder,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
