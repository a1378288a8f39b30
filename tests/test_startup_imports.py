"""``import autolog; autolog.autolog()`` imports only what the call needs (issue 11, item 8).

Start-up time itself is measured in bench/bench_core.py, not asserted: it depends on
the machine. What is asserted is what the time is made of, which does not: modules
that cost milliseconds each and that the call has no use for stay out of the process
until a run, an artifact or a model needs them.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

#: Imported lazily, by the code that uses them, never by ``autolog()`` itself.
NOT_AT_START_UP = (
    "base64",  # Basic-auth redaction
    "bz2",  # through shutil
    "copy",  # through dataclasses
    "csv",  # sklearn's cv_results_ artifact
    "dataclasses",  # the record classes are plain classes (autolog._plain)
    "getpass",  # the user tag of a run
    "importlib.metadata",  # entry points, only when a distribution declares ours
    "lzma",  # through shutil
    "packaging",  # integration version checks, when the framework is imported
    "pickle",  # saving and loading models
    "platform",  # python_version of a model's manifest, through uuid too
    "random",  # restoring random states around a patched call
    "shutil",  # copying artifacts
    "sysconfig",  # the stdlib folders, at the first warning
    "tempfile",  # atomic writes of the shipper's offsets
    "termios",  # through getpass
    "uuid",  # the id of a new run
    # ML frameworks: patched when the user imports them, never imported by us.
    "keras",
    "lightning",
    "numpy",
    "sklearn",
    "statsmodels",
    "torch",
)

PROBE = """
import json, sys
before = set(sys.modules)
import autolog
autolog.autolog()
print(json.dumps(sorted(set(sys.modules) - before)))
"""


def test_autolog_call_imports_nothing_it_does_not_need(tmp_path: Path) -> None:
    """A fresh interpreter, no AUTOLOG_* variables (so no testing plugin): only the call's own."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AUTOLOG_")}
    out = subprocess.run(
        [sys.executable, "-c", PROBE],
        cwd=tmp_path,
        env=env,
        check=True,
        capture_output=True,
        text=True,
        timeout=60,
    ).stdout
    imported = set(json.loads(out))
    assert "autolog.integrations.sklearn" in imported  # the plugins did load
    assert (tmp_path / "autolog-runs").is_dir()  # and the call did configure the store
    unneeded = sorted(
        name
        for name in NOT_AT_START_UP
        if name in imported or any(m.startswith(name + ".") for m in imported)
    )
    assert unneeded == []
