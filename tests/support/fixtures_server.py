"""Fixtures of real servers, shared by every test folder: autolog server, PostgreSQL, MLflow,
Azurite.

Loaded for the whole suite through ``pytest_plugins`` in tests/conftest.py.
Every process is stopped in a ``finally``. Components that are missing make
the tests fail, not skip: ``make test`` installs them (tests/support/tools.py).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.support.azurite import Azurite
from tests.support.mlflow_env import MlflowEnv, mlflow_env
from tests.support.postgres import PostgresCluster
from tests.support.processes import AutologServer, MlflowServer
from tests.support.restapi import Api


@pytest.fixture
def start_server(tmp_path: Path) -> Iterator[Callable[..., AutologServer]]:
    """Start ``autolog server`` processes (SQLite in tmp_path by default); stopped at the end."""
    started: list[AutologServer] = []

    def start(store: str | None = None, **options) -> AutologServer:
        server = AutologServer(
            store or f"sqlite:///{tmp_path / 'server.db'}",
            options.pop("artifacts", tmp_path / "server-artifacts"),
            **options,
        )
        started.append(server)
        return server.start()

    try:
        yield start
    finally:
        for server in started:
            server.kill()


@pytest.fixture(scope="module")
def shared_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AutologServer]:
    """One ``autolog server`` on SQLite shared by a test module (tests use their own names).

    The reliability suite uses it as the healthy backend that journals are synced to.
    """
    folder = tmp_path_factory.mktemp("shared-server")
    server = AutologServer(f"sqlite:///{folder / 'server.db'}", folder / "artifacts")
    try:
        yield server.start()
    finally:
        server.kill()


@pytest.fixture(scope="module")
def api(shared_server: AutologServer) -> Iterator[Api]:
    """A REST client of the module's shared server."""
    client = Api(shared_server.url)
    try:
        yield client
    finally:
        client.close()


@pytest.fixture(scope="module")
def azurite(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Azurite]:
    """One Azurite per test module; each test makes its own container in it."""
    server = Azurite(tmp_path_factory.mktemp("azurite") / "data").start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresCluster]:
    """A PostgreSQL cluster of our own for the whole session, removed at the end."""
    cluster = PostgresCluster()
    try:
        yield cluster.start()
    finally:
        cluster.remove()


@pytest.fixture(scope="session")
def mlflow() -> MlflowEnv:
    """The MLflow virtual environment (created on first use)."""
    return mlflow_env()


@pytest.fixture(scope="session")
def mlflow_server(mlflow: MlflowEnv, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real ``mlflow server`` for the session (it takes a while to start); yields its URL."""
    server = MlflowServer(mlflow.mlflow, tmp_path_factory.mktemp("mlflow-server"))
    try:
        yield server.start().url
    finally:
        server.stop()
