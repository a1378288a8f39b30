"""The tracking server fuzzed from its own OpenAPI description, with schemathesis.

A real ``autolog server`` (SQLite, token required) gets, for every operation of
its ``/openapi.json``, requests generated from the description (valid ones) and
requests that break it (negative ones), a bounded and reproducible number of
each (hypothesis, derandomized; ``AUTOLOG_FUZZ_EXAMPLES`` sets how many), plus
a few hand-made malformed requests no description can express (broken JSON,
deep nesting, a huge body, no token). The server must never answer 5xx nor
die; every input that breaks the description must get a 4xx; every 4xx must be
JSON with an ``error_code`` and a ``message``.
"""

from __future__ import annotations

import contextlib
import os
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import FailureGroup
from schemathesis.specs.openapi.checks import negative_data_rejection

from tests.support.processes import AutologServer

pytestmark = pytest.mark.slow

TOKEN = "fuzz-token"
EXAMPLES = int(os.environ.get("AUTOLOG_FUZZ_EXAMPLES", "40"))
API = "/api/2.0/mlflow/"

# (description, method, path, headers, body): inputs broken below the level of a schema.
MALFORMED = [
    ("broken JSON", "POST", API + "runs/create", {}, b'{"experiment_id": "0",'),
    ("a JSON list, not an object", "POST", API + "runs/log-batch", {}, b"[]"),
    ("a JSON string", "POST", API + "experiments/create", {}, b'"name"'),
    ("invalid UTF-8", "POST", API + "experiments/create", {}, b'{"name": "\xff\xfe"}'),
    ("JSON nested 100,000 deep", "POST", API + "runs/search", {}, b"[" * 100_000 + b"]" * 100_000),
    ("a 3 MB body", "POST", API + "runs/log-batch", {}, b'{"run_id": "' + b"a" * 3_000_000 + b'"}'),
    ("a number beyond double", "POST", API + "runs/log-metric", {},
     b'{"run_id": "x", "key": "k", "value": 1e999, "timestamp": 1e999}'),
    ("text/plain body", "POST", API + "experiments/create", {"Content-Type": "text/plain"},
     b"name=x"),
    ("an unknown endpoint", "GET", API + "no-such-endpoint", {}, b""),
    ("a wrong method", "DELETE", API + "runs/create", {}, b""),
    ("a 10,000-character run id", "GET", API + "runs/get?run_id=" + "r" * 10_000, {}, b""),
    ("an artifact path leaving the root", "GET",
     "/api/2.0/mlflow-artifacts/artifacts/..%2F..%2Fetc%2Fpasswd", {}, b""),
    ("no token", "GET", API + "experiments/search", {"Authorization": ""}, b""),
    ("a wrong token", "GET", API + "experiments/search", {"Authorization": "Bearer nope"}, b""),
]  # fmt: skip


@pytest.fixture(scope="module")
def fuzzed_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AutologServer]:
    """A real autolog server requiring a token, for the fuzzer."""
    folder: Path = tmp_path_factory.mktemp("fuzzed-server")
    server = AutologServer(f"sqlite:///{folder / 'server.db'}", folder / "artifacts", token=TOKEN)
    try:
        yield server.start()
    finally:
        server.kill()


def rejection_problem(response) -> str | None:
    """Why a 4xx answer falls short (not JSON, no error_code or message), or None."""
    try:
        body = response.json()
    except ValueError:
        return f"{response.status_code} without a JSON body: {response.text[:200]!r}"
    if not isinstance(body, dict):
        return f"{response.status_code} with a JSON body that is not an object: {body!r:.200}"
    for field in ("error_code", "message"):
        if not isinstance(body.get(field), str) or not body[field].strip():
            return f"{response.status_code} without a {field}: {body!r:.200}"
    return None


def fuzzer(operation, mode: GenerationMode, statuses: Counter, problems: list[str]):
    """A hypothesis test sending ``EXAMPLES`` generated requests to one operation."""
    where = f"{operation.label} ({mode.value})"

    @settings(
        max_examples=EXAMPLES,
        derandomize=True,
        deadline=None,
        database=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy(generation_mode=mode))
    def send(case) -> None:
        response = case.call(timeout=30)
        statuses[response.status_code // 100 * 100] += 1
        checks = [not_a_server_error, negative_data_rejection]
        if isinstance(case.body, (bytes, str)) and not case.body.strip():
            checks = [not_a_server_error]  # a blank body is no body: allowed, it is optional
        try:
            case.validate_response(response, checks=checks)
        except FailureGroup as exc:
            problems.append(f"{where}: {exc}"[:2000])
        if 400 <= response.status_code < 500 and (problem := rejection_problem(response)):
            problems.append(f"{where}: {problem}")

    return send


class TestFuzzedServer:
    def test_generated_requests_get_no_5xx_and_reasoned_4xx(self, fuzzed_server, summary):
        """Valid and broken requests from the OpenAPI description: no 5xx, 4xx with a message."""
        auth = {"Authorization": f"Bearer {TOKEN}"}
        document = httpx.get(fuzzed_server.url + "/openapi.json", headers=auth).json()
        schema = schemathesis.openapi.from_dict(document)
        schema.config.update(base_url=fuzzed_server.url, headers=auth)
        statuses: Counter = Counter()
        problems: list[str] = []
        operations = 0
        for result in schema.get_all_operations():
            operation = result.ok()
            operations += 1
            for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
                # e.g. GET /health has no input that could break its description
                with contextlib.suppress(Unsatisfiable):
                    fuzzer(operation, mode, statuses, problems)()
        requests = sum(statuses.values())
        summary.add(
            "server fuzzed from its OpenAPI description (schemathesis): requests",
            trials=requests,
            note=(
                f"{operations} operations x {EXAMPLES} valid + {EXAMPLES} broken inputs; "
                + ", ".join(f"{status // 100}xx: {n}" for status, n in sorted(statuses.items()))
            ),
            records=False,
        )
        assert not problems, "\n\n".join(problems[:5])
        assert statuses[500] == 0
        self._check_alive(fuzzed_server)

    def test_malformed_requests_get_a_4xx_with_a_message(self, fuzzed_server, summary) -> None:
        """Broken JSON, deep nesting, huge bodies, bad tokens: each a 4xx with a message."""
        problems = []
        with httpx.Client(base_url=fuzzed_server.url, timeout=30) as http:
            for description, method, path, headers, body in MALFORMED:
                sent_headers = {
                    "Authorization": f"Bearer {TOKEN}",
                    "Content-Type": "application/json",
                    **headers,
                }
                sent_headers = {k: v for k, v in sent_headers.items() if v}
                response = http.request(method, path, headers=sent_headers, content=body)
                if not 400 <= response.status_code < 500:
                    problems.append(f"{description}: {response.status_code} {response.text[:200]}")
                elif problem := rejection_problem(response):
                    problems.append(f"{description}: {problem}")
        summary.add(
            "server sent malformed requests (broken JSON, deep nesting, 3 MB, bad tokens)",
            trials=len(MALFORMED),
            note=f"{len(MALFORMED) - len(problems)} of {len(MALFORMED)} got a 4xx with a message",
            records=False,
        )
        assert not problems, "\n".join(problems)
        self._check_alive(fuzzed_server)

    def _check_alive(self, server: AutologServer) -> None:
        """The server process still runs, answers /health, and logged no traceback."""
        assert server.process is not None and server.process.poll() is None
        assert httpx.get(server.url + "/health", timeout=10).status_code == 200
        assert "Traceback" not in "".join(server.lines), "".join(server.lines)[-3000:]
