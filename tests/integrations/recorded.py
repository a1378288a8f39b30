"""Reading back what an integration recorded, shared by the integration tests."""

from __future__ import annotations

import autolog


def only_run() -> autolog.RunRecord:
    """The one run in the configured store; fails listing the names if there are more."""
    runs = autolog.search_runs()
    assert len(runs) == 1, [run.name for run in runs]
    return runs[0]


def steps(run_id: str, key: str) -> list[int]:
    """The steps at which metric ``key`` was logged, in order."""
    return [point.step for point in autolog.get_metric_history(run_id, key)]


def values(run_id: str, key: str) -> list[float]:
    """The values logged for metric ``key``, in order."""
    return [point.value for point in autolog.get_metric_history(run_id, key)]
