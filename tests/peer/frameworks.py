"""Running a framework's own shipped tests with autolog off and on, and comparing outcomes.

scikit-learn and statsmodels ship their test suites inside their wheels. A
:class:`Suite` names some of those test modules; :func:`run_side` copies their
``tests`` folders into a scratch folder under another package name (autolog
leaves alone fits that ``sklearn.*``/``statsmodels.*`` modules make on their own
behalf, and the copies must count as user code), then runs pytest there in a
fresh process, with ``autolog.autolog()`` on for the whole session or not.
:func:`differences` lists every test whose outcome is not the same.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent


@dataclass(frozen=True)
class Suite:
    """Test modules of one framework, as paths inside its package (``linear_model/tests/x.py``)."""

    name: str
    package: str  # "sklearn" or "statsmodels"
    files: tuple[str, ...]
    keyword: str | None = None  # a pytest -k expression, to keep a slow module to its core
    timeout: float = 600


@dataclass
class Side:
    """What one pytest process saw: outcome per test id, and what autolog recorded."""

    outcomes: dict[str, dict[str, str]]
    seconds: float
    runs: int = 0
    store_bytes: int = 0
    output: str = ""
    extra: dict[str, object] = field(default_factory=dict)


def package_root(package: str) -> Path:
    module = __import__(package)
    return Path(module.__file__).resolve().parent


def copy_tests(suite: Suite, destination: Path) -> list[Path]:
    """Copy each module's ``tests`` folder to ``destination/peer_<package>/...``; the modules."""
    source_root = package_root(suite.package)
    target_root = destination / f"peer_{suite.package}"
    copied: list[Path] = []
    for file in suite.files:
        tests_dir = Path(file).parent
        target = target_root / tests_dir
        if not target.exists():
            shutil.copytree(
                source_root / tests_dir, target, ignore=shutil.ignore_patterns("__pycache__")
            )
        for level in [target_root, *(target_root / p for p in tests_dir.parents if str(p) != ".")]:
            (level / "__init__.py").touch()
        copied.append(target_root / file)
    shutil.copy(HERE / "peer_conftest.py", destination / "conftest.py")
    return copied


def run_side(
    suite: Suite, folder: Path, *, autolog_on: bool, warnings_as_errors: bool = False
) -> Side:
    """Run ``suite``'s copied modules in a new pytest process; autolog on for the session or not."""
    side = "on" if autolog_on else "off"
    work = folder / side
    work.mkdir(parents=True, exist_ok=True)
    modules = copy_tests(suite, work)
    outcomes_file, store = work / "outcomes.json", work / "store"
    env = {
        **os.environ,
        "AUTOLOG_TESTING": "1",
        "PEER_AUTOLOG": "1" if autolog_on else "0",
        "PEER_FIXTURES": f"{suite.package}.conftest",
        "PEER_STORE": str(store),
        "PEER_OUTCOMES": str(outcomes_file),
        "OMP_NUM_THREADS": "1",
        "OPENBLAS_NUM_THREADS": "1",
        "MKL_NUM_THREADS": "1",
        "KERAS_BACKEND": "torch",
        "PYTHONHASHSEED": "0",
    }
    env.pop("PYTEST_ADDOPTS", None)
    command = [
        sys.executable,
        "-m",
        "pytest",
        "-q",
        "-p",
        "no:cacheprovider",
        "-p",
        "no:randomly",
        "--rootdir",
        str(work),
        "-o",
        "addopts=",
        "-o",
        "testpaths=",
    ]
    if warnings_as_errors:
        # Warnings about the copied suites themselves (markers statsmodels registers in its
        # setup.cfg, pytest deprecations in how scikit-learn parametrizes) would stop their
        # collection on both sides; every warning raised while tests run stays an error.
        command += [
            "-W", "error",
            "-W", "ignore::pytest.PytestUnknownMarkWarning",
            "-W", "ignore::pytest.PytestRemovedIn10Warning",
            "-W", "ignore::pluggy.PluggyTeardownRaisedWarning",
        ]  # fmt: skip
    if suite.keyword:
        command += ["-k", suite.keyword]
    command += [str(module) for module in modules]
    started = time.perf_counter()
    process = subprocess.run(
        command, cwd=work, env=env, capture_output=True, text=True, timeout=suite.timeout
    )
    seconds = time.perf_counter() - started
    output = process.stdout[-4000:] + process.stderr[-4000:]
    if not outcomes_file.is_file():
        raise AssertionError(f"pytest for {suite.name} ({side}) wrote no outcomes:\n{output}")
    outcomes = json.loads(outcomes_file.read_text())
    runs = len(list(store.glob("**/journal.jsonl"))) if store.is_dir() else 0
    size = sum(p.stat().st_size for p in store.rglob("*") if p.is_file()) if store.is_dir() else 0
    return Side(outcomes, seconds, runs, size, output)


def differences(off: Side, on: Side) -> list[str]:
    """One line per test whose outcome differs between the two sides."""
    lines = []
    for test in sorted(set(off.outcomes) | set(on.outcomes)):
        before = off.outcomes.get(test, {"outcome": "not run", "detail": ""})
        after = on.outcomes.get(test, {"outcome": "not run", "detail": ""})
        if before["outcome"] != after["outcome"]:
            detail = after["detail"] or before["detail"]
            lines.append(f"{test}: {before['outcome']} -> {after['outcome']} ({detail})")
    return lines


def compare(suite: Suite, folder: Path, *, warnings_as_errors: bool = False) -> tuple[Side, Side]:
    """Run ``suite`` off then on; fail listing every differing outcome, else both sides."""
    off = run_side(suite, folder, autolog_on=False, warnings_as_errors=warnings_as_errors)
    on = run_side(suite, folder, autolog_on=True, warnings_as_errors=warnings_as_errors)
    found = differences(off, on)
    summary = (
        f"{suite.name}{' (-W error)' if warnings_as_errors else ''}: {len(off.outcomes)} tests "
        f"compared, {len(found)} differ; {on.runs} runs recorded, store {on.store_bytes} bytes; "
        f"{off.seconds:.1f} s off, {on.seconds:.1f} s on (x{on.seconds / off.seconds:.2f})"
    )
    print(summary)
    assert off.outcomes, f"{suite.name}: no test ran\n{off.output}"
    assert not found, summary + "\n" + "\n".join(found)
    return off, on
