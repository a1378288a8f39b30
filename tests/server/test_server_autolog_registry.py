"""autolog's own registry API against ``autolog server`` (SQLite, PostgreSQL) and ``mlflow server``.

autolog trains two scikit-learn models and registers them with
``autolog.register_model``, moves an alias with ``autolog.set_model_alias`` and
loads ``models:/NAME@ALIAS``, ``models:/NAME/N`` and ``models:/NAME/latest``;
MLflow 3.17's client (its own venv) then sees the same versions and alias and
loads them with pyfunc, and registers the autolog model itself, once from the
run and once from the bare folder (no run record): autolog loads both, and
refuses them once a file in the server's copy is changed. On autolog server the
registry is still whole after a SIGKILL, read with ``autolog models show``.
"""

from __future__ import annotations

import json
import signal
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.processes import run_autolog_cli, run_script

TRAIN_AND_REGISTER = """
import json, sys
import numpy as np
import autolog
url, name = sys.argv[1], sys.argv[2]
autolog.autolog(backend=url, dir="runs", experiment="registry-" + name)
from sklearn.linear_model import Ridge

rng = np.random.default_rng(0)
X = rng.normal(size=(40, 3)); y = X @ [1.0, 2.0, 3.0]
first, second = Ridge(alpha=0.1).fit(X, y), Ridge(alpha=50.0).fit(X, y)
assert autolog.flush(120), "not everything was delivered"
runs = sorted(autolog.search_runs(experiment="registry-" + name), key=lambda r: r.start_time)
assert len(runs) == 2, runs
one = autolog.register_model(runs[0].id[:12], name)
two = autolog.register_model(f"runs:/{runs[1].id}/model", name)
assert (one, two) == (1, 2), (one, two)
autolog.set_model_alias(name, "champion", 1)

def same(uri, model):
    got = autolog.load_model(uri).predict(X[:5])
    assert np.allclose(got, model.predict(X[:5])), (uri, got)

same(f"models:/{name}@champion", first)
same(f"models:/{name}/2", second)
same(f"models:/{name}/latest", second)
autolog.set_model_alias(name, "champion", "2")  # an alias moves
same(f"models:/{name}@champion", second)
model = autolog.get_registered_model(name)
assert [v.version for v in model.versions] == [1, 2] and model.aliases == {"champion": 2}
assert all(v.manifest_sha256 for v in model.versions), model.versions
assert name in [m.name for m in autolog.search_registered_models()]
print(json.dumps({"runs": [r.id for r in runs], "expected": second.predict(X[:5]).tolist(),
                  "X": X[:5].tolist()}))
"""

MLFLOW_SEES_AND_REGISTERS = """
import json, sys
import mlflow, numpy as np
url, name, ours = sys.argv[1], sys.argv[2], json.loads(open(sys.argv[3]).read())
mlflow.set_tracking_uri(url)
client = mlflow.MlflowClient()
X = np.asarray(ours["X"])
assert client.get_model_version_by_alias(name, "champion").version == "2"
versions = client.search_model_versions(f"name = '{name}'")
assert sorted(v.version for v in versions) == ["1", "2"], versions
got = mlflow.pyfunc.load_model(f"models:/{name}@champion").predict(X)
assert np.allclose(got, ours["expected"]), got
experiment = client.get_experiment_by_name("registry-" + name)
ours_tag = f"tags.`autolog.run_id` = '{ours['runs'][1]}'"
found = client.search_runs([experiment.experiment_id], ours_tag)
run = found[0] if found else client.get_run(ours["runs"][1])
# MLflow's client registers the autolog model: from the run, and from the bare folder
# (no run id: mlflow server refuses that for an mlflow-artifacts source, autolog server not).
three = mlflow.register_model(f"runs:/{run.info.run_id}/model", name)
bare = sys.argv[4] == "bare"
four = client.create_model_version(
    name, source=run.info.artifact_uri + "/model", run_id=None if bare else run.info.run_id
)
assert (three.version, four.version) == ("3", "4"), (three, four)
assert (four.run_id or None) is None if bare else four.run_id == run.info.run_id, four
print(json.dumps({"artifact_uri": run.info.artifact_uri}))
"""

LOAD_REGISTERED_BY_MLFLOW = """
import json, sys
import numpy as np
import autolog
from autolog.errors import ModelIntegrityError
url, name, ours, phase = sys.argv[1], sys.argv[2], json.loads(open(sys.argv[3]).read()), sys.argv[4]
X = np.asarray(ours["X"])
for version in (3, 4):
    uri = f"models:/{name}/{version}"
    if phase == "intact":
        got = autolog.load_model(uri, backend=url).predict(X)
        assert np.allclose(got, ours["expected"]), (uri, got)
    else:
        try:
            autolog.load_model(uri, backend=url)
        except ModelIntegrityError as exc:
            assert "model.pkl" in str(exc), exc
        else:
            raise AssertionError(f"{uri} loaded although its model.pkl was changed")
print("ok")
"""


def _tamper(url: str, artifact_uri: str) -> None:
    """Overwrite model.pkl in the server's copy through its artifact proxy."""
    path = artifact_uri.split(":", 1)[1].lstrip("/") + "/model/model.pkl"
    response = httpx.put(f"{url}/api/2.0/mlflow-artifacts/artifacts/{path}", content=b"evil")
    assert response.status_code == 200, response.text


def _models_json(url: str, cwd: Path, *args: str) -> Any:
    done = run_autolog_cli("models", *args, "--backend", url, "--format", "json", cwd=cwd)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


@pytest.mark.parametrize("server_kind", ["autolog", "postgresql", "mlflow"])
def test_autolog_registry_api_on_servers(server_kind, start_server, mlflow, tmp_path, request):
    """Register, alias and load through autolog; MLflow's client sees the same; survives SIGKILL."""
    store = None
    if server_kind == "postgresql":
        store = request.getfixturevalue("postgres").create_database()
    server = None if server_kind == "mlflow" else start_server(store=store)
    url = server.url if server else request.getfixturevalue("mlflow_server")
    name = f"ridge-{uuid.uuid4().hex[:8]}"
    trained = run_script(TRAIN_AND_REGISTER, tmp_path, args=[url, name], timeout=600)
    (tmp_path / "ours.json").write_text(trained.stdout.strip().splitlines()[-1])
    if server is not None:  # the registry is durable: SIGKILL, restart, all still there
        server.process.send_signal(signal.SIGKILL)
        server.process.wait(10)
        server = start_server(store=store)
        url = server.url
        shown = _models_json(url, tmp_path, "show", name)
        assert [v["version"] for v in shown["versions"]] == [1, 2]
        assert shown["aliases"] == {"champion": 2}
        listed = _models_json(url, tmp_path, "ls")
        assert [m["latest_version"] for m in listed if m["name"] == name] == [2]
    seen = run_script(
        MLFLOW_SEES_AND_REGISTERS,
        tmp_path,
        python=str(mlflow.python),
        args=[url, name, str(tmp_path / "ours.json"), "run" if server is None else "bare"],
        timeout=600,
    )
    artifact_uri = json.loads(seen.stdout.strip().splitlines()[-1])["artifact_uri"]
    args = [url, name, str(tmp_path / "ours.json")]
    assert run_script(LOAD_REGISTERED_BY_MLFLOW, tmp_path, args=[*args, "intact"]).stdout.strip()
    _tamper(url, artifact_uri)
    assert run_script(LOAD_REGISTERED_BY_MLFLOW, tmp_path, args=[*args, "tampered"]).stdout
