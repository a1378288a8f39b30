"""Per-suite figures of the peer runs (issue 12's closing note): ``python -m bench.peer_figures``.

    python -m bench.peer_figures [--only NAME ...] [--repeats N] [--json PATH]

Runs every suite that ``tests/peer`` compares, one at a time, exactly as the
tests do (each side in a fresh pytest process, see tests/peer/frameworks.py):
scikit-learn's and statsmodels' shipped test modules with autolog off and on,
the two ``-W error`` comparisons, and the Keras and Lightning scenarios. Per
suite it prints the tests compared, the outcomes that differ (0 on a healthy
tree), the runs recorded, the store's size on disk (what ``du`` counts: whole
blocks, each inode once) in total and per run, with its apparent size, and the
seconds with autolog off and on with their ratio. With ``--repeats N`` each
side runs N times, alternating, and the times are medians. The machine's load
(``uptime``) is printed before each suite, as timings on a shared machine need
it beside them. ``--only`` takes parts of suite names (``--only forests ARIMA``).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

from tests.peer import test_sklearn_suite, test_statsmodels_suite
from tests.peer.frameworks import Side, Suite, differences, run_side
from tests.peer.test_deep_learning import different_scenarios, run_scenarios


@dataclass
class Figures:
    """One row of the table."""

    suite: str
    compared: int
    differ: int
    runs: int
    disk_bytes: int
    apparent_bytes: int
    off_s: float
    on_s: float
    load: str

    @property
    def ratio(self) -> float:
        return self.on_s / self.off_s if self.off_s else float("nan")


def store_usage(store: Path) -> tuple[int, int]:
    """(bytes on disk, apparent bytes) of everything under ``store``, hard links counted once."""
    if not store.is_dir():
        return 0, 0
    seen: set[int] = set()
    disk = apparent = 0
    for path in [store, *store.rglob("*")]:
        info = path.lstat()
        if info.st_ino in seen:
            continue
        seen.add(info.st_ino)
        disk += info.st_blocks * 512
        apparent += info.st_size if path.is_file() else 0
    return disk, apparent


def load() -> str:
    """The 1-minute load average and the core count, e.g. ``3.2/2``."""
    return f"{os.getloadavg()[0]:.1f}/{os.cpu_count()}"


def framework_suite(suite: Suite, warnings_as_errors: bool, repeats: int) -> Figures:
    """Both sides of one shipped suite, ``repeats`` times each, alternating."""
    offs: list[Side] = []
    ons: list[Side] = []
    found: set[str] = set()
    started_load = load()
    for _ in range(repeats):
        with tempfile.TemporaryDirectory(prefix="peer-figures-") as folder:
            off = run_side(
                suite, Path(folder), autolog_on=False, warnings_as_errors=warnings_as_errors
            )
            on = run_side(
                suite, Path(folder), autolog_on=True, warnings_as_errors=warnings_as_errors
            )
            disk, apparent = store_usage(Path(folder) / "on" / "store")
        offs.append(off)
        ons.append(on)
        found.update(differences(off, on))
    name = suite.name + (" (-W error)" if warnings_as_errors else "")
    return Figures(
        name,
        len(offs[0].outcomes),
        len(found),
        ons[0].runs,
        disk,
        apparent,
        statistics.median(s.seconds for s in offs),
        statistics.median(s.seconds for s in ons),
        started_load,
    )


def scenarios(module: str, repeats: int) -> Figures:
    """Both sides of the Keras or Lightning scenarios, ``repeats`` times each, alternating."""
    times: dict[str, list[float]] = {"off": [], "on": []}
    found: set[str] = set()
    started_load = load()
    for _ in range(repeats):
        with tempfile.TemporaryDirectory(prefix="peer-figures-") as folder:
            sides = {}
            for side in ("off", "on"):
                started = time.perf_counter()
                sides[side] = run_scenarios(module, Path(folder), side)
                times[side].append(time.perf_counter() - started)
            disk, apparent = store_usage(Path(folder) / "on" / "store")
        found.update(different_scenarios(sides["off"], sides["on"]))
    return Figures(
        module.removesuffix("_scenarios").capitalize() + " scenarios",
        len(sides["off"]["scenarios"]),
        len(found),
        sides["on"]["runs"],
        disk,
        apparent,
        statistics.median(times["off"]),
        statistics.median(times["on"]),
        started_load,
    )


def all_suites(repeats: int) -> list[tuple[str, Callable[[], Figures]]]:
    """(name, measure) for every comparison tests/peer makes, in the order of its modules."""
    jobs: list[tuple[str, Callable[[], Figures]]] = []
    for module in (test_sklearn_suite, test_statsmodels_suite):
        for suite in module.SUITES:
            jobs.append((suite.name, lambda s=suite: framework_suite(s, False, repeats)))
        strict = module.WARNINGS_AS_ERRORS
        jobs.append(
            (f"{strict.name} (-W error)", lambda s=strict: framework_suite(s, True, repeats))
        )
    for name in ("keras_scenarios", "lightning_scenarios"):
        jobs.append((name, lambda n=name: scenarios(n, repeats)))
    return jobs


def kb(size: int) -> str:
    return f"{size / 1024:,.0f} KB" if size < 10 * 1024 * 1024 else f"{size / 2**20:,.1f} MB"


def table(rows: list[Figures]) -> str:
    lines = [
        "| suite | compared | differ | runs | store on disk (apparent) | per run | "
        "off s | on s | on/off | load |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        per_run = kb(r.disk_bytes // r.runs) if r.runs else "-"
        lines.append(
            f"| {r.suite} | {r.compared} | {r.differ} | {r.runs} | {kb(r.disk_bytes)} "
            f"({kb(r.apparent_bytes)}) | {per_run} | {r.off_s:.1f} | {r.on_s:.1f} | "
            f"{r.ratio:.2f} | {r.load} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="*", default=[], help="parts of suite names to run")
    parser.add_argument("--repeats", type=int, default=1, help="runs of each side per suite")
    parser.add_argument("--json", type=Path, help="also write the rows here")
    args = parser.parse_args()
    os.environ["AUTOLOG_TESTING"] = "1"
    rows: list[Figures] = []
    for name, measure in all_suites(args.repeats):
        if args.only and not any(part.lower() in name.lower() for part in args.only):
            continue
        print(f"{time.strftime('%H:%M:%S')} {name}; {subprocess.getoutput('uptime').strip()}")
        rows.append(measure())
        print(table(rows[-1:]).splitlines()[-1], flush=True)
    print()
    print(table(rows))
    if args.json:
        args.json.write_text(json.dumps([asdict(r) for r in rows], indent=1))


if __name__ == "__main__":
    main()
