"""What issue 17's captures cost: datasets and environment per fit, the sampler, start-up.

    python -m bench.bench_capture [--rounds 3] [--pairs 10] [--seconds 60] [--imports 15]

1. Added time per ``LogisticRegression(max_iter=200).fit`` (2000x20) and per
   ``ARIMA(order=(2,1,1)).fit()`` (300 points), autolog (datasets and the pinned
   environment are on by default) side by side with ``mlflow.autolog()`` in its
   own venv, through ``bench/workloads.py`` (the same fits and pairing as
   ``run_all.py``), alternating tools round by round. Two figures each: the
   difference between a fit with the tool and one without, and the tool's time
   inside the call (the call minus the framework's own fit, timed under the
   tool's patch: see ``workloads.InnerClock``), which the fit's own variation
   does not blur. Both tools are switched on and off between fits, so each
   fit recorded is the first after an ``autolog()`` call. Also the two pieces
   on their own: ``dataset_input(X, y)`` for the sklearn data and a cached
   ``model_requirements("sklearn")``.
2. The sampler's CPU: CPU time of one full sample (psutil, this machine),
   times 360 samples per hour at the default 10 s interval; and a real run
   held open ``--seconds`` with the default interval, counted from after its
   first sample: the process's CPU time compared with the same wait with
   ``system_metrics=False``.
3. ``import autolog; autolog.autolog()`` in fresh processes: median wall time.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.stats import spread

BENCH = Path(__file__).resolve().parent

#: The run is held open one interval and a second before the CPU clock starts, so that
#: the sampler's one-off start (importing psutil, its first sample) is not multiplied by
#: the extrapolation to an hour: the figure is what each further hour costs.
HOLD_OPEN = """
import sys, time
import autolog
autolog.autolog(backend="runs", system_metrics=sys.argv[1] == "on")
with autolog.start_run():
    time.sleep(11)
    start = time.process_time()
    time.sleep(float(sys.argv[2]))
    print(time.process_time() - start)
"""

STARTUP = """
import time
start = time.perf_counter()
import autolog
autolog.autolog()
print(time.perf_counter() - start)
"""


def in_ms(values: list[float]) -> str:
    """Median and interquartile range in ms."""
    median, q1, q3 = spread(values)
    return f"{median * 1000:.2f} ({q1 * 1000:.2f} - {q3 * 1000:.2f})"


def fits(rounds: int, pairs: int, mlflow_python: str | None) -> dict[str, list[float]]:
    if mlflow_python is None:
        from tests.support.mlflow_env import mlflow_env

        mlflow_python = str(mlflow_env().python)
    # Absolute: each process runs in its own temporary folder.
    pythons = {"autolog": sys.executable, "mlflow": os.path.abspath(mlflow_python)}
    pooled: dict[str, list[float]] = {}
    for round_number in range(rounds):
        order = ("autolog", "mlflow") if round_number % 2 == 0 else ("mlflow", "autolog")
        for tool in order:
            print(f"  round {round_number + 1}/{rounds}: {tool}", file=sys.stderr, flush=True)
            with tempfile.TemporaryDirectory() as folder:
                done = subprocess.run(
                    [pythons[tool], "-P", str(BENCH / "workloads.py"), "--tool", tool,
                     "--pairs", str(pairs), "--only", "sklearn,arima"],
                    cwd=folder, capture_output=True, text=True,
                    env={k: v for k, v in os.environ.items() if not k.startswith("AUTOLOG_")},
                )  # fmt: skip
            if done.returncode != 0:
                raise RuntimeError(done.stderr[-3000:])
            result = json.loads(done.stdout.strip().splitlines()[-1])
            for workload in ("sklearn", "arima"):
                pooled.setdefault(f"{tool} {workload}", []).extend(result[workload]["added_s"])
                pooled.setdefault(f"{tool} {workload}, inside the call", []).extend(
                    result[workload]["inside_s"]
                )
    return pooled


def pieces(repeats: int = 200) -> dict[str, list[float]]:
    from autolog._datasets import dataset_input
    from autolog._environment import model_requirements
    from bench.workloads import logistic_data

    X, y = logistic_data()
    import sklearn.linear_model  # noqa: F401  (the framework is loaded, as in a fit)

    model_requirements("sklearn")
    timings: dict[str, list[float]] = {"dataset_input(X, y)": [], "model_requirements": []}
    for _ in range(repeats):
        start = time.perf_counter()
        dataset_input(X, y)
        middle = time.perf_counter()
        model_requirements("sklearn")
        timings["dataset_input(X, y)"].append(middle - start)
        timings["model_requirements"].append(time.perf_counter() - middle)
    return timings


def sample_cpu(samples: int = 200) -> list[float]:
    from autolog._system_metrics import default_collectors

    collectors = default_collectors()
    cpu = []
    for _ in range(samples):
        start = time.thread_time()
        for collect in collectors:
            collect()
        cpu.append(time.thread_time() - start)
    return cpu


def held_open(seconds: float) -> dict[str, float]:
    found = {}
    with tempfile.TemporaryDirectory() as folder:
        for state in ("off", "on"):
            done = subprocess.run(
                [sys.executable, "-P", "-c", HOLD_OPEN, state, str(seconds)],
                cwd=folder, capture_output=True, text=True, check=True,
            )  # fmt: skip
            found[state] = float(done.stdout.split()[-1])
    return found


def startup(repeats: int) -> list[float]:
    times = []
    with tempfile.TemporaryDirectory() as folder:
        for _ in range(repeats):
            done = subprocess.run(
                [sys.executable, "-P", "-c", STARTUP],
                cwd=folder, capture_output=True, text=True, check=True,
            )  # fmt: skip
            times.append(float(done.stdout.split()[-1]))
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3, help="processes per tool")
    parser.add_argument("--pairs", type=int, default=10, help="timed pairs per process")
    parser.add_argument("--seconds", type=float, default=60, help="length of the held-open run")
    parser.add_argument("--imports", type=int, default=15, help="fresh processes for start-up")
    parser.add_argument("--mlflow-python", help="python of an MLflow venv (default .venv-mlflow)")
    parser.add_argument("--only-fits", action="store_true", help="skip start-up and sampler")
    options = parser.parse_args()

    # Cheapest first, each printed as soon as it is known.
    if not options.only_fits:
        cheap_figures(options)
    print("| added per fit | median ms (IQR) |\n|---|---|")
    for label, values in pieces().items():
        print(f"| autolog {label} alone | {in_ms(values)} |", flush=True)
    for label, values in fits(options.rounds, options.pairs, options.mlflow_python).items():
        print(f"| {label} | {in_ms(values)} |")


def cheap_figures(options: argparse.Namespace) -> None:
    times = startup(options.imports)
    print(f"`import autolog; autolog.autolog()`: {in_ms(times)} ms over {len(times)} processes\n")
    cpu = sample_cpu()
    per_sample = statistics.median(cpu)
    print("| sampler | figure |\n|---|---|")
    print(f"| CPU per sample | {in_ms(cpu)} ms |")
    print(f"| CPU per hour at 10 s (360 samples) | {per_sample * 360 * 1000:.1f} ms |", flush=True)
    held = held_open(options.seconds)
    added = held["on"] - held["off"]
    print(f"| real {options.seconds:.0f} s run: process CPU, metrics off / on | "
          f"{held['off'] * 1000:.1f} / {held['on'] * 1000:.1f} ms |")  # fmt: skip
    if added > 0:
        print(f"| ... extrapolated to an hour | {added * 3600 / options.seconds * 1000:.0f} ms |\n")
    else:  # the sampler's share is below the noise of the rest of the process
        print("| ... extrapolated to an hour | below this run's noise (on <= off) |\n")


if __name__ == "__main__":
    main()
