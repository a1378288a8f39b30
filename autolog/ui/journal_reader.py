"""The UI's reader over journals (``autolog ui``): replay each run once, then only what is new.

Replaying 5,000 journals on every request would make every page slow, so:

* the listing (at most once a second) only stats the journals, and for a new or
  changed run that was never replayed it reads the first and last lines
  (:meth:`autolog._reader.JournalReader.peek`): enough for the
  experiments page, whatever the size of the journals;
* a page replays the runs it shows, and a :class:`CachedRun` remembers how many
  bytes it has read, so the next request reads only what was appended since
  (journals are append-only); an unchanged run is not even opened;
* ``autolog ui`` replays everything in the background at start, smallest
  journals first, so the first pages are quick and a long history is usually
  ready before anyone opens its chart.

Each run has its own lock, so one huge journal being replayed never holds up a
page about other runs. Metric points are kept as arrays (see
:mod:`autolog.ui.series`); they are the only thing that can grow large, and the
least recently used are dropped beyond :data:`SERIES_BUDGET_POINTS` and rebuilt
from the journal when a chart asks for them again.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import replace
from typing import Any

from .._filter import parse_filter
from .._reader import Peek
from .._records import RUNNING, RunRecord, RunReplay, visible_tags
from .._store import LocalStore
from ..errors import InvalidFilterError, RunNotFoundError
from ..sources import JournalSource, is_run_id
from .readers import (
    Artifact,
    ArtifactFile,
    BadRequest,
    ExperimentSummary,
    MetricSummary,
    NotFound,
    RunDetail,
)
from .series import Budget, Series

SERIES_BUDGET_POINTS = 8_000_000  # about 190 MB of arrays


class CachedRun:
    """One run: what its journal's ends say, then its replay up to byte ``offset``."""

    def __init__(self, run_id: str) -> None:
        self.run_id = run_id
        self.lock = threading.Lock()
        self.peeked: Peek | None = None
        self.listed: Any = None  # the signature last seen in a listing
        self.reset()

    def reset(self) -> None:
        """Forget the replay: at creation, and when the journal was replaced by a shorter one."""
        self.replayed: Any = None  # the signature the replay caught up with
        self.replay = RunReplay()
        self.offset = 0
        self.metrics: dict[str, MetricSummary] = {}
        self.artifacts: dict[str, int | None] = {}
        self.series: dict[str, Series] | None = {}  # None once evicted
        self.last_activity = 0

    @property
    def record(self) -> RunRecord | None:
        return self.replay.run

    @property
    def header(self) -> dict[str, Any]:
        return (self.peeked.header if self.peeked else None) or {}

    @property
    def experiment(self) -> str | None:
        if self.record is not None:
            return self.record.experiment
        return (self.header.get("experiment") or "Default") if self.header else None

    @property
    def parent_id(self) -> str | None:
        return self.record.parent_id if self.record is not None else self.header.get("parent_id")

    @property
    def status(self) -> str:
        if self.record is not None:
            return self.record.status
        return self.peeked.status if self.peeked else RUNNING

    @property
    def activity(self) -> int:
        return self.last_activity or (self.peeked.last_activity if self.peeked else 0)

    @property
    def points(self) -> int:
        return sum(len(s) for s in (self.series or {}).values())

    def feed(self, records: list[list[Any]]) -> None:
        """Apply records read after ``offset``: the run, its metric summaries and arrays."""
        series = self.series
        for record in records:
            self.replay.apply(record)
            kind = record[0]
            if kind == "m":
                _, key, value, step, timestamp = record
                summary = self.metrics.get(key)
                if summary is None:
                    summary = self.metrics[key] = MetricSummary(key, value)
                summary.include(value, step)
                if series is not None:
                    points = series.get(key)
                    if points is None:
                        points = series[key] = Series()
                    points.append(step, value, timestamp)
                if timestamp > self.last_activity:
                    self.last_activity = timestamp
            elif kind == "artifact":
                self.artifacts[record[1]["path"]] = record[1].get("size")
            elif kind in ("run", "end"):
                moment = record[1].get("start_time") or record[1].get("end_time") or 0
                self.last_activity = max(self.last_activity, moment)

    def rebuild_series(self, chunks: Iterable[list[list[Any]]]) -> None:
        """Fill the metric arrays again from the start of the journal, after an eviction."""
        series: dict[str, Series] = {}
        for records in chunks:
            for record in records:
                if record[0] == "m":
                    _, key, value, step, timestamp = record
                    points = series.get(key)
                    if points is None:
                        points = series[key] = Series()
                    points.append(step, value, timestamp)
        self.series = series

    def snapshot(self) -> RunRecord:
        """A copy the API can read while the cache goes on updating the original."""
        with self.lock:
            run = self.record
            assert run is not None
            return replace(
                run,
                params=dict(run.params),
                metrics=dict(run.metrics),
                tags=dict(run.tags),
                artifacts=list(run.artifacts),
            )


class JournalReader:
    """The :class:`~autolog.ui.readers.Reader` over journals; see the module docstring."""

    def __init__(self, journals: JournalSource, kind: str = "local") -> None:
        self.journals = journals
        self.core = journals.journal_reader
        self.source = journals.uri
        self.kind = kind
        self._runs: dict[str, CachedRun] = {}
        self._lock = threading.Lock()  # the dict of runs and the budget
        self._listing = threading.Lock()  # one listing at a time
        self._listed_at = -1e9
        self._budget = Budget(SERIES_BUDGET_POINTS, self._drop_series)

    # -- keeping the cache fresh -------------------------------------------

    def refresh(self, force: bool = False) -> None:
        """Learn of new, changed and removed runs, at most once per the source's interval."""
        with self._listing:
            if not force and time.monotonic() - self._listed_at < self.journals.listing_interval:
                return
            signatures = self.journals.signatures()
            with self._lock:
                for gone in set(self._runs) - set(signatures):
                    del self._runs[gone]
                    self._budget.forget(gone)
                changed = []
                for run_id, signature in signatures.items():
                    cached = self._runs.get(run_id)
                    if cached is None:
                        cached = self._runs[run_id] = CachedRun(run_id)
                    if cached.listed != signature:
                        changed.append((cached, signature))
            for cached, signature in changed:
                cached.listed = signature
                if cached.replayed is not None:
                    self._replay(cached)  # keep a replayed run exact: read the new bytes
                else:
                    cached.peeked = self.core.peek(cached.run_id, signature)
            self._listed_at = time.monotonic()

    def warm_up(self) -> None:
        """List every run, then replay them all, smallest journals first (in the background)."""
        self.refresh(force=True)
        for cached in sorted(self._all(), key=lambda c: c.listed[0] if c.listed else 0):
            self._replay(cached)

    def _all(self) -> list[CachedRun]:
        with self._lock:
            return list(self._runs.values())

    def _replay(self, cached: CachedRun) -> None:
        """Read what was appended to the run's journal since the last replay."""
        with cached.lock:
            if cached.replayed is not None and cached.replayed == cached.listed:
                return
            size = cached.listed[0] if cached.listed else 0
            if size < cached.offset:
                cached.reset()
            try:
                for records, end in self.core.records(cached.run_id, cached.offset):
                    cached.feed(records)
                    cached.offset = end
            except RunNotFoundError:
                pass  # removed meanwhile: the next listing forgets it
            cached.replayed = cached.listed
            points = cached.points if cached.series is not None else None
        if points is not None:
            with self._lock:
                self._budget.use(cached.run_id, points)

    def _current(self, run_id: str) -> CachedRun:
        """One run brought up to date now (cheap when unchanged); NotFound if absent."""
        if not is_run_id(run_id):
            raise NotFound(f"{run_id!r} is not a run id (32 hexadecimal digits)")
        signature = self.journals.signature(run_id)
        if signature is None:
            raise NotFound(f"no run {run_id} in {self.source}")
        with self._lock:
            cached = self._runs.setdefault(run_id, CachedRun(run_id))
        cached.listed = signature
        self._replay(cached)
        if cached.record is None:
            raise NotFound(f"run {run_id} in {self.source} has no readable header yet")
        return cached

    def _drop_series(self, run_id: str) -> None:
        cached = self._runs.get(run_id)
        if cached is not None:
            cached.series = None

    # -- the Reader interface ----------------------------------------------

    def experiments(self) -> list[ExperimentSummary]:
        self.refresh()
        found: dict[str, ExperimentSummary] = {}
        for cached in self._all():
            name = cached.experiment
            if name is None:
                continue
            summary = found.setdefault(name, ExperimentSummary(name))
            summary.runs += 1
            summary.running += cached.status == RUNNING
            summary.last_activity = max(summary.last_activity or 0, cached.activity)
        return list(found.values())

    def runs(self, experiment: str, filter_text: str | None) -> tuple[list[RunRecord], int]:
        try:
            run_filter = parse_filter(filter_text)
        except InvalidFilterError as exc:
            raise BadRequest(str(exc)) from None
        self.refresh()
        members = [c for c in self._all() if c.experiment == experiment]
        if not members:
            raise NotFound(f"no experiment named {experiment!r} in {self.source}")
        for cached in members:
            self._replay(cached)
        runs = [c.snapshot() for c in members if c.record is not None]
        return [run for run in runs if run_filter.matches(run)], len(runs)

    def run(self, run_id: str) -> RunDetail:
        cached = self._current(run_id)
        self.refresh()
        related = [c for c in self._all() if c.parent_id == run_id]
        with self._lock:
            parent = self._runs.get(cached.parent_id or "")
        for other in [*related, *([parent] if parent else [])]:
            self._replay(other)
        children = sorted(
            (c.snapshot() for c in related if c.record is not None),
            key=lambda r: (r.start_time, r.id),
        )
        run = cached.snapshot()
        run.tags = visible_tags(run.tags)
        with cached.lock:
            metrics = [
                replace(summary, latest=run.metrics.get(key, summary.latest))
                for key, summary in sorted(cached.metrics.items())
            ]
            artifacts = [Artifact(path, size) for path, size in sorted(cached.artifacts.items())]
        return RunDetail(
            record=run,
            metrics=metrics,
            artifacts=artifacts,
            parent=parent.snapshot() if parent and parent.record else None,
            children=children,
        )

    def metric(self, run_id: str, key: str) -> tuple[Series, str]:
        cached = self._current(run_id)
        with cached.lock:
            if cached.series is None:
                cached.rebuild_series(
                    records for records, _end in self.core.records(run_id, 0, cached.offset)
                )
            assert cached.series is not None and cached.record is not None
            series, status, points = cached.series.get(key), cached.record.status, cached.points
        with self._lock:
            self._budget.use(run_id, points)
        if series is None:
            raise NotFound(f"run {run_id} has no metric {key!r}")
        return series, status

    def artifact(self, run_id: str, path: str) -> ArtifactFile:
        cached = self._current(run_id)
        if path not in cached.artifacts:
            raise NotFound(f"run {run_id} has no artifact {path!r}")
        try:
            return self.journals.open_artifact(run_id, path)
        except ValueError as exc:
            raise BadRequest(str(exc)) from None
        except RunNotFoundError as exc:
            raise NotFound(str(exc)) from None


def open_reader(store: str, resolve_backend: Callable[[str], Any] | None = None) -> JournalReader:
    """The reader for ``autolog ui STORE``: a folder path, ``file:`` URI or blob URI.

    Any backend that is a :class:`~autolog.sources.JournalSource` (the Azure
    backend, a plugin's) can be shown.
    """
    from .._store import local_path

    folder = local_path(store)
    if folder is not None:
        if not folder.is_dir():
            raise NotFound(
                f"no local store at {str(folder)!r}: run your training first (autolog writes "
                "./autolog-runs by default) or give the store's folder: autolog ui PATH"
            )
        return JournalReader(LocalStore(folder), "local")
    if store.startswith(("http://", "https://")):
        raise BadRequest(
            f"{store} is a tracking server: it serves this UI itself, open {store} in a browser"
        )
    assert resolve_backend is not None
    backend = resolve_backend(store)
    if not isinstance(backend, JournalSource):
        raise BadRequest(
            f"autolog ui reads stores of journals (local folders, blob containers, plugin "
            f"stores); {store!r} is not one"
        )
    return JournalReader(backend, "blob")
