"""Real MLflow both ways: its client against our server, our backend against its server."""

from __future__ import annotations

import json
import math

import autolog
from tests.support.processes import run_script
from tests.support.restapi import Api

MLFLOW_CLIENT = """
import json, math, os, sys, tempfile
import mlflow
from mlflow import MlflowClient
from mlflow.entities import Metric, Param, RunTag

mlflow.set_tracking_uri(sys.argv[1])
mlflow.set_experiment("from-mlflow")
client = MlflowClient()
with mlflow.start_run(run_name="mlflow-run") as run:
    run_id = run.info.run_id
    mlflow.log_param("alpha", 0.5)
    mlflow.log_metric("loss", 2.0, step=0)
    mlflow.log_metric("loss", float("nan"), step=1)
    mlflow.set_tag("team", "ml")
    client.log_batch(
        run_id,
        metrics=[Metric("acc", i / 10, 1000 + i, i) for i in range(10)],
        params=[Param("depth", "3")],
        tags=[RunTag("stage", "test")],
    )
    folder = tempfile.mkdtemp()
    with open(os.path.join(folder, "notes.txt"), "w") as f:
        f.write("hello from mlflow")
    mlflow.log_artifact(os.path.join(folder, "notes.txt"), artifact_path="docs")
got = client.get_run(run_id)
assert got.info.status == "FINISHED" and got.info.run_name == "mlflow-run", got.info
assert got.data.params == {"alpha": "0.5", "depth": "3"}, got.data.params
assert got.data.metrics["acc"] == 0.9 and math.isnan(got.data.metrics["loss"]), got.data.metrics
assert got.data.tags["team"] == "ml" and got.data.tags["stage"] == "test"
history = client.get_metric_history(run_id, "loss")
assert [m.step for m in history] == [0, 1] and math.isnan(history[1].value)
found = client.search_runs(
    [got.info.experiment_id],
    "params.alpha = '0.5' and metrics.acc > 0.5",
    order_by=["metrics.acc DESC"],
)
assert [r.info.run_id for r in found] == [run_id], found
assert [f.path for f in client.list_artifacts(run_id)] == ["docs"]
assert [f.path for f in client.list_artifacts(run_id, "docs")] == ["docs/notes.txt"]
with open(client.download_artifacts(run_id, "docs/notes.txt")) as f:
    assert f.read() == "hello from mlflow"
experiment = client.get_experiment_by_name("from-mlflow")
print(json.dumps({"run_id": run_id, "experiment_id": experiment.experiment_id}))
"""

READ_WITH_MLFLOW = """
import json, math, sys
from mlflow import MlflowClient
client = MlflowClient(sys.argv[1])
experiment = client.get_experiment_by_name(sys.argv[2])
runs = client.search_runs([experiment.experiment_id], "tags.`autolog.run_id` = '%s'" % sys.argv[3])
assert len(runs) == 1, runs
run = runs[0]
history = client.get_metric_history(run.info.run_id, sys.argv[4]) if len(sys.argv) > 4 else []
artifacts = [f.path for f in client.list_artifacts(run.info.run_id)]
print(json.dumps({
    "name": run.info.run_name, "status": run.info.status, "params": run.data.params,
    "metrics": {k: (None if math.isnan(v) else v) for k, v in run.data.metrics.items()},
    "tags": run.data.tags, "steps": [m.step for m in history], "artifacts": artifacts,
}))
"""

OUR_BACKEND_RUN = """
import sys
import autolog
autolog.autolog(backend=sys.argv[1], dir="runs", experiment="from-autolog")
with autolog.start_run(name="manual") as run:
    autolog.log_params({"lr": 0.01, "layers": 3})
    for step in range(2500):
        autolog.log_metric("loss", 1 / (step + 1), step=step)
    autolog.log_metric("diverged", float("nan"))
    with open("summary.txt", "w") as f:
        f.write("summary")
    autolog.log_artifact("summary.txt")
    autolog.log_model({"weights": [1, 2, 3]})
    with autolog.start_run(name="child") as child:
        autolog.log_metric("acc", 0.75)
assert autolog.flush(60), "not everything was delivered"
print(run.id, child.id)
"""

AUTOLOGGED_SKLEARN_FIT = """
import sys
import autolog
from sklearn.datasets import load_iris
from sklearn.linear_model import LogisticRegression
autolog.autolog(backend=sys.argv[1], dir="runs", experiment="sklearn-autolog")
X, y = load_iris(return_X_y=True)
LogisticRegression(max_iter=300, C=0.5).fit(X, y)
assert autolog.flush(60), "not everything was delivered"
print(autolog.search_runs(experiment="sklearn-autolog")[0].id)
"""


class TestMlflowClientAgainstAutologServer:
    def test_mlflow_client_logs_and_reads_back(self, start_server, mlflow, tmp_path):
        """MLflow's client logs an experiment, a run, a batch and an artifact, and reads it back."""
        server = start_server(token="client-token")
        result = run_script(
            MLFLOW_CLIENT,
            tmp_path,
            python=str(mlflow.python),
            env={"MLFLOW_TRACKING_TOKEN": "client-token"},
            args=[server.url],
        )
        logged = json.loads(result.stdout.strip().splitlines()[-1])
        api = Api(server.url, token="client-token")
        run = api.ok(api.get("runs/get", run_id=logged["run_id"]))["run"]
        assert run["info"]["experiment_id"] == logged["experiment_id"]
        assert {m["key"]: m["value"] for m in run["data"]["metrics"]} == {"acc": 0.9, "loss": "NaN"}
        api.close()


class TestAutologBackendAgainstMlflowServer:
    def test_logged_run_reads_back_through_mlflow_and_autolog(
        self, mlflow, mlflow_server, tmp_path
    ):
        """Params, metrics (NaN too), tags, artifacts, a model and a child run arrive in MLflow."""
        result = run_script(OUR_BACKEND_RUN, tmp_path, args=[mlflow_server])
        run_id, child_id = result.stdout.split()
        read = run_script(
            READ_WITH_MLFLOW,
            tmp_path,
            python=str(mlflow.python),
            args=[mlflow_server, "from-autolog", run_id, "loss"],
        )
        seen = json.loads(read.stdout.strip().splitlines()[-1])
        assert (seen["name"], seen["status"]) == ("manual", "FINISHED")
        assert seen["params"] == {"lr": "0.01", "layers": "3"}
        assert seen["metrics"]["loss"] == 1 / 2500 and seen["metrics"]["diverged"] is None
        assert seen["steps"] == list(range(2500))
        assert sorted(seen["artifacts"]) == ["model", "summary.txt"]
        run = autolog.get_run(run_id, backend=mlflow_server)
        assert run.params == {"lr": "0.01", "layers": "3"} and math.isnan(run.metrics["diverged"])
        assert autolog.load_model(run_id, backend=mlflow_server) == {"weights": [1, 2, 3]}
        child = autolog.get_run(child_id, backend=mlflow_server)
        assert child.parent_id == run_id and child.metrics == {"acc": 0.75}
        found = autolog.search_runs(
            experiment="from-autolog", backend=mlflow_server, filter="metrics.acc > 0.5"
        )
        assert [r.id for r in found] == [child_id]

    def test_autologged_sklearn_fit_arrives_in_mlflow(self, mlflow, mlflow_server, tmp_path):
        """An autologged LogisticRegression fit reads back through MLflow's API with its params."""
        result = run_script(AUTOLOGGED_SKLEARN_FIT, tmp_path, args=[mlflow_server])
        run_id = result.stdout.split()[-1]
        read = run_script(
            READ_WITH_MLFLOW,
            tmp_path,
            python=str(mlflow.python),
            args=[mlflow_server, "sklearn-autolog", run_id],
        )
        seen = json.loads(read.stdout.strip().splitlines()[-1])
        assert seen["status"] == "FINISHED"
        assert seen["params"]["C"] == "0.5" and seen["params"]["max_iter"] == "300"
        assert seen["artifacts"], "the fitted model was not uploaded"
        model = autolog.load_model(run_id, backend=mlflow_server)
        assert type(model).__name__ == "LogisticRegression"
