"""Benchmark listing and search at 1,000 and 100,000 runs, autolog's index beside MLflow's SQLite.

    python -m bench.bench_index [--sizes 1000 100000] [--repeats 7] [--mlflow-repeats N] [--folder DIR]

For each size, a store is filled through autolog's public API in one process
(``start_run``, 3 params, 2 metrics x 20 steps, ``end``), and MLflow's SQLite
store (MLflow from ``.venv-mlflow``, in its own process) is given the same runs:
its schema is created by MLflow itself, the rows are inserted in bulk (logging
100,000 runs through MLflow's client would take hours and measures nothing
that is read here). Then, side by side:

* **runs ls first page**: ``autolog runs ls -n 20`` in a fresh process
  (interpreter start included) against a fresh Python process that imports
  MLflow and asks ``MlflowClient.search_runs(max_results=20)``;
* **filtered search**: ``search_runs`` with a filter on a param and a metric
  (``params.model = 'ridge' and metrics.loss < 0.5``, which ~11% of runs pass),
  10 runs returned, in a warm process (median of repeats), in three orders:
  newest first, by the metric the filter bounds (``metrics.loss ASC``) and by
  another metric (``metrics.acc DESC``);
* **get_run** of one run, warm;
* **first ui runs page**: ``GET /ui-api/runs?experiment=sweep`` right after
  ``autolog ui`` started, against MLflow's ``runs/search`` of ``mlflow server``
  (the request its UI's runs page makes first).

The first read of a store builds autolog's index; that build is timed and
reported apart. Stores are kept in ``--folder`` (default ``build/bench-index``)
so a second run of the script reuses them.
"""

# ruff: noqa: E501  (the scripts run in the MLflow venv are kept whole, as strings)
from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PYTHON = sys.executable
MLFLOW_VENV = Path(os.environ.get("AUTOLOG_BENCH_MLFLOW_VENV") or REPO / ".venv-mlflow").resolve()
MLFLOW_PYTHON = MLFLOW_VENV / "bin" / "python"
MODELS = ("ridge", "lasso", "tree", "forest")
FILTER = "params.model = 'ridge' and metrics.loss < 0.5"
#: Three orders for the same filter. Newest first, the usual "latest runs that match": a
#: walk of the start-time index stops after the page. By the metric the filter bounds, the
#: usual "best runs that match": a walk of that metric's index stops after the page too. By
#: another metric, which the filter works against (the runs of highest acc all fail
#: loss < 0.5): the answer depends on the ~11% of runs that pass, so any plan must rank
#: those, and the time grows with the store.
ORDERS = {
    "filtered search newest first (10 runs)": ["attributes.start_time DESC"],
    "filtered search by its metric (10 runs)": ["metrics.loss ASC"],
    "filtered search by another metric (10 runs)": ["metrics.acc DESC"],
}
#: Both sides run as a user's install would: with cached bytecode.
ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def values(i: int) -> tuple[dict[str, str], list[tuple[int, float, float]]]:
    """The params and (step, loss, acc) points of run ``i``: deterministic, so both stores agree."""
    params = {
        "lr": str(round(0.001 * (1 + i % 97), 6)),
        "depth": str(i % 13),
        "model": MODELS[i % 4],
    }
    points = []
    for step in range(20):
        base = ((i * 7919) % 1000) / 1000
        points.append((step, base + 1.0 / (step + 1), min(1.0, base / 2 + step / 40)))
    return params, points


# -- filling -------------------------------------------------------------------


def fill_autolog(store: Path, count: int) -> list[tuple[str, str, int, int | None]]:
    """Make ``count`` runs through the public API; return (id, name, start, end) per run."""
    import autolog

    autolog.autolog(backend=str(store), integrations=[])
    made = []
    for i in range(count):
        params, points = values(i)
        with autolog.start_run(name=f"trial-{i}", experiment="sweep") as run:
            run.log_params(params)
            for step, loss, acc in points:
                run.log_metrics({"loss": loss, "acc": acc}, step=step)
        record = autolog.get_run(run.id) if i == 0 else None
        made.append((run.id, f"trial-{i}", record.start_time if record else 0, None))
    return made


def runs_of(store: Path) -> list[dict]:
    """Each run's id, name, start and end read straight from the journals' first and last lines."""
    from autolog._store import LocalStore

    store_ = LocalStore(store)
    reader = store_.journal_reader
    found = []
    for run_id, signature in store_.signatures().items():
        peek = reader.peek(run_id, signature)
        if peek.header:
            found.append(
                {
                    "id": run_id,
                    "name": peek.header["name"],
                    "start": peek.header["start_time"],
                    "end": peek.last_activity,
                }
            )
    return found


MLFLOW_FILL = r"""
import json, sqlite3, sys
from mlflow.store.tracking.sqlalchemy_store import SqlAlchemyStore
db, artifacts, runs_file = sys.argv[1], sys.argv[2], sys.argv[3]
store = SqlAlchemyStore(f"sqlite:///{db}", artifacts)
experiment = store.create_experiment("sweep")
store.engine.dispose()
runs = json.load(open(runs_file))
from bench_index import values  # found through PYTHONPATH, set by the caller
con = sqlite3.connect(db)
run_rows, params, metrics, latest, tags = [], [], [], [], []
for i, run in enumerate(runs):
    rid = run["id"]
    run_rows.append((rid, run["name"], "LOCAL", "", "", "bench", "FINISHED", run["start"], run["end"], "", "active", f"{artifacts}/{rid}", int(experiment)))
    p, points = values(int(run["name"].split("-")[1]))
    params += [(k, v, rid) for k, v in p.items()]
    tags.append(("mlflow.runName", run["name"], rid))
    for step, loss, acc in points:
        ts = run["start"] + step
        metrics += [("loss", loss, ts, rid, step, 0), ("acc", acc, ts, rid, step, 0)]
    step, loss, acc = points[-1]
    latest += [("loss", loss, run["start"] + step, step, 0, rid), ("acc", acc, run["start"] + step, step, 0, rid)]
con.executemany("INSERT INTO runs (run_uuid, name, source_type, source_name, entry_point_name, user_id, status, start_time, end_time, source_version, lifecycle_stage, artifact_uri, experiment_id) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)", run_rows)
con.executemany("INSERT INTO params (key, value, run_uuid) VALUES (?,?,?)", params)
con.executemany("INSERT INTO tags (key, value, run_uuid) VALUES (?,?,?)", tags)
con.executemany("INSERT INTO metrics (key, value, timestamp, run_uuid, step, is_nan) VALUES (?,?,?,?,?,?)", metrics)
con.executemany("INSERT INTO latest_metrics (key, value, timestamp, step, is_nan, run_uuid) VALUES (?,?,?,?,?,?)", latest)
con.commit()
print(experiment)
"""


def fill(folder: Path, count: int) -> dict:
    """Both stores of ``count`` runs under ``folder`` (reused when already there)."""
    folder.mkdir(parents=True, exist_ok=True)
    store, db, done = folder / "autolog-runs", folder / "mlflow.db", folder / "filled.json"
    if done.exists():
        return json.loads(done.read_text())
    # Each side's fill is kept once done, so a fill cut short by MLflow's side resumes there.
    autolog_done = folder / "autolog-filled.json"
    if autolog_done.exists():
        filled = json.loads(autolog_done.read_text())["fill_seconds"]
    else:
        started = time.perf_counter()
        subprocess.run([PYTHON, "-P", __file__, "--fill", str(store), str(count)], check=True)
        filled = round(time.perf_counter() - started, 1)
        autolog_done.write_text(json.dumps({"fill_seconds": filled}))
    runs_file = folder / "runs.json"
    if not runs_file.exists():
        subprocess.run([PYTHON, "-P", __file__, "--list", str(store), str(runs_file)], check=True)
    experiment = (
        subprocess.run(
            [
                str(MLFLOW_PYTHON),
                "-c",
                MLFLOW_FILL,
                str(db),
                str(folder / "mlflow-artifacts"),
                str(runs_file),
            ],
            check=True,
            capture_output=True,
            text=True,
            env={**os.environ, "PYTHONPATH": str(Path(__file__).parent)},
        )
        .stdout.strip()
        .splitlines()[-1]
    )
    info = {"count": count, "fill_seconds": filled, "mlflow_experiment": experiment}
    done.write_text(json.dumps(info))
    return info


# -- measuring -----------------------------------------------------------------


def wall(command: list[str], env: dict | None = None) -> float:
    started = time.perf_counter()
    subprocess.run(command, check=True, capture_output=True, env=env or ENV)
    return time.perf_counter() - started


AUTOLOG_WARM = r"""
import json, statistics, sys, time
import autolog
store, repeats, flt, orders = sys.argv[1], int(sys.argv[2]), sys.argv[3], json.loads(sys.argv[4])
autolog.autolog(backend=store, integrations=[])
def median(call):
    times = []
    for _ in range(repeats):
        t = time.perf_counter(); result = call(); times.append(time.perf_counter() - t)
    return statistics.median(times), result
searches = {}
for label, order in orders.items():
    searches[label], found = median(lambda: autolog.search_runs(filter=flt, order_by=order, max_results=10))
    assert len(found) == 10, (label, len(found))
one = found[0].id
get, _ = median(lambda: autolog.get_run(one))
print(json.dumps({"searches": searches, "get_run": get}))
"""

MLFLOW_WARM = r"""
import json, statistics, sys, time
from mlflow.tracking import MlflowClient
db, repeats, flt, orders, exp = sys.argv[1], int(sys.argv[2]), sys.argv[3], json.loads(sys.argv[4]), sys.argv[5]
client = MlflowClient(tracking_uri=f"sqlite:///{db}")
def median(call):
    times = []
    for _ in range(repeats):
        t = time.perf_counter(); result = call(); times.append(time.perf_counter() - t)
    return statistics.median(times), result
searches = {}
for label, order in orders.items():
    searches[label], found = median(lambda: client.search_runs([exp], filter_string=flt, order_by=order, max_results=10))
    assert len(found) == 10, (label, len(found))
one = found[0].info.run_id
get, _ = median(lambda: client.get_run(one))
print(json.dumps({"searches": searches, "get_run": get}))
"""

MLFLOW_FIRST_PAGE = r"""
import sys
from mlflow.tracking import MlflowClient
runs = MlflowClient(tracking_uri=f"sqlite:///{sys.argv[1]}").search_runs([sys.argv[2]], max_results=20)
for run in runs:
    print(run.info.run_id[:12], run.info.run_name, run.info.status)
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def first_page_after_start(command: list[str], url: str, body: bytes | None = None) -> float:
    """Start a server, wait for /health or the port, then time the first request."""
    process = subprocess.Popen(
        command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
    )
    try:
        base = url.split("/", 3)
        health = f"{base[0]}//{base[2]}/health"
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                urllib.request.urlopen(health, timeout=2).read()
                break
            except OSError:
                time.sleep(0.1)
        started = time.perf_counter()
        request = urllib.request.Request(
            url, data=body, headers={"Content-Type": "application/json"}
        )
        urllib.request.urlopen(request, timeout=300).read()
        return time.perf_counter() - started
    finally:
        os.killpg(process.pid, 15)
        process.wait(30)


def measure(folder: Path, info: dict, repeats: int, mlflow_repeats: int) -> dict:
    store, db = folder / "autolog-runs", folder / "mlflow.db"
    env = {**ENV, "AUTOLOG_DIR": str(store)}
    # The first read builds the index; time it apart, then every figure is on a built index.
    build = wall([PYTHON, "-P", "-m", "autolog", "runs", "ls", "-n", "20"], env)
    ls = statistics.median(
        wall([PYTHON, "-P", "-m", "autolog", "runs", "ls", "-n", "20"], env) for _ in range(repeats)
    )
    ml_ls = statistics.median(
        wall([str(MLFLOW_PYTHON), "-c", MLFLOW_FIRST_PAGE, str(db), info["mlflow_experiment"]])
        for _ in range(repeats)
    )
    ours = json.loads(
        subprocess.run(
            [
                PYTHON,
                "-P",
                "-c",
                AUTOLOG_WARM,
                str(store),
                str(repeats),
                FILTER,
                json.dumps(ORDERS),
            ],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
    )
    theirs = json.loads(
        subprocess.run(
            [
                str(MLFLOW_PYTHON),
                "-c",
                MLFLOW_WARM,
                str(db),
                str(mlflow_repeats),
                FILTER,
                json.dumps(ORDERS),
                info["mlflow_experiment"],
            ],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
    )
    port = free_port()
    ui = first_page_after_start(
        [PYTHON, "-P", "-m", "autolog", "ui", str(store), "--port", str(port)],
        f"http://127.0.0.1:{port}/ui-api/runs?experiment=sweep",
    )
    port = free_port()
    ml_ui = first_page_after_start(
        [
            str(MLFLOW_VENV / "bin" / "mlflow"),
            "server",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--backend-store-uri",
            f"sqlite:///{db}",
            "--workers",
            "1",
        ],
        f"http://127.0.0.1:{port}/ajax-api/2.0/mlflow/runs/search",
        json.dumps(
            {
                "experiment_ids": [info["mlflow_experiment"]],
                "max_results": 100,
                "order_by": ["attributes.start_time DESC"],
            }
        ).encode(),
    )
    return {
        "runs": info["count"],
        "fill_seconds": info["fill_seconds"],
        "index_build_seconds": round(build, 2),
        "runs ls first page": (ls, ml_ls),
        **{label: (ours["searches"][label], theirs["searches"][label]) for label in ORDERS},
        "get_run": (ours["get_run"], theirs["get_run"]),
        "first ui runs page": (ui, ml_ui),
    }


def main() -> None:
    if sys.argv[1:2] == ["--fill"]:
        fill_autolog(Path(sys.argv[2]), int(sys.argv[3]))
        return
    if sys.argv[1:2] == ["--list"]:
        Path(sys.argv[3]).write_text(json.dumps(runs_of(Path(sys.argv[2]))))
        return
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 100_000])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument(
        "--mlflow-repeats",
        type=int,
        help="repeats of MLflow's warm search and get_run (default: --repeats); its filtered "
        "search takes minutes at 100,000 runs on a busy 2-core machine",
    )
    parser.add_argument("--folder", type=Path, default=REPO / "build" / "bench-index")
    parser.add_argument("--fill-only", action="store_true")
    args = parser.parse_args()
    results = []
    for size in args.sizes:
        info = fill(args.folder / str(size), size)
        print(f"{size} runs filled in {info['fill_seconds']} s", flush=True)
        if not args.fill_only:
            results.append(
                measure(
                    args.folder / str(size), info, args.repeats, args.mlflow_repeats or args.repeats
                )
            )
            print(json.dumps(results[-1]), flush=True)  # each size as soon as it is measured
    if args.fill_only:
        return
    labels = ("runs ls first page", *ORDERS, "get_run", "first ui runs page")
    width = max(map(len, labels)) + 2
    print(
        f"\n{'':{width}}"
        + "".join(
            f"{'autolog ' + str(r['runs']):>16}{'mlflow ' + str(r['runs']):>16}" for r in results
        )
    )
    for key in labels:
        cells = "".join(
            f"{r[key][0] * 1000:>13.1f} ms{r[key][1] * 1000:>13.1f} ms" for r in results
        )
        print(f"{key:{width}}{cells}")
    for r in results:
        print(
            f"{r['runs']} runs: filled in {r['fill_seconds']} s, index built by the first read in {r['index_build_seconds']} s"
        )
    from bench.stats import write_results  # here: the MLflow side imports this module alone

    write_results("index", results)


if __name__ == "__main__":
    main()
