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
                experiment=header.get("experiment") or "Default",
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


#: How deeply a record's body may nest (a model manifest); deeper is malformed.
MAX_DEPTH = 32
#: The longest journal line a reader accepts (bytes); longer ones are skipped as malformed.
MAX_LINE = 4 << 20
_NUMBER = (int, float)
_KNOWN_KINDS = frozenset({"run", "params", "tags", "m", "artifact", "model", "end"})


def check_records(read: JournalRead, source: Any, run_id: str, start: int) -> list[list[Any]]:
    """The records of ``read`` fit to replay, each validated by its shape.

    A damaged line or a malformed record of a known kind is skipped with one
    warning naming the run and the line (``source``, whose ``uri`` names the
    store, is None for quiet reads such as peeks). A record of a kind this
    version does not know is skipped silently: a newer autolog may write it.
    """
    if source is not None:
        for offset in read.damaged_offsets:
            _warn_once(source, run_id, offset, "failed its checksum or is not a record")
    records, starts, ends = read.records, read.starts, read.ends
    kept: list[list[Any]] = []
    for index, record in enumerate(records):
        kind = record[0]
        if ends[index] - starts[index] > MAX_LINE:
            problem: str | None = f"is longer than {MAX_LINE >> 20} MiB"
        elif kind == "m":
            if (
                len(record) == 5
                and type(record[1]) is str
                and type(record[2]) in _NUMBER
                and type(record[3]) is int
                and type(record[4]) is int
            ):
                kept.append(record)
                continue
            problem = "is a malformed metric point"
        elif kind in _KNOWN_KINDS:
            problem = record_problem(record, run_id)
            if problem is None:
                kept.append(record)
                continue
        else:
            continue  # a kind from a newer version
        if source is not None:
            _warn_once(source, run_id, starts[index], problem)
    return kept


def record_problem(record: list[Any], run_id: str) -> str | None:
    """What is wrong with a ``run``/``params``/``tags``/``artifact``/``model``/``end``
    record's shape, or None when it can be replayed."""
    kind = record[0]
    body = record[1] if len(record) == 2 else None
    if not isinstance(body, dict):
        return f"is a {kind!r} record without its body"
    if kind in ("params", "tags"):
        if all(type(k) is str and type(v) is str for k, v in body.items()):
            return None
        return f"is a {kind!r} record whose keys and values are not all text"
    if kind == "run":
        if body.get("id") != run_id:
            return f"is a header for run {str(body.get('id'))[:40]!r}, not for this run"
        if not all(_optional(body, key, str) for key in ("name", "experiment", "parent_id")):
            return "is a header whose name, experiment or parent is not text"
        return None if _optional(body, "start_time", int) else "is a header with a bad start_time"
    if kind == "end":
        if body.get("status", FINISHED) not in STATUSES or not _optional(body, "end_time", int):
            return "is an end record with an unknown status or a bad end_time"
        return None
    if type(body.get("path")) is not str or not body["path"].strip("/"):
        return f"is an {kind!r} record without a path"
    if kind == "artifact" and not _optional(body, "size", int):
        return "is an artifact record with a bad size"
    if kind == "model" and not _shallow(body, MAX_DEPTH):
        return f"is a model record nested deeper than {MAX_DEPTH} levels"
    return None


def _optional(body: dict[str, Any], key: str, kind: type) -> bool:
    value = body.get(key)
    return value is None or (type(value) is kind)


def _shallow(value: Any, limit: int) -> bool:
    """Whether ``value`` nests at most ``limit`` containers deep (checked without recursion)."""
    pending = [(value, 1)]
    while pending:
        item, depth = pending.pop()
        if isinstance(item, dict):
            item = list(item.values())
        if isinstance(item, list):
            if depth > limit:
                return False
            pending.extend((child, depth + 1) for child in item if isinstance(child, dict | list))
    return True


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
