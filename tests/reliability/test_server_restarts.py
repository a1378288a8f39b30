"""The tracking server killed with SIGKILL and restarted in the middle of ingest, 10 times.

In each trial two REST clients send ``log-batch`` requests of 500 points and an
autolog training process ships its journal over HTTP, all to one ``autolog
server`` on SQLite. At a random moment the server is killed (SIGKILL) and
started again on the same store and port after a random pause. The clients
count as acknowledged only what got a 200, and send a batch again until it
does. Everything acknowledged must then be stored exactly once; after
``autolog sync`` so must everything the training logged.
"""

from __future__ import annotations

import json
import os
import random
import threading
import time
from pathlib import Path

import httpx
import pytest

from autolog._journal import read_journal
from tests.support import harness
from tests.support.processes import AutologServer
from tests.support.restapi import API, Api

pytestmark = pytest.mark.slow

TRIALS = 10
SEED = int(os.environ.get("AUTOLOG_RELIABILITY_SEED", time.time_ns() % 100_000))
BATCHES, BATCH = 20, 500  # per REST client and trial

TRAINING = """
import sys, time
import autolog
autolog.autolog(backend=sys.argv[1], dir="runs", experiment="restarts", exit_timeout=30)
with autolog.start_run(name="trainer-" + sys.argv[2]) as run:
    print(run.id, flush=True)
    for step in range(3000):
        run.log_metrics({"loss": 1.0 / (step + 1), "acc": step / 3000}, step=step)
        if step % 100 == 0:
            time.sleep(0.04)
"""


class RestClient(threading.Thread):
    """Sends its batches in order, each until it gets a 200; records what was acknowledged."""

    def __init__(self, url: str, run_id: str, first_step: int, deadline: float) -> None:
        super().__init__(daemon=True)
        self.url, self.run_id, self.first_step, self.deadline = url, run_id, first_step, deadline
        self.acknowledged: list[tuple] = []
        self.failures = 0

    def batch(self, number: int) -> list[dict]:
        start = self.first_step + number * BATCH
        return [
            {"key": "m", "value": step * 0.5, "timestamp": 1_700_000_000_000 + step, "step": step}
            for step in range(start, start + BATCH)
        ]

    def run(self) -> None:
        with httpx.Client(base_url=self.url, timeout=5) as http:
            for number in range(BATCHES):
                metrics = self.batch(number)
                while time.monotonic() < self.deadline:
                    try:
                        response = http.post(
                            API + "runs/log-batch", json={"run_id": self.run_id, "metrics": metrics}
                        )
                    except httpx.TransportError:
                        response = None
                    if response is not None and response.status_code == 200:
                        self.acknowledged += [
                            harness.point(
                                self.run_id, m["key"], m["step"], m["timestamp"], m["value"]
                            )
                            for m in metrics
                        ]
                        break
                    self.failures += 1
                    time.sleep(0.05)
                time.sleep(0.04)  # a client that also does other work


def acknowledged_points(store: Path, run_id: str) -> list:
    """The journal points up to the offset the HTTP backend recorded as acknowledged."""
    shipped = list((store / run_id / "shipped").glob("*.json"))
    if not shipped:
        return []
    offset = json.loads(shipped[0].read_text())["offset"]
    journal = store / run_id / "journal.jsonl"
    records = read_journal(journal, warn=False)
    return [
        harness.point(run_id, r[1], r[3], r[4], r[2])
        for r, end in zip(records.records, records.ends, strict=True)
        if r[0] == "m" and end <= offset
    ]


class TestServerKilledMidIngest:
    def test_ten_kills_lose_nothing_acknowledged_and_duplicate_nothing(
        self, tmp_path: Path, summary
    ) -> None:
        """10 SIGKILLs mid-ingest: acknowledged points stay, once; sync delivers the rest once."""
        rng = random.Random(SEED)
        server = AutologServer(f"sqlite:///{tmp_path / 'server.db'}", tmp_path / "artifacts")
        server.start()
        api = Api(server.url)
        script = harness.write_script(tmp_path, "train.py", TRAINING)
        totals = {"rest": [0, 0, 0, 0], "autolog": [0, 0, 0, 0], "acked": [0, 0, 0, 0]}
        retries, interrupted = 0, 0
        try:
            for trial in range(TRIALS):
                context = f"trial {trial}, seed {SEED}"
                run_ids = [api.new_run("rest-clients") for _ in range(2)]
                deadline = time.monotonic() + 60
                clients = [RestClient(server.url, r, trial * 100_000, deadline) for r in run_ids]
                training = harness.start_python(
                    script,
                    server.url,
                    str(trial),
                    cwd=tmp_path,
                    environ=harness.env(AUTOLOG_TESTING="0"),
                )
                try:
                    for client in clients:
                        client.start()
                    time.sleep(rng.uniform(0.2, 1.0))
                    server.kill()
                    time.sleep(rng.uniform(0.0, 0.5))
                    server.start()
                    for client in clients:
                        client.join(90)
                    stdout, stderr = training.communicate(timeout=120)
                finally:
                    if training.poll() is None:
                        training.kill()
                        training.wait()
                assert training.returncode == 0, (context, stderr[-3000:])
                assert "failed and was skipped" not in stderr, stderr[-3000:]
                retries += sum(client.failures for client in clients)
                interrupted += any(client.failures for client in clients)
                # REST clients: every acknowledged batch is stored, once.
                assert all(len(c.acknowledged) == BATCHES * BATCH for c in clients), context
                stored = [
                    harness.point(run_id, m["key"], m["step"], m["timestamp"], m["value"])
                    for run_id in run_ids
                    for m in api.history(run_id, "m")
                ]
                rest = harness.count([p for c in clients for p in c.acknowledged], stored)
                _add(totals["rest"], rest)
                assert rest.lost == 0 and rest.duplicated == 0, (context, rest.missing)
                # The training: what its shipper recorded as acknowledged is there, once.
                run_id = stdout.split()[0]
                store = tmp_path / "runs"
                read = harness.read_server(api, [run_id])
                acked = harness.count(
                    acknowledged_points(store, run_id), read.points, read.extra_copies
                )
                _add(totals["acked"], acked)
                assert acked.lost == 0 and acked.duplicated == 0, (context, acked.missing)
                # Then autolog sync: everything the training logged, once.
                sync = harness.autolog_cli(
                    "sync", "--dir", "runs", "--backend", server.url, "--quiet", cwd=tmp_path
                )
                assert sync.returncode == 0, (context, sync.stderr)
                journal = harness.read_store(store)[run_id]
                read = harness.read_server(api, [run_id])
                synced = harness.count(journal.points, read.points, read.extra_copies)
                _add(totals["autolog"], synced)
                assert synced.lost == 0 and synced.duplicated == 0, (context, synced.missing)
                assert read.runs[run_id]["info"]["status"] == "FINISHED"
        finally:
            api.close()
            server.kill()
        assert "Traceback" not in "".join(server.lines)
        note = (
            f"seed {SEED}; in {interrupted} trials the clients saw the outage: {retries} "
            "requests failed and were sent again"
        )
        summary.add("server SIGKILLed mid-ingest: REST clients, acknowledged (200) points",
                    TRIALS, *totals["rest"], note=note)  # fmt: skip
        summary.add("server SIGKILLed mid-ingest: training's points acknowledged to its shipper",
                    TRIALS, *totals["acked"])  # fmt: skip
        summary.add("server SIGKILLed mid-ingest: training's journal, after autolog sync",
                    TRIALS, *totals["autolog"])  # fmt: skip


def _add(total: list[int], counts) -> None:
    for index, value in enumerate((counts.sent, counts.found, counts.lost, counts.duplicated)):
        total[index] += value
