"""The client contains what it reads: hostile listings, crafted journals, swapped models.

A fake hostile server (a real HTTP server speaking just enough of MLflow's REST
API) lists ``..`` names, absolute paths and backslashes; a crafted journal
names ``/etc/passwd`` for ``autolog sync``; a model's file or its manifest is
swapped on disk or on a real ``autolog server``. Every case is refused before a
byte is written outside its folder or unpickled.
"""

from __future__ import annotations

import http.server
import json
import pathlib
import pickle
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

import autolog
from autolog._journal import Journal
from autolog._models import MANIFEST, load_model_from
from autolog._store import sha256_file
from autolog.errors import AutologError, InternalError, ModelIntegrityError, UnsafePathError

RUN = "a" * 32


class Canary:
    """Unpickling this creates a file: proof that something was unpickled."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def __reduce__(self):
        return (pathlib.Path.touch, (self.path,))


class HostileServer:
    """Answers every MLflow call with one run, and artifact listings with ``entries``."""

    def __init__(self, entries: list[dict], model_path: str = "model") -> None:
        state = self
        self.entries = entries
        run = {
            "info": {
                "run_id": RUN,
                "experiment_id": "0",
                "status": "FINISHED",
                "artifact_uri": f"mlflow-artifacts:/0/{RUN}/artifacts",
                "lifecycle_stage": "active",
            },
            "data": {
                "tags": [
                    {"key": "autolog.run_id", "value": RUN},
                    {"key": "autolog.model", "value": json.dumps({"path": model_path})},
                ]
            },
        }
        experiment = {"experiment_id": "0", "name": "Default", "lifecycle_stage": "active"}

        class Handler(http.server.BaseHTTPRequestHandler):
            def answer(self, body: object, raw: bytes | None = None) -> None:
                data = raw if raw is not None else json.dumps(body).encode()
                self.send_response(200)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:
                url = urlsplit(self.path)
                if url.path == "/api/2.0/mlflow-artifacts/artifacts":
                    listed = parse_qs(url.query).get("path", [""])[0]
                    depth = listed.count("/") - 3  # 0/RUN/artifacts/model -> 1
                    self.answer({"files": state.entries if depth <= 1 else []})
                elif url.path.startswith("/api/2.0/mlflow-artifacts/artifacts/"):
                    self.answer(None, b"hostile bytes")
                else:
                    self.answer({"experiments": [experiment], "experiment": experiment,
                                 "runs": [run], "run": run})  # fmt: skip

            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                self.answer({"experiments": [experiment], "runs": [run], "run": run})

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def hostile() -> Iterator[object]:
    servers: list[HostileServer] = []

    def start(entries: list[dict], model_path: str = "model") -> HostileServer:
        servers.append(HostileServer(entries, model_path))
        return servers[-1]

    try:
        yield start
    finally:
        for server in servers:
            server.close()


def _files_outside(root: Path, dest: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file() and dest not in p.parents]


HOSTILE_NAMES = [
    "../escape.txt",
    "../../escape.txt",
    "sub/../../escape.txt",
    "..\\..\\escape.txt",
    "..",
]


@pytest.mark.parametrize("name", HOSTILE_NAMES)
def test_listed_names_that_climb_out_are_refused(hostile, tmp_path: Path, name: str):
    """A listing entry with '..' raises UnsafePathError; nothing lands outside the folder."""
    from autolog.backends.http import HttpBackend

    server = hostile([{"path": "ok.txt", "is_dir": False}, {"path": name, "is_dir": False}])
    dest = tmp_path / "deep" / "dest"
    dest.mkdir(parents=True)
    backend = HttpBackend(server.url)
    with pytest.raises(UnsafePathError, match="refused"):
        backend.download_artifacts(RUN, "model", dest)
    assert _files_outside(tmp_path, dest) == []


def test_absolute_names_stay_inside_the_folder(hostile, tmp_path: Path):
    """An absolute name in a listing is read relative to the folder, never as given."""
    from autolog.backends.http import HttpBackend

    outside = tmp_path / "outside.txt"
    server = hostile([{"path": str(outside), "is_dir": False}])
    dest = tmp_path / "dest"
    dest.mkdir()
    HttpBackend(server.url).download_artifacts(RUN, "model", dest)
    assert not outside.exists()
    assert _files_outside(tmp_path, dest) == []


@pytest.mark.parametrize("model_path", ["..", "../..", "/"])
def test_a_hostile_model_path_is_refused(hostile, tmp_path: Path, model_path: str):
    """The server's autolog.model tag naming '..' cannot make load_model write outside."""
    from autolog._models import load_run_model
    from autolog.backends.http import HttpBackend

    server = hostile([{"path": "model.pkl", "is_dir": False}], model_path=model_path)
    with pytest.raises(AutologError):  # UnsafePathError, or "no manifest" for the root
        load_run_model(HttpBackend(server.url), RUN)


def test_a_symlink_in_the_destination_is_not_followed_out(hostile, tmp_path: Path):
    """A destination folder whose model/ is a symlink elsewhere is refused."""
    from autolog.backends.http import HttpBackend

    server = hostile([{"path": "model.pkl", "is_dir": False}])
    (tmp_path / "elsewhere").mkdir()
    dest = tmp_path / "dest"
    dest.mkdir()
    (dest / "model").symlink_to(tmp_path / "elsewhere")
    with pytest.raises(UnsafePathError, match="symbolic link"):
        HttpBackend(server.url).download_artifacts(RUN, "model", dest)
    assert list((tmp_path / "elsewhere").iterdir()) == []


# -- autolog sync of a crafted journal ----------------------------------------

CRAFTED = ["/etc/passwd", "../../../../etc/passwd", "../other-run/artifacts/secret.txt"]


def _crafted_store(tmp_path: Path) -> tuple[Path, str]:  # (store, run id)
    """A real run, then artifact records naming files outside its folder, checksums valid."""
    store = tmp_path / "runs"
    (tmp_path / "secret.txt").write_text("do not send")
    script = (
        "import sys, autolog\n"
        "autolog.autolog(backend=sys.argv[1])\n"
        "with autolog.start_run() as run:\n"
        "    run.log_text('fine', 'ok.txt'); print(run.id)\n"
    )
    out = subprocess.run(
        [sys.executable, "-P", "-c", script, str(store)], capture_output=True, text=True, check=True
    )
    run_id = out.stdout.strip()
    journal = Journal(store / run_id / "journal.jsonl")
    for path in CRAFTED:
        journal.append(["artifact", {"path": path, "size": 1, "sha256": "0" * 64}])
    journal.close()
    return store, run_id


def test_sync_uploads_only_files_of_the_run(tmp_path: Path, start_server):
    """A journal naming /etc/passwd and ../ files: refused with a warning; ok.txt arrives."""
    server = start_server()
    store, _ = _crafted_store(tmp_path)
    replica = tmp_path / "replica"
    result = subprocess.run(
        [sys.executable, "-P", "-m", "autolog", "sync", "--dir", str(store), "-q",
         "--backend", server.url, "--backend", str(replica)],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    for path in CRAFTED:
        assert path in result.stderr and "refused" in result.stderr
    uploaded = [p for p in server.artifacts.rglob("*") if p.is_file()]
    assert [p.name for p in uploaded] == ["ok.txt"]
    copied = [p for p in replica.rglob("*") if p.is_file() and "artifacts" in p.parts]
    assert [p.name for p in copied] == ["ok.txt"]
    assert "root:" not in "".join(p.read_text() for p in uploaded + copied)


# -- load_model: only the files the manifest lists, the manifest as recorded ------


@pytest.fixture
def saved_model(tmp_path: Path) -> tuple[Path, str]:
    """A real scikit-learn model saved by autolog in a local store; (store, run id)."""
    from sklearn.linear_model import LinearRegression

    store = tmp_path / "runs"
    autolog.autolog(backend=str(store))
    model = LinearRegression().fit([[0.0], [1.0], [2.0]], [0.0, 1.0, 2.0])
    [run] = autolog.search_runs()
    assert model.coef_[0] > 0 and run.model is not None
    return store, run.id


def _model_dir(store: Path, run_id: str) -> Path:
    return store / run_id / "artifacts" / "model"


def _swap_in_canary(folder: Path, tmp_path: Path) -> tuple[Path, Path]:
    """Replace the model's pickle by one that creates a file when unpickled; (pickle, canary)."""
    [pickled] = [p for p in folder.iterdir() if p.suffix == ".pkl"]
    canary = tmp_path / "unpickled"
    pickled.write_bytes(pickle.dumps(Canary(canary)))
    return pickled, canary


def _edit_manifest(folder: Path, edit: Callable[[dict], object]) -> None:
    manifest = json.loads((folder / MANIFEST).read_text())
    edit(manifest)
    (folder / MANIFEST).write_text(json.dumps(manifest))


def test_an_untouched_model_loads(saved_model):
    """The baseline: the same model loads back."""
    _, run_id = saved_model
    assert autolog.load_model(run_id).predict([[3.0]])[0] == pytest.approx(3.0)


def test_a_swapped_model_file_is_refused_before_unpickling(saved_model, tmp_path: Path):
    """model.pkl replaced by another pickle: refused, and the other pickle never runs."""
    store, run_id = saved_model
    _, canary = _swap_in_canary(_model_dir(store, run_id), tmp_path)
    with pytest.raises(ModelIntegrityError, match="does not match"):
        autolog.load_model(run_id)
    assert not canary.exists()


def test_a_swapped_manifest_is_refused_before_unpickling(saved_model, tmp_path: Path):
    """model.pkl and a manifest that agrees with it, both swapped: the journal's sha refuses."""
    store, run_id = saved_model
    folder = _model_dir(store, run_id)
    pickled, canary = _swap_in_canary(folder, tmp_path)
    _edit_manifest(
        folder, lambda manifest: manifest["files"].update({pickled.name: sha256_file(pickled)})
    )
    with pytest.raises(ModelIntegrityError, match="recorded when the model was saved"):
        autolog.load_model(run_id)
    assert not canary.exists()


def test_a_manifest_that_drops_the_model_file_is_refused(saved_model, tmp_path: Path):
    """A manifest that no longer lists model.pkl (so no sha is checked) is refused too."""
    store, run_id = saved_model
    _edit_manifest(_model_dir(store, run_id), lambda manifest: manifest.update(files={}))
    with pytest.raises(ModelIntegrityError):
        autolog.load_model(run_id)


def test_unlisted_files_are_never_opened(saved_model, tmp_path: Path):
    """A file the (genuine) manifest does not list is removed before the flavor plugin runs."""
    store, run_id = saved_model
    folder = tmp_path / "copy"
    import shutil

    shutil.copytree(_model_dir(store, run_id), folder)
    pickled, canary = _swap_in_canary(folder, tmp_path)
    _edit_manifest(folder, lambda manifest: manifest["files"].pop(pickled.name))
    with pytest.raises(InternalError, match="FileNotFoundError"):  # a warning outside tests
        load_model_from(folder, sha256_file(folder / MANIFEST))
    assert not canary.exists() and not pickled.exists()


@pytest.mark.parametrize("listed", ["../outside.pkl", "/etc/passwd", "a/../../x"])
def test_manifest_names_outside_the_folder_are_refused(tmp_path: Path, listed: str):
    """A manifest listing a path outside its folder is refused even when its sha matches."""
    folder = tmp_path / "model"
    folder.mkdir()
    (folder / MANIFEST).write_text(json.dumps({"flavor": "pickle", "files": {listed: "0"}}))
    with pytest.raises(ModelIntegrityError, match="refused"):
        load_model_from(folder, sha256_file(folder / MANIFEST))


def test_a_model_swapped_on_the_server_is_refused(tmp_path: Path, start_server):
    """Over HTTP the expected sha256 comes from the server's autolog.model tag."""
    server = start_server()
    script = (
        "import sys, autolog\n"
        "from sklearn.linear_model import LinearRegression\n"
        "autolog.autolog(backend=[sys.argv[1], sys.argv[2]])\n"
        "LinearRegression().fit([[0.0], [1.0]], [0.0, 1.0])\n"
        "print(autolog.search_runs()[0].id)\n"
    )
    out = subprocess.run(
        [sys.executable, "-P", "-c", script, str(tmp_path / "runs"), server.url],
        capture_output=True, text=True, check=True, timeout=120,
    )  # fmt: skip
    run_id = out.stdout.strip().splitlines()[-1]
    assert autolog.load_model(run_id, backend=server.url).predict([[2.0]])[0] == pytest.approx(2.0)
    [pickled] = [p for p in server.artifacts.rglob("*.pkl")]
    canary = tmp_path / "unpickled"
    pickled.write_bytes(pickle.dumps(Canary(canary)))
    manifest_path = pickled.parent / MANIFEST
    manifest = json.loads(manifest_path.read_text())
    manifest["files"][pickled.name] = sha256_file(pickled)
    manifest_path.write_text(json.dumps(manifest))
    with pytest.raises(ModelIntegrityError):
        autolog.load_model(run_id, backend=server.url)
    assert not canary.exists()
