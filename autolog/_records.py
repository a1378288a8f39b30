"""What a run looks like when read back, and how a journal replays into it.

Record types in a journal (first element of each JSON array):

============  =====================================================================
``run``       ``["run", {id, name, experiment, parent_id, start_time, version}]``, first
``params``    ``["params", {key: text}]``
``tags``      ``["tags", {key: text}]``
``m``         ``["m", key, value, step, timestamp]``, one metric point
``artifact``  ``["artifact", {path, size, sha256}]``, a file under ``artifacts/``
``model``     ``["model", {path, flavor, ...manifest}]``, the run's model directory
``inputs``    ``["inputs", [{dataset: {name, digest, source_type, source, schema,
              profile}, tags: {key: text}}]]``, MLflow dataset inputs (see _datasets)
``end``       ``["end", {status, end_time}]``
``rename``    ``["rename", {name, time}]``, an edit made after the run (``autolog runs rename``)
``untag``     ``["untag", {keys: [key, ...], time}]``, tags removed by an edit
``lifecycle`` ``["lifecycle", {stage: "deleted" | "active", time}]``, soft delete and restore
============  =====================================================================

Edits (see :mod:`autolog._curation`) are appended like any other record, so a
run's history of edits stays in its journal and replicas receive them in order.

Any backend that receives these records can rebuild the same :class:`RunRecord`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

RUNNING, FINISHED, FAILED, KILLED = "RUNNING", "FINISHED", "FAILED", "KILLED"
STATUSES = (RUNNING, FINISHED, FAILED, KILLED)


@dataclass(frozen=True)
class MetricPoint:
    """One logged value of a metric: ``step`` (epoch or counter), ``value``, ``timestamp`` (ms)."""

    step: int
    value: float
    timestamp: int


@dataclass
class RunRecord:
    """A run as read back from a backend.

    ``metrics`` holds the latest value of each metric (by step, then time);
    the full series is available through :func:`autolog.get_metric_history`.
    """

    id: str
    name: str
    experiment: str
    status: str = RUNNING
    parent_id: str | None = None
    start_time: int = 0
    end_time: int | None = None
    params: dict[str, str] = field(default_factory=dict)
    metrics: dict[str, float] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)
    artifacts: list[str] = field(default_factory=list)
    model: dict[str, Any] | None = None
    #: "active", or "deleted" once soft-deleted (MLflow's lifecycle_stage).
    lifecycle_stage: str = "active"
    inputs: list[dict[str, Any]] = field(default_factory=list)

    @property
    def duration(self) -> float | None:
        """Seconds from start to end, ``None`` while running."""
        if self.end_time is None:
            return None
        return (self.end_time - self.start_time) / 1000


def add_inputs(inputs: list[dict[str, Any]], new: Iterable[dict[str, Any]]) -> None:
    """Add dataset inputs to ``inputs``, each (name, digest, context) once, as MLflow keeps them."""
    seen = {_input_key(item) for item in inputs}
    for item in new:
        if _input_key(item) not in seen:
            seen.add(_input_key(item))
            inputs.append(item)


def _input_key(item: dict[str, Any]) -> tuple[str, str, str]:
    dataset = item.get("dataset", {})
    context = item.get("tags", {}).get("mlflow.data.context", "")
    return dataset.get("name", ""), dataset.get("digest", ""), context


class RunReplay:
    """Rebuilds a :class:`RunRecord` (and optionally metric histories) from records."""

    def __init__(self, keep_history: str | bool = False) -> None:
        self.run: RunRecord | None = None
        self._keep = keep_history
        self._latest: dict[str, tuple[int, int]] = {}
        self.history: dict[str, list[MetricPoint]] = {}

    def feed(self, records: Iterable[list[Any]]) -> RunReplay:
        for record in records:
            self.apply(record)
        return self

    def apply(self, record: list[Any]) -> None:
        kind = record[0]
        if kind == "m":
            self._metric(record)
            return
        if kind == "run":
            header = record[1]
            self.run = RunRecord(
                id=header["id"],
                name=header.get("name") or header["id"][:8],
                experiment=header.get("experiment", "Default"),
                parent_id=header.get("parent_id"),
                start_time=header.get("start_time", 0),
            )
            return
        run = self.run
        if run is None:
            return
        if kind == "params":
            run.params.update(record[1])
        elif kind == "tags":
            run.tags.update(record[1])
        elif kind == "artifact":
            path = record[1]["path"]
            if path not in run.artifacts:
                run.artifacts.append(path)
        elif kind == "model":
            run.model = record[1]
        elif kind == "inputs":
            add_inputs(run.inputs, record[1])
        elif kind == "end":
            run.status = record[1].get("status", FINISHED)
            run.end_time = record[1].get("end_time")
        elif kind == "rename":
            run.name = record[1].get("name") or run.name
        elif kind == "untag":
            for key in record[1].get("keys", ()):
                run.tags.pop(key, None)
        elif kind == "lifecycle":
            run.lifecycle_stage = record[1].get("stage", "active")

    def _metric(self, record: list[Any]) -> None:
        _, key, value, step, timestamp = record
        run = self.run
        if run is not None:
            order = (step, timestamp)
            if key not in self._latest or order >= self._latest[key]:
                self._latest[key] = order
                run.metrics[key] = value
        if self._keep is True or self._keep == key:
            self.history.setdefault(key, []).append(MetricPoint(step, value, timestamp))
