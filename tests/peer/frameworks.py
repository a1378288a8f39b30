"""Running a framework's own shipped tests with autolog off and on, and comparing outcomes.

scikit-learn and statsmodels ship their test suites inside their wheels. A
:class:`Suite` names some of those test modules; :func:`run_side` copies their
``tests`` folders into a scratch folder under another package name (autolog
leaves alone fits that ``sklearn.*``/``statsmodels.*`` modules make on their own
behalf, and the copies must count as user code), then runs pytest there in a
fresh process, with ``autolog.autolog()`` on for the whole session or not.
:func:`differences` lists every test whose outcome is not the same.

The side without autolog depends only on the framework, its test files and the
installed packages, not on autolog's code, so :func:`compare` keeps it in
pytest's cache (``.pytest_cache``), under a key made of all of those
(:func:`baseline_key`): a rerun runs only the side with autolog, and on a
fresh clone the two sides run at the same time, one per core. A difference
against a cached baseline, or a test failing on both sides, is checked
against a fresh run without autolog before the comparison is decided, so a
stale cache can neither make a comparison fail nor hide a failure autolog
causes. ``--cache-clear`` or ``PEER_FRESH_BASELINE=1`` runs both sides again.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import shutil
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any, Protocol

HERE = Path(__file__).resolve().parent


@dataclass(frozen=True)
class Suite:
    """Test modules of one framework, as paths inside its package (``linear_model/tests/x.py``)."""

    name: str
    package: str  # "sklearn" or "statsmodels"
    files: tuple[str, ...]
    keyword: str | None = None  # a pytest -k expression, to keep a slow module to its core
    rng: bool = False  # also compare the global RNG state after each test (peer_conftest.py)
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
    cached: bool = False  # read from the baseline cache, not run now


class Cache(Protocol):
    """What :func:`compare` needs of pytest's ``config.cache``."""

    def get(self, key: str, default: Any) -> Any: ...

    def set(self, key: str, value: object) -> None: ...


#: Environment variables whose prefix can change what a framework's tests do without autolog.
OUTCOME_VARIABLES = ("SKLEARN", "STATSMODELS", "SCIPY", "NUMPY", "PYTEST", "PYTHON", "KERAS")


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
        "PEER_RNG": "1" if suite.rng else "0",
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
        elif before.get("rng") != after.get("rng"):
            lines.append(f"{test}: {after['outcome']}, but the global RNG state after it differs")
    return lines


def failing(side: Side) -> list[str]:
    """The tests that failed or errored on ``side``."""
    bad = ("failed", "error")
    return [test for test, entry in side.outcomes.items() if entry["outcome"].startswith(bad)]


@functools.lru_cache(maxsize=1)
def installed() -> str:
    """``name==version`` of every installed distribution, a line each (read once per session)."""
    return "\n".join(sorted(f"{d.metadata['Name']}=={d.version}" for d in metadata.distributions()))


def baseline_key(name: str, *sources: Path, settings: object = None) -> str:
    """A digest of everything a side without autolog depends on.

    The installed distributions and their versions, the Python build, the
    environment variables that frameworks read (``OUTCOME_VARIABLES``),
    ``settings``, and the size and modification time of every file under the
    folders ``sources`` (the frameworks' test folders, tests/peer itself).
    """
    sha = hashlib.sha256(repr((name, settings, sys.version, sys.platform)).encode())
    sha.update(installed().encode())
    for variable in sorted(os.environ):
        if variable.startswith(OUTCOME_VARIABLES):
            sha.update(f"{variable}={os.environ[variable]}".encode())
    for source in sources:
        for path in sorted(source.rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts:
                info = path.stat()
                sha.update(f"{path}:{info.st_size}:{info.st_mtime_ns}".encode())
    return sha.hexdigest()


def load_baseline(cache: Cache | None, name: str, key: str) -> Any:
    """The record :func:`save_baseline` kept for ``name`` under ``key``, or None."""
    if cache is None or os.environ.get("PEER_FRESH_BASELINE") == "1":
        return None
    entry = cache.get(f"autolog/peer/{name}".replace(" ", "_"), None)
    return entry["value"] if isinstance(entry, dict) and entry.get("key") == key else None


def save_baseline(cache: Cache | None, name: str, key: str, value: object) -> None:
    """Keep ``value`` (JSON) as the side without autolog of ``name``, replacing an older one."""
    if cache is not None:
        cache.set(f"autolog/peer/{name}".replace(" ", "_"), {"key": key, "value": value})


def both_sides(first: Any, second: Any) -> tuple[Any, Any]:
    """Run two independent sides at once: each is its own process, so 2 cores halve the wait."""
    with ThreadPoolExecutor(2) as pool:
        a, b = pool.submit(first), pool.submit(second)
        return a.result(), b.result()


def compare(
    suite: Suite, folder: Path, *, warnings_as_errors: bool = False, cache: Cache | None = None
) -> tuple[Side, Side]:
    """Run ``suite`` off and on; fail listing every differing outcome, else both sides.

    The side without autolog comes from ``cache`` when its :func:`baseline_key`
    matches; otherwise both sides run at once and the cache keeps the new baseline.
    """
    name = f"{suite.name}{' (-W error)' if warnings_as_errors else ''}"
    key = baseline_key(
        name,
        *{package_root(suite.package) / Path(file).parent for file in suite.files},
        HERE,
        settings=(suite, warnings_as_errors),
    )

    def side(autolog_on: bool) -> Side:
        return run_side(suite, folder, autolog_on=autolog_on, warnings_as_errors=warnings_as_errors)

    def keep(off: Side) -> None:
        save_baseline(cache, name, key, {"outcomes": off.outcomes, "seconds": off.seconds})

    record = load_baseline(cache, name, key)
    if record is not None:
        off, on = Side(record["outcomes"], record["seconds"], cached=True), side(True)
    else:
        off, on = both_sides(lambda: side(False), lambda: side(True))
        keep(off)
    found = differences(off, on)
    # The cache may be stale in a way its key does not see: a difference, or a test that
    # fails on both sides (where a fresh run without autolog might pass), is checked again.
    if off.cached and (found or failing(on)):
        off = side(False)
        keep(off)
        found = differences(off, on)
    summary = (
        f"{name}: {len(off.outcomes)} tests compared, {len(found)} differ; {on.runs} runs "
        f"recorded, store {on.store_bytes} bytes; {off.seconds:.1f} s off"
        f"{' (cached)' if off.cached else ''}, {on.seconds:.1f} s on "
        f"(x{on.seconds / off.seconds:.2f})"
    )
    print(summary)
    assert off.outcomes, f"{suite.name}: no test ran\n{off.output}"
    assert not found, summary + "\n" + "\n".join(found)
    return off, on
