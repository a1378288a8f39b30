"""One process making many short runs: per-run time and memory at the start and the end.

    python -m bench.bench_run_loop [--runs 100000] [--window 1000]

An Optuna-style sweep makes tens of thousands of runs in one process. Each run
here logs 3 params and 2 metrics into the local store, as a short trial does.
Reported for the first and the last ``window`` runs: the median and IQR of the
time per run, and the process's resident memory, open descriptors and threads,
so that growth (which should be none) shows.
"""

from __future__ import annotations

import argparse
import collections
import os
import tempfile
import threading
import time

import psutil

from bench.stats import spread


def snapshot() -> dict[str, float]:
    process = psutil.Process()
    return {
        "rss_mib": process.memory_info().rss / 2**20,
        "fds": len(os.listdir("/proc/self/fd")),
        "threads": threading.active_count(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=100_000)
    parser.add_argument("--window", type=int, default=1000)
    args = parser.parse_args()
    import autolog

    # The table is printed before the store is removed: deleting 100,000 run
    # folders takes longer than making them on a busy disk.
    with tempfile.TemporaryDirectory() as folder:
        autolog.autolog(backend=folder)
        # Only the two windows' times are kept: a list of all 100,000 would itself grow
        # the process by 3 MiB, which the RSS column would then blame on autolog.
        first_times: list[float] = []
        last_times: collections.deque[float] = collections.deque(maxlen=args.window)
        marks: dict[str, dict[str, float]] = {"before": snapshot()}
        started = time.perf_counter()
        for trial in range(args.runs):
            start = time.perf_counter()
            with autolog.start_run(name=f"trial-{trial}") as run:
                run.log_params({"lr": 0.01 * trial, "depth": trial % 7, "kind": "gbm"})
                run.log_metrics({"loss": 1 / (trial + 1), "acc": 0.5})
            took = time.perf_counter() - start
            if trial < args.window:
                first_times.append(took)
            last_times.append(took)
            if trial + 1 == args.window:
                marks["first"] = snapshot()
        marks["last"] = snapshot()
        total = time.perf_counter() - started
        autolog.autolog(disable=True)
        first, last = spread(first_times), spread(list(last_times))
        us = lambda t: f"{t * 1e6:.0f} µs"  # noqa: E731
        print(f"{args.runs:,} runs in {total:.1f} s, 3 params and 2 metrics each\n")
        print("| | time per run: median (IQR) | RSS | open fds | threads |\n|---|---|---|---|---|")
        print(
            f"| before the loop | | {marks['before']['rss_mib']:.1f} MiB | "
            f"{marks['before']['fds']:.0f} | {marks['before']['threads']:.0f} |"
        )
        for label, timing, mark in (
            (f"first {args.window:,} runs", first, marks["first"]),
            (f"last {args.window:,} runs", last, marks["last"]),
        ):
            median, q1, q3 = timing
            print(
                f"| {label} | {us(median)} ({us(q1)} to {us(q3)}) | {mark['rss_mib']:.1f} MiB | "
                f"{mark['fds']:.0f} | {mark['threads']:.0f} |"
            )
        print(f"\nremoving the {args.runs:,} runs' store...", flush=True)


if __name__ == "__main__":
    main()
