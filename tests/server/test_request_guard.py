"""The request guard and connection bounds, against real ``autolog server`` and ``autolog ui``.

Headers are forged by hand here, case by case (a real browser's forgeries, and
``autolog ui``, are in tests/ui/test_ui_forgery.py); idle and slow sockets are real.
"""

from __future__ import annotations

import base64
import os
import resource
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support.processes import AutologServer, wait_healthy

#: Every test here starts a server process (the module's fixture, or its own).
pytestmark = pytest.mark.service

TOKEN = "guard-token"
CREATE = "/api/2.0/mlflow/experiments/create"
GET = "/api/2.0/mlflow/experiments/get?experiment_id=0"
JSON = {"Content-Type": "application/json", "Authorization": f"Bearer {TOKEN}"}
ALLOWED_ORIGIN = "http://dash.example.com"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AutologServer]:
    """A server with a token, one allowed origin and two extra host names."""
    folder = tmp_path_factory.mktemp("guard")
    server = AutologServer(
        f"sqlite:///{folder / 'server.db'}",
        folder / "artifacts",
        token=TOKEN,
        env={
            "AUTOLOG_SERVER_ALLOW_ORIGIN": ALLOWED_ORIGIN,
            "AUTOLOG_SERVER_ALLOW_HOST": "tracking.corp,*.ml.example.com",
        },
    )
    try:
        yield server.start()
    finally:
        server.kill()


def _request(server: AutologServer, method: str, path: str, **headers: str) -> httpx.Response:
    body = b'{"name": "guard-%d"}' % time.monotonic_ns() if method == "POST" else None
    sent = {**JSON, **headers}
    return httpx.request(method, server.url + path, headers=sent, content=body, timeout=10)


HOSTS = [
    # (Host header, answered)
    ("127.0.0.1:{port}", True),
    ("localhost:{port}", True),
    ("LOCALHOST.:{port}", True),
    ("[::1]:{port}", True),
    ("10.1.2.3:{port}", True),
    ("ui.localhost:{port}", True),
    ("tracking.corp", True),
    ("a.ml.example.com:{port}", True),
    ("evil.example:{port}", False),
    ("127.0.0.1.nip.io:{port}", False),
    ("localhost.evil.example", False),
    ("ml.example.com.evil.example", False),
]


@pytest.mark.parametrize("host,answered", HOSTS, ids=[h for h, _ in HOSTS])
def test_host_header_must_name_the_server(server: AutologServer, host: str, answered: bool):
    """DNS rebinding: a name that is not the server's is refused for reads and writes."""
    host = host.format(port=server.port)
    for method, path in (("GET", GET), ("POST", CREATE)):
        response = _request(server, method, path, Host=host)
        if answered:
            assert response.status_code == 200, (host, method, response.text)
        else:
            assert response.status_code == 403, (host, method)
            assert "--allow-host" in response.json()["message"]


def test_health_answers_any_host(server: AutologServer):
    """/health stays open to load balancers whatever name they use; it tells nothing."""
    response = httpx.get(server.url + "/health", headers={"Host": "lb.internal"})
    assert response.status_code == 200


ORIGINS = [
    # (headers, method, status)
    ({"Origin": "{own}"}, "POST", 200),
    ({"Sec-Fetch-Site": "same-origin"}, "POST", 200),
    ({"Sec-Fetch-Site": "none"}, "POST", 200),
    ({"Origin": "http://evil.example"}, "POST", 403),
    ({"Origin": "http://127.0.0.1:1"}, "POST", 403),  # another port of the same machine
    ({"Origin": "null"}, "POST", 403),  # sandboxed frames, file:// pages
    ({"Sec-Fetch-Site": "cross-site"}, "POST", 403),
    ({"Sec-Fetch-Site": "same-site"}, "POST", 403),
    ({"Origin": "http://evil.example", "Sec-Fetch-Site": "cross-site"}, "GET", 403),
    ({"Sec-Fetch-Site": "cross-site", "Sec-Fetch-Mode": "no-cors"}, "GET", 403),
    ({"Sec-Fetch-Site": "cross-site", "Sec-Fetch-Mode": "navigate"}, "GET", 200),  # a link
    ({"Sec-Fetch-Site": "cross-site", "Sec-Fetch-Mode": "navigate"}, "POST", 403),  # a form
    ({"Origin": ALLOWED_ORIGIN, "Sec-Fetch-Site": "cross-site"}, "POST", 200),
    ({"Origin": ALLOWED_ORIGIN + "/"}, "GET", 200),
    ({"Origin": "http://dash.example.com.evil.example"}, "POST", 403),
]


@pytest.mark.parametrize("headers,method,status", ORIGINS, ids=[str(o) for o in ORIGINS])
def test_cross_origin_requests_are_refused_unless_allowed(
    server: AutologServer, headers: dict, method: str, status: int
):
    """Only this server's own pages, non-browser clients, links and allowed origins pass."""
    own = f"http://127.0.0.1:{server.port}"
    headers = {k: v.format(own=own) for k, v in headers.items()}
    response = _request(server, method, CREATE if method == "POST" else GET, **headers)
    assert response.status_code == status, response.text


def test_allowed_origin_gets_cors_without_credentials(server: AutologServer):
    """The preflight of an allowed origin is answered; credentials are never allowed along."""
    preflight = httpx.options(
        server.url + CREATE,
        headers={
            "Origin": ALLOWED_ORIGIN,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization, content-type",
        },
    )
    assert preflight.status_code == 204
    assert preflight.headers["access-control-allow-origin"] == ALLOWED_ORIGIN
    assert "access-control-allow-credentials" not in preflight.headers
    answer = _request(server, "GET", GET, Origin=ALLOWED_ORIGIN)
    assert answer.headers["access-control-allow-origin"] == ALLOWED_ORIGIN
    refused = httpx.options(
        server.url + CREATE,
        headers={"Origin": "http://evil.example", "Access-Control-Request-Method": "POST"},
    )
    assert refused.status_code == 403 and "access-control-allow-origin" not in refused.headers


def test_basic_credentials_never_authorise_another_origin(server: AutologServer):
    """Basic works for clients without an Origin; from an allowed other origin only Bearer does."""
    basic = "Basic " + base64.b64encode(f"user:{TOKEN}".encode()).decode()
    assert _request(server, "POST", CREATE, Authorization=basic).status_code == 200
    assert _request(server, "GET", GET, Authorization=basic).status_code == 200
    crossed = _request(server, "POST", CREATE, Authorization=basic, Origin=ALLOWED_ORIGIN)
    assert crossed.status_code == 401
    assert _request(server, "POST", CREATE, Origin=ALLOWED_ORIGIN).status_code == 200


CONTENT_TYPES = [
    ("text/plain", 415),
    ("text/plain;charset=UTF-8", 415),
    ("application/x-www-form-urlencoded", 415),
    ("multipart/form-data; boundary=x", 415),
    ("", 415),
    ("application/json", 200),
    ("application/json; charset=utf-8", 200),
    ("APPLICATION/JSON", 200),
    ("application/merge-patch+json", 200),
]


@pytest.mark.parametrize("content_type,status", CONTENT_TYPES, ids=[c for c, _ in CONTENT_TYPES])
def test_json_writes_need_a_json_content_type(server: AutologServer, content_type, status):
    """The bodies a browser sends cross-site without a preflight are not parsed as JSON."""
    response = _request(server, "POST", CREATE, **{"Content-Type": content_type})
    assert response.status_code == status, response.text


def test_artifact_uploads_take_any_bytes(server: AutologServer):
    """Artifact PUTs are raw files: any Content-Type, still behind the origin check."""
    url = server.url + "/api/2.0/mlflow-artifacts/artifacts/0/r/artifacts/a.bin"
    headers = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/octet-stream"}
    assert httpx.put(url, content=b"\x00\x01", headers=headers).status_code == 200
    crossed = httpx.put(url, content=b"x", headers={**headers, "Origin": "http://evil.example"})
    assert crossed.status_code == 403


# -- idle and slow connections ------------------------------------------------


def _limited_server(folder: Path, env: dict[str, str]) -> tuple[subprocess.Popen, str]:
    """``autolog server`` with 1024 file descriptors, soft and hard, as on many systems."""

    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_NOFILE, (1024, 1024))

    command = [sys.executable, "-P", "-m", "autolog", "server", "--port", "0"]
    command += ["--store", f"sqlite:///{folder / 's.db'}", "--artifacts", str(folder / "a")]
    process = subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, **env},
        preexec_fn=limit,
        start_new_session=True,
    )
    assert process.stdout is not None
    first = process.stdout.readline()
    url = first.split("listening on", 1)[1].split()[0]
    threading.Thread(target=process.stdout.read, daemon=True).start()
    wait_healthy(url, 20, process)
    return process, url


def _connect(url: str) -> socket.socket:
    host, port = url.removeprefix("http://").rsplit(":", 1)
    return socket.create_connection((host, int(port)), timeout=10)


def test_health_answers_under_a_thousand_idle_sockets(tmp_path: Path):
    """1200 connections that never send a byte, on 1024 descriptors: /health still answers."""
    process, url = _limited_server(tmp_path, {"AUTOLOG_SERVER_HEADER_TIMEOUT": "60"})
    idle: list[socket.socket] = []
    try:
        for _ in range(1200):
            idle.append(_connect(url))
        times = []
        with httpx.Client(timeout=5) as http:
            for _ in range(20):
                started = time.monotonic()
                assert http.get(url + "/health", headers={"Connection": "close"}).text == "OK"
                times.append(time.monotonic() - started)
                idle.append(_connect(url))  # and more keep coming
        assert max(times) < 2.0, times
        assert process.poll() is None
    finally:
        for sock in idle:
            sock.close()
        process.kill()
        process.wait(10)


def test_silent_and_slow_connections_are_closed_after_the_header_timeout(tmp_path: Path):
    """A socket that sends nothing, or a header a byte at a time, is closed by the server."""
    process, url = _limited_server(tmp_path, {"AUTOLOG_SERVER_HEADER_TIMEOUT": "1"})
    try:
        silent = [_connect(url) for _ in range(50)]
        slow = _connect(url)
        started = time.monotonic()
        slow.sendall(b"GET /health HTTP/1.1\r\n")
        closed = False
        while time.monotonic() - started < 6:
            try:
                slow.sendall(b"X")
            except OSError:
                closed = True
                break
            time.sleep(0.2)
        assert closed or slow.recv(1) == b"", "the slow client was never closed"
        assert time.monotonic() - started < 6
        for sock in silent:
            assert sock.recv(1) == b""  # the server closed it (recv would block otherwise)
            sock.close()
        keep_alive = httpx.Client(timeout=5)
        assert keep_alive.get(url + "/health").text == "OK"  # a real client is unaffected
        keep_alive.close()
    finally:
        process.kill()
        process.wait(10)
