"""Keras and Lightning scripts train the same with autolog on as off (see scenario_runner.py).

As for the shipped suites, the side without autolog is kept in pytest's cache
(see frameworks.py); without a cached one, the two sides run at the same time.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from .frameworks import Cache, baseline_key, both_sides, load_baseline, save_baseline

RUNNER = Path(__file__).with_name("scenario_runner.py")


def run_scenarios(module: str, folder: Path, side: str) -> dict:
    """All of ``module``'s scenarios in one fresh process, autolog ``on`` or ``off``."""
    work = folder / side
    work.mkdir(parents=True)
    out = work / "out.json"
    env = {**os.environ, "KERAS_BACKEND": "torch", "OMP_NUM_THREADS": "1", "PYTHONHASHSEED": "0"}
    process = subprocess.run(
        [sys.executable, str(RUNNER), module, str(out), side],
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert out.is_file(), process.stdout[-3000:] + process.stderr[-3000:]
    return json.loads(out.read_text())


def different_scenarios(off: dict, on: dict) -> list[str]:
    lines = []
    for name, before in off["scenarios"].items():
        after = on["scenarios"][name]
        for key in ("exception", "weights", "losses", "rng"):
            if before[key] != after[key]:
                lines.append(f"{name}: {key} differs: {before[key]!r} -> {after[key]!r}")
    return lines


@pytest.mark.slow
@pytest.mark.parametrize("module", ["keras_scenarios", "lightning_scenarios"])
def test_scenarios_observe_the_same_with_autolog_on(
    module: str, tmp_path: Path, baselines: Cache | None
) -> None:
    """Same final weights, losses, exceptions and global RNG state after, scenario by scenario."""
    key = baseline_key(module, RUNNER.parent)
    off = load_baseline(baselines, module, key)
    cached = off is not None
    if cached:
        on = run_scenarios(module, tmp_path, "on")
    else:
        off, on = both_sides(
            lambda: run_scenarios(module, tmp_path, "off"),
            lambda: run_scenarios(module, tmp_path, "on"),
        )
        save_baseline(baselines, module, key, off)
    found = different_scenarios(off, on)
    if found and cached:  # the cache may be stale in a way its key does not see
        off = run_scenarios(module, tmp_path / "fresh", "off")
        save_baseline(baselines, module, key, off)
        found = different_scenarios(off, on)
    print(
        f"{module}: {len(off['scenarios'])} scenarios compared, {len(found)} differ; "
        f"{on['runs']} runs recorded, store {on['bytes']} bytes"
    )
    assert on["runs"] > 0
    assert not found, "\n".join(found)
