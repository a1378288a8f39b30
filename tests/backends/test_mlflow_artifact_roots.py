"""A real ``mlflow server`` whose artifact root it does not proxy: the runs arrive whole.

``mlflow server --default-artifact-root wasbs://... --no-serve-artifacts`` (the
set-up of MLflow's "getting started" articles, here on Azurite) and a local
folder with ``--no-serve-artifacts``: the HTTP backend writes the artifacts
there itself, as MLflow's client does, and MLflow's client lists the model
files where it expects them. An artifact root the backend cannot reach holds
back only the artifacts: params, metrics and status arrive, and the files go
with a later ``autolog sync``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.azurite import NO_IDENTITY_PROBES, Azurite, unique_container
from tests.support.harness import autolog_cli, shell_env
from tests.support.mlflow_env import MlflowEnv
from tests.support.processes import MlflowServer, run_script

SKLEARN_FIT = """
import autolog
from sklearn.datasets import load_iris
from sklearn.linear_model import LogisticRegression

autolog.autolog(exit_timeout=60)
X, y = load_iris(return_X_y=True)
model = LogisticRegression(max_iter=300, C=0.5).fit(X, y)
print(autolog.search_runs(backend="autolog-runs")[0].id)
"""

KERAS_FIT = """
import os
os.environ["KERAS_BACKEND"] = "torch"
import autolog
import numpy as np
import keras

autolog.autolog(exit_timeout=60)
keras.utils.set_random_seed(0)
x = np.random.rand(64, 4).astype("float32")
y = x.sum(axis=1, keepdims=True)
model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(8), keras.layers.Dense(1)])
model.compile(optimizer="adam", loss="mse")
model.fit(x, y, epochs=3, batch_size=16, verbose=0)
print(autolog.search_runs(backend="autolog-runs")[0].id)
"""

# MLflow's own client reads the run back: by our id's tag, params, metrics, model files.
READ_BACK = """
import json, sys
from mlflow.tracking import MlflowClient

client = MlflowClient(sys.argv[1])
[run] = client.search_runs(
    [e.experiment_id for e in client.search_experiments()],
    f"tags.`autolog.run_id` = '{sys.argv[2]}'",
)
def walk(path):
    for entry in client.list_artifacts(run.info.run_id, path):
        if entry.is_dir:
            yield from walk(entry.path)
        else:
            yield entry.path
print(json.dumps({
    "status": run.info.status,
    "params": sorted(run.data.params),
    "metrics": sorted(run.data.metrics),
    "files": sorted(walk("model")),
    "artifact_uri": run.info.artifact_uri,
}))
"""


def train(folder: Path, script: str, env: dict[str, str]) -> tuple[str, str]:
    """Run a training script; its run id and stderr."""
    folder.mkdir(parents=True, exist_ok=True)
    done = run_script(script, cwd=folder, env=env, timeout=300)
    return done.stdout.strip().splitlines()[-1], done.stderr


def read_back(mlflow: MlflowEnv, folder: Path, url: str, run_id: str, env: dict) -> dict:
    done = run_script(READ_BACK, folder, env, python=str(mlflow.python), args=[url, run_id])
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def wasbs_server(
    mlflow: MlflowEnv, azurite: Azurite, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, dict[str, str]]]:
    """mlflow server keeping artifacts in Azurite, not serving them; its URL and client env."""
    root = azurite.uri(unique_container(), "mlruns")
    env = shell_env(**azurite.env())
    container = root.split("://", 1)[1].split("@", 1)[0]
    from azure.storage.blob import BlobServiceClient

    BlobServiceClient.from_connection_string(azurite.connection_string).create_container(container)
    server = MlflowServer(
        mlflow.mlflow,
        tmp_path_factory.mktemp("mlflow-wasbs"),
        artifact_args=["--default-artifact-root", root, "--no-serve-artifacts"],
        env=env,
    )
    try:
        yield server.start().url, env
    finally:
        server.stop()


@pytest.fixture(scope="module")
def folder_server(
    mlflow: MlflowEnv, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, Path]]:
    """mlflow server with a local artifact folder it does not serve; its URL and the folder."""
    folder = tmp_path_factory.mktemp("mlflow-folder")
    root = folder / "artifact-root"
    server = MlflowServer(
        mlflow.mlflow,
        folder,
        artifact_args=["--default-artifact-root", str(root), "--no-serve-artifacts"],
    )
    try:
        yield server.start().url, root
    finally:
        server.stop()


@pytest.mark.parametrize("script", [SKLEARN_FIT, KERAS_FIT], ids=["sklearn", "keras"])
class TestArtifactRootsMlflowDoesNotServe:
    def test_wasbs_root_on_azurite(
        self, wasbs_server, mlflow: MlflowEnv, tmp_path: Path, script: str
    ) -> None:
        """Params, metrics and the model's files arrive; MLflow lists them in the container."""
        url, env = wasbs_server
        run_id, stderr = train(tmp_path, script, {**env, "AUTOLOG_BACKEND": url})
        assert "AutologWarning" not in stderr, stderr
        seen = read_back(mlflow, tmp_path, url, run_id, env)
        assert seen["artifact_uri"].startswith("wasbs://")
        assert seen["status"] == "FINISHED"
        assert seen["params"] and seen["metrics"]
        assert "model/manifest.json" in seen["files"], seen["files"]

    def test_local_folder_root(
        self, folder_server, mlflow: MlflowEnv, tmp_path: Path, script: str
    ) -> None:
        """A --no-serve-artifacts folder on this machine: written there, listed by MLflow."""
        url, root = folder_server
        run_id, stderr = train(tmp_path, script, shell_env(AUTOLOG_BACKEND=url))
        assert "AutologWarning" not in stderr, stderr
        seen = read_back(mlflow, tmp_path, url, run_id, shell_env())
        assert seen["status"] == "FINISHED" and seen["params"] and seen["metrics"]
        assert "model/manifest.json" in seen["files"], seen["files"]
        assert list(root.rglob("manifest.json"))


def test_unreachable_root_defers_only_the_artifacts(
    wasbs_server, mlflow: MlflowEnv, azurite: Azurite, tmp_path: Path
) -> None:
    """Without Azure credentials the files wait; params, metrics and status arrive; sync sends."""
    url, env = wasbs_server
    no_azure = shell_env(**NO_IDENTITY_PROBES)
    run_id, stderr = train(tmp_path, SKLEARN_FIT, {**no_azure, "AUTOLOG_BACKEND": url})
    assert stderr.count("its artifacts wait") == 1, stderr
    seen = read_back(mlflow, tmp_path, url, run_id, env)
    assert seen["status"] == "FINISHED" and seen["params"] and seen["metrics"]
    assert seen["files"] == []
    status = autolog_cli("status", cwd=tmp_path, environ=no_azure)
    assert "artifact(s) waiting" in status.stdout, status.stdout
    synced = autolog_cli("sync", cwd=tmp_path, environ=env)
    assert synced.returncode == 0, synced.stderr
    assert "model/manifest.json" in read_back(mlflow, tmp_path, url, run_id, env)["files"]
