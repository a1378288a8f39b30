"""A real browser on a hostile page tries request forgery and DNS rebinding; all refused.

The attacker is a second local HTTP server on another port (and, through
Chromium's host resolver rules, on a name that resolves to 127.0.0.1, as a
rebound name does). Its page fires every forgery a browser allows without the
target's consent (``text/plain`` fetches, HTML form posts in both encodings,
beacons, credentialed reads, a JSON fetch that needs a preflight) at
``autolog server`` with a token, without one, and at ``autolog ui``. Playwright
sees the real status of even the opaque answers: each is a 403, nothing
changed on the server, and the same-origin UI still works in the same browser.
"""

from __future__ import annotations

import contextlib
import http.server
import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support.ui_browser import DESKTOP, Site, open_page
from tests.support.ui_processes import Service, start_server, start_ui

TOKEN = "forgery-token"
API = "/api/2.0/mlflow"
REBIND = "--host-resolver-rules=MAP *.rebind.test 127.0.0.1"

ATTACK_PAGE = """<!doctype html><html><body>
<iframe name="sink1"></iframe><iframe name="sink2"></iframe><iframe name="sink3"></iframe>
<script>
const params = new URL(location).searchParams;
const target = params.get("target"), run = params.get("run"), kind = params.get("kind");
const api = target + "/api/2.0/mlflow/";
const results = {};
async function attempt(name, send) {
  try { const r = await send(); results[name] = r && r.type === "opaque" ? "sent" : "read"; }
  catch (e) { results[name] = "blocked"; }
}
function form(enctype, action, field, value, sink) {
  const f = document.createElement("form");
  f.method = "POST"; f.action = action; f.enctype = enctype; f.target = sink;
  const input = document.createElement("input");
  input.name = field; input.value = value; f.appendChild(input);
  document.body.appendChild(f); f.submit();
}
const plain = {method: "POST", mode: "no-cors", credentials: "include",
               headers: {"Content-Type": "text/plain"}};
(async () => {
  if (kind === "server") {
    await attempt("fetch text/plain create", () => fetch(api + "experiments/create",
      {...plain, body: JSON.stringify({name: "forged-text"})}));
    await attempt("fetch blob create", () => fetch(api + "experiments/create",
      {method: "POST", mode: "no-cors", credentials: "include",
       body: new Blob([JSON.stringify({name: "forged-blob"})])}));
    await attempt("fetch json create", () => fetch(api + "experiments/create",
      {method: "POST", credentials: "include", headers: {"Content-Type": "application/json"},
       body: JSON.stringify({name: "forged-json"})}));
    await attempt("fetch delete run", () => fetch(api + "runs/delete",
      {...plain, body: JSON.stringify({run_id: run})}));
    await attempt("fetch set tag", () => fetch(api + "runs/set-tag",
      {...plain, body: JSON.stringify({run_id: run, key: "forged", value: "1"})}));
    await attempt("fetch artifact upload", () => fetch(target +
      "/api/2.0/mlflow-artifacts/artifacts/0/" + run + "/artifacts/forged.txt",
      {method: "PUT", credentials: "include", body: "forged"}));
    results["beacon"] = navigator.sendBeacon(api + "experiments/create",
      JSON.stringify({name: "forged-beacon"})) ? "sent" : "blocked";
    form("text/plain", api + "experiments/create", '{"name": "forged-form-text", "x": "', '"}',
         "sink1");
    form("application/x-www-form-urlencoded", api + "experiments/create",
         '{"name": "forged-form-url", "x": "', '"}', "sink2");
    form("multipart/form-data", api + "runs/delete", "run_id", run, "sink3");
  }
  if (kind === "ui") {
    await attempt("no-cors read", () => fetch(target + "/ui-api/experiments",
      {mode: "no-cors", credentials: "include"}));
    await attempt("fetch text/plain write", () => fetch(target + "/ui-api/runs",
      {...plain, body: JSON.stringify({name: "forged"})}));
    form("text/plain", target + "/ui-api/runs", '{"name": "forged", "x": "', '"}', "sink1");
  }
  await attempt("credentialed read", async () => {
    const r = await fetch(target + (kind === "server" ? "/api/2.0/mlflow/experiments/search"
      : "/ui-api/experiments"), {credentials: "include"});
    await r.json(); return r;
  });
  await attempt("credentialed page read", async () => {
    const r = await fetch(target + "/", {credentials: "include"}); await r.text(); return r;
  });
  window.results = results;
})();
</script></body></html>"""


class AttackerSite:
    """A plain HTTP server on another port that serves the attack page at every path."""

    def __init__(self) -> None:
        page = ATTACK_PAGE.encode()

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                self.send_response(200)
                self.send_header("Content-Type", "text/html")
                self.send_header("Content-Length", str(len(page)))
                self.end_headers()
                self.wfile.write(page)

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture(scope="module")
def targets(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Service]]:
    """``autolog server`` with and without a token (one run each) and ``autolog ui``."""
    folder = tmp_path_factory.mktemp("forgery")
    store = folder / "runs"
    script = (
        "import sys, autolog\n"
        "autolog.autolog(backend=sys.argv[1:])\n"
        "with autolog.start_run(name='victim', experiment='kept') as run:\n"
        "    run.log_params({'lr': 0.1}); run.log_metric('loss', 0.5, step=0)\n"
    )
    services: dict[str, Service] = {}
    try:
        services["server-token"] = start_server(folder / "with-token", token=TOKEN)
        services["server-open"] = start_server(folder / "open")
        for name, backend in (("server-token", TOKEN), ("server-open", None)):
            env = {**os.environ, "AUTOLOG_TRACKING_TOKEN": backend or ""}
            subprocess.run(
                [sys.executable, "-P", "-c", script, str(store), services[name].url],
                cwd=folder,
                env=env,
                check=True,
                capture_output=True,
                timeout=120,
            )
        services["ui"] = start_ui(store, folder)
        yield services
    finally:
        for service in services.values():
            service.stop()


@pytest.fixture(scope="module")
def rebinding_browser(browser) -> Iterator[object]:
    """Chromium whose resolver sends every ``*.rebind.test`` name to 127.0.0.1."""
    from tests.support.fixtures_ui import CHROMIUM_ARGS
    from tests.support.tools import chromium

    launch = browser.browser_type.launch
    with contextlib.closing(
        launch(executable_path=str(chromium()), args=[*CHROMIUM_ARGS, REBIND])
    ) as launched:
        yield launched


@pytest.fixture(scope="module")
def attacker() -> Iterator[AttackerSite]:
    with contextlib.closing(AttackerSite()) as site:
        yield site


def _server_state(service: Service, token: str | None) -> dict:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    with httpx.Client(base_url=service.url, headers=headers, timeout=30) as http:
        experiments = http.post(f"{API}/experiments/search", json={"max_results": 1000}).json()
        ids = [e["experiment_id"] for e in experiments["experiments"]]
        runs = http.post(f"{API}/runs/search", json={"experiment_ids": ids}).json()
    [run] = runs["runs"]
    return {
        "experiments": sorted(e["name"] for e in experiments["experiments"]),
        "run_id": run["info"]["run_id"],
        "lifecycle": run["info"]["lifecycle_stage"],
        "tags": sorted(t["key"] for t in run["data"].get("tags", [])),
    }


ATTACKS = [
    ("server-token", "127.0.0.1"),  # another port of the same machine: "same-site"
    ("server-token", "evil.rebind.test"),  # a foreign name: "cross-site"
    ("server-open", "127.0.0.1"),
    ("server-open", "evil.rebind.test"),
    ("ui", "127.0.0.1"),
    ("ui", "evil.rebind.test"),
]


@pytest.mark.parametrize("target,attacker_host", ATTACKS, ids=[f"{t}@{a}" for t, a in ATTACKS])
def test_forgeries_from_another_origin_are_refused(
    targets, rebinding_browser, attacker: AttackerSite, target: str, attacker_host: str
):
    """Every request of the hostile page gets a 403; nothing changes; the UI still works."""
    service = targets[target]
    token = TOKEN if target == "server-token" else None
    kind = "ui" if target == "ui" else "server"
    before = _server_state(service, token) if kind == "server" else None
    credentials = {"username": "me", "password": TOKEN} if token else None
    context = rebinding_browser.new_context(viewport=DESKTOP, http_credentials=credentials)
    context.set_default_timeout(15_000)
    try:
        own = context.new_page()
        open_page(own, Site(kind, service.url), "/", "experiments")
        statuses: list[tuple[str, str, int]] = []
        evil = context.new_page()
        evil.on(
            "response",
            lambda r: (
                statuses.append((r.request.method, r.url, r.status))
                if r.url.startswith(service.url + "/")
                else None
            ),
        )
        run = before["run_id"] if before else ""
        evil.goto(
            f"http://{attacker_host}:{attacker.port}/attack.html"
            f"?target={service.url}&run={run}&kind={kind}"
        )
        evil.wait_for_function("() => window.results !== undefined")
        evil.wait_for_timeout(1500)  # forms and the beacon finish on their own
        results = evil.evaluate("() => window.results")
        assert statuses, "the attack page reached nothing"
        assert all(status == 403 for _, _, status in statuses), statuses
        assert results["credentialed read"] == "blocked"
        assert results["credentialed page read"] == "blocked"
        if before is not None:
            # Delivered: 2 fetches to create, delete, set-tag, the beacon, 3 forms; the JSON
            # fetch and the PUT stop at their preflight, the reads at CORS.
            assert len(statuses) >= 8, "\n".join(map(str, statuses))
            assert {"runs/delete", "runs/set-tag", "experiments/create"} <= {
                url.rsplit("/mlflow/", 1)[-1] for _, url, _ in statuses
            }
            assert _server_state(service, token) == before
        open_page(own, Site(kind, service.url), "/", "experiments")  # still works
        assert own.locator(".page h1").count() == 1
    finally:
        context.close()


@pytest.mark.parametrize("target", ["server-token", "server-open", "ui"])
def test_a_rebound_name_gets_no_page(targets, rebinding_browser, target: str):
    """A name re-pointed at 127.0.0.1 (DNS rebinding) loads a 403, not the UI or the API."""
    service = targets[target]
    port = service.url.rsplit(":", 1)[1]
    credentials = {"username": "me", "password": TOKEN} if target == "server-token" else None
    context = rebinding_browser.new_context(http_credentials=credentials)
    try:
        tab = context.new_page()
        for path in ("/", "/ui-api/experiments", f"{API}/experiments/search"):
            response = tab.goto(f"http://victim.rebind.test:{port}{path}")
            assert response is not None and response.status == 403, (path, response.status)
            assert "--allow-host" in json.loads(tab.inner_text("body"))["message"]
        assert tab.goto(f"http://localhost:{port}/").status == 200  # its real names work
    finally:
        context.close()


def test_autolog_ui_refuses_foreign_hosts_and_origins(tmp_path: Path):
    """``autolog ui`` has the same guard as the server, for plain HTTP clients too."""
    (tmp_path / "runs").mkdir()
    ui = start_ui(tmp_path / "runs", tmp_path)
    try:
        port = ui.url.rsplit(":", 1)[1]
        assert httpx.get(ui.url + "/ui-api/info").status_code == 200
        assert httpx.get(ui.url + "/", headers={"Host": f"evil.example:{port}"}).status_code == 403
        assert httpx.get(ui.url + "/", headers={"Host": f"localhost:{port}"}).status_code == 200
        crossed = httpx.get(
            ui.url + "/ui-api/info",
            headers={"Origin": "http://evil.example", "Sec-Fetch-Site": "cross-site"},
        )
        assert crossed.status_code == 403
        posted = httpx.post(ui.url + "/ui-api/info", content=b"x", headers={"Origin": "null"})
        assert posted.status_code == 403
    finally:
        ui.stop()
