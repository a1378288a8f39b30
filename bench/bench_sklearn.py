"""scikit-learn figures: time autolog adds to one fit, and to importing sklearn.linear_model.

    python -m bench.bench_sklearn [--repeats 30] [--imports 7]

(a) ``LogisticRegression(max_iter=200).fit`` on 2000x20 data, with default
    autolog settings (params, training metrics and the pickled model into a
    local store) and without autolog, alternating so that machine noise hits
    both alike. The figure that matters is the median of the paired
    differences: the time a user's fit gets longer.
(b) ``import sklearn.linear_model`` in a fresh process after ``autolog.autolog()``
    and without it, alternating; autolog's own import is outside the timed part.

Prints medians with the interquartile range, as a markdown table.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time

from bench.stats import spread

IMPORT_PROBE = """
import sys, time
import autolog
if sys.argv[1] == "on":
    autolog.autolog(backend=sys.argv[2])
start = time.perf_counter()
import sklearn.linear_model
print(time.perf_counter() - start)
"""


def measure_sklearn(repeats: int = 30) -> dict:
    """Seconds per ``LogisticRegression(max_iter=200)`` fit without and with autolog.

    Returns ``{"without_s", "with_s", "added_s"}``, each (median, q1, q3);
    ``added_s`` is computed from pairs of neighbouring fits. ``runs`` counts
    the runs recorded, as a check that autolog really was on. Leaves autolog
    disabled.
    """
    from sklearn.linear_model import LogisticRegression

    import autolog
    from bench.workloads import logistic_data

    X, y = logistic_data()

    def timed_fit() -> float:
        model = LogisticRegression(max_iter=200)
        start = time.perf_counter()
        model.fit(X, y)
        return time.perf_counter() - start

    without, with_autolog = [], []
    with tempfile.TemporaryDirectory() as folder:
        autolog.autolog(backend=folder)
        timed_fit()  # warm-up: first-call imports of metrics and pickling
        autolog.autolog(disable=True)
        timed_fit()
        for _ in range(repeats):
            without.append(timed_fit())
            autolog.autolog(backend=folder)
            with_autolog.append(timed_fit())
            autolog.autolog(disable=True)
        runs = len(autolog.search_runs(backend=folder))
    added = [w - b for w, b in zip(with_autolog, without, strict=True)]
    return {
        "without_s": spread(without),
        "with_s": spread(with_autolog),
        "added_s": spread(added),
        "runs": runs,
    }


def measure_import(repeats: int = 7) -> dict:
    """Seconds to import sklearn.linear_model in a fresh process, without and with autolog()."""
    without, with_autolog = [], []
    with tempfile.TemporaryDirectory() as folder:
        for _ in range(repeats):
            for state, results in (("off", without), ("on", with_autolog)):
                out = subprocess.run(
                    [sys.executable, "-P", "-c", IMPORT_PROBE, state, f"{folder}/runs"],
                    check=True,
                    cwd=folder,
                    capture_output=True,
                    text=True,
                ).stdout
                results.append(float(out.split()[-1]))
    added = [w - b for w, b in zip(with_autolog, without, strict=True)]
    return {
        "without_s": spread(without),
        "with_s": spread(with_autolog),
        "added_s": spread(added),
    }


def _row(label: str, values: tuple[float, float, float]) -> str:
    median, q1, q3 = (v * 1000 for v in values)
    return f"| {label} | {median:.2f} | {q1:.2f} - {q3:.2f} |"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=30, help="fits of each kind")
    parser.add_argument("--imports", type=int, default=7, help="fresh processes of each kind")
    options = parser.parse_args()

    fits = measure_sklearn(options.repeats)
    imports = measure_import(options.imports)
    print(
        f"LogisticRegression(max_iter=200).fit, 2000x20, {options.repeats} fits each "
        f"({fits['runs']} runs recorded)\n"
    )
    print("| | median ms | IQR ms |\n|---|---|---|")
    print(_row("without autolog", fits["without_s"]))
    print(_row("with autolog", fits["with_s"]))
    print(_row("**added per fit**", fits["added_s"]))
    print(f"\nimport sklearn.linear_model, fresh process, {options.imports} runs each\n")
    print("| | median ms | IQR ms |\n|---|---|---|")
    print(_row("without autolog", imports["without_s"]))
    print(_row("after autolog.autolog()", imports["with_s"]))
    print(_row("**added**", imports["added_s"]))


if __name__ == "__main__":
    main()
