"""16 processes logging at once into one local store and into one tracking server.

Each process is a worker of a sweep: a run with params and 1000 steps of three
metrics, and inside it an autologged scikit-learn fit (a child run with its
model). All 16 start together, write their journals into the same folder and
ship to the same server: once on SQLite, once to two server replicas sharing
one PostgreSQL database. Every journal must read back whole, with no damaged
line, and the server must hold every point and run exactly once.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support import harness
from tests.support.processes import AutologServer
from tests.support.restapi import Api

pytestmark = pytest.mark.slow

PROCESSES, STEPS = 16, 1000
KEYS = ("loss", "acc", "worker")

WORKER = """
import sys
import autolog
from sklearn.linear_model import LogisticRegression
worker = int(sys.argv[2])
servers = sys.argv[1].split(",")
autolog.autolog(backend=["runs", servers[worker % len(servers)]], experiment="sixteen",
                exit_timeout=120)
with autolog.start_run(name=f"worker-{worker}") as run:
    run.log_params({"worker": worker})
    LogisticRegression(C=0.1 * (worker + 1)).fit([[i, i % 3] for i in range(40)],
                                                 [i % 2 for i in range(40)])
    for step in range(1000):
        run.log_metrics({"loss": 1.0 / (step + 1), "acc": step / 1000, "worker": worker}, step=step)
print(run.id, autolog.flush(120), flush=True)
"""


def expected_points(runs: dict, workers: dict[str, int]) -> list:
    """What each worker's loop logged, with the timestamps its journal gave the points."""
    stamps = {(p[0], p[1], p[2]): p for run in runs.values() for p in run.points}
    expected = []
    for run_id, worker in workers.items():
        for step in range(STEPS):
            for key, value in zip(KEYS, (1.0 / (step + 1), step / 1000, worker), strict=True):
                found = stamps.get((run_id, key, step))
                timestamp = found[3] if found else -1
                expected.append(harness.point(run_id, key, step, timestamp, value))
    return expected


@pytest.fixture(params=["sqlite", "postgresql"])
def servers(request, tmp_path: Path) -> Iterator[list[AutologServer]]:
    """One server on SQLite, or two replicas over one PostgreSQL database (shared artifacts)."""
    if request.param == "sqlite":
        started = [AutologServer(f"sqlite:///{tmp_path / 'server.db'}", tmp_path / "artifacts")]
    else:
        database = request.getfixturevalue("postgres").create_database()
        started = [AutologServer(database, tmp_path / "artifacts") for _ in range(2)]
    try:
        for server in started:
            server.start()
        yield started
    finally:
        for server in started:
            server.kill()


class TestSixteenProcesses:
    def test_sixteen_workers_into_one_store_and_one_server(
        self, tmp_path: Path, servers: list[AutologServer], summary, request
    ) -> None:
        """16 workers at once: 32 whole runs in the store, each point once on the server."""
        script = harness.write_script(tmp_path, "worker.py", WORKER)
        urls = ",".join(server.url for server in servers)
        workers = [
            harness.start_python(script, urls, str(i), cwd=tmp_path, environ=harness.env())
            for i in range(PROCESSES)
        ]
        outputs = []
        try:
            for process in workers:
                outputs.append(process.communicate(timeout=300))
        finally:
            for process in workers:
                if process.poll() is None:
                    process.kill()
                    process.wait()
        for process, (_, stderr) in zip(workers, outputs, strict=True):
            assert process.returncode == 0, stderr[-3000:]
        assert all(stdout.split()[1] == "True" for stdout, _ in outputs)  # flush delivered all
        parents = {stdout.split()[0]: i for i, (stdout, _) in enumerate(outputs)}
        runs = harness.read_store(tmp_path / "runs")
        kind = request.node.callspec.params["servers"]
        where = "one server (SQLite)" if kind == "sqlite" else "two servers, one PostgreSQL"

        local = harness.count(
            expected_points(runs, parents), [p for r in runs.values() for p in r.points]
        )
        summary.add(f"{PROCESSES} processes at once into one local store", **local.row())
        assert local.lost == 0 and local.duplicated == 0, local.missing
        assert len(runs) == 2 * PROCESSES
        children = [run for run in runs.values() if run.header.get("parent_id") in parents]
        assert len(children) == PROCESSES
        for run in runs.values():
            assert run.status == "FINISHED" and not run.torn_tail and run.damaged == 0
        assert all("model/manifest.json" in child.artifacts for child in children)

        api = Api(servers[0].url)
        try:
            read = harness.read_server(api, runs)
        finally:
            api.close()
        journal_points = [p for run in runs.values() for p in run.points]
        remote = harness.count(journal_points, read.points, read.extra_copies)
        summary.add(f"{PROCESSES} processes at once into {where}", **remote.row())
        assert remote.lost == 0 and remote.duplicated == 0, remote.missing
        assert all(n == 1 for n in read.copies.values())
        for run_id, run in runs.items():
            copy = read.runs[run_id]
            assert copy["info"]["status"] == "FINISHED"
            assert {p["key"]: p["value"] for p in copy["data"]["params"]} == run.params
