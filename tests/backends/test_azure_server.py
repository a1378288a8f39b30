"""``autolog server --artifacts wasbs://...`` against a real Azurite: files outlive the machine.

The server runs as a real process with a SQLite store and its artifacts in a
blob container; clients are our HTTP backend and MLflow's own client. A bad
credential must stop the server at start-up, in one line, without the key.
"""

from __future__ import annotations

import base64
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path
from urllib.parse import parse_qs, quote, urlsplit

import numpy as np
import pytest
from sklearn.datasets import load_iris
from sklearn.linear_model import LogisticRegression

import autolog
from tests.support.azurite import (
    ACCOUNT,
    AZURE_VARIABLES,
    KEY,
    NO_IDENTITY_PROBES,
    Azurite,
    blob_service,
    clean_azure_environment,
    unique_container,
)
from tests.support.mlflow_env import mlflow_env
from tests.support.processes import AutologServer, run_script
from tests.support.restapi import Api

ARTIFACTS = "/api/2.0/mlflow-artifacts/artifacts"
#: Bigger than one 8 MiB block, so the upload goes up as staged blocks committed at the end.
BIG = 20 * 1024 * 1024

MLFLOW_UPLOAD = """
import os, sys, tempfile
import mlflow
mlflow.set_tracking_uri(sys.argv[1])
mlflow.set_experiment("from-mlflow")
with mlflow.start_run(run_name="mlflow-run") as run:
    path = os.path.join(tempfile.mkdtemp(), "notes.txt")
    with open(path, "w") as f:
        f.write("hello from mlflow")
    mlflow.log_artifact(path, artifact_path="docs")
print(run.info.run_id)
"""


@pytest.fixture
def azure_env(azurite: Azurite) -> dict[str, str]:
    """The account key and Azurite's endpoint, as an operator exports them for the server."""
    return {
        "AZURE_STORAGE_KEY": KEY,
        "AZURE_STORAGE_BLOB_ENDPOINT": azurite.endpoint,
        **NO_IDENTITY_PROBES,
    }


@pytest.fixture
def start_server(
    start_server: Callable[..., AutologServer], monkeypatch: pytest.MonkeyPatch
) -> Callable[..., AutologServer]:
    """The suite's ``start_server``, with only the Azure settings given to each server."""
    for variable in AZURE_VARIABLES:  # the server inherits this process's environment
        monkeypatch.delenv(variable, raising=False)

    def start(store: str, artifacts: str, env: dict[str, str], port: int = 0) -> AutologServer:
        return start_server(store, artifacts=artifacts, env=env, port=port)

    return start


def artifact_root(api: Api, server_run_id: str) -> str:
    """Where the server keeps a run's files, as the path its artifact routes take."""
    run = api.ok(api.get("runs/get", run_id=server_run_id))["run"]
    return urlsplit(run["info"]["artifact_uri"]).path.strip("/")


def listing(api: Api, folder: str) -> list[tuple[str, bool, int | None]]:
    """The artifact listing of ``folder``: (name, is_dir, size) as MLflow's client sees it."""
    found = api.ok(api.http.get(ARTIFACTS, params={"path": folder}))
    return [(f["path"], f["is_dir"], f.get("file_size")) for f in found.get("files", [])]


def artifact_bytes(api: Api, path: str) -> bytes:
    response = api.http.get(f"{ARTIFACTS}/{quote(path)}")
    assert response.status_code == 200, response.text
    return response.content


def blob_names(azurite: Azurite, container: str) -> list[str]:
    return [b.name for b in blob_service(azurite).get_container_client(container).list_blobs()]


def log_fitted_model(url: str, client_dir: Path, big: bytes) -> tuple[str, LogisticRegression]:
    """A run with a report, a large file and a fitted model, sent by our HTTP backend."""
    x, y = load_iris(return_X_y=True)
    model = LogisticRegression(max_iter=300).fit(x, y)  # fitted before autolog(): not autologged
    client_dir.mkdir()
    (client_dir / "report.txt").write_text("accuracy 0.97\n")
    (client_dir / "weights.bin").write_bytes(big)
    autolog.autolog(backend=url, dir=str(client_dir / "runs"), experiment="blob-artifacts")
    with autolog.start_run(name="fit") as run:
        autolog.log_params({"max_iter": 300})
        autolog.log_artifact(client_dir / "report.txt")
        autolog.log_artifact(client_dir / "weights.bin")
        autolog.log_model(model)
    assert autolog.flush(60), "the run did not reach the server"
    return run.id, model


class TestRestartOnANewMachine:
    def test_a_server_restarted_elsewhere_on_the_same_database_and_container_loses_nothing(
        self,
        azurite: Azurite,
        azure_env: dict[str, str],
        start_server: Callable[..., AutologServer],
        tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        """SIGKILL, only the SQLite files moved to a new folder, restart: every file reads back."""
        container = unique_container()
        uri = f"wasbs://{container}@{ACCOUNT}.blob.core.windows.net/server"
        old_machine, new_machine = tmp_path / "machine-a", tmp_path / "machine-b"
        old_machine.mkdir()
        monkeypatch.chdir(old_machine)  # whatever the server writes locally lands here
        first = start_server(f"sqlite:///{old_machine / 'server.db'}", uri, azure_env)
        assert f"artifacts {uri}" in "".join(first.lines)
        big = os.urandom(BIG)
        run_id, model = log_fitted_model(first.url, tmp_path / "client", big)
        mlflow_run_id = run_script(
            MLFLOW_UPLOAD, tmp_path, python=str(mlflow_env().python), args=[first.url]
        ).stdout.split()[-1]

        first.kill()
        assert {p.name for p in old_machine.iterdir()} <= {
            "server.db",
            "server.db-wal",
            "server.db-shm",
        }, "the server kept something besides its database on local disk"
        new_machine.mkdir()
        for database in old_machine.glob("server.db*"):  # the WAL holds committed transactions
            shutil.move(database, new_machine / database.name)
        shutil.rmtree(old_machine)
        monkeypatch.chdir(new_machine)
        second = start_server(f"sqlite:///{new_machine / 'server.db'}", uri, azure_env, first.port)

        api = Api(second.url)
        try:
            root = artifact_root(api, api.find_run(run_id)["info"]["run_id"])
            assert listing(api, root) == [
                ("model", True, None),
                ("report.txt", False, 14),
                ("weights.bin", False, BIG),
            ]
            model_files = [name for name, is_dir, _ in listing(api, f"{root}/model") if not is_dir]
            assert "manifest.json" in model_files
            assert artifact_bytes(api, f"{root}/report.txt") == b"accuracy 0.97\n"
            assert artifact_bytes(api, f"{root}/weights.bin") == big
            mlflow_root = artifact_root(api, mlflow_run_id)
            assert listing(api, mlflow_root) == [("docs", True, None)]
            assert listing(api, f"{mlflow_root}/docs") == [("notes.txt", False, 17)]
            assert artifact_bytes(api, f"{mlflow_root}/docs/notes.txt") == b"hello from mlflow"
        finally:
            api.close()
        loaded = autolog.load_model(run_id, backend=second.url)
        assert type(loaded) is LogisticRegression
        assert np.array_equal(loaded.coef_, model.coef_)
        x, _ = load_iris(return_X_y=True)
        assert np.array_equal(loaded.predict(x), model.predict(x))
        stored = blob_names(azurite, container)
        assert f"server/{root}/weights.bin" in stored
        assert all(name.startswith("server/") for name in stored)


class TestAzureUri:
    def test_an_azure_uri_serves_upload_list_download_and_delete_from_the_container(
        self,
        azurite: Azurite,
        start_server: Callable[..., AutologServer],
        tmp_path: Path,
    ) -> None:
        """``azure://CONTAINER/PREFIX`` with a connection string: each artifact route works."""
        container = unique_container()
        env = {"AZURE_STORAGE_CONNECTION_STRING": azurite.connection_string, **NO_IDENTITY_PROBES}
        server = start_server(f"sqlite:///{tmp_path / 'server.db'}", f"azure://{container}/a", env)
        api = Api(server.url)
        try:
            put = api.http.put(f"{ARTIFACTS}/1/run/artifacts/plots/loss.png", content=b"png")
            assert put.status_code == 200, put.text
            assert listing(api, "1/run/artifacts") == [("plots", True, None)]
            assert artifact_bytes(api, "1/run/artifacts/plots/loss.png") == b"png"
            assert api.http.get(f"{ARTIFACTS}/1/run/artifacts/plots").status_code == 404
            assert api.http.delete(f"{ARTIFACTS}/1/run/artifacts/plots").status_code == 200
            assert listing(api, "1/run/artifacts") == []
            missing = api.http.get(f"{ARTIFACTS}/1/run/artifacts/plots/loss.png")
            assert missing.json()["error_code"] == "RESOURCE_DOES_NOT_EXIST"
        finally:
            api.close()
        assert blob_names(azurite, container) == []


class TestStorageOutage:
    def test_an_outage_answers_503_without_the_sas_and_the_server_serves_again_after_it(
        self,
        start_server: Callable[..., AutologServer],
        tmp_path: Path,
    ) -> None:
        """A container SAS, Azurite stopped: 503, Retry-After, no signature shown; then it heals."""
        from azure.storage.blob import ContainerSasPermissions, generate_container_sas

        own = Azurite(tmp_path / "azurite").start()  # its own service: this test stops it
        try:
            container = unique_container()
            blob_service(own).create_container(container)  # a container SAS cannot create it
            sas = generate_container_sas(
                ACCOUNT,
                container,
                account_key=KEY,
                permission=ContainerSasPermissions(
                    read=True, write=True, create=True, list=True, delete=True
                ),
                expiry=datetime.now(timezone.utc) + timedelta(hours=1),
            )
            signature = parse_qs(sas)["sig"][0]
            env = {
                "AZURE_STORAGE_SAS_TOKEN": sas,
                "AZURE_STORAGE_BLOB_ENDPOINT": own.endpoint,
                **NO_IDENTITY_PROBES,
            }
            uri = f"wasbs://{container}@{ACCOUNT}.blob.core.windows.net/server"
            server = start_server(f"sqlite:///{tmp_path / 'server.db'}", uri, env)
            api = Api(server.url)
            path = f"{ARTIFACTS}/1/run/artifacts/notes.txt"
            try:
                assert api.http.put(path, content=b"before").status_code == 200
                own.stop()
                refused = api.http.put(path, content=b"during")
                assert refused.status_code == 503, refused.text
                assert refused.json()["error_code"] == "TEMPORARILY_UNAVAILABLE"
                assert refused.headers["Retry-After"]
                own.start()
                assert api.http.put(path, content=b"after").status_code == 200
                assert artifact_bytes(api, "1/run/artifacts/notes.txt") == b"after"
            finally:
                api.close()
            shown = refused.text + "".join(server.lines)
            assert signature not in shown and quote(signature, safe="") not in shown
        finally:
            own.stop()


WRONG_KEY = base64.b64encode(b"not the account key, but well-formed base64 " * 2).decode()
MALFORMED_KEY = "this-is-not-a-base64-key!"


class TestStartupCredentials:
    @pytest.mark.parametrize(
        ("variables", "secret", "problem"),
        [
            ({"AZURE_STORAGE_KEY": WRONG_KEY}, WRONG_KEY, "refused the credential from"),
            ({"AZURE_STORAGE_KEY": MALFORMED_KEY}, MALFORMED_KEY, "is not usable"),
            (
                {
                    "AZURE_STORAGE_CONNECTION_STRING": (
                        f"DefaultEndpointsProtocol=http;AccountName={ACCOUNT};"
                        f"AccountKey={WRONG_KEY};BlobEndpoint={{endpoint}};"
                    )
                },
                WRONG_KEY,
                "refused the credential from AZURE_STORAGE_CONNECTION_STRING",
            ),
            ({}, None, "DefaultAzureCredential found no usable Azure identity"),
        ],
        ids=["refused-key", "malformed-key", "refused-connection-string", "none"],
    )
    def test_a_bad_credential_stops_the_server_in_one_line_without_the_key(
        self,
        azurite: Azurite,
        tmp_path: Path,
        variables: dict[str, str],
        secret: str | None,
        problem: str,
    ) -> None:
        """The CLI exits non-zero with one line naming the variables, and never shows the key."""
        uri = f"wasbs://{unique_container()}@{ACCOUNT}.blob.core.windows.net/server"
        env = {k: v.format(endpoint=azurite.endpoint) for k, v in variables.items()}
        env.setdefault("AZURE_STORAGE_BLOB_ENDPOINT", azurite.endpoint)
        options = ["--port", "0", "--store", f"sqlite:///{tmp_path / 'server.db'}"]
        done = subprocess.run(
            [sys.executable, "-P", "-m", "autolog", "server", *options, "--artifacts", uri],
            env={**clean_azure_environment(), **env},
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert done.returncode != 0
        assert done.stdout == ""
        [line] = done.stderr.splitlines()
        assert line.startswith(f"autolog: error: cannot keep artifacts in {uri}: ")
        assert problem in line
        for variable in ("AZURE_STORAGE_CONNECTION_STRING", "AZURE_STORAGE_KEY"):
            assert variable in line
        if secret is not None:
            assert secret not in done.stdout + done.stderr
            assert secret[:12] not in done.stdout + done.stderr
