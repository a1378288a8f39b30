"""The registry, logged models, run inputs and experiment administration over plain REST.

The MLflow client tests (test_server_mlflow3.py) prove the happy paths; these
pin down filters, paging, refusals and lifecycles, and that every endpoint of
MLflow 3.17's REST API answers a clear JSON error, never a 500.
"""

from __future__ import annotations

import json
import re
import uuid
from pathlib import Path

import httpx

from tests.support.processes import run_script
from tests.support.restapi import Api

API = "/api/2.0/mlflow/"


def _name(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def _request(api: Api, method: str, endpoint: str, body: dict) -> httpx.Response:
    if method == "GET":
        return api.http.get(API + endpoint, params=body)
    return api.http.request(method, API + endpoint, json=body)


def _logged_model(api: Api, name: str = "model") -> tuple[str, str, str]:
    """A run and a READY logged model of it: (experiment id, run id, model id)."""
    experiment = api.ok(api.post("experiments/create", {"name": _name("exp")}))["experiment_id"]
    run = api.ok(api.post("runs/create", {"experiment_id": experiment}))["run"]["info"]["run_id"]
    body = {"experiment_id": experiment, "name": name, "source_run_id": run}
    model = api.ok(api.post("logged-models", body))["model"]["info"]
    assert model["status"] == "LOGGED_MODEL_PENDING"
    assert model["artifact_uri"].endswith(f"/{experiment}/models/{model['model_id']}/artifacts")
    ready = _request(api, "PATCH", f"logged-models/{model['model_id']}", {"status": "READY"})
    assert api.ok(ready)["model"]["info"]["status"] == "LOGGED_MODEL_READY"
    return experiment, run, model["model_id"]


class TestLoggedModels:
    def test_params_tags_search_and_delete(self, api: Api):
        """Params and tags are set and found by search; a deleted model is gone unless asked."""
        experiment, _, model_id = _logged_model(api)
        base = f"logged-models/{model_id}"
        api.ok(api.post(f"{base}/params", {"params": [{"key": "alpha", "value": "0.5"}]}))
        tags = {"tags": [{"key": "team", "value": "ml"}, {"key": "a/b", "value": "x"}]}
        api.ok(_request(api, "PATCH", f"{base}/tags", tags))
        api.ok(_request(api, "DELETE", f"{base}/tags/a/b", {}))
        search = {
            "experiment_ids": [experiment],
            "filter": "tags.team = 'ml' AND params.alpha = '0.5'",
        }
        found = api.ok(api.post("logged-models/search", search))["models"]
        assert [m["info"]["model_id"] for m in found] == [model_id]
        assert found[0]["info"]["tags"] == [{"key": "team", "value": "ml"}]
        assert found[0]["data"]["params"] == [{"key": "alpha", "value": "0.5"}]
        api.ok(_request(api, "DELETE", base, {}))
        assert api.http.get(API + base).status_code == 404
        deleted = api.ok(api.http.get(API + base, params={"allow_deleted": "true"}))
        assert deleted["model"]["info"]["model_id"] == model_id
        assert api.ok(api.post("logged-models/search", search))["models"] == []

    def test_search_pages_and_orders(self, api: Api):
        """Search pages through every model once, in the order asked for."""
        experiment = api.ok(api.post("experiments/create", {"name": _name("exp")}))["experiment_id"]
        for name in ("c", "a", "b"):
            api.ok(api.post("logged-models", {"experiment_id": experiment, "name": name}))
        body = {
            "experiment_ids": [experiment],
            "max_results": 2,
            "order_by": [{"field_name": "name", "ascending": True}],
        }
        first = api.ok(api.post("logged-models/search", body))
        second = api.ok(
            api.post("logged-models/search", {**body, "page_token": first["next_page_token"]})
        )
        names = [m["info"]["name"] for m in first["models"] + second["models"]]
        assert names == ["a", "b", "c"] and "next_page_token" not in second

    def test_refusals_name_the_problem(self, api: Api):
        """An unknown experiment, run or model, a bad status or filter answer 4xx with a message."""
        cases = [
            ("POST", "logged-models", {"experiment_id": "999999"}, 404, "999999"),
            ("POST", "logged-models", {"experiment_id": "0", "source_run_id": "nope"}, 404, "nope"),
            ("GET", "logged-models/m-missing", {}, 404, "m-missing"),
            (
                "POST",
                "logged-models/search",
                {"experiment_ids": ["0"], "filter": "colour = 'red'"},
                400,
                "colour",
            ),
            (
                "POST",
                "logged-models/search",
                {"experiment_ids": ["0"], "order_by": [{"field_name": "metrics.x"}]},
                400,
                "metrics.x",
            ),
        ]
        _, _, model_id = _logged_model(api)
        cases.append(("PATCH", f"logged-models/{model_id}", {"status": "SHINY"}, 400, "SHINY"))
        for method, endpoint, body, status, shown in cases:
            response = _request(api, method, endpoint, body)
            assert response.status_code == status, (endpoint, response.text)
            assert shown in response.json()["message"], response.text


class TestRunInputsAndLifecycles:
    def test_log_inputs_and_outputs_come_back_in_get_run(self, api: Api):
        """Datasets and models a run used, and models it made, are in get_run; repeats once."""
        _, run, model_id = _logged_model(api)
        dataset = {
            "name": "iris",
            "digest": "d41d8",
            "source_type": "code",
            "source": "{}",
            "schema": "{}",
        }
        body = {
            "run_id": run,
            "datasets": [
                {"tags": [{"key": "mlflow.data.context", "value": "train"}], "dataset": dataset}
            ],
            "models": [{"model_id": model_id}],
        }
        api.ok(api.post("runs/log-inputs", body))
        api.ok(api.post("runs/log-inputs", body))
        api.ok(
            api.post("runs/outputs", {"run_id": run, "models": [{"model_id": model_id, "step": 3}]})
        )
        got = api.ok(api.get("runs/get", run_id=run))["run"]
        assert got["inputs"]["dataset_inputs"] == [
            {"tags": [{"key": "mlflow.data.context", "value": "train"}], "dataset": dataset}
        ]
        assert got["inputs"]["model_inputs"] == [{"model_id": model_id}]
        assert got["outputs"]["model_outputs"] == [{"model_id": model_id, "step": 3}]
        missing = api.post("runs/log-inputs", {"run_id": run, "models": [{"model_id": "m-nope"}]})
        assert missing.status_code == 404 and "m-nope" in missing.json()["message"]

    def test_experiment_rename_tags_delete_restore(self, api: Api):
        """An experiment is renamed, tagged, deleted with its runs and restored with them."""
        experiment = api.ok(api.post("experiments/create", {"name": _name("old")}))["experiment_id"]
        run = api.ok(api.post("runs/create", {"experiment_id": experiment}))["run"]["info"][
            "run_id"
        ]
        new_name = _name("new")
        api.ok(api.post("experiments/update", {"experiment_id": experiment, "new_name": new_name}))
        api.ok(
            api.post(
                "experiments/set-experiment-tag",
                {"experiment_id": experiment, "key": "team", "value": "ml"},
            )
        )
        got = api.ok(api.get("experiments/get", experiment_id=experiment))["experiment"]
        assert got["name"] == new_name and got["tags"] == [{"key": "team", "value": "ml"}]
        api.ok(
            api.post(
                "experiments/delete-experiment-tag", {"experiment_id": experiment, "key": "team"}
            )
        )
        taken = api.post("experiments/update", {"experiment_id": experiment, "new_name": "Default"})
        assert taken.status_code == 400 and taken.json()["error_code"] == "RESOURCE_ALREADY_EXISTS"
        api.ok(api.post("experiments/delete", {"experiment_id": experiment}))
        assert (
            api.ok(api.get("experiments/get", experiment_id=experiment))["experiment"][
                "lifecycle_stage"
            ]
            == "deleted"
        )
        for view, expected in (("ACTIVE_ONLY", []), ("DELETED_ONLY", [run]), ("ALL", [run])):
            body = {"experiment_ids": [experiment], "run_view_type": view}
            assert [
                r["info"]["run_id"] for r in api.ok(api.post("runs/search", body)).get("runs", [])
            ] == expected
        api.ok(api.post("experiments/restore", {"experiment_id": experiment}))
        body = {"experiment_ids": [experiment]}
        assert [r["info"]["run_id"] for r in api.ok(api.post("runs/search", body))["runs"]] == [run]

    def test_run_delete_and_restore_honour_run_view_type(self, api: Api):
        """A deleted run leaves the default search, shows with DELETED_ONLY, and comes back."""
        experiment = api.ok(api.post("experiments/create", {"name": _name("exp")}))["experiment_id"]
        keep, gone = (
            api.ok(api.post("runs/create", {"experiment_id": experiment}))["run"]["info"]["run_id"]
            for _ in range(2)
        )
        api.ok(api.post("runs/delete", {"run_id": gone}))

        def ids(view: str) -> set[str]:
            body = {"experiment_ids": [experiment], "run_view_type": view}
            return {
                r["info"]["run_id"] for r in api.ok(api.post("runs/search", body)).get("runs", [])
            }

        assert ids("ACTIVE_ONLY") == {keep} and ids("DELETED_ONLY") == {gone}
        assert ids("ALL") == {keep, gone}
        api.ok(api.post("runs/restore", {"run_id": gone}))
        assert ids("ACTIVE_ONLY") == {keep, gone}


class TestRegistry:
    def test_versions_aliases_tags_and_search(self, api: Api):
        """Versions number from 1, never reuse a number; aliases, tags, filters and stages work."""
        _, run, model_id = _logged_model(api)
        name = _name("reg")
        api.ok(
            api.post(
                "registered-models/create", {"name": name, "tags": [{"key": "team", "value": "ml"}]}
            )
        )
        duplicate = api.post("registered-models/create", {"name": name})
        assert (
            duplicate.status_code == 400
            and duplicate.json()["error_code"] == "RESOURCE_ALREADY_EXISTS"
        )
        sources = [f"models:/{model_id}", f"runs:/{run}/model", "s3://bucket/model"]
        versions = [
            api.ok(api.post("model-versions/create", {"name": name, "source": s}))["model_version"]
            for s in sources
        ]
        assert [v["version"] for v in versions] == ["1", "2", "3"]
        assert versions[0]["model_id"] == model_id and versions[1]["run_id"] == run
        uri = api.ok(api.get("model-versions/get-download-uri", name=name, version="2"))[
            "artifact_uri"
        ]
        assert uri.endswith(f"/{run}/artifacts/model")
        api.ok(_request(api, "DELETE", "model-versions/delete", {"name": name, "version": "3"}))
        fourth = api.ok(api.post("model-versions/create", {"name": name, "source": sources[0]}))
        assert fourth["model_version"]["version"] == "4"
        api.ok(
            api.post("registered-models/alias", {"name": name, "alias": "champion", "version": "2"})
        )
        api.ok(
            api.post("registered-models/alias", {"name": name, "alias": "champion", "version": "4"})
        )
        by_alias = api.ok(api.get("registered-models/alias", name=name, alias="champion"))
        assert by_alias["model_version"]["version"] == "4" and by_alias["model_version"][
            "aliases"
        ] == ["champion"]
        api.ok(
            api.post(
                "model-versions/set-tag",
                {"name": name, "version": "1", "key": "ok", "value": "yes"},
            )
        )
        found = api.ok(
            api.get("model-versions/search", filter=f"name = '{name}' AND tags.ok = 'yes'")
        )
        assert [v["version"] for v in found["model_versions"]] == ["1"]
        found = api.ok(
            api.get("model-versions/search", filter=f"name = '{name}' AND version_number > 1")
        )
        assert sorted(v["version"] for v in found["model_versions"]) == ["2", "4"]
        found = api.ok(api.get("model-versions/search", filter=f"run_id IN ('{run}')"))
        assert {v["version"] for v in found["model_versions"] if v["name"] == name} == {
            "1",
            "2",
            "4",
        }
        moved = api.post(
            "model-versions/transition-stage", {"name": name, "version": "2", "stage": "production"}
        )
        assert api.ok(moved)["model_version"]["current_stage"] == "Production"
        latest = api.ok(
            api.post(
                "registered-models/get-latest-versions", {"name": name, "stages": ["Production"]}
            )
        )
        assert [v["version"] for v in latest["model_versions"]] == ["2"]
        model = api.ok(api.get("registered-models/get", name=name))["registered_model"]
        assert model["aliases"] == [{"alias": "champion", "version": "4"}]
        assert model["tags"] == [{"key": "team", "value": "ml"}]
        assert sorted(v["version"] for v in model["latest_versions"]) == ["2", "4"]

    def test_search_filters_pages_and_prompt_filter(self, api: Api):
        """Registered models page by name; the client's prompt filter keeps untagged models."""
        prefix = _name("page")
        for index in range(5):
            api.ok(api.post("registered-models/create", {"name": f"{prefix}-{index}"}))
        prompt = {
            "name": f"{prefix}-prompt",
            "tags": [{"key": "mlflow.prompt.is_prompt", "value": "true"}],
        }
        api.ok(api.post("registered-models/create", prompt))
        text = f"name LIKE '{prefix}%' AND tag.`mlflow.prompt.is_prompt` != 'true'"
        names, token = [], None
        while True:
            params = {"filter": text, "max_results": 2, **({"page_token": token} if token else {})}
            page = api.ok(api.get("registered-models/search", **params))
            names += [m["name"] for m in page["registered_models"]]
            token = page.get("next_page_token")
            if not token:
                break
        assert names == [f"{prefix}-{i}" for i in range(5)]

    def test_rename_and_delete(self, api: Api):
        """A rename carries versions and aliases along; a delete removes the model and versions."""
        name, new_name = _name("before"), _name("after")
        api.ok(api.post("registered-models/create", {"name": name}))
        api.ok(api.post("model-versions/create", {"name": name, "source": "file:///m"}))
        api.ok(api.post("registered-models/alias", {"name": name, "alias": "prod", "version": "1"}))
        api.ok(api.post("registered-models/rename", {"name": name, "new_name": new_name}))
        assert (
            api.ok(api.get("registered-models/alias", name=new_name, alias="prod"))[
                "model_version"
            ]["version"]
            == "1"
        )
        assert api.get("registered-models/get", name=name).status_code == 404
        api.ok(_request(api, "DELETE", "registered-models/delete", {"name": new_name}))
        assert api.get("model-versions/get", name=new_name, version="1").status_code == 404

    def test_refusals(self, api: Api):
        """Bad names, versions, aliases and stages answer 4xx naming the value."""
        name = _name("ref")
        api.ok(api.post("registered-models/create", {"name": name}))
        api.ok(api.post("model-versions/create", {"name": name, "source": "file:///m"}))
        cases = [
            ("POST", "registered-models/create", {"name": "a/b"}, 400, "a/b"),
            ("GET", "model-versions/get", {"name": name, "version": "x1"}, 400, "x1"),
            ("GET", "model-versions/get", {"name": name, "version": "7"}, 404, "7"),
            ("GET", "registered-models/get", {"name": "no-such-model"}, 404, "no-such-model"),
            (
                "POST",
                "registered-models/alias",
                {"name": name, "alias": "latest", "version": "1"},
                400,
                "latest",
            ),
            (
                "POST",
                "registered-models/alias",
                {"name": name, "alias": "v2", "version": "1"},
                400,
                "v2",
            ),
            (
                "POST",
                "model-versions/transition-stage",
                {"name": name, "version": "1", "stage": "Prod"},
                400,
                "Prod",
            ),
            ("GET", "model-versions/search", {"filter": "version_number > 'x'"}, 400, "x"),
            ("GET", "registered-models/search", {"filter": "name ="}, 400, "name ="),
            (
                "POST",
                "model-versions/create",
                {"name": name, "source": "models:/m-nope"},
                404,
                "m-nope",
            ),
        ]
        for method, endpoint, body, status, shown in cases:
            response = _request(api, method, endpoint, body)
            assert response.status_code == status, (endpoint, body, response.text)
            assert shown in response.json()["message"], response.text


LIST_MLFLOW_ENDPOINTS = """
import json
from mlflow.server.handlers import get_endpoints
seen = set()
for path, _, methods in get_endpoints():
    if path.startswith(("/api/2.0/", "/api/3.0/")):
        seen.update((method, path) for method in methods)
print(json.dumps(sorted(seen)))
"""


class TestCompatibility:
    def test_every_mlflow_endpoint_answers_json_and_never_500(self, api: Api, mlflow, tmp_path):
        """Each of MLflow 3.17's REST endpoints answers JSON; the unimplemented ones 501 or 404."""
        listed = json.loads(
            run_script(LIST_MLFLOW_ENDPOINTS, tmp_path, python=str(mlflow.python)).stdout
        )
        assert len(listed) > 150
        implemented: list[tuple[str, str]] = []
        for method, path in listed:
            url = path.replace("<path:artifact_path>", "0/x/artifacts/none.txt")
            for placeholder in ("model_id", "tag_key", "request_id", "trace_id", "assessment_id",
                                "webhook_id", "dataset_id", "key", "issue_id", "job_id",
                                "workspace_name"):  # fmt: skip
                url = url.replace(f"<{placeholder}>", "nothing")
            response = api.http.request(method, url, **({} if method == "GET" else {"json": {}}))
            assert response.status_code != 500, (method, path, response.text)
            if response.status_code == 200:
                implemented.append((method, path))
                continue
            body = response.json()
            assert body["error_code"] and body["message"], (method, path, body)
            if response.status_code == 501:
                assert body["error_code"] == "NOT_IMPLEMENTED", (method, path, body)
                assert "docs/server.md" in body["message"], body
            else:  # implemented, and refusing the empty request with a reason
                assert response.status_code in (400, 404), (method, path, response.text)
                assert body["error_code"] != "ENDPOINT_NOT_FOUND", (method, path, body)
                implemented.append((method, path))
        print(f"MLflow 3.17 endpoints implemented: {len(implemented)} of {len(listed)}")
        assert len(implemented) >= 60, implemented
        _check_the_documented_table(listed, implemented)


def _check_the_documented_table(listed: list, implemented: list) -> None:
    """docs/server.md's table lists exactly MLflow's endpoints, and which ones answer here."""
    text = (Path(__file__).parents[2] / "docs" / "server.md").read_text()
    headline = re.search(r"\*\*(\d+) of (\d+) are\s+implemented\*\*", text)
    assert headline, "docs/server.md lost its '**N of M are implemented**' line"
    assert (int(headline[1]), int(headline[2])) == (len(implemented), len(listed)), headline[0]
    table = text.split("<details><summary>All ", 1)[1].split("</details>", 1)[0]
    assert table.startswith(f"{len(listed)} endpoints</summary>"), table[:40]
    rows = re.findall(r"^\| `(\w+) (\S+)` \| (implemented|not implemented)", table, re.M)
    documented = {(method, path): state for method, path, state in rows}
    assert set(documented) == {tuple(pair) for pair in listed}
    said = {pair for pair, state in documented.items() if state == "implemented"}
    assert said == set(implemented), set(implemented) ^ said
