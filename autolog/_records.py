"""What a run looks like when read back, and how a journal replays into it.

Record types in a journal (first element of each JSON array):

============  =====================================================================
``run``       ``["run", {id, name, experiment, parent_id, start_time, version}]``, first
``params``    ``["params", {key: text}]``
``tags``      ``["tags", {key: text}]``
``m``         ``["m", key, value, step, timestamp]``, one metric point
``artifact``  ``["artifact", {path, size, sha256}]``, a file under ``artifacts/``
``model``     ``["model", {path, flavor, ...manifest}]``, the run's model directory
``end``       ``["end", {status, end_time}]``
============  =====================================================================

Any backend that receives these records can rebuild the same :class:`RunRecord`.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .errors import AutologWarning

if TYPE_CHECKING:
    from ._journal import JournalRead

RUNNING, FINISHED, FAILED, KILLED = "RUNNING", "FINISHED", "FAILED", "KILLED"
STATUSES = (RUNNING, FINISHED, FAILED, KILLED)

#: Tags that are bookkeeping of the HTTP backend or MLflow, not the user's labels.
HIDDEN_TAGS = frozenset(
    {"autolog.run_id", "autolog.parent_id", "autolog.model", "mlflow.runName", "mlflow.parentRunId"}
)


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

    @property
    def duration(self) -> float | None:
        """Seconds from start to end, ``None`` while running."""
        if self.end_time is None:
            return None
        return (self.end_time - self.start_time) / 1000


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
        elif kind == "end":
            run.status = record[1].get("status", FINISHED)
            run.end_time = record[1].get("end_time")

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


def visible_tags(tags: dict[str, str]) -> dict[str, str]:
    """The run's tags without the bookkeeping ones (:data:`HIDDEN_TAGS`)."""
    return {key: value for key, value in tags.items() if key not in HIDDEN_TAGS}


def encode_float(value: float | None) -> float | str | None:
    """A float for JSON: NaN and infinities as the strings MLflow uses, others unchanged."""
    if value is None or value - value == 0.0:
        return value
    return "NaN" if value != value else ("Infinity" if value > 0 else "-Infinity")


def header_of(records: list[list[Any]]) -> dict[str, Any] | None:
    """The run's header: the body of the first record, if that record is ``run``."""
    if records and records[0][0] == "run" and isinstance(records[0][1], dict):
        return records[0][1]
    return None


_warned: set[tuple[str, str, int]] = set()


def check_records(read: JournalRead, source: Any, run_id: str, start: int) -> list[list[Any]]:
    """The records of ``read`` fit to replay; damage is warned about once per line.

    ``source`` (whose ``uri`` names the store) is None for quiet reads such as peeks.
    """
    if source is not None:
        for offset in read.damaged_offsets:
            _warn_once(source, run_id, offset, "failed its checksum or is not a record")
    return read.records


def _warn_once(source: Any, run_id: str, offset: int, problem: str) -> None:
    key = (str(getattr(source, "uri", "")), run_id, offset)
    if key in _warned:
        return
    _warned.add(key)
    line = _line_number(source, run_id, offset)
    where = f"line {line} (byte {offset})" if line else f"the line at byte {offset}"
    warnings.warn(
        f"run {run_id} in {key[0]}: {where} of its journal {problem}; it was skipped, "
        "the rest of the run reads as usual",
        AutologWarning,
        stacklevel=4,
    )


def _line_number(source: Any, run_id: str, offset: int) -> int | None:
    """The 1-based line that starts at ``offset``, counted only when damage is reported."""
    try:
        before = source.read_bytes(run_id, 0, offset) if offset < (64 << 20) else None
    except Exception:  # a count for a message must never fail the read
        return None
    return None if before is None else before.count(b"\n") + 1
