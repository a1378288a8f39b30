"""The MLflow REST protocol of ``autolog server``, spoken over real HTTP to a real process."""

from __future__ import annotations

import pytest

from tests.support.restapi import Api


class TestExperiments:
    def test_create_get_and_get_by_name_agree(self, api: Api):
        """An experiment created by name reads back by id and by name with its tags."""
        created = api.ok(
            api.post("experiments/create", {"name": "exp", "tags": [{"key": "t", "value": "1"}]})
        )
        by_id = api.ok(api.get("experiments/get", experiment_id=created["experiment_id"]))
        by_name = api.ok(api.get("experiments/get-by-name", experiment_name="exp"))
        assert by_id == by_name
        assert by_id["experiment"]["tags"] == [{"key": "t", "value": "1"}]
        assert by_id["experiment"]["artifact_location"].startswith("mlflow-artifacts:/")

    def test_default_experiment_exists(self, api: Api):
        """Experiment 0, "Default", exists from the start as in MLflow."""
        assert api.ok(api.get("experiments/get", experiment_id="0"))["experiment"]["name"] == (
            "Default"
        )

    def test_duplicate_name_and_unknown_id_use_mlflow_error_codes(self, api: Api):
        """A second create of a name answers RESOURCE_ALREADY_EXISTS; an unknown id 404s."""
        api.ok(api.post("experiments/create", {"name": "dup"}))
        again = api.post("experiments/create", {"name": "dup"})
        assert (again.status_code, again.json()["error_code"]) == (400, "RESOURCE_ALREADY_EXISTS")
        missing = api.get("experiments/get", experiment_id="999")
        assert (missing.status_code, missing.json()["error_code"]) == (
            404,
            "RESOURCE_DOES_NOT_EXIST",
        )

    def test_search_filters_by_name_and_pages(self, api: Api):
        """experiments/search applies LIKE on names and pages with next_page_token."""
        for index in range(5):
            api.ok(api.post("experiments/create", {"name": f"page-{index}"}))
        names, token = [], None
        while True:
            body = {"filter": "name LIKE 'page-%'", "max_results": 2, "order_by": ["name DESC"]}
            page = api.ok(
                api.post("experiments/search", body | ({"page_token": token} if token else {}))
            )
            names += [e["name"] for e in page["experiments"]]
            token = page.get("next_page_token")
            if not token:
                break
        assert names == [f"page-{index}" for index in reversed(range(5))]


class TestRuns:
    def test_run_lifecycle_reads_back(self, api: Api):
        """A run's name, tags, status, end time and deletion read back as MLflow shapes them."""
        run_id = api.new_run(run_name="first", start_time=1000, tags=[{"key": "k", "value": "v"}])
        run = api.ok(api.get("runs/get", run_id=run_id))["run"]
        assert run["info"]["run_name"] == "first" and run["info"]["status"] == "RUNNING"
        assert {"key": "mlflow.runName", "value": "first"} in run["data"]["tags"]
        info = api.ok(
            api.post("runs/update", {"run_id": run_id, "status": "FINISHED", "end_time": 2000})
        )
        assert info["run_info"]["end_time"] == 2000 and info["run_info"]["status"] == "FINISHED"
        api.ok(api.post("runs/delete", {"run_id": run_id}))
        assert (
            api.ok(api.get("runs/get", run_id=run_id))["run"]["info"]["lifecycle_stage"]
            == "deleted"
        )
        api.ok(api.post("runs/restore", {"run_id": run_id}))

    def test_log_batch_single_endpoints_and_history(self, api: Api):
        """Params, tags and metrics logged by log-batch and the single endpoints all read back."""
        run_id = api.new_run()
        api.ok(
            api.post(
                "runs/log-batch",
                {
                    "run_id": run_id,
                    "metrics": [
                        {"key": "loss", "value": 1.5, "timestamp": 10, "step": 0},
                        {"key": "loss", "value": 0.5, "timestamp": 11, "step": 1},
                    ],
                    "params": [{"key": "lr", "value": "0.1"}],
                    "tags": [{"key": "team", "value": "a"}],
                },
            )
        )
        api.ok(
            api.post(
                "runs/log-metric", {"run_id": run_id, "key": "acc", "value": 0.9, "timestamp": 5}
            )
        )
        api.ok(api.post("runs/log-parameter", {"run_id": run_id, "key": "depth", "value": "3"}))
        api.ok(api.post("runs/set-tag", {"run_id": run_id, "key": "team", "value": "b"}))
        data = api.ok(api.get("runs/get", run_id=run_id))["run"]["data"]
        assert {m["key"]: m["value"] for m in data["metrics"]} == {"loss": 0.5, "acc": 0.9}
        assert {p["key"]: p["value"] for p in data["params"]} == {"lr": "0.1", "depth": "3"}
        assert {"key": "team", "value": "b"} in data["tags"]
        assert [(p["step"], p["value"]) for p in api.history(run_id, "loss")] == [
            (0, 1.5),
            (1, 0.5),
        ]

    def test_nan_and_infinities_round_trip(self, api: Api):
        """NaN, Infinity and -Infinity are stored and returned as protobuf's JSON strings."""
        run_id = api.new_run()
        values = ["NaN", "Infinity", "-Infinity"]
        metrics = [
            {"key": "m", "value": v, "timestamp": 1, "step": i} for i, v in enumerate(values)
        ]
        api.ok(api.post("runs/log-batch", {"run_id": run_id, "metrics": metrics}))
        assert [p["value"] for p in api.history(run_id, "m")] == values
        latest = api.ok(api.get("runs/get", run_id=run_id))["run"]["data"]["metrics"]
        assert latest == [{"key": "m", "value": "-Infinity", "timestamp": 1, "step": 2}]

    def test_same_point_twice_is_stored_once(self, api: Api):
        """Re-sending a whole batch (a client retry) leaves exactly one copy of each point."""
        run_id = api.new_run()
        metrics = [{"key": "x", "value": i / 3, "timestamp": 7, "step": i} for i in range(500)]
        metrics.append({"key": "x", "value": "NaN", "timestamp": 7, "step": 500})
        for _ in range(3):
            api.ok(api.post("runs/log-batch", {"run_id": run_id, "metrics": metrics}))
        history = api.history(run_id, "x")
        assert len(history) == 501
        assert [p["step"] for p in history] == list(range(501))

    def test_changing_a_param_is_refused(self, api: Api):
        """A param is fixed per run: the same value again is fine, a different one is a 400."""
        run_id = api.new_run()
        body = {"run_id": run_id, "key": "lr", "value": "0.1"}
        api.ok(api.post("runs/log-parameter", body))
        api.ok(api.post("runs/log-parameter", body))
        changed = api.post("runs/log-parameter", body | {"value": "0.2"})
        assert (changed.status_code, changed.json()["error_code"]) == (
            400,
            "INVALID_PARAMETER_VALUE",
        )

    def test_batch_limits_match_mlflow(self, api: Api):
        """More than 1000 metrics or 100 params in one request answers INVALID_PARAMETER_VALUE."""
        run_id = api.new_run()
        metrics = [{"key": "m", "value": 1, "timestamp": 1, "step": i} for i in range(1001)]
        params = [{"key": f"p{i}", "value": "v"} for i in range(101)]
        for body in ({"metrics": metrics}, {"params": params}):
            response = api.post("runs/log-batch", {"run_id": run_id, **body})
            assert response.status_code == 400 and "limit" in response.json()["message"]

    def test_history_pages_in_logging_order(self, api: Api):
        """get-history with max_results returns every point once across pages, in order."""
        run_id = api.new_run()
        for first in range(0, 3000, 1000):
            metrics = [
                {"key": "p", "value": s, "timestamp": s, "step": s}
                for s in range(first, first + 1000)
            ]
            api.ok(api.post("runs/log-batch", {"run_id": run_id, "metrics": metrics}))
        seen, token = [], None
        while True:
            params = {"run_id": run_id, "metric_key": "p", "max_results": 700}
            page = api.ok(
                api.get("metrics/get-history", **params, **({"page_token": token} if token else {}))
            )
            seen += [p["step"] for p in page["metrics"]]
            token = page.get("next_page_token")
            if not token:
                break
        assert seen == list(range(3000))


@pytest.fixture(scope="module")
def runs(api: Api) -> dict[str, str]:
    """Experiment "search": runs a, b, c with params, tags and a loss (b's is NaN), and d bare."""
    ids = {}
    rows = (("a", "0.1", 0.5, "x"), ("b", "0.2", "NaN", "y"), ("c", "0.3", 0.2, "x"))
    for name, lr, loss, team in rows:
        run_id = api.new_run("search", run_name=name)
        body = {
            "run_id": run_id,
            "params": [{"key": "lr", "value": lr}],
            "tags": [{"key": "team", "value": team}],
            "metrics": [{"key": "loss", "value": loss, "timestamp": 1, "step": 0}],
        }
        api.ok(api.post("runs/log-batch", body))
        ids[name] = run_id
    ids["d"] = api.new_run("search", run_name="d")
    return ids


class TestSearchRuns:
    def search(self, api: Api, filter: str = "", order_by: list[str] | None = None) -> list[str]:
        experiment = api.ok(api.get("experiments/get-by-name", experiment_name="search"))
        body = {"experiment_ids": [experiment["experiment"]["experiment_id"]], "filter": filter}
        found = api.ok(api.post("runs/search", body | ({"order_by": order_by} if order_by else {})))
        return [run["info"]["run_name"] for run in found.get("runs", [])]

    @pytest.mark.parametrize(
        ("filter", "expected"),
        [
            ("metrics.loss < 0.4", {"c"}),
            ("metrics.loss != 0.5", {"b", "c"}),
            ("params.lr = '0.2'", {"b"}),
            ("params.lr IN ('0.1', '0.3') and tags.team = 'x'", {"a", "c"}),
            ("tags.team LIKE 'X'", set()),
            ("tags.team ILIKE 'X'", {"a", "c"}),
            ("attributes.run_name LIKE '_'", {"a", "b", "c", "d"}),
            ("attributes.status = 'RUNNING' and metrics.loss >= 0", {"a", "c"}),
        ],
    )
    def test_filter_semantics(self, api: Api, runs, filter, expected):
        """The filter means what it means locally: missing keys never match, NaN only with !=."""
        assert set(self.search(api, filter)) == expected

    def test_order_by_metric_puts_nan_then_missing_last(self, api: Api, runs):
        """Ordering by a metric sorts numbers, then NaN, then runs without it, both directions."""
        assert self.search(api, "", ["metrics.loss ASC"]) == ["c", "a", "b", "d"]
        assert self.search(api, "", ["metrics.loss DESC"]) == ["a", "c", "b", "d"]

    def test_bad_filter_is_a_400_naming_the_problem(self, api: Api, runs):
        """A filter that does not parse answers INVALID_PARAMETER_VALUE quoting the filter."""
        experiment = api.ok(api.get("experiments/get-by-name", experiment_name="search"))
        body = {
            "experiment_ids": [experiment["experiment"]["experiment_id"]],
            "filter": "metrics.x <",
        }
        response = api.post("runs/search", body)
        assert response.status_code == 400 and "metrics.x <" in response.json()["message"]


class TestOpenApi:
    def test_openapi_lists_every_endpoint(self, api: Api):
        """/openapi.json is valid JSON describing each REST path the server routes."""
        document = api.ok(api.http.get("/openapi.json"))
        assert document["openapi"].startswith("3.")
        for path in ("runs/log-batch", "runs/search", "metrics/get-history", "experiments/create"):
            assert f"/api/2.0/mlflow/{path}" in document["paths"]
        assert "/api/2.0/mlflow-artifacts/artifacts/{path}" in document["paths"]
        schemas = document["components"]["schemas"]
        assert {"Metric", "Param", "Tag", "Run", "Experiment", "Error"} <= set(schemas)
        assert schemas["Metric"]["required"] == ["key", "value", "timestamp"]
