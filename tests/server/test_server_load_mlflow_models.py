"""Models MLflow's client logged load with autolog.load_model, by run id and by model URI.

MLflow 3.17 (its own venv) logs scikit-learn, statsmodels, Keras and PyTorch
models and registers one with an alias, on ``autolog server`` and on a real
``mlflow server``; autolog, in ours, loads each back and it predicts the same.
"""

from __future__ import annotations

import json

import pytest

from tests.support.processes import run_script

MODULE = """
import torch

class Net(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.layer = torch.nn.Linear(4, 1)

    def forward(self, x):
        return self.layer(x)
"""

LOG_WITH_MLFLOW = """
import json, sys
import numpy as np, mlflow, keras, torch
import statsmodels.api as sm
from sklearn.linear_model import LinearRegression
from net import Net

mlflow.set_tracking_uri(sys.argv[1])
mlflow.set_experiment("logged-by-mlflow")
X = np.random.default_rng(0).normal(size=(20, 4)).astype("float32")
y = X @ np.array([1.0, 2.0, 3.0, 4.0], dtype="float32")
torch.manual_seed(0)
out = {"X": X[:3].tolist()}
with mlflow.start_run() as run:
    sk = LinearRegression().fit(X, y)
    mlflow.sklearn.log_model(sk, name="model")
out["sklearn"] = {"run": run.info.run_id, "expected": sk.predict(X[:3]).tolist()}
with mlflow.start_run() as run:
    ols = sm.OLS(y, X).fit()
    mlflow.statsmodels.log_model(ols, name="model")
out["statsmodels"] = {"run": run.info.run_id, "expected": ols.predict(X[:3]).tolist()}
with mlflow.start_run() as run:
    net = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)])
    mlflow.keras.log_model(net, name="model")
expected = np.asarray(net.predict(X[:3], verbose=0)).ravel().tolist()
out["keras"] = {"run": run.info.run_id, "expected": expected}
with mlflow.start_run() as run:
    module = Net()
    # MLflow 3.17 defaults to pt2 for a plain nn.Module; pickle keeps it a module.
    mlflow.pytorch.log_model(module, name="model", serialization_format="pickle")
with torch.no_grad():
    expected = module(torch.tensor(X[:3])).numpy().ravel().tolist()
out["pytorch"] = {"run": run.info.run_id, "expected": expected}
mlflow.register_model(f"runs:/{out['sklearn']['run']}/model", "from-mlflow")
mlflow.MlflowClient().set_registered_model_alias("from-mlflow", "champion", "1")
print(json.dumps(out))
"""

LOAD_WITH_AUTOLOG = """
import json, sys
import numpy as np, torch
import autolog

url, logged = sys.argv[1], json.loads(open(sys.argv[2]).read())
X = np.asarray(logged["X"], dtype="float32")

def predict(name, model):
    if name == "keras":
        return np.asarray(model.predict(X, verbose=0)).ravel()
    if name == "pytorch":
        with torch.no_grad():
            return model(torch.tensor(X)).numpy().ravel()
    return np.asarray(model.predict(X)).ravel()

checked = []
for name in ("sklearn", "statsmodels", "keras", "pytorch"):
    run = logged[name]["run"]
    for ref in (run, f"runs:/{run}/model"):
        got = predict(name, autolog.load_model(ref, backend=url))
        assert np.allclose(got, logged[name]["expected"], atol=1e-4), (name, ref, got)
    checked.append(name)
for uri in ("models:/from-mlflow@champion", "models:/from-mlflow/1", "models:/from-mlflow/latest"):
    got = predict("sklearn", autolog.load_model(uri, backend=url))
    assert np.allclose(got, logged["sklearn"]["expected"], atol=1e-4), (uri, got)
    checked.append(uri)
print(json.dumps(checked))
"""


@pytest.mark.parametrize("server_kind", ["autolog", "mlflow"])
def test_autolog_loads_models_mlflow_logged(server_kind, start_server, mlflow, tmp_path, request):
    """sklearn, statsmodels, Keras and PyTorch models MLflow logged load in autolog."""
    url = (
        start_server().url if server_kind == "autolog" else request.getfixturevalue("mlflow_server")
    )
    (tmp_path / "net.py").write_text(MODULE)
    env = {"KERAS_BACKEND": "torch", "PYTHONPATH": str(tmp_path)}
    logged = run_script(
        LOG_WITH_MLFLOW, tmp_path, python=str(mlflow.python), env=env, args=[url], timeout=900
    )
    (tmp_path / "logged.json").write_text(logged.stdout.strip().splitlines()[-1])
    result = run_script(
        LOAD_WITH_AUTOLOG, tmp_path, env=env, args=[url, str(tmp_path / "logged.json")], timeout=600
    )
    checked = json.loads(result.stdout.strip().splitlines()[-1])
    assert checked[:4] == ["sklearn", "statsmodels", "keras", "pytorch"] and len(checked) == 7
