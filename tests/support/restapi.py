"""A thin MLflow REST client over httpx, for the tests' assertions."""

from __future__ import annotations

import httpx

API = "/api/2.0/mlflow/"


class Api:
    """A thin client for the MLflow REST API of one server, for assertions."""

    def __init__(self, url: str, token: str | None = None) -> None:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self.url = url
        self.http = httpx.Client(base_url=url, headers=headers, timeout=30)

    def post(self, endpoint: str, body: dict) -> httpx.Response:
        return self.http.post(API + endpoint, json=body)

    def get(self, endpoint: str, **params) -> httpx.Response:
        return self.http.get(API + endpoint, params=params)

    def ok(self, response: httpx.Response) -> dict:
        assert response.status_code == 200, response.text
        return response.json()

    def new_run(self, experiment: str = "tests", **body) -> str:
        found = self.get("experiments/get-by-name", experiment_name=experiment)
        if found.status_code == 200:
            experiment_id = found.json()["experiment"]["experiment_id"]
        else:
            experiment_id = self.ok(self.post("experiments/create", {"name": experiment}))[
                "experiment_id"
            ]
        run = self.ok(self.post("runs/create", {"experiment_id": experiment_id, **body}))
        return run["run"]["info"]["run_id"]

    def history(self, run_id: str, key: str) -> list[dict]:
        points, token = [], None
        while True:
            params = {"run_id": run_id, "metric_key": key, "max_results": 25000}
            page = self.ok(
                self.get(
                    "metrics/get-history", **params, **({"page_token": token} if token else {})
                )
            )
            points += page.get("metrics", [])
            token = page.get("next_page_token")
            if not token:
                return points

    def close(self) -> None:
        self.http.close()

    def __enter__(self) -> Api:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def find_run(self, autolog_run_id: str) -> dict:
        """The server run that the HTTP backend created for one of autolog's run ids."""
        body = {"view_type": "ALL", "max_results": 1000}
        experiments = self.ok(self.post("experiments/search", body))["experiments"]
        body = {
            "experiment_ids": [e["experiment_id"] for e in experiments],
            "filter": f"tags.`autolog.run_id` = '{autolog_run_id}'",
            "max_results": 10,
        }
        runs = self.ok(self.post("runs/search", body)).get("runs", [])
        assert len(runs) == 1, f"{len(runs)} server runs carry autolog.run_id {autolog_run_id}"
        return runs[0]
