"""Benchmark ``autolog server`` against ``mlflow server``, measured in the same run.

    python -m bench.bench_server [--points 200000] [--clients 4] [--batch 1000]

For each server, on a fresh SQLite store in a temporary folder:

* seconds to ready: from starting the process until ``/health`` answers, on a
  fresh store (schema creation included) and again on a restart;
* ingest throughput: ``--clients`` threads, each with its own keep-alive
  connection and run, send ``log-batch`` requests of ``--batch`` points until
  ``--points`` are stored; bodies are encoded beforehand so the clients measure
  the server, not themselves. Every point is then read back and counted;
* resident memory of the server after ingest (its whole process tree).

MLflow runs from ``.venv-mlflow`` (created on first use, see
tests/support/mlflow_env.py) with its default settings. Results print as a table
and are written to ``bench/results/server.json``. Target: autolog at least 5x
MLflow's ingest throughput, ready in under 1.5 s, under 200 MiB resident.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

from bench.stats import write_results
from tests.support.network import free_port

REPO = Path(__file__).resolve().parents[1]
API = "/api/2.0/mlflow/"


def wait_ready(url: str, process: subprocess.Popen, timeout: float = 300.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode}")
        with contextlib.suppress(httpx.TransportError):
            if httpx.get(url + "/health", timeout=1).status_code == 200:
                return
        time.sleep(0.01)
    raise TimeoutError(url)


class Server:
    """A server process started in its own process group, stopped with it."""

    def __init__(self, name: str, command: list[str], port: int, cwd: Path) -> None:
        self.name, self.command, self.cwd = name, command, cwd
        self.url = f"http://127.0.0.1:{port}"
        self.process: subprocess.Popen | None = None

    def start(self) -> float:
        """Start; return the seconds until /health answered."""
        log = open(self.cwd / f"{self.name}.log", "a")  # noqa: SIM115 - handed to the process
        started = time.perf_counter()
        self.process = subprocess.Popen(
            self.command, cwd=self.cwd, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        log.close()
        wait_ready(self.url, self.process)
        return time.perf_counter() - started

    def rss_mib(self) -> float:
        """Resident memory of the server and its children (workers), in MiB."""
        assert self.process is not None
        total, pending = 0, [self.process.pid]
        while pending:
            pid = pending.pop()
            with contextlib.suppress(OSError):
                for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1])
                children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
                pending.extend(int(child) for child in children)
        return total / 1024

    def stop(self) -> None:
        if self.process is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(10)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(10)


def autolog_server(folder: Path) -> Server:
    port = free_port()
    command = [
        sys.executable, "-P", "-m", "autolog", "server", "--port", str(port),
        "--store", f"sqlite:///{folder / 'autolog.db'}", "--artifacts", str(folder / "artifacts"),
    ]  # fmt: skip
    return Server("autolog", command, port, folder)


def mlflow_server(folder: Path) -> Server:
    from tests.support.mlflow_env import mlflow_env

    port = free_port()
    command = [
        str(mlflow_env().mlflow), "server", "--host", "127.0.0.1", "--port", str(port),
        "--backend-store-uri", f"sqlite:///{folder / 'mlflow.db'}",
        "--artifacts-destination", str(folder / "artifacts"),
    ]  # fmt: skip
    return Server("mlflow", command, port, folder)


def batch_body(run_id: str, first: int, end: int) -> bytes:
    """One log-batch body: points ``first`` to ``end`` spread over five metrics."""
    metrics = [
        {"key": f"m{s % 5}", "value": s * 0.5, "timestamp": 1_700_000_000_000 + s, "step": s}
        for s in range(first, end)
    ]
    return json.dumps({"run_id": run_id, "metrics": metrics}).encode()


def ingest(url: str, points: int, clients: int, batch: int) -> dict:
    """Send ``points`` metric points from ``clients`` threads; return timing and checks."""
    http = httpx.Client(base_url=url, timeout=120)
    experiment = http.post(API + "experiments/create", json={"name": "bench"}).json()
    run_ids = [
        http.post(API + "runs/create", json={"experiment_id": experiment["experiment_id"]}).json()[
            "run"
        ]["info"]["run_id"]
        for _ in range(clients)
    ]
    per_client = points // clients
    bodies = [
        [
            batch_body(run_id, first, min(first + batch, per_client))
            for first in range(0, per_client, batch)
        ]
        for run_id in run_ids
    ]
    errors: list[str] = []

    def send(requests: list[bytes]) -> None:
        with httpx.Client(base_url=url, timeout=120) as client:
            for body in requests:
                response = client.post(
                    API + "runs/log-batch",
                    content=body,
                    headers={"Content-Type": "application/json"},
                )
                if response.status_code != 200:
                    errors.append(f"{response.status_code} {response.text[:200]}")

    threads = [threading.Thread(target=send, args=(requests,)) for requests in bodies]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    seconds = time.perf_counter() - started
    stored = sum(count_points(http, run_id, f"m{key}") for run_id in run_ids for key in range(5))
    http.close()
    return {
        "seconds": round(seconds, 3),
        "points_per_second": round(per_client * clients / seconds),
        "stored": stored,
        "failed_requests": len(errors),
        "first_error": errors[0] if errors else None,
    }


def count_points(http: httpx.Client, run_id: str, key: str) -> int:
    """How many points of one metric the server returns, over all pages."""
    count, token = 0, None
    while True:
        params = {"run_id": run_id, "metric_key": key, "max_results": 25000}
        if token:
            params["page_token"] = token
        page = http.get(API + "metrics/get-history", params=params).json()
        count += len(page.get("metrics", []))
        token = page.get("next_page_token")
        if not token:
            return count


def measure(make_server, folder: Path, args: argparse.Namespace, restart: bool = True) -> dict:
    """One server's life on a fresh store: start, ingest, memory, and (``restart``) a restart."""
    server = make_server(folder)
    result: dict = {}
    try:
        result["ready_fresh_s"] = round(server.start(), 3)
        result["rss_idle_mib"] = round(server.rss_mib(), 1)
        result["ingest"] = ingest(server.url, args.points, args.clients, args.batch)
        result["rss_after_ingest_mib"] = round(server.rss_mib(), 1)
        if restart:
            server.stop()
            result["ready_restart_s"] = round(server.start(), 3)
    finally:
        server.stop()
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--points", type=int, default=200_000)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--batch", type=int, default=1000)
    args = parser.parse_args()
    results = {"points": args.points, "clients": args.clients, "batch": args.batch}
    with tempfile.TemporaryDirectory(prefix="autolog-bench-") as tmp:
        for name, make in (("autolog", autolog_server), ("mlflow", mlflow_server)):
            folder = Path(tmp) / name
            folder.mkdir()
            print(f"measuring {name} server ...", file=sys.stderr, flush=True)
            results[name] = measure(make, folder, args)
    ours, theirs = results["autolog"], results["mlflow"]
    results["ingest_ratio"] = round(
        ours["ingest"]["points_per_second"] / theirs["ingest"]["points_per_second"], 2
    )
    results["ready_ratio"] = round(theirs["ready_fresh_s"] / ours["ready_fresh_s"], 2)
    print(f"{'':24}{'autolog':>12}{'mlflow':>12}")
    for label, get in (
        ("ready, fresh store (s)", lambda r: r["ready_fresh_s"]),
        ("ready, restart (s)", lambda r: r["ready_restart_s"]),
        ("ingest (points/s)", lambda r: r["ingest"]["points_per_second"]),
        ("ingest wall time (s)", lambda r: r["ingest"]["seconds"]),
        ("points read back", lambda r: r["ingest"]["stored"]),
        ("failed requests", lambda r: r["ingest"]["failed_requests"]),
        ("RSS after ingest (MiB)", lambda r: r["rss_after_ingest_mib"]),
    ):
        print(f"{label:24}{get(ours):>12}{get(theirs):>12}")
    print(f"ingest ratio (autolog / mlflow): {results['ingest_ratio']}x")
    print(f"ready ratio (mlflow / autolog):  {results['ready_ratio']}x")
    write_results("server", results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
