"""MLflow 3.17's client against autolog server: logged models, autolog, the model registry.

Each test runs a script in MLflow's own venv (its client, its flavors, its
loaders), so what passes here is what an MLflow user gets. The registry and
logged models must also survive a SIGKILL of the server and work on PostgreSQL.
"""

from __future__ import annotations

import json
import signal

import pytest

from tests.support.processes import run_script
from tests.support.restapi import Api

SKLEARN_AUTOLOG = """
import json, sys
import mlflow, numpy as np
from sklearn.datasets import load_iris
from sklearn.linear_model import LogisticRegression

mlflow.set_tracking_uri(sys.argv[1])
mlflow.set_experiment("mlflow3-sklearn")
mlflow.sklearn.autolog()
X, y = load_iris(return_X_y=True)
with mlflow.start_run() as run:
    model = LogisticRegression(max_iter=300).fit(X, y)
run_id = run.info.run_id
expected = model.predict(X[:10]).tolist()
client = mlflow.MlflowClient()
logged = client.search_logged_models([run.info.experiment_id])
assert len(logged) == 1 and logged[0].source_run_id == run_id, logged
logged = logged[0]
assert logged.status.name == "READY" or str(logged.status).endswith("READY"), logged.status
assert client.get_run(run_id).outputs.model_outputs[0].model_id == logged.model_id
assert client.get_run(run_id).data.params["max_iter"] == "300"
results = {}
for uri in (f"runs:/{run_id}/model", f"models:/{logged.model_id}"):
    flavor = mlflow.sklearn.load_model(uri).predict(X[:10]).tolist()
    pyfunc = mlflow.pyfunc.load_model(uri).predict(X[:10]).tolist()
    assert flavor == expected and pyfunc == expected, (uri, flavor, pyfunc, expected)
    results[uri] = "ok"

# The registry: register from the run, a second version from the logged model, aliases.
version = mlflow.register_model(f"runs:/{run_id}/model", "iris-classifier")
assert version.version == "1", version
second = mlflow.register_model(f"models:/{logged.model_id}", "iris-classifier")
assert second.version == "2" and second.source == f"models:/{logged.model_id}", second
client.set_registered_model_alias("iris-classifier", "champion", "1")
client.set_model_version_tag("iris-classifier", "2", "validated", "yes")
by_alias = client.get_model_version_by_alias("iris-classifier", "champion")
assert by_alias.version == "1" and "champion" in by_alias.aliases, by_alias
for uri in ("models:/iris-classifier@champion", "models:/iris-classifier/2",
            "models:/iris-classifier/latest"):
    assert mlflow.pyfunc.load_model(uri).predict(X[:10]).tolist() == expected, uri
    assert mlflow.sklearn.load_model(uri).predict(X[:10]).tolist() == expected, uri
found = client.search_registered_models("name LIKE 'iris%'")
assert [m.name for m in found] == ["iris-classifier"], found
assert found[0].aliases == {"champion": "1"}, found[0].aliases
versions = client.search_model_versions("name = 'iris-classifier' AND tags.validated = 'yes'")
assert [v.version for v in versions] == ["2"], versions
print(json.dumps({"run_id": run_id, "model_id": logged.model_id, "expected": expected}))
"""

READ_BACK_AFTER_RESTART = """
import json, sys
import mlflow
from sklearn.datasets import load_iris
mlflow.set_tracking_uri(sys.argv[1])
X, _ = load_iris(return_X_y=True)
client = mlflow.MlflowClient()
model = client.get_registered_model("iris-classifier")
versions = client.search_model_versions("name = 'iris-classifier'")
assert sorted(v.version for v in versions) == ["1", "2"], versions
assert model.aliases == {"champion": "1"}, model.aliases
print(json.dumps({
    "alias": mlflow.pyfunc.load_model("models:/iris-classifier@champion").predict(X[:10]).tolist(),
    "logged": mlflow.sklearn.load_model(f"models:/{sys.argv[2]}").predict(X[:10]).tolist(),
}))
"""


def _last_json(output: str) -> dict:
    return json.loads(output.strip().splitlines()[-1])


class TestLoggedModelsAndRegistry:
    def test_sklearn_autolog_models_load_and_register(self, start_server, mlflow, tmp_path):
        """mlflow.sklearn.autolog's model loads by runs:/, models:/m-, name@alias and name/N."""
        server = start_server()
        result = run_script(
            SKLEARN_AUTOLOG, tmp_path, python=str(mlflow.python), args=[server.url], timeout=900
        )
        logged = _last_json(result.stdout)
        api = Api(server.url)
        model = api.ok(api.http.get(f"/api/2.0/mlflow/logged-models/{logged['model_id']}"))
        # runs:/RUN/model resolved to the logged model too, so both versions come from it.
        assert model["model"]["info"]["registrations"] == [
            {"name": "iris-classifier", "version": "1"},
            {"name": "iris-classifier", "version": "2"},
        ]

    @pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
    def test_registry_and_logged_models_survive_sigkill(
        self, backend, start_server, mlflow, tmp_path, request
    ):
        """After SIGKILL and a restart, versions, aliases and logged models are all still there."""
        store = None
        if backend == "postgresql":
            store = request.getfixturevalue("postgres").create_database()
        server = start_server(store=store)
        result = run_script(
            SKLEARN_AUTOLOG, tmp_path, python=str(mlflow.python), args=[server.url], timeout=900
        )
        logged = _last_json(result.stdout)
        server.process.send_signal(signal.SIGKILL)
        server.process.wait(10)
        again = start_server(store=store)
        result = run_script(
            READ_BACK_AFTER_RESTART,
            tmp_path,
            python=str(mlflow.python),
            args=[again.url, logged["model_id"]],
            timeout=900,
        )
        read = _last_json(result.stdout)
        assert read["alias"] == logged["expected"] and read["logged"] == logged["expected"]


KERAS_AUTOLOG = """
import json, sys
import numpy as np, keras, mlflow

mlflow.set_tracking_uri(sys.argv[1])
mlflow.set_experiment("mlflow3-keras")
mlflow.keras.autolog()
rng = np.random.default_rng(0)
X = rng.normal(size=(64, 4)).astype("float32")
y = (X @ np.array([1.0, -2.0, 0.5, 3.0], dtype="float32"))[:, None]
layers = [keras.Input((4,)), keras.layers.Dense(8, activation="relu"), keras.layers.Dense(1)]
net = keras.Sequential(layers)
net.compile(optimizer="adam", loss="mse")
with mlflow.start_run() as run:
    net.fit(X, y, epochs=3, verbose=0)
expected = np.asarray(net.predict(X[:5], verbose=0))
client = mlflow.MlflowClient()
assert [m.step for m in client.get_metric_history(run.info.run_id, "loss")] == [0, 1, 2]
uri = f"runs:/{run.info.run_id}/model"
flavor = np.asarray(mlflow.keras.load_model(uri).predict(X[:5], verbose=0))
pyfunc = np.asarray(mlflow.pyfunc.load_model(uri).predict(X[:5]))
assert np.allclose(flavor, expected, atol=1e-5) and np.allclose(pyfunc, expected, atol=1e-5)
print(json.dumps({"run_id": run.info.run_id}))
"""

LIGHTNING_MODULE = """
import torch
import lightning as L

class Regressor(L.LightningModule):
    def __init__(self):
        super().__init__()
        self.layer = torch.nn.Linear(4, 1)

    def forward(self, x):
        return self.layer(x)

    def training_step(self, batch, _):
        x, y = batch
        loss = torch.nn.functional.mse_loss(self(x), y)
        self.log("train_loss", loss, on_epoch=True, on_step=False)
        return loss

    def configure_optimizers(self):
        return torch.optim.SGD(self.parameters(), lr=0.05)
"""

PYTORCH_AUTOLOG = """
import json, sys
import numpy as np, torch, mlflow
import lightning as L
from regressor import Regressor

mlflow.set_tracking_uri(sys.argv[1])
mlflow.set_experiment("mlflow3-pytorch")
mlflow.pytorch.autolog()
torch.manual_seed(0)
X = torch.randn(64, 4)
y = X @ torch.tensor([[1.0], [-2.0], [0.5], [3.0]])
loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(X, y), batch_size=16)
model = Regressor()
trainer = L.Trainer(max_epochs=3, logger=False, enable_checkpointing=False,
                    enable_progress_bar=False, enable_model_summary=False)
with mlflow.start_run() as run:
    trainer.fit(model, loader)
model.eval()
with torch.no_grad():
    expected = model(X[:5]).numpy()
uri = f"runs:/{run.info.run_id}/model"
flavor = mlflow.pytorch.load_model(uri, weights_only=False)
with torch.no_grad():
    flavor_out = flavor(X[:5]).numpy()
pyfunc_out = np.asarray(mlflow.pyfunc.load_model(uri).predict(X[:5].numpy()))
assert np.allclose(flavor_out, expected, atol=1e-5), (flavor_out, expected)
assert np.allclose(pyfunc_out, expected, atol=1e-5), (pyfunc_out, expected)
print(json.dumps({"run_id": run.info.run_id}))
"""


class TestDeepLearningAutolog:
    def test_keras_autolog_model_loads_with_keras_and_pyfunc(self, start_server, mlflow, tmp_path):
        """mlflow.keras.autolog (torch backend): per-epoch loss, a model both loaders load."""
        server = start_server()
        run_script(
            KERAS_AUTOLOG,
            tmp_path,
            python=str(mlflow.python),
            env={"KERAS_BACKEND": "torch"},
            args=[server.url],
            timeout=900,
        )

    def test_pytorch_autolog_model_loads_with_pytorch_and_pyfunc(
        self, start_server, mlflow, tmp_path
    ):
        """mlflow.pytorch.autolog of a Lightning fit: the model loads with both loaders."""
        server = start_server()
        (tmp_path / "regressor.py").write_text(LIGHTNING_MODULE)
        run_script(
            PYTORCH_AUTOLOG,
            tmp_path,
            python=str(mlflow.python),
            env={"PYTHONPATH": str(tmp_path)},
            args=[server.url],
            timeout=900,
        )
