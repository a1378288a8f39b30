"""Curation on a server: CLI, UI and shipped journal edits, as MLflow's client sees them."""

from __future__ import annotations

import json

import httpx

from tests.support.processes import run_autolog_cli, run_script

LOG_RUNS = """
import sys
import autolog
autolog.autolog(backend=sys.argv[1], dir="runs", experiment="curated")
with autolog.start_run(name="grid") as parent:
    for p in range(2):
        with autolog.start_run(name=f"order-{p}") as child:
            child.log_params({"p": p})
            child.log_metric("aic", 100.0 - p)
assert autolog.flush(60), "not delivered"
print(parent.id, *[r.id for r in autolog.search_runs(experiment="curated") if r.parent_id])
"""

READ_WITH_MLFLOW = """
import json, sys
from mlflow import MlflowClient
from mlflow.entities import ViewType
client = MlflowClient(sys.argv[1])
experiment = client.get_experiment_by_name("curated")
out = {}
for run in client.search_runs([experiment.experiment_id], run_view_type=ViewType.ALL):
    key = run.data.tags.get("autolog.run_id", run.info.run_id)
    out[key] = {
        "name": run.info.run_name,
        "stage": run.info.lifecycle_stage,
        "tags": {
            k: v for k, v in run.data.tags.items() if not k.startswith(("mlflow.", "autolog."))
        },
        "note": run.data.tags.get("mlflow.note.content"),
    }
active = client.search_runs([experiment.experiment_id])
out["_active"] = [r.data.tags.get("autolog.run_id", r.info.run_id) for r in active]
print(json.dumps(out))
"""


def _mlflow_view(mlflow, url, tmp_path):
    result = run_script(READ_WITH_MLFLOW, tmp_path, python=str(mlflow.python), args=[url])
    return json.loads(result.stdout.strip().splitlines()[-1])


def _cli(tmp_path, *args):
    out = run_autolog_cli(*args, cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    return out.stdout


class TestCliOnServer:
    def test_cli_edits_reach_mlflow(self, start_server, mlflow, tmp_path):
        """rename, tag, note, rm and restore with --backend URL are what MLflow's client reads."""
        server = start_server()
        _parent, first, second = run_script(LOG_RUNS, tmp_path, args=[server.url]).stdout.split()
        url = server.url
        _cli(tmp_path, "runs", "rename", first, "best", "--backend", url)
        _cli(tmp_path, "runs", "tag", first, "stage=candidate", "owner=ana", "--backend", url)
        _cli(tmp_path, "runs", "tag", first, "--remove", "owner", "--backend", url)
        _cli(tmp_path, "runs", "note", first, "white residuals", "--backend", url)
        _cli(tmp_path, "runs", "rm", second, "--backend", url)
        seen = _mlflow_view(mlflow, url, tmp_path)
        assert seen[first]["name"] == "best" and seen[first]["note"] == "white residuals"
        assert (
            seen[first]["tags"].get("stage") == "candidate" and "owner" not in seen[first]["tags"]
        )
        assert seen[second]["stage"] == "deleted" and second not in seen["_active"]
        listed = json.loads(_cli(tmp_path, "runs", "ls", "--format", "json", "--backend", url))
        assert second not in {r["id"] for r in listed}
        shown = _cli(tmp_path, "runs", "show", first, "--backend", url)
        assert "name        best" in shown and "note        white residuals" in shown
        _cli(tmp_path, "runs", "restore", second, "--backend", url)
        assert _mlflow_view(mlflow, url, tmp_path)[second]["stage"] == "active"
        experiments = _cli(tmp_path, "experiments", "ls", "--backend", url)
        assert "curated" in experiments

    def test_local_edits_are_shipped_to_the_server(self, start_server, mlflow, tmp_path):
        """An edit in the local store is a journal record that the shipper sends to the server."""
        server = start_server()
        _parent, first, second = run_script(LOG_RUNS, tmp_path, args=[server.url]).stdout.split()
        env_args = ("--backend", str(tmp_path / "runs"))
        _cli(tmp_path, "runs", "rename", first, "renamed locally", *env_args)
        _cli(tmp_path, "runs", "tag", first, "k=v", *env_args)
        _cli(tmp_path, "runs", "rm", second, *env_args)
        sync = run_autolog_cli("sync", "--dir", "runs", "--backend", server.url, cwd=tmp_path)
        assert sync.returncode == 0, sync.stderr
        seen = _mlflow_view(mlflow, server.url, tmp_path)
        assert seen[first]["name"] == "renamed locally" and seen[first]["tags"]["k"] == "v"
        assert seen[second]["stage"] == "deleted"


class TestUiOnServer:
    def test_ui_edits_need_the_token_and_reach_mlflow(self, start_server, mlflow, tmp_path):
        """The UI's edit route is behind the server's token; its edits are MLflow's edits."""
        server = start_server(token="tok")
        env = {"AUTOLOG_TRACKING_TOKEN": "tok", "MLFLOW_TRACKING_TOKEN": "tok"}
        ran = run_script(LOG_RUNS, tmp_path, args=[server.url], env=env)
        _parent, first, _second = ran.stdout.split()
        body = {"name": "from the ui", "note": "n", "set_tags": {"a": "b"}}
        headers = {"X-Autolog-UI": "edit"}
        url = f"{server.url}/ui-api/runs/{first}/edit"
        assert httpx.post(url, json=body, headers=headers).status_code == 401
        answer = httpx.post(url, json=body, headers={**headers, "Authorization": "Bearer tok"})
        assert answer.status_code == 200, answer.text
        assert answer.json()["name"] == "from the ui"
        forged = httpx.post(url, json=body, headers={"Authorization": "Bearer tok"})
        assert forged.status_code == 403  # no X-Autolog-UI header: not from the page
        result = run_script(
            READ_WITH_MLFLOW, tmp_path, python=str(mlflow.python), args=[server.url], env=env
        )
        seen = json.loads(result.stdout.strip().splitlines()[-1])
        assert seen[first]["name"] == "from the ui" and seen[first]["note"] == "n"
        assert seen[first]["tags"]["a"] == "b"
