"""Dataset inputs go as MLflow log-inputs: MLflow's client sees them, autolog reads them back."""

from __future__ import annotations

import json

import autolog
from tests.support.processes import run_script

FITS = """
import sys
import numpy as np
import autolog
from sklearn.linear_model import Ridge
autolog.autolog(backend=sys.argv[1], dir="runs", experiment=sys.argv[2])
X, y = np.random.default_rng(0).random((60, 3)), np.arange(60.0)
for alpha, data in ((1.0, X), (2.0, X.copy()), (3.0, X[::-1].copy())):
    Ridge(alpha=alpha).fit(data, y)
assert autolog.flush(60), "not everything was delivered"
runs = sorted(autolog.search_runs(experiment=sys.argv[2]), key=lambda r: r.params["alpha"])
print(" ".join(r.id for r in runs))
"""

READ_INPUTS_WITH_MLFLOW = """
import json, sys
from mlflow import MlflowClient
client = MlflowClient(sys.argv[1])
found = {}
for run_id in sys.argv[2:]:
    [run] = client.search_runs(
        [client.get_experiment_by_name("datasets").experiment_id],
        "tags.`autolog.run_id` = '%s'" % run_id,
    )
    run = client.get_run(run.info.run_id)  # search does not carry inputs on every server
    found[run_id] = [
        {"name": i.dataset.name, "digest": i.dataset.digest, "source_type": i.dataset.source_type,
         "schema": json.loads(i.dataset.schema), "profile": json.loads(i.dataset.profile),
         "tags": {t.key: t.value for t in i.tags}}
        for i in run.inputs.dataset_inputs
    ]
print(json.dumps(found))
"""


def check_inputs(seen: dict, run_ids: list[str]) -> None:
    inputs = [seen[run_id] for run_id in run_ids]
    assert all(len(found) == 1 for found in inputs), inputs
    first, second, third = (found[0] for found in inputs)
    assert first["digest"] == second["digest"] != third["digest"]
    assert first["tags"] == {"mlflow.data.context": "train"}
    assert first["source_type"] == "code"
    assert first["profile"]["features_shape"] == [60, 3]
    spec = json.loads(first["schema"]["mlflow_tensorspec"]["features"])
    assert spec[0]["tensor-spec"] == {"dtype": "float64", "shape": [-1, 3]}


def fit_and_read(url: str, mlflow, tmp_path) -> list[str]:
    run_ids = run_script(FITS, tmp_path, args=[url, "datasets"]).stdout.split()
    read = run_script(
        READ_INPUTS_WITH_MLFLOW, tmp_path, python=str(mlflow.python), args=[url, *run_ids]
    )
    check_inputs(json.loads(read.stdout.strip().splitlines()[-1]), run_ids)
    return run_ids


class TestDatasetInputs:
    def test_real_mlflow_server_sees_them_and_autolog_reads_them_back(
        self, mlflow, mlflow_server, tmp_path
    ) -> None:
        """Three fits (same, same, other data) on a real MLflow server: MLflow's client sees
        each fit's dataset with its digest, and autolog.get_run returns the same inputs."""
        run_ids = fit_and_read(mlflow_server, mlflow, tmp_path)
        local = autolog.get_run(run_ids[0], backend=str(tmp_path / "runs"))
        remote = autolog.get_run(run_ids[0], backend=mlflow_server)
        assert remote.inputs == local.inputs and len(remote.inputs) == 1

    def test_mlflow_client_sees_them_through_autolog_server(
        self, mlflow, start_server, tmp_path
    ) -> None:
        """The same fits shipped to autolog server read back the same through MLflow's client."""
        server = start_server()
        run_ids = fit_and_read(server.url, mlflow, tmp_path)
        remote = autolog.get_run(run_ids[0], backend=server.url)
        assert remote.inputs == autolog.get_run(run_ids[0], backend=str(tmp_path / "runs")).inputs
