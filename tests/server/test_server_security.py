"""Tokens, unsafe artifact paths, oversized and malformed bodies: 4xx answers, never a 500."""

from __future__ import annotations

import base64
import json

import httpx
import pytest

from tests.support.restapi import Api

TOKEN = "s3cret-token"
ARTIFACTS = "/api/2.0/mlflow-artifacts/artifacts"
JSON = {"Content-Type": "application/json"}


@pytest.fixture(scope="module")
def guarded(tmp_path_factory: pytest.TempPathFactory):
    """A server that requires TOKEN and takes artifacts of at most 1000 bytes."""
    from tests.support.processes import AutologServer

    folder = tmp_path_factory.mktemp("guarded")
    server = AutologServer(
        f"sqlite:///{folder / 'server.db'}",
        folder / "artifacts",
        token=TOKEN,
        env={"AUTOLOG_SERVER_MAX_ARTIFACT_BYTES": "1000"},
    )
    try:
        yield server.start()
    finally:
        server.kill()


class TestToken:
    def test_every_endpoint_but_health_requires_the_token(self, guarded):
        """Without the token the API, artifacts and OpenAPI answer 401; /health answers 200."""
        for method, path in (
            ("GET", "/api/2.0/mlflow/experiments/get?experiment_id=0"),
            ("POST", "/api/2.0/mlflow/runs/search"),
            ("GET", ARTIFACTS),
            ("PUT", ARTIFACTS + "/x.txt"),
            ("GET", "/openapi.json"),
            ("GET", "/no/such/path"),
        ):
            response = httpx.request(method, guarded.url + path)
            assert response.status_code == 401, (method, path)
            assert response.json()["error_code"] == "UNAUTHENTICATED"
        assert httpx.get(guarded.url + "/health").status_code == 200

    def test_wrong_token_is_refused_and_right_one_accepted(self, guarded):
        """A wrong bearer token is a 401; the right one, as Bearer or Basic password, works."""
        path = guarded.url + "/api/2.0/mlflow/experiments/get?experiment_id=0"
        wrong = httpx.get(path, headers={"Authorization": "Bearer nope"})
        assert wrong.status_code == 401 and TOKEN not in wrong.text
        assert httpx.get(path, headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 200
        basic = base64.b64encode(f"user:{TOKEN}".encode()).decode()
        assert httpx.get(path, headers={"Authorization": f"Basic {basic}"}).status_code == 200

    def test_token_is_not_printed(self, guarded):
        """The server's start-up output never shows the token."""
        assert TOKEN not in "".join(guarded.lines)


class TestArtifactPaths:
    @pytest.mark.parametrize(
        "path",
        ["..%2Fescape.txt", "a/..%2F..%2Fescape.txt", "%2Fetc%2Fpasswd", "a%5C..%5Cb", "a%00b"],
    )
    def test_unsafe_paths_answer_400(self, guarded, path):
        """Paths with .., absolute paths, backslashes or NUL are refused for PUT, GET and list."""
        headers = {"Authorization": f"Bearer {TOKEN}"}
        put = httpx.put(f"{guarded.url}{ARTIFACTS}/{path}", content=b"x", headers=headers)
        get = httpx.get(f"{guarded.url}{ARTIFACTS}/{path}", headers=headers)
        listing = httpx.get(
            f"{guarded.url}{ARTIFACTS}",
            params={"path": httpx.URL("/" + path).path},
            headers=headers,
        )
        for response in (put, get):
            assert response.status_code == 400, (path, response.text)
            assert response.json()["error_code"] == "INVALID_PARAMETER_VALUE"
        assert listing.status_code in (200, 400) and listing.status_code != 500
        assert not (guarded.artifacts.parent / "escape.txt").exists()

    def test_upload_download_and_oversized_upload(self, guarded):
        """A file uploads and downloads intact; one over the limit is a 413 and leaves nothing."""
        headers = {"Authorization": f"Bearer {TOKEN}"}
        url = f"{guarded.url}{ARTIFACTS}/1/run/artifacts/dir/ok.bin"
        assert httpx.put(url, content=b"\x00\x01" * 100, headers=headers).status_code == 200
        assert httpx.get(url, headers=headers).content == b"\x00\x01" * 100
        big = f"{guarded.url}{ARTIFACTS}/1/run/artifacts/big.bin"
        response = httpx.put(big, content=b"x" * 5000, headers=headers)
        assert response.status_code == 413
        assert httpx.get(big, headers=headers).status_code == 404
        for clash in ("1/run/artifacts/dir", "1/run/artifacts/dir/ok.bin/under-a-file.txt"):
            response = httpx.put(f"{guarded.url}{ARTIFACTS}/{clash}", content=b"x", headers=headers)
            assert response.status_code == 400, response.text


class TestBadRequests:
    def test_oversized_json_body_answers_413(self, api: Api):
        """A JSON body over MLflow's 1 MB limit is refused with 413 before it is parsed."""
        body = json.dumps({"run_id": "x", "tags": [{"key": "k", "value": "v" * 1_100_000}]})
        response = api.http.post("/api/2.0/mlflow/runs/log-batch", content=body, headers=JSON)
        assert response.status_code == 413

    @pytest.mark.parametrize("body", [b"{", b"[1, 2]", b'"text"', b"\xff\xfe", b"{" * 100_000])
    def test_malformed_json_answers_400_with_a_message(self, api: Api, body):
        """Bodies that are not a JSON object answer 400 BAD_REQUEST saying so."""
        response = api.http.post("/api/2.0/mlflow/runs/search", content=body, headers=JSON)
        assert response.status_code == 400
        assert response.json()["error_code"] == "BAD_REQUEST" and response.json()["message"]

    def test_no_request_gets_a_500(self, api: Api):
        """Wrong types, unknown ids, bad enums, huge numbers and odd paths all answer 4xx."""
        run_id = api.new_run("fuzz")
        bad_bodies = {
            "runs/log-batch": [
                {"run_id": run_id, "metrics": [{"key": "m", "value": "abc", "timestamp": 1}]},
                {"run_id": run_id, "metrics": [{"key": "m", "value": 1, "timestamp": 2**70}]},
                {"run_id": run_id, "metrics": [{"key": "../m", "value": 1, "timestamp": 1}]},
                {"run_id": run_id, "metrics": "not a list"},
                {"run_id": run_id, "params": [{"key": "p", "value": 5}]},
                {"run_id": run_id, "tags": [["k", "v"]]},
                {"run_id": "missing", "metrics": []},
                {"run_id": 12},
                {},
            ],
            "runs/create": [{"experiment_id": "abc"}, {"experiment_id": "99999"}, {"tags": {}}],
            "runs/update": [{"run_id": run_id, "status": "EXPLODED"}, {"run_id": "nope"}],
            "runs/search": [
                {"experiment_ids": "0", "max_results": 0},
                {"experiment_ids": [0]},
                {"run_view_type": "SOMETIMES"},
                {"page_token": "garbage"},
                {"order_by": ["metrics.x SIDEWAYS"]},
                {"filter": "params.x = 1 OR params.y = 2"},
            ],
            "experiments/create": [{"name": ""}, {"name": "x" * 600}, {"name": None}],
            "experiments/search": [{"order_by": ["color"]}, {"filter": "metrics.x > 1"}],
        }
        for endpoint, bodies in bad_bodies.items():
            for body in bodies:
                response = api.post(endpoint, body)
                assert 400 <= response.status_code < 500, (endpoint, body, response.text)
                assert response.json()["error_code"]
        for path in (
            "/api/2.0/mlflow/runs/get?run_id=",
            "/api/2.0/mlflow/metrics/get-history?run_id=x&metric_key=m&max_results=-1",
            "/api/2.0/mlflow/experiments/get?experiment_id=99999999999999999999",
            f"{ARTIFACTS}/missing/file.txt",
        ):
            response = api.http.get(path)
            assert 400 <= response.status_code < 500, (path, response.text)
        assert api.http.delete("/api/2.0/mlflow/runs/create").status_code == 405
        assert api.http.get("/health").status_code == 200
