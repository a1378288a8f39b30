"""The journal source protocol: a plugin store that implements it gets the read API and the UI."""

from __future__ import annotations

import ast
import hashlib
import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest

import autolog
from autolog._journal import encode
from autolog.backend import Backend
from autolog.errors import RunNotFoundError
from autolog.plugins import pm
from autolog.sources import ArtifactFile, JournalSource, Signature

REPO = Path(__file__).resolve().parents[1]
RUN_A, RUN_B = "a" * 32, "b" * 32


class MemoryStore(JournalSource, Backend):
    """A store of journals held in a dict: only the four primitives are written here."""

    remote = False

    def __init__(self, uri: str) -> None:
        self.uri = uri
        self.journals: dict[str, bytes] = {}
        self.files: dict[tuple[str, str], bytes] = {}

    def run_ids(self) -> Iterator[str]:
        return iter(list(self.journals))

    def signature(self, run_id: str) -> Signature | None:
        data = self.journals.get(run_id)
        return None if data is None else (len(data), hashlib.sha1(data).hexdigest())

    def read_bytes(self, run_id: str, start: int = 0, stop: int | None = None) -> bytes:
        if run_id not in self.journals:
            raise RunNotFoundError(f"no run {run_id} in {self.uri}")
        return self.journals[run_id][start:stop]

    def open_artifact(self, run_id: str, path: str) -> ArtifactFile:
        data = self.files.get((run_id, path))
        if data is None:
            raise RunNotFoundError(f"run {run_id} has no artifact {path!r}")
        return ArtifactFile(name=path.rsplit("/", 1)[-1], chunks=iter([data]), size=len(data))


def memory_store() -> MemoryStore:
    store = MemoryStore("memory://runs")
    records = [
        ["run", {"id": RUN_A, "name": "ridge", "experiment": "e", "start_time": 1000}],
        ["params", {"alpha": "0.5"}],
        ["m", "rmse", 0.9, 0, 1001],
        ["m", "rmse", 0.4, 1, 1002],
        ["artifact", {"path": "notes/readme.txt", "size": 5, "sha256": ""}],
        ["end", {"status": "FINISHED", "end_time": 2000}],
    ]
    store.journals[RUN_A] = b"".join(encode(r) for r in records)
    store.journals[RUN_B] = encode(
        ["run", {"id": RUN_B, "name": "lasso", "experiment": "e", "start_time": 3000}]
    ) + encode(["m", "rmse", 0.7, 0, 3001])
    store.files[(RUN_A, "notes/readme.txt")] = b"hello"
    return store


@pytest.fixture
def plugin_store(store: Path) -> Iterator[MemoryStore]:
    """The memory store registered as the backend of ``memory://`` URIs."""
    backend = memory_store()

    class Plugin:
        @autolog.hookimpl
        def autolog_backend(self, uri, config):
            return backend if uri.startswith("memory://") else None

    plugin = Plugin()
    pm.register(plugin)
    try:
        yield backend
    finally:
        pm.unregister(plugin)


class TestPluginSource:
    def test_read_api_comes_for_free(self, plugin_store: MemoryStore, tmp_path: Path) -> None:
        """get_run, search_runs (filter, order, paging), history and downloads work unchanged."""
        uri = plugin_store.uri
        run = autolog.get_run(RUN_A, backend=uri)
        assert (run.name, run.status, run.params, run.metrics) == (
            "ridge",
            "FINISHED",
            {"alpha": "0.5"},
            {"rmse": 0.4},
        )
        found = autolog.search_runs(backend=uri, filter="metrics.rmse < 0.8")
        assert [r.id for r in found] == [RUN_B, RUN_A]
        ordered = autolog.search_runs(backend=uri, order_by=["metrics.rmse ASC"])
        assert [r.id for r in ordered] == [RUN_A, RUN_B]
        history = autolog.get_metric_history(RUN_A, "rmse", backend=uri)
        assert [(p.step, p.value) for p in history] == [(0, 0.9), (1, 0.4)]
        target = plugin_store.download_artifacts(RUN_A, "notes", tmp_path)
        assert (target / "readme.txt").read_bytes() == b"hello"
        page = autolog.search_runs(backend=uri, max_results=1)
        rest = autolog.search_runs(backend=uri, max_results=1, page_token=page.next_page_token)
        assert [r.id for r in page + rest] == [RUN_B, RUN_A]
        assert page.next_page_token is not None and rest.next_page_token is None

    def test_autolog_ui_shows_a_plugin_store(self, plugin_store: MemoryStore) -> None:
        """``autolog ui memory://runs`` lists, shows, charts and downloads from the plugin."""
        from starlette.testclient import TestClient

        from autolog._config import resolve
        from autolog.backend import backend_for
        from autolog.ui.app import create_ui_app
        from autolog.ui.journal_reader import open_reader

        reader = open_reader(plugin_store.uri, lambda uri: backend_for(uri, resolve({})))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            client = TestClient(create_ui_app(reader), base_url="http://127.0.0.1")
        experiments = client.get("/ui-api/experiments").json()["experiments"]
        assert [(e["name"], e["runs"]) for e in experiments] == [("e", 2)]
        runs = client.get("/ui-api/runs", params={"experiment": "e"}).json()
        assert {row["name"] for row in runs["runs"]} == {"ridge", "lasso"}
        detail = client.get(f"/ui-api/runs/{RUN_A}").json()
        assert detail["params"] == {"alpha": "0.5"}
        chart = client.get(f"/ui-api/runs/{RUN_A}/metric", params={"key": "rmse"}).json()
        assert chart["value"] == [0.9, 0.4]
        download = client.get(f"/ui-api/runs/{RUN_A}/artifacts/notes/readme.txt")
        assert download.status_code == 200 and download.content == b"hello"
        assert client.get(f"/ui-api/runs/{RUN_A}/artifacts/nothing.txt").status_code == 404


class TestLayering:
    def test_ui_imports_nothing_from_the_server(self) -> None:
        """autolog/ui never imports autolog.server: the server hands the UI a reader."""
        offenders = []
        for path in sorted((REPO / "autolog" / "ui").glob("*.py")):
            for node in ast.walk(ast.parse(path.read_text())):
                names: list[str] = []
                if isinstance(node, ast.ImportFrom):
                    module = node.module or ""
                    names = [module] if node.level == 0 else ["." * node.level + module]
                elif isinstance(node, ast.Import):
                    names = [alias.name for alias in node.names]
                for name in names:
                    if name.startswith(("autolog.server", "..server")):
                        offenders.append(f"{path.name}: {name}")
        assert offenders == []
