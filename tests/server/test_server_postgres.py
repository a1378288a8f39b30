"""PostgreSQL: several servers over one database, idempotent retries, and a database outage."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

import autolog
from autolog._shipper import Shipper
from autolog._store import LocalStore
from autolog.backends.http import HttpBackend
from tests.support.processes import run_autolog_cli, run_script
from tests.support.restapi import Api

TRAINING = """
import sys
import autolog
autolog.autolog(backend=sys.argv[1], dir="runs", experiment="pg")
with autolog.start_run(name="pg-run") as run:
    autolog.log_params({"db": "postgresql"})
    for step in range(5000):
        autolog.log_metric("loss", 1 / (step + 1), step=step)
assert autolog.flush(60)
print(run.id)
"""


@pytest.fixture
def database(postgres) -> str:
    """A fresh, empty database in the session's PostgreSQL cluster."""
    return postgres.create_database()


class TestSeveralServers:
    def test_two_servers_share_one_database(self, start_server, database, tmp_path):
        """Two servers started together migrate once and serve the same data, points once each."""
        with ThreadPoolExecutor(2) as pool:
            servers = list(
                pool.map(
                    lambda name: start_server(store=database, artifacts=tmp_path / name),
                    ["a", "b"],
                )
            )
        first, second = Api(servers[0].url), Api(servers[1].url)
        created = [api.post("experiments/create", {"name": "race"}) for api in (first, second)]
        assert [r.status_code for r in created] == [200, 400]
        run_id = first.new_run("race")

        def log(client: Api, start: int) -> None:
            for offset in range(0, 2000, 500):  # the halves overlap: duplicates on both servers
                metrics = [
                    {"key": "m", "value": s, "timestamp": 5, "step": s}
                    for s in range(start + offset, start + offset + 500)
                ]
                client.ok(client.post("runs/log-batch", {"run_id": run_id, "metrics": metrics}))

        threads = [
            threading.Thread(target=log, args=(client, start))
            for client, start in ((first, 0), (second, 1000), (first, 1000), (second, 0))
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert sorted(p["step"] for p in second.history(run_id, "m")) == list(range(3000))
        latest = first.ok(first.get("runs/get", run_id=run_id))["run"]["data"]["metrics"]
        assert latest == [{"key": "m", "value": 2999.0, "timestamp": 5, "step": 2999}]
        first.close()
        second.close()


class TestRetriesOnPostgres:
    def test_resending_the_journal_after_sigkill_duplicates_nothing(
        self, start_server, database, tmp_path
    ):
        """After kill -9 and a restart, sending the whole journal again changes nothing."""
        server = start_server(store=database)
        run_id = run_script(TRAINING, tmp_path, args=[server.url]).stdout.split()[-1]
        server.kill()
        server.start()
        for acked in (tmp_path / "runs" / run_id / "shipped").iterdir():
            acked.unlink()
        sync = run_autolog_cli("sync", "--dir", "runs", "--backend", server.url, cwd=tmp_path)
        assert sync.returncode == 0, sync.stderr
        history = autolog.get_metric_history(run_id, "loss", backend=server.url)
        assert [p.step for p in history] == list(range(5000))
        assert autolog.get_run(run_id, backend=server.url).params == {"db": "postgresql"}


class TestDatabaseOutage:
    def test_outage_answers_503_and_the_backend_waits_it_out(
        self, start_server, postgres, database, tmp_path
    ):
        """With PostgreSQL down the server answers 503 + Retry-After; the backend waits it out."""
        server = start_server(store=database)
        api = Api(server.url)
        autolog.autolog(backend=server.url, dir=str(tmp_path / "runs"), experiment="outage")
        with autolog.start_run(name="before") as run:
            autolog.log_metric("m", 1.0)
        assert autolog.flush(30)
        autolog.autolog(backend=str(tmp_path / "runs"))  # journal only: we ship it by hand
        with autolog.start_run(name="during", experiment="outage") as during:
            autolog.log_metrics({"m": 2.0, "n": 3.0})
        postgres.stop()
        try:
            response = api.get("runs/get", run_id="0" * 32)
            assert response.status_code == 503, response.text
            assert response.headers["retry-after"] and response.json()["error_code"] == (
                "TEMPORARILY_UNAVAILABLE"
            )
            restart = threading.Timer(1.0, postgres.start_again)
            restart.start()
            backend = HttpBackend(server.url)
            started = time.monotonic()
            Shipper(backend, LocalStore(tmp_path / "runs")).ship_run(during.id)
            assert time.monotonic() - started >= 0.9  # it waited for the database, then sent
            restart.join()
        finally:
            if not (postgres.data / "postmaster.pid").exists():
                postgres.start_again()
        assert autolog.get_run(during.id, backend=server.url).metrics == {"m": 2.0, "n": 3.0}
        assert autolog.get_run(run.id, backend=server.url).metrics == {"m": 1.0}
        api.close()
