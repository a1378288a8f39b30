"""Core figures: start-up cost of autolog, and metric throughput of the training thread.

    python -m bench.bench_core [--repeats 21] [--editable]

(a) ``import autolog; autolog.autolog()`` in a fresh process, as a user gets it:
    the project is built as a wheel and installed (not editable) into a
    temporary virtual environment whose dependencies come from this
    interpreter's site-packages. Reported: the time measured inside the
    process, and the extra wall time of the whole process compared with an
    interpreter that only starts; also which ML frameworks got imported (none
    should). ``--editable`` measures this interpreter's own install instead.
(b) ``run.log_metric`` calls per second into the local store, single calls
    and ``log_metrics`` batches of 10, from the training thread.

Prints medians with the interquartile range, as a markdown table.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.stats import spread

REPO = Path(__file__).resolve().parents[1]

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


def wheel_python(folder: Path) -> str:
    """A fresh venv in ``folder`` with the project's wheel installed; its python."""
    wheels, venv = folder / "wheels", folder / "venv"
    run = lambda *cmd: subprocess.run(cmd, check=True, capture_output=True)  # noqa: E731
    run(sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(wheels), str(REPO))
    run(sys.executable, "-m", "venv", "--without-pip", str(venv))
    python = str(venv / "bin" / "python")
    site = subprocess.run(
        [python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    [wheel] = wheels.glob("autolog_tracking-*.whl")
    run(sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", site, str(wheel))
    # Dependencies (pluggy, wrapt...) from this interpreter, appended after the wheel:
    # a plain path line, so this interpreter's own (editable) autolog is not seen.
    spec = importlib.util.find_spec("pluggy")
    assert spec is not None and spec.origin is not None, "pluggy is not installed"
    deps = Path(spec.origin).parent.parent
    (Path(site) / "zz_bench_dependencies.pth").write_text(f"{deps}\n")
    return python


def measure_import(repeats: int, editable: bool = False) -> dict:
    """Median in-process and whole-process cost of importing and enabling autolog."""
    inside, with_autolog, bare, frameworks = [], [], [], set()
    with tempfile.TemporaryDirectory() as folder:
        python = sys.executable if editable else wheel_python(Path(folder))
        where = subprocess.run(
            [python, "-c", "import autolog; print(autolog.__file__)"],
            check=True,
            capture_output=True,
            text=True,
            cwd=folder,
        ).stdout.strip()
        env = {k: v for k, v in os.environ.items() if not k.startswith("AUTOLOG_")}
        for _ in range(repeats):  # interleaved, so machine noise hits both alike
            start = time.perf_counter()
            subprocess.run([python, "-c", "pass"], check=True, cwd=folder, env=env)
            bare.append(time.perf_counter() - start)
            start = time.perf_counter()
            out = subprocess.run(
                [python, "-c", IMPORT_PROBE],
                env=env,
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
        "installed_at": where,
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
    parser.add_argument("--editable", action="store_true", help="measure this install instead")
    args = parser.parse_args()
    imports = measure_import(args.repeats, args.editable)
    metrics = measure_metrics()
    ms = lambda s: f"{s * 1000:.1f} ms"  # noqa: E731
    rate = lambda r: f"{r:,.0f}/s"  # noqa: E731
    rows = [
        ("import autolog; autolog.autolog() (in process)", imports["inside_s"], ms, "< 15 ms"),
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
    print(f"autolog measured from: {imports['installed_at']}")
    print(json.dumps({"imports": imports, "metrics": metrics}), file=sys.stderr)


if __name__ == "__main__":
    main()
