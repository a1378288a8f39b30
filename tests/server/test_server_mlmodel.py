"""Models autolog saved are MLflow models: MLflow's pyfunc and flavor loaders load them.

autolog trains real sklearn, statsmodels, Keras and Lightning models and ships them to
``autolog server`` and to a real ``mlflow server``; MLflow 3.17's client, in
its own venv, then loads each run's ``model`` folder with
``mlflow.pyfunc.load_model`` and with the flavor's own loader, and both must
predict what the model predicted in training.
"""

from __future__ import annotations

import json

import pytest

from tests.server.test_server_mlflow3 import LIGHTNING_MODULE
from tests.support.processes import run_script

TRAIN_WITH_AUTOLOG = """
import json, sys
import numpy as np
import autolog
autolog.autolog(backend=sys.argv[1], dir="runs", experiment=sys.argv[2])
from sklearn.linear_model import LogisticRegression
from sklearn.datasets import load_iris
import statsmodels.api as sm
import keras
import torch
import lightning as L
from regressor import Regressor

X, y = load_iris(return_X_y=True)
X = X.astype("float32")
sk = LogisticRegression(max_iter=300).fit(X, y)
ols = sm.OLS(y.astype(float), sm.add_constant(X)).fit()
net = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3)])
net.compile(optimizer="sgd", loss="mse")
net.fit(X, keras.utils.to_categorical(y, 3), epochs=1, verbose=0)
torch.manual_seed(0)
targets = torch.tensor(y, dtype=torch.float32)[:, None]
loader = torch.utils.data.DataLoader(
    torch.utils.data.TensorDataset(torch.tensor(X), targets), batch_size=50
)
regressor = Regressor()
L.Trainer(max_epochs=1, logger=False, enable_checkpointing=False, enable_progress_bar=False,
          enable_model_summary=False).fit(regressor, loader)
regressor.eval()
with torch.no_grad():
    lightning = regressor(torch.tensor(X[:5])).numpy().tolist()
assert autolog.flush(120), "not everything was delivered"
runs = {r.name: r.id for r in autolog.search_runs(experiment=sys.argv[2])}
print(json.dumps({
    "runs": runs,
    "sklearn": sk.predict(X[:5]).tolist(),
    "statsmodels": ols.predict(sm.add_constant(X)[:5]).tolist(),
    "keras": np.asarray(net.predict(X[:5], verbose=0)).tolist(),
    "lightning": lightning,
}))
"""

LOAD_WITH_MLFLOW = """
import json, sys
import numpy as np
import mlflow, torch
import statsmodels.api as sm
from sklearn.datasets import load_iris

mlflow.set_tracking_uri(sys.argv[1])
expected = json.loads(open(sys.argv[3]).read())
client = mlflow.MlflowClient()
experiment = client.get_experiment_by_name(sys.argv[2])
X, _ = load_iris(return_X_y=True)
X = X.astype("float32")
inputs = {"sklearn": X[:5], "statsmodels": sm.add_constant(X)[:5], "keras": X[:5],
          "lightning": X[:5]}
loaders = {"sklearn": mlflow.sklearn, "statsmodels": mlflow.statsmodels, "keras": mlflow.keras,
           "lightning": mlflow.pytorch}

def predict(name, loaded, data):
    if isinstance(loaded, mlflow.pyfunc.PyFuncModel):
        return np.asarray(loaded.predict(data))
    if name == "keras":
        return np.asarray(loaded.predict(data, verbose=0))
    if name == "lightning":  # the module itself: call it
        with torch.no_grad():
            return loaded(torch.tensor(data)).numpy()
    return np.asarray(loaded.predict(data))

done = []
for our_id in expected["runs"].values():
    found = client.search_runs([experiment.experiment_id], f"tags.`autolog.run_id` = '{our_id}'")
    run_id = found[0].info.run_id if found else our_id
    uri = f"runs:/{run_id}/model"
    meta = mlflow.models.get_model_info(uri)
    flavor = next(f for f in meta.flavors if f != "python_function")
    name = {"pytorch": "lightning"}.get(flavor, flavor)
    data = inputs[name]
    # a pickled module, like MLflow's own pickle-format ones: torch wants weights_only=False
    options = {"weights_only": False} if name == "lightning" else {}
    for loaded in (mlflow.pyfunc.load_model(uri), loaders[name].load_model(uri, **options)):
        got = predict(name, loaded, data)
        assert np.allclose(got, np.asarray(expected[name]), atol=1e-5), (name, got, expected[name])
    done.append(name)
print(json.dumps(sorted(done)))
"""


@pytest.mark.parametrize("server_kind", ["autolog", "mlflow"])
def test_mlflow_loads_what_autolog_saved(server_kind, start_server, mlflow, tmp_path, request):
    """sklearn, statsmodels, Keras and Lightning models autolog saved load with pyfunc and their
    flavor."""
    url = (
        start_server().url if server_kind == "autolog" else request.getfixturevalue("mlflow_server")
    )
    experiment = f"mlmodel-{server_kind}"
    (tmp_path / "regressor.py").write_text(LIGHTNING_MODULE)  # both processes import the class
    env = {"KERAS_BACKEND": "torch", "PYTHONPATH": str(tmp_path)}
    trained = run_script(TRAIN_WITH_AUTOLOG, tmp_path, env=env, args=[url, experiment], timeout=600)
    expected = trained.stdout.strip().splitlines()[-1]
    (tmp_path / "expected.json").write_text(expected)
    assert len(json.loads(expected)["runs"]) == 4, expected
    loaded = run_script(
        LOAD_WITH_MLFLOW,
        tmp_path,
        python=str(mlflow.python),
        env=env,
        args=[url, experiment, str(tmp_path / "expected.json")],
        timeout=600,
    )
    assert json.loads(loaded.stdout.strip().splitlines()[-1]) == [
        "keras",
        "lightning",
        "sklearn",
        "statsmodels",
    ]
