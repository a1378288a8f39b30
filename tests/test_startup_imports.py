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
    "autolog.integration",  # the plugin SDK: an integration's code, when its framework loads
    "autolog.integrations",  # the built-in integrations, declared in autolog._integrations
    "autolog.plugins",  # pluggy's manager: at the first run, or for a remote backend
    "autolog.run",  # the run machinery: at the first run
    "base64",  # Basic-auth redaction
    "bz2",  # through shutil
    "copy",  # through dataclasses
    "csv",  # sklearn's cv_results_ artifact
    "dataclasses",  # the record classes are plain classes (autolog._plain)
    "getpass",  # the user tag of a run
    "importlib.metadata",  # entry points, only when a distribution declares ours
    "inspect",  # through pluggy
    "json",  # the journal's records
    "pathlib",  # the store's paths
    "lzma",  # through shutil
    "packaging",  # integration version checks, when the framework is imported
    "pickle",  # saving and loading models
    "platform",  # python_version of a model's manifest, through uuid too
    "pluggy",  # the plugin manager, once a hook is called
    "random",  # restoring random states around a patched call
    "shutil",  # copying artifacts
    "sysconfig",  # the stdlib folders, at the first warning
    "tempfile",  # atomic writes of the shipper's offsets
    "tomllib",  # only for a settings file that mentions autolog
    "termios",  # through getpass
    "typing",  # annotations only (TYPE_CHECKING = False)
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


def fresh_python(code: str, cwd: Path) -> subprocess.CompletedProcess:
    """``code`` in a fresh interpreter without AUTOLOG_* variables (so no testing plugin)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AUTOLOG_")}
    return subprocess.run(
        [sys.executable, "-c", code], cwd=cwd, env=env, capture_output=True, text=True, timeout=120
    )


def test_autolog_call_imports_nothing_it_does_not_need(tmp_path: Path) -> None:
    """A fresh interpreter, with only the built-in plugins: the call imports only its own."""
    result = fresh_python(PROBE, tmp_path)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    imported = set(json.loads(out))
    assert "autolog._integrations" in imported  # the integrations are waiting for imports
    assert (tmp_path / "autolog-runs").is_dir()  # and the call did check the store
    unneeded = sorted(
        name
        for name in NOT_AT_START_UP
        if name in imported or any(m.startswith(name + ".") for m in imported)
    )
    assert unneeded == []


FIT_PROBE = """
import sys
import autolog
autolog.autolog()
assert "autolog.integrations.sklearn" not in sys.modules
from sklearn.linear_model import LinearRegression
LinearRegression().fit([[0.0], [1.0], [2.0]], [0.0, 1.0, 2.0])
assert "autolog.integrations.sklearn" in sys.modules  # loaded when sklearn was imported
assert "autolog.integrations.keras" not in sys.modules or "autolog.plugins" in sys.modules
[run] = autolog.search_runs()
print(run.tags["autolog.integration"], run.status, sorted(run.params)[:2])
"""


def test_an_integration_loads_when_its_framework_is_imported(tmp_path: Path) -> None:
    """The lazy start-up records: sklearn's integration loads with sklearn, its fit is a run."""
    out = fresh_python(FIT_PROBE, tmp_path)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split()[:2] == ["sklearn", "FINISHED"], out.stdout


def test_an_integration_option_is_checked_without_its_framework(tmp_path: Path) -> None:
    """A bad value of an integration's option is refused at autolog(), sklearn not imported."""
    code = (
        "import sys, autolog\n"
        "try:\n"
        "    autolog.autolog(max_tuning_runs=-1)\n"
        "except autolog.AutologError as exc:\n"
        "    print(type(exc).__name__, exc)\n"
        "print('sklearn' in sys.modules)\n"
    )
    out = fresh_python(code, tmp_path)
    assert out.returncode == 0, out.stderr
    first, last = out.stdout.strip().splitlines()
    assert first.startswith("ConfigurationError max_tuning_runs must be a whole number")
    assert last == "False"


def test_every_public_name_resolves() -> None:
    """Each name of ``autolog.__all__``, resolved on first use, is its defining module's object."""
    import importlib

    import autolog

    for name in autolog.__all__:
        value = getattr(autolog, name)
        if name not in ("__version__", "hookimpl"):  # a string and pluggy's marker instance
            assert getattr(importlib.import_module(value.__module__), name) is value, name
    assert autolog.hookimpl is autolog.hookspecs.hookimpl
    assert set(autolog.__all__) <= set(dir(autolog))


LIST_PROBE = """
import io, json, sys
from contextlib import redirect_stdout
import autolog
autolog.autolog()
with autolog.start_run(name="one"):
    pass
before = set(sys.modules)
from autolog.cli import main
with redirect_stdout(io.StringIO()) as listing:
    assert main(["runs", "ls", "-n", "20"]) == 0
assert "one" in listing.getvalue()
print(json.dumps(sorted(set(sys.modules) - before)))
"""

#: A local `autolog runs ls` reads the index: it has no use for these (issue 16, whose
#: target is its wall time, interpreter included).
NOT_FOR_A_LOCAL_LISTING = (
    "autolog._delivery",  # where records are headed: for shipping and syncing
    "autolog._fallback",  # answering from the journal while a remote backend is away
    "autolog._shipper",
    "dataclasses",
    "hashlib",  # OpenSSL's loading, through the delivery ids
    "pluggy",
)


def test_a_local_listing_imports_only_what_it_reads_with(tmp_path: Path) -> None:
    """`runs ls` on the local store imports neither the delivery machinery nor dataclasses."""
    result = fresh_python(LIST_PROBE, tmp_path)
    assert result.returncode == 0, result.stderr
    imported = set(json.loads(result.stdout))
    assert "autolog._index" in imported  # the listing did read the index
    assert sorted(name for name in NOT_FOR_A_LOCAL_LISTING if name in imported) == []
