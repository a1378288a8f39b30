"""autolog and MLflow side by side, measured in the same run on this machine: ``make bench``.

    python -m bench.run_all [--quick] [--rounds N] [--pairs N] [--points N]

MLflow is installed into its own virtual environment, ``.venv-mlflow`` (the one
the tests use, see tests/support/mlflow_env.py), if it is not there yet, with
the same versions of scikit-learn, statsmodels, Keras, torch and Lightning as
ours. Then, with each tool's default settings (``autolog.autolog()`` recording
into ``./autolog-runs``; ``mlflow.autolog()`` into MLflow's default
``sqlite:///mlflow.db``, both in a fresh temporary folder):

1. ``import autolog; autolog.autolog()`` vs ``import mlflow; mlflow.autolog()``
   in a fresh process, timed inside the process, and the whole process;
2. time added per fit of ``LogisticRegression(max_iter=200)`` on 2000x20 data
   and of ``ARIMA(order=(2,1,1)).fit()`` on a 300-point series;
3. time added per epoch of a small Keras model (50 epochs) and a small
   Lightning module (30 epochs), fixed costs of a run (saving the model) included;
4. metric points per second from the training thread, single calls and
   10-key batches;
5. ``autolog server`` vs ``mlflow server`` on a fresh SQLite store: seconds
   until ``/health`` answers, resident memory after ingest, and ingest
   throughput of 4 clients sending 1000-point batches (bench/bench_server.py).

The two tools are interleaved: each round runs one process per tool, in
alternating order, and within a process every fit with the tool on is paired
with one with it off, alternating. Figures are medians over all rounds with
the interquartile range; the ratio is ours / MLflow's medians. The markdown
table is printed and written with the raw samples to ``bench/results/``.
BLAS, OpenMP and torch use one thread in the workload processes, for both
tools, which makes timings on a shared machine steadier.

The full run takes 10-15 minutes on 2 cores, mostly MLflow's model logging;
``--quick`` (about 6 minutes) keeps 5 rounds but one pair per workload and
round, fewer ingested points and no server restart.
"""

from __future__ import annotations

import argparse
import datetime
import importlib.metadata
import json
import math
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from bench import bench_server
from bench.stats import spread
from tests.support.mlflow_env import PACKAGES as MLFLOW_PACKAGES
from tests.support.mlflow_env import mlflow_env

REPO = Path(__file__).resolve().parents[1]
BENCH = REPO / "bench"
RESULTS = BENCH / "results"

TOOLS = ("autolog", "mlflow")
#: Installed into MLflow's venv at the versions our venv has, so both train the same code.
FRAMEWORKS = {
    "scikit-learn": "sklearn",
    "statsmodels": "statsmodels",
    "keras": "keras",
    "torch": "torch",
    "lightning": "lightning",
}
IMPORT_PROBES = {
    "autolog": "import autolog\nautolog.autolog()",
    "mlflow": "import mlflow\nmlflow.autolog()",
}
PROBE = """
import time
start = time.perf_counter()
{code}
print(time.perf_counter() - start)
"""
ONE_THREAD = {
    "OMP_NUM_THREADS": "1",
    "OPENBLAS_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
    "KERAS_BACKEND": "torch",
}

Samples = dict[str, list[float]]


# -- environments ----------------------------------------------------------------


def mlflow_python(log: Callable[[str], None]) -> Path:
    """MLflow's venv with our framework versions, created or completed first if needed."""
    log("checking MLflow's virtual environment (created on first use, takes minutes) ...")
    python = mlflow_env().python
    modules = ", ".join(FRAMEWORKS.values())
    probe = subprocess.run(
        [str(python), "-c", f"import {modules}"], capture_output=True, env=clean_env()
    )
    if probe.returncode != 0:
        pins = [f"{dist}=={_public_version(dist)}" for dist in FRAMEWORKS]
        log(f"installing {' '.join(pins)} into {python.parent.parent} ...")
        subprocess.run(
            [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
             *MLFLOW_PACKAGES, *pins],
            check=True,
        )  # fmt: skip
    return python


def _public_version(dist: str) -> str:
    """Our venv's version of ``dist`` without a local label (torch 2.13.0+cpu -> 2.13.0)."""
    return importlib.metadata.version(dist).split("+")[0]


def clean_env() -> dict[str, str]:
    """This environment without either tool's settings, with one thread per library."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("AUTOLOG_", "MLFLOW_"))
    }
    return {**env, **ONE_THREAD}


def pythons(log: Callable[[str], None]) -> dict[str, str]:
    return {"autolog": sys.executable, "mlflow": str(mlflow_python(log))}


def in_turn(round_number: int) -> Sequence[str]:
    """The tools in the order of this round: alternating, so drift hits both alike."""
    return TOOLS if round_number % 2 == 0 else TOOLS[::-1]


# -- measurements ----------------------------------------------------------------


def measure_imports(python: dict[str, str], rounds: int, log: Callable[[str], None]) -> dict:
    """Seconds of ``import X; X.autolog()`` in fresh processes, inside and whole-process."""
    log(f"1. import and autolog() in fresh processes, {rounds} rounds")
    samples: dict[str, Samples] = {tool: {"inside_s": [], "process_s": []} for tool in TOOLS}
    with tempfile.TemporaryDirectory(prefix="autolog-bench-") as folder:
        for round_number in range(-1, rounds):  # round -1 warms the disk cache up
            for tool in in_turn(round_number):
                code = PROBE.format(code=IMPORT_PROBES[tool])
                start = time.perf_counter()
                done = subprocess.run(
                    [python[tool], "-P", "-c", code],
                    cwd=folder,
                    env=clean_env(),
                    capture_output=True,
                    text=True,
                    check=True,
                )
                elapsed = time.perf_counter() - start
                if round_number >= 0:
                    samples[tool]["inside_s"].append(float(done.stdout.split()[-1]))
                    samples[tool]["process_s"].append(elapsed)
    return samples


def measure_workloads(
    python: dict[str, str], rounds: int, pairs: int, log: Callable[[str], None]
) -> dict:
    """Pooled samples of ``bench/workloads.py`` over ``rounds`` processes per tool."""
    log(f"2-4. fits, epochs and metric logging: {rounds} rounds x {pairs} pair(s) per tool")
    pooled: dict[str, dict[str, Samples]] = {tool: {} for tool in TOOLS}
    for round_number in range(rounds):
        for tool in in_turn(round_number):
            log(f"  round {round_number + 1}/{rounds}: {tool}")
            with tempfile.TemporaryDirectory(prefix=f"bench-{tool}-") as folder:
                done = subprocess.run(
                    [python[tool], "-P", str(BENCH / "workloads.py"), "--tool", tool,
                     "--pairs", str(pairs)],
                    cwd=folder,
                    env=clean_env(),
                    capture_output=True,
                    text=True,
                )  # fmt: skip
            if done.returncode != 0:
                raise RuntimeError(f"{tool} workloads failed:\n{done.stderr[-4000:]}")
            result = json.loads(done.stdout.strip().splitlines()[-1])
            for workload, values in result.items():
                if isinstance(values, dict):
                    merged = pooled[tool].setdefault(workload, {})
                    for key, numbers in values.items():
                        merged.setdefault(key, []).extend(numbers)
    return pooled


def measure_servers(rounds: int, points: int, restart: bool, log: Callable[[str], None]) -> dict:
    """``bench_server.measure`` for each server, ``rounds`` times, alternating, fresh stores."""
    restarts = "with a restart" if restart else "no restart"
    log(f"5. servers: {rounds} rounds, {points} points each, {restarts}")
    makers = {"autolog": bench_server.autolog_server, "mlflow": bench_server.mlflow_server}
    options = SimpleNamespace(points=points, clients=4, batch=1000)
    samples: dict[str, Samples] = {tool: {} for tool in TOOLS}
    with tempfile.TemporaryDirectory(prefix="autolog-bench-") as tmp:
        for round_number in range(rounds):
            for tool in in_turn(round_number):
                log(f"  round {round_number + 1}/{rounds}: {tool} server")
                folder = Path(tmp) / f"{tool}-{round_number}"
                folder.mkdir()
                result = bench_server.measure(makers[tool], folder, options, restart=restart)
                ingest = result.pop("ingest")
                if ingest["stored"] != points or ingest["failed_requests"]:
                    raise RuntimeError(f"{tool} server lost points: {ingest}")
                result["ingest_points_per_s"] = ingest["points_per_second"]
                for key, value in result.items():
                    samples[tool].setdefault(key, []).append(value)
    return samples


# -- the table -------------------------------------------------------------------


def significant(value: float, digits: int = 3) -> str:
    """``value`` to ``digits`` significant digits, with thousands separators, never 1e+05."""
    if value == 0 or not math.isfinite(value):
        return f"{value:g}"
    magnitude = math.floor(math.log10(abs(value)))
    if magnitude >= digits - 1:
        return f"{round(value, digits - 1 - magnitude):,.0f}"
    return f"{value:.{digits - 1 - magnitude}f}"


def seconds_unit(value: float) -> tuple[float, str]:
    magnitude = abs(value)
    if magnitude < 1e-3:
        return 1e6, "µs"
    return (1e3, "ms") if magnitude < 1 else (1.0, "s")


def cell(values: list[float], kind: str) -> str:
    """Median and interquartile range in one unit: ``2.18 ms (2.05-2.40)``."""
    median, q1, q3 = spread(values)
    scale, unit = {"s": seconds_unit(median), "rate": (1.0, "/s"), "mib": (1.0, " MiB")}[kind]
    separator = "" if unit.startswith(("/", " ")) else " "
    low, high = significant(q1 * scale), significant(q3 * scale)
    return f"{significant(median * scale)}{separator}{unit} ({low} to {high})"


def rows(results: dict) -> list[tuple[str, list[float], list[float], str]]:
    """(measure, our samples, MLflow's samples, unit kind) for each line of the table."""
    imports, work, servers = results["imports"], results["workloads"], results["servers"]

    def pair(source: dict, *keys: str) -> tuple[list[float], list[float]]:
        """Our samples and MLflow's, found under ``keys`` in each tool's part of ``source``."""
        found = []
        for tool in ("autolog", "mlflow"):
            value = source[tool]
            for key in keys:
                value = value[key]
            found.append(value)
        return found[0], found[1]

    def per_epoch(workload: str, epochs: int) -> tuple[list[float], list[float]]:
        ours, theirs = pair(work, workload, "added_s")
        return [s / epochs for s in ours], [s / epochs for s in theirs]

    table = [
        (
            "`import X; X.autolog()`, fresh process, timed inside it",
            *pair(imports, "inside_s"),
            "s",
        ),
        (
            "same, wall time of the whole process (interpreter start included)",
            *pair(imports, "process_s"),
            "s",
        ),
        (
            "added per `LogisticRegression(max_iter=200).fit`, 2000x20",
            *pair(work, "sklearn", "added_s"),
            "s",
        ),
        (
            "added per `ARIMA(order=(2,1,1)).fit()`, 300 points",
            *pair(work, "arima", "added_s"),
            "s",
        ),
        ("added per epoch, Keras, 50 epochs", *per_epoch("keras", 50), "s"),
        ("added per epoch, Lightning, 30 epochs", *per_epoch("lightning", 30), "s"),
        (
            "metric points/s from the training thread, single calls",
            *pair(work, "metrics", "single_points_per_s"),
            "rate",
        ),
        (
            "metric points/s, `log_metrics` batches of 10",
            *pair(work, "metrics", "batch10_points_per_s"),
            "rate",
        ),
        (
            "server ready, fresh SQLite store (start until `/health` answers)",
            *pair(servers, "ready_fresh_s"),
            "s",
        ),
    ]
    if "ready_restart_s" in servers["autolog"]:
        table.append(
            ("server ready, restart on the same store", *pair(servers, "ready_restart_s"), "s")
        )
    table += [
        (
            "server resident memory after ingest (process tree)",
            *pair(servers, "rss_after_ingest_mib"),
            "mib",
        ),
        (
            "server ingest, 4 clients, 1000-point `log-batch` requests",
            *pair(servers, "ingest_points_per_s"),
            "rate",
        ),
    ]
    return table


def ratio(ours: list[float], theirs: list[float]) -> str:
    mine, other = statistics.median(ours), statistics.median(theirs)
    if other == 0:
        return "-"
    value = mine / other
    if 0 < abs(value) < 0.1:
        return f"{significant(value)} (1/{significant(1 / value)})"
    return significant(value)


def markdown(results: dict) -> str:
    """The Performance section: the machine, how it was measured, the table."""
    machine, settings = results["machine"], results["settings"]
    lines = [
        f"Measured on {machine['cpu']} ({machine['cores']} cores, {machine['memory_gib']} GiB, "
        f"no accelerator), Linux {machine['kernel']}, Python {machine['python']}, "
        f"{machine['date']}, load average {machine['load']} at the start and "
        f"{results.get('load_at_end', '?')} at the end; autolog {machine['versions']['autolog']}, "
        f"MLflow {machine['versions']['mlflow']}, "
        + ", ".join(
            f"{name} {version}"
            for name, version in machine["versions"].items()
            if name not in ("autolog", "mlflow")
        )
        + ".",
        "",
        f"`python -m bench.run_all{' --quick' if settings['quick'] else ''}`: "
        f"{settings['rounds']} rounds alternating the two tools, {settings['pairs']} "
        f"paired fit(s) with/without per workload and round, {settings['points']:,} points "
        "per server ingest. Default settings of each tool, each recording into its default "
        "store in a temporary folder (autolog: `./autolog-runs`; MLflow: `sqlite:///mlflow.db`). "
        "Median (interquartile range); ratio = autolog / MLflow (below 1 is better for times "
        "and memory, above 1 for throughput).",
        "",
        "| measure | autolog | MLflow | ratio |",
        "| --- | --- | --- | --- |",
    ]
    for label, ours, theirs, kind in rows(results):
        lines.append(
            f"| {label} | {cell(ours, kind)} | {cell(theirs, kind)} | {ratio(ours, theirs)} |"
        )
    work = results["workloads"]
    plain = [
        f"{name} {cell(work['autolog'][key]['without_s'], 's')} / "
        f"{cell(work['mlflow'][key]['without_s'], 's')}"
        for key, name in (
            ("sklearn", "LogisticRegression"),
            ("arima", "ARIMA"),
            ("keras", "Keras (50 epochs)"),
            ("lightning", "Lightning (30 epochs)"),
        )
    ]
    lines += [
        "",
        "The same fits with the tool switched off, in autolog's / MLflow's environment: "
        + "; ".join(plain)
        + ". The time added per fit or epoch includes everything a run records (for the "
        "deep models it is the whole fit's extra time divided by the epochs, model saving "
        "included).",
    ]
    return "\n".join(lines) + "\n"


def machine_info(python: dict[str, str]) -> dict[str, Any]:
    cpu = "unknown CPU"
    memory = 0.0
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                memory = int(line.split()[1]) / 1024**2
    except OSError:
        pass
    mlflow_version = subprocess.run(
        [python["mlflow"], "-c", "import importlib.metadata as m; print(m.version('mlflow'))"],
        capture_output=True,
        text=True,
    ).stdout.strip()
    versions = {"autolog": importlib.metadata.version("autolog-tracking"), "mlflow": mlflow_version}
    versions.update({dist: importlib.metadata.version(dist) for dist in FRAMEWORKS})
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory_gib": round(memory),
        "kernel": platform.release(),
        "python": platform.python_version(),
        "date": datetime.date.today().isoformat(),
        "load": _load(),
        "versions": versions,
    }


def _load() -> str:
    """The 1-minute load average: how busy the machine was with other work."""
    return f"{os.getloadavg()[0]:.1f}" if hasattr(os, "getloadavg") else "?"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="a few-minute version")
    parser.add_argument("--rounds", type=int, help="rounds per measure (default 5)")
    parser.add_argument("--pairs", type=int, help="paired fits per workload and round")
    parser.add_argument("--points", type=int, help="metric points per server ingest")
    args = parser.parse_args(argv)
    rounds = args.rounds or 5
    pairs = args.pairs or (1 if args.quick else 2)
    points = args.points or (20_000 if args.quick else 100_000)
    started = time.monotonic()

    def log(message: str) -> None:
        print(f"[{time.monotonic() - started:6.0f} s] {message}", file=sys.stderr, flush=True)

    python = pythons(log)
    results: dict[str, Any] = {
        "settings": {"quick": args.quick, "rounds": rounds, "pairs": pairs, "points": points},
        "machine": machine_info(python),
    }
    results["imports"] = measure_imports(python, max(rounds, 11 if not args.quick else 5), log)
    results["workloads"] = measure_workloads(python, rounds, pairs, log)
    results["servers"] = measure_servers(rounds, points, restart=not args.quick, log=log)
    results["seconds"] = round(time.monotonic() - started)
    results["load_at_end"] = _load()
    table = markdown(results)
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "run_all.json").write_text(json.dumps(results, indent=1))
    (RESULTS / "run_all.md").write_text(table)
    print(table)
    log(f"done; written to {RESULTS / 'run_all.md'} and run_all.json")
    return 0


if __name__ == "__main__":
    sys.exit(main())
