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

import re
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from ._plain import Fields, Frozen, field
from ._warnings import warn

if TYPE_CHECKING:
    from ._journal import JournalRead

#: A run id: 32 lowercase hexadecimal digits (a uuid4 without dashes).
RUN_ID = re.compile(r"[0-9a-f]{32}")
RUNNING, FINISHED, FAILED, KILLED = "RUNNING", "FINISHED", "FAILED", "KILLED"
STATUSES = (RUNNING, FINISHED, FAILED, KILLED)

#: Tags that are bookkeeping of the HTTP backend or MLflow, not the user's labels.
HIDDEN_TAGS = frozenset(
    {"autolog.run_id", "autolog.parent_id", "autolog.model", "mlflow.runName", "mlflow.parentRunId"}
)


class MetricPoint(Frozen):
    """One logged value of a metric: ``step`` (epoch or counter), ``value``, ``timestamp`` (ms)."""

    step: int
    value: float
    timestamp: int

    def __init__(self, step: int, value: float, timestamp: int) -> None:
        self._set(step=step, value=value, timestamp=timestamp)


class RunRecord(Fields):
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


def is_run_id(text: object) -> bool:
    """Whether ``text`` is a run id (and so safe as one path component)."""
    return isinstance(text, str) and RUN_ID.fullmatch(text) is not None


def artifact_names(record: list[Any]) -> list[str]:
    """The artifact files an ``artifact`` or ``model`` record names (paths in artifacts/)."""
    body = record[1]
    if record[0] == "artifact":
        return [body["path"]]
    base = str(body.get("path") or "model").strip("/")
    files = body.get("files")
    if isinstance(files, dict):
        return [f"{base}/{name}" for name in files if isinstance(name, str)]
    if isinstance(files, list):
        return [f"{base}/{name}" for name in files if isinstance(name, str)]
    return []


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
_KNOWN_KINDS = frozenset(
    {"run", "params", "tags", "m", "artifact", "model", "inputs", "end", "rename", "untag"}
) | {"lifecycle"}
#: Records an edit appends after the run (autolog._curation): not the run's own activity.
EDITS = frozenset({"rename", "untag", "lifecycle", "tags"})


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
        if source is not None and problem is not None:
            _warn_once(source, run_id, starts[index], problem)
    return kept


def record_problem(record: list[Any], run_id: str) -> str | None:
    """What is wrong with the shape of a record of a known kind other than ``m``,
    or None when it can be replayed."""
    kind = record[0]
    body = record[1] if len(record) == 2 else None
    if kind == "inputs":
        if isinstance(body, list) and all(_is_input(item) for item in body):
            return None
        return "is an inputs record that is not a list of dataset inputs"
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
    if kind == "rename":
        return None if type(body.get("name")) is str else "is a rename record without a name"
    if kind == "untag":
        keys = body.get("keys")
        if isinstance(keys, list) and all(type(key) is str for key in keys):
            return None
        return "is an untag record whose keys are not a list of text"
    if kind == "lifecycle":
        if body.get("stage") in ("active", "deleted"):
            return None
        return "is a lifecycle record whose stage is not 'active' or 'deleted'"
    if type(body.get("path")) is not str or not body["path"].strip("/"):
        return f"is an {kind!r} record without a path"
    if kind == "artifact" and not _optional(body, "size", int):
        return "is an artifact record with a bad size"
    if kind == "model" and not _shallow(body, MAX_DEPTH):
        return f"is a model record nested deeper than {MAX_DEPTH} levels"
    return None


def _is_input(item: Any) -> bool:
    """Whether ``item`` has the shape of one dataset input (see autolog._datasets)."""
    if not isinstance(item, dict) or not isinstance(item.get("dataset", {}), dict):
        return False
    tags = item.get("tags", {})
    return isinstance(tags, dict) and _shallow(item, MAX_DEPTH)


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
    warn(
        f"run {run_id} in {key[0]}: {where} of its journal {problem}; it was skipped, "
        "the rest of the run reads as usual"
    )


def _line_number(source: Any, run_id: str, offset: int) -> int | None:
    """The 1-based line that starts at ``offset``, counted only when damage is reported."""
    try:
        before = source.read_bytes(run_id, 0, offset) if offset < (64 << 20) else None
    except Exception:  # a count for a message must never fail the read
        return None
    return None if before is None else before.count(b"\n") + 1
