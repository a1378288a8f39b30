"""Benchmark the web UI: a runs page of 5,000 runs, and a chart of a 1,000,000-point metric.

    python -m bench.bench_ui [--repeats 7]

Builds, in a temporary folder:

* a local store with an experiment of 5,000 runs (4 params, 3 metrics of 10 steps
  each) and one run whose metric ``loss`` has 1,000,000 points, logged with
  autolog's API;
* the same data in an ``autolog server`` SQLite store, written with the
  server's own TrackingStore (what the REST endpoints call; shipping 5,000
  runs over HTTP would only make this script slower, not the UI).

Then, for ``autolog ui`` over the local store and for ``autolog server``:

* **runs page**: headless Chromium (Debian's, through Playwright) opens the
  experiment's page; the time is from navigation start to the table drawn
  (the page's ``runs-table-rendered`` performance mark), and to the whole page
  drawn: the 5,000 runs are a sweep (lr, batch_size, optimizer, seed vary), so
  its parallel coordinates and scatter (the best 1,000 runs) come right after the
  table (``runs-sweep-rendered``, after layout). The first load is reported
  apart (``autolog ui`` replays 5,000 journals then), then the median of
  ``--repeats`` loads. Target: under 2 s.
* **1M-point chart**: ``GET /ui-api/runs/ID/metric?key=loss&points=1500`` (what a
  1,000-pixel chart asks for), first request right after the process started
  apart (it reads the history into memory), then median and p95 of
  ``--repeats * 5`` requests, and the same for a zoomed range. Target: under 300 ms.

``measure_ui(repeats)`` returns the figures as a dict; the script prints them and
writes ``bench/results/ui.json``.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

from bench.stats import write_results

REPO = Path(__file__).resolve().parents[1]
CHROMIUM = os.environ.get("AUTOLOG_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip
RUNS, EPOCHS, POINTS = 5_000, 10, 1_000_000
EXPERIMENT, BIG_EXPERIMENT = "bench-5000", "bench-million"


def make_local_store(root: Path) -> tuple[Path, str]:
    """5,000 runs and one 1M-point run, logged with autolog's API in a fresh interpreter.

    Returns the store and the id of the 1M-point run.
    """
    script = f"""
import random, sys, autolog
autolog.autolog(backend=sys.argv[1], silent=True)
rng = random.Random(1)
for i in range({RUNS}):
    with autolog.start_run(name=f"trial-{{i:04d}}", experiment="{EXPERIMENT}") as run:
        run.log_params({{
            "lr": rng.choice([0.1, 0.03, 0.01, 0.003]), "batch_size": rng.choice([32, 64, 128]),
            "optimizer": rng.choice(["adam", "sgd"]), "seed": i,
        }})
        for epoch in range({EPOCHS}):
            loss = rng.random() / (epoch + 1)
            metrics = {{"loss": loss, "accuracy": 1 - loss, "val_loss": loss * 1.1}}
            run.log_metrics(metrics, step=epoch)
with autolog.start_run(name="million", experiment="{BIG_EXPERIMENT}") as run:
    for step in range({POINTS}):
        run.log_metric("loss", 1 / (1 + step / 1000) + rng.random() * 0.01, step=step)
print(run.id)
"""
    store = root / "runs"
    done = subprocess.run(
        [sys.executable, "-P", "-c", script, str(store)],
        capture_output=True,
        text=True,
        check=True,
        cwd=root,
    )
    return store, done.stdout.split()[-1]


def make_server_store(root: Path) -> tuple[str, str]:
    """The same data in a server SQLite store, through TrackingStore.

    Returns the store's URL and the id of the 1M-point run.
    """
    from autolog.server.database import Database
    from autolog.server.migrations import migrate
    from autolog.server.store import TrackingStore

    url = f"sqlite:///{root / 'server.db'}"
    db = Database(url)
    migrate(db)
    store = TrackingStore(db)
    rng = random.Random(1)
    experiment = store.create_experiment(EXPERIMENT, None, [])
    now = int(time.time() * 1000)
    for i in range(RUNS):
        run_id = store.create_run(experiment, "bench", f"trial-{i:04d}", now + i, [])["info"][
            "run_id"
        ]
        params = {
            "lr": rng.choice(["0.1", "0.03", "0.01", "0.003"]),
            "batch_size": rng.choice(["32", "64", "128"]),
            "optimizer": rng.choice(["adam", "sgd"]),
            "seed": str(i),
        }
        metrics = []
        for epoch in range(EPOCHS):
            loss = rng.random() / (epoch + 1)
            for key, value in (("loss", loss), ("accuracy", 1 - loss), ("val_loss", loss * 1.1)):
                metrics.append({"key": key, "value": value, "step": epoch, "timestamp": now + i})
        store.log_batch(run_id, metrics, [{"key": k, "value": v} for k, v in params.items()], [])
        store.update_run(run_id, "FINISHED", now + i + 1000, None)
    big = store.create_experiment(BIG_EXPERIMENT, None, [])
    run_id = store.create_run(big, "bench", "million", now, [])["info"]["run_id"]
    for first in range(0, POINTS, 1000):
        store.log_batch(
            run_id,
            [
                {
                    "key": "loss",
                    "value": 1 / (1 + s / 1000) + rng.random() * 0.01,
                    "step": s,
                    "timestamp": now + s,
                }
                for s in range(first, first + 1000)
            ],
            [],
            [],
        )
    db.close()
    return url, run_id


class Service:
    """``autolog ui`` or ``autolog server`` on a free port, in its own session."""

    def __init__(self, args: list[str], cwd: Path) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-P", "-m", "autolog", *args, "--port", "0"],
            cwd=cwd,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        assert self.process.stdout is not None
        first = self.process.stdout.readline()
        self.url = first.split(" at " if " at " in first else "listening on ")[-1].split()[0]
        # Keep reading (the server's access log): a full pipe would stall the server.
        threading.Thread(target=self.process.stdout.read, daemon=True).start()
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(self.url + "/health", timeout=2).status_code == 200:
                    return
            except httpx.TransportError:
                time.sleep(0.05)
        raise RuntimeError(f"{args[0]} did not start: {first}")

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(15)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def time_runs_page(url: str, big_run: str, repeats: int) -> dict:
    """Navigation start to the runs table drawn, in Chromium: first load, then the median.

    The first load comes right after the process started; before the others the
    1M-point run is read once, so they measure the page, not a background replay.
    """
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 800})
        times = []
        for attempt in range(repeats + 1):
            if attempt == 1:
                metric = f"{url}/ui-api/runs/{big_run}/metric"
                httpx.get(metric, params={"key": "loss"}, timeout=120).raise_for_status()
            page.goto("about:blank")
            page.goto(f"{url}/#/experiments/{EXPERIMENT}")
            page.wait_for_selector("body[data-rendered='runs']", timeout=120_000)
            rows = page.evaluate("() => document.querySelector('table.grid').ariaRowCount")
            assert rows == str(RUNS + 1), rows
            page.wait_for_selector("body[data-sweep='drawn']", timeout=120_000)
            drawn = page.evaluate(
                "() => document.querySelectorAll('section.sweep svg.parallel polyline').length"
                " + ':' + document.querySelectorAll('section.sweep svg.scatter circle').length"
            )
            assert drawn == "1000:1000", drawn  # the best 1,000 of 5,000 in each chart
            times.append(page.evaluate(f"() => [{_mark('runs-table-rendered')}, {_mark(SWEEP)}]"))
        browser.close()
    table, whole = [t[0] for t in times], [t[1] for t in times]
    sweep = [t[1] - t[0] for t in times[1:]]
    return {
        "first_ms": round(table[0]),
        "median_ms": round(statistics.median(table[1:])),
        "with_sweep_first_ms": round(whole[0]),
        "with_sweep_median_ms": round(statistics.median(whole[1:])),
        "sweep_median_ms": round(statistics.median(sweep)),
    }


SWEEP = "runs-sweep-rendered"


def _mark(name: str) -> str:
    """The page's performance mark ``name``, in ms from navigation start (JavaScript)."""
    return f"performance.getEntriesByName('{name}')[0].startTime"


def time_chart(url: str, run_id: str, repeats: int) -> dict:
    """Serving the 1M-point metric for a chart: the first request after start, then the rest."""
    client = httpx.Client(base_url=url, timeout=120)
    path = f"/ui-api/runs/{run_id}/metric"

    def timed(params: dict) -> float:
        started = time.perf_counter()
        response = client.get(path, params={"key": "loss", **params})
        response.raise_for_status()
        assert response.json()["total"] == POINTS
        return (time.perf_counter() - started) * 1000

    first = timed({"points": 1500})
    full = [timed({"points": 1500}) for _ in range(repeats * 5)]
    zoomed = [timed({"points": 1500, "start": 400_000, "end": 500_000}) for _ in range(repeats * 5)]
    client.close()
    return {
        "first_ms": round(first, 1),
        "median_ms": round(statistics.median(full), 1),
        "p95_ms": round(percentile(full, 0.95), 1),
        "zoomed_median_ms": round(statistics.median(zoomed), 1),
        "zoomed_p95_ms": round(percentile(zoomed, 0.95), 1),
    }


def measure_ui(repeats: int = 7) -> dict:
    """Build both stores, start both UIs, measure; returns {"local": {...}, "server": {...}}."""
    results: dict = {}
    with tempfile.TemporaryDirectory(prefix="autolog-bench-ui-") as tmp:
        root = Path(tmp)
        started = time.perf_counter()
        store, local_run = make_local_store(root)
        server_url, server_run = make_server_store(root)
        results["setup_s"] = round(time.perf_counter() - started, 1)
        services = {
            "local": (["ui", str(store)], local_run),
            "server": (
                ["server", "--store", server_url, "--artifacts", str(root / "a")],
                server_run,
            ),
        }
        for name, (args, big_run) in services.items():
            results[name] = {}
            # A fresh process for each measure, so each "first" is a first after start.
            for measure, timer in (("runs_page", time_runs_page), ("chart_1m", time_chart)):
                service = Service(args, root)
                try:
                    results[name][measure] = timer(service.url, big_run, repeats)
                finally:
                    service.stop()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=7)
    results = measure_ui(parser.parse_args().repeats)
    print(f"setup (5,000 runs + a 1M-point run, twice): {results['setup_s']} s\n")
    print("| measure | autolog ui (local store) | autolog server (SQLite) | target |")
    print("| --- | --- | --- | --- |")
    rows = [
        ("runs page, 5,000 runs, first load (ms)", "runs_page", "first_ms", "< 2000"),
        ("runs page, 5,000 runs, median (ms)", "runs_page", "median_ms", "< 2000"),
        ("runs page and sweep, first load (ms)", "runs_page", "with_sweep_first_ms", ""),
        ("runs page and sweep, median (ms)", "runs_page", "with_sweep_median_ms", "< 2000"),
        ("of which the sweep's draw, median (ms)", "runs_page", "sweep_median_ms", ""),
        ("1M-point chart, first request after start (ms)", "chart_1m", "first_ms", ""),
        ("1M-point chart, median (ms)", "chart_1m", "median_ms", "< 300"),
        ("1M-point chart, p95 (ms)", "chart_1m", "p95_ms", "< 300"),
        ("1M-point chart zoomed to 10%, median (ms)", "chart_1m", "zoomed_median_ms", "< 300"),
    ]
    for label, group, key, target in rows:
        local, server = results["local"][group][key], results["server"][group][key]
        print(f"| {label} | {local} | {server} | {target} |")
    write_results("ui", results)


if __name__ == "__main__":
    main()
