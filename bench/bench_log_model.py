"""MLflow's client logging a model: ``autolog server`` against ``mlflow server``, same run.

    python -m bench.bench_log_model [--repeats 15]

Both servers start on fresh SQLite stores in a temporary folder (MLflow from
``.venv-mlflow``). One MLflow client process (MLflow 3.17, its venv) then
times ``mlflow.sklearn.log_model`` of the same fitted LogisticRegression
``--repeats`` times against each server, alternating, each call in its own
run: create the logged model, upload its files through the artifact proxy,
link and finalize it. Requirements are pinned so that the client's own
requirement inference (a subprocess, seconds long) does not hide the servers.
The first call of each is a warm-up and not counted.
Prints medians and spreads (min, max, interquartile range) in milliseconds and
writes ``bench/results/log_model.json``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from bench.bench_server import autolog_server, mlflow_server
from bench.stats import write_results
from tests.support.mlflow_env import mlflow_env

CLIENT = """
import json, sys, time, warnings
import mlflow
from sklearn.datasets import load_iris
from sklearn.linear_model import LogisticRegression
warnings.filterwarnings("ignore")
urls, repeats = sys.argv[1:3], int(sys.argv[3])
X, y = load_iris(return_X_y=True)
model = LogisticRegression(max_iter=300).fit(X, y)
times = {url: [] for url in urls}
for index in range(repeats + 1):
    for url in urls if index % 2 else urls[::-1]:  # alternate who goes first
        mlflow.set_tracking_uri(url)
        mlflow.set_experiment("bench-log-model")
        with mlflow.start_run():
            started = time.perf_counter()
            # Pinned requirements: MLflow's client would otherwise spend seconds inferring
            # them in a subprocess, the same against either server, hiding the difference.
            mlflow.sklearn.log_model(model, name="model", pip_requirements=["scikit-learn"])
            elapsed = time.perf_counter() - started
        if index:  # the first round warms up imports and connections
            times[url].append(elapsed * 1000)
print(json.dumps(times))
"""


def summary(values: list[float]) -> dict[str, float]:
    quartiles = statistics.quantiles(values, n=4) if len(values) > 1 else [values[0]] * 3
    return {
        "median_ms": round(statistics.median(values), 1),
        "min_ms": round(min(values), 1),
        "max_ms": round(max(values), 1),
        "iqr_ms": round(quartiles[2] - quartiles[0], 1),
        "n": len(values),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=15)
    args = parser.parse_args()
    python = str(mlflow_env().python)
    with tempfile.TemporaryDirectory(prefix="autolog-bench-") as tmp:
        servers = []
        try:
            for make in (autolog_server, mlflow_server):
                folder = Path(tmp) / make.__name__
                folder.mkdir()
                server = make(folder)
                servers.append(server)
                print(f"starting {server.name} server ...", file=sys.stderr, flush=True)
                server.start()
            script = Path(tmp) / "client.py"
            script.write_text(CLIENT)
            result = subprocess.run(
                [python, "-P", str(script), *(s.url for s in servers), str(args.repeats)],
                cwd=tmp,
                capture_output=True,
                text=True,
                check=True,
                timeout=3600,
            )
        finally:
            for server in servers:
                server.stop()
    times = json.loads(result.stdout.strip().splitlines()[-1])
    results = {s.name: summary(times[s.url]) for s in servers}
    results["ratio_median"] = round(
        results["mlflow"]["median_ms"] / results["autolog"]["median_ms"], 2
    )
    print(f"mlflow.sklearn.log_model, {args.repeats} calls each (ms)")
    print(f"{'':12}{'median':>10}{'min':>10}{'max':>10}{'IQR':>10}")
    for name in ("autolog", "mlflow"):
        r = results[name]
        print(f"{name:12}{r['median_ms']:>10}{r['min_ms']:>10}{r['max_ms']:>10}{r['iqr_ms']:>10}")
    print(f"mlflow / autolog (median): {results['ratio_median']}x")
    write_results("log_model", results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
