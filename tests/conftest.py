"""Shared fixtures: every test runs in its own folder, with autolog's errors raised.

The helpers and fixtures the test folders share live in the ``tests.support``
package; its fixture modules are loaded here, for the whole suite. Tests that
start an external service (Azurite, PostgreSQL, a browser, MLflow, server
processes) are marked ``service`` so that ``make check`` can leave them out.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

import autolog
from autolog import _integrations
from autolog._config import ENVIRONMENT
from autolog._session import session

# Our own failures must raise in tests, in this process and in every subprocess.
os.environ["AUTOLOG_TESTING"] = "1"
# The faulty:// test backend, also for subprocesses that turn testing mode off.
os.environ["AUTOLOG_PLUGINS"] = "autolog.testing"

pytest_plugins = ["tests.support.fixtures_server", "tests.support.fixtures_ui"]

#: Fixtures that start an external service or a server process (directly or through others).
SERVICE_FIXTURES = {
    "start_server", "shared_server", "api", "postgres", "mlflow", "mlflow_server", "azurite",
    "browser", "page", "site", "local_ui", "tracking_server", "fixture_store", "wheel",
    "datasets_site",
}  # fmt: skip
#: Folders whose every test drives real processes, whatever its fixtures.
SERVICE_FOLDERS = ("backends", "reliability")  # backends/: the Azure tests, on Azurite


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark the tests that need an external service ``service`` (``-m "not service"``)."""
    tests = Path(__file__).resolve().parent
    for item in items:
        folder = item.path.resolve().relative_to(tests).parts[0]
        if (
            folder in SERVICE_FOLDERS
            or SERVICE_FIXTURES & set(item.fixturenames)
            or _runs_on_postgresql(item)
        ):
            item.add_marker(pytest.mark.service)


@pytest.fixture(autouse=True)
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Run the test in an empty folder, with no AUTOLOG_* settings and a fresh session."""
    for variable in (*ENVIRONMENT.values(), "MLFLOW_TRACKING_URI"):
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.chdir(tmp_path)
    session.reset()
    yield tmp_path
    _integrations.disable_all()
    session.reset()


@pytest.fixture(scope="session")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The project built as a wheel, once per test session (pip wheel, no dependencies)."""
    import subprocess
    import sys

    folder = tmp_path_factory.mktemp("wheel")
    repo = Path(__file__).resolve().parents[1]
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", str(folder), repo],
        check=True,
        capture_output=True,
    )
    [built] = folder.glob("autolog_tracking-*.whl")
    return built


@pytest.fixture
def store(tmp_path: Path) -> Path:
    """A local store in the test's folder, configured as autolog's backend."""
    path = tmp_path / "runs"
    autolog.autolog(backend=str(path))
    return path


def _runs_on_postgresql(item: pytest.Item) -> bool:
    """A test parametrized over the databases (its PostgreSQL case asks for the cluster late)."""
    callspec = getattr(item, "callspec", None)
    return callspec is not None and "postgresql" in callspec.params.values()
