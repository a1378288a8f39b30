"""What every benchmark script shares: the spread of its samples and where its results go."""

from __future__ import annotations

import json
import statistics
from pathlib import Path

#: Each script writes its figures here as ``NAME.json`` (not tracked by git).
RESULTS = Path(__file__).resolve().parent / "results"


def spread(values: list[float]) -> tuple[float, float, float]:
    """Median and interquartile range (q1, q3); one sample is all three."""
    if len(values) == 1:
        return values[0], values[0], values[0]
    q1, _, q3 = statistics.quantiles(values, n=4)
    return statistics.median(values), q1, q3


def write_results(name: str, results: dict) -> Path:
    """Save ``results`` as ``bench/results/NAME.json``; return its path."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{name}.json"
    path.write_text(json.dumps(results, indent=2) + "\n")
    return path
