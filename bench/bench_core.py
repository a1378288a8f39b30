"""Core figures: start-up cost of autolog, and metric throughput of the training thread.

    python -P bench/bench_core.py [--repeats 21]

(a) ``import autolog; autolog.autolog()`` in a fresh process: the time measured
    inside the process, and the extra wall time of the whole process compared
    with an interpreter that only starts; also which ML frameworks got imported
    (none should).
(b) ``run.log_metric`` calls per second into the local store, single calls
    and ``log_metrics`` batches of 10, from the training thread.

Prints medians with the interquartile range, as a markdown table.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time

IMPORT_PROBE = """
import time, sys
start = time.perf_counter()
import autolog
autolog.autolog()
elapsed = time.perf_counter() - start
frameworks = [m for m in ("sklearn", "statsmodels", "torch", "keras", "lightning", "numpy")
              if m in sys.modules]
print(elapsed, ",".join(frameworks))
"""


def spread(values: list[float]) -> tuple[float, float, float]:
    """Median and interquartile range (q1, q3)."""
    q = statistics.quantiles(values, n=4) if len(values) > 1 else [values[0]] * 3
    return statistics.median(values), q[0], q[2]


def measure_import(repeats: int) -> dict:
    """Median in-process and whole-process cost of importing and enabling autolog."""
    inside, with_autolog, bare, frameworks = [], [], [], set()
    with tempfile.TemporaryDirectory() as folder:
        for _ in range(repeats):  # interleaved, so machine noise hits both alike
            start = time.perf_counter()
            subprocess.run([sys.executable, "-c", "pass"], check=True, cwd=folder)
            bare.append(time.perf_counter() - start)
            start = time.perf_counter()
            out = subprocess.run(
                [sys.executable, "-c", IMPORT_PROBE],
                check=True,
                cwd=folder,
                capture_output=True,
                text=True,
            ).stdout.split()
            with_autolog.append(time.perf_counter() - start)
            inside.append(float(out[0]))
            frameworks.update(out[1].split(",") if len(out) > 1 else [])
    added = [a - b for a, b in zip(with_autolog, bare, strict=True)]
    return {
        "inside_s": spread(inside),
        "process_added_s": spread(added),
        "frameworks_imported": sorted(frameworks),
    }


def measure_metrics(points: int = 300_000, repeats: int = 5) -> dict:
    """log_metric calls per second, single and batched, into a local store."""
    import autolog

    single, batched = [], []
    with tempfile.TemporaryDirectory() as folder:
        autolog.autolog(backend=folder)
        for _ in range(repeats):
            with autolog.start_run() as run:
                start = time.perf_counter()
                for step in range(points):
                    run.log_metric("loss", 0.5, step=step)
                single.append(points / (time.perf_counter() - start))
                values = {f"m{i}": 0.5 for i in range(10)}
                start = time.perf_counter()
                for step in range(points // 10):
                    run.log_metrics(values, step=step)
                batched.append(points / (time.perf_counter() - start))
        autolog.autolog(disable=True)
    return {"log_metric_per_s": spread(single), "log_metrics_x10_points_per_s": spread(batched)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=21)
    args = parser.parse_args()
    imports = measure_import(args.repeats)
    metrics = measure_metrics()
    ms = lambda s: f"{s * 1000:.1f} ms"  # noqa: E731
    rate = lambda r: f"{r:,.0f}/s"  # noqa: E731
    rows = [
        ("import autolog; autolog.autolog() (in process)", imports["inside_s"], ms, "< 50 ms"),
        ("same, added wall time of a fresh process", imports["process_added_s"], ms, ""),
        ("run.log_metric into the local store", metrics["log_metric_per_s"], rate, ">= 100,000/s"),
        (
            "run.log_metrics, 10 keys per call (points)",
            metrics["log_metrics_x10_points_per_s"],
            rate,
            "",
        ),
    ]
    print("| measure | median | IQR | target |\n|---|---|---|---|")
    for name, (median, q1, q3), fmt, target in rows:
        print(f"| {name} | {fmt(median)} | {fmt(q1)} to {fmt(q3)} | {target} |")
    print(f"\nML frameworks imported by autolog(): {imports['frameworks_imported'] or 'none'}")
    print(json.dumps({"imports": imports, "metrics": metrics}), file=sys.stderr)


if __name__ == "__main__":
    main()
