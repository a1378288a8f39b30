"""The UI's reader over journals (``autolog ui``): listings from the index, charts from journals.

Every page but the charts is answered by the derived index of the store
(:mod:`autolog._index`), the same one ``search_runs`` and ``autolog runs ls``
use, so a page costs what it shows, not what the store holds: the runs table
is one indexed query, a run page a few more, after catching up only the runs
that changed (see the index's docstring for how that is noticed cheaply).

Metric points are the one thing the index does not keep: a chart reads them
from the run's journal, from the offset it read up to last time, into arrays
(:mod:`autolog.ui.series`); the least recently used arrays are dropped beyond
:data:`SERIES_BUDGET_POINTS` and rebuilt from the journal when asked again.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from .. import _index_query as query
from .._filter import parse_filter
from .._records import RunRecord, visible_tags
from .._store import LocalStore
from ..errors import InvalidFilterError, RunNotFoundError
from ..sources import JournalSource, is_run_id
from . import readers
from .readers import BadRequest, NotFound
from .registry import LocalModels
from .series import Budget, Series

SERIES_BUDGET_POINTS = 8_000_000  # about 190 MB of arrays
#: Most runs the runs table of one experiment shows (newest first); the total is said.
MAX_TABLE_RUNS = 1000


class _Charted:
    """The metric arrays of one run, read from its journal up to byte ``offset``."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.offset = 0
        self.series: dict[str, Series] = {}

    @property
    def points(self) -> int:
        return sum(len(s) for s in self.series.values())


class JournalReader:
    """The :class:`~autolog.ui.readers.Reader` over any store of journals."""

    def __init__(self, journals: JournalSource, kind: str = "local") -> None:
        self.journals = journals
        self.core = journals.journal_reader
        self.source = journals.uri
        self.kind = kind
        self._charts: dict[str, _Charted] = {}
        self._lock = threading.Lock()
        self._budget = Budget(SERIES_BUDGET_POINTS, self._drop_series)

    def warm_up(self) -> None:
        """Catch the index up (at start, in the background, so the first page is quick)."""
        self.core.index.use(lambda conn: None)

    def experiments(self) -> list[readers.ExperimentSummary]:
        rows = self.core.index.use(query.experiments)
        return [
            readers.ExperimentSummary(name, n, int(running or 0), last)
            for name, n, running, last in rows
        ]

    def runs(
        self, experiment: str, filter_text: str | None, deleted: bool = False
    ) -> tuple[list[RunRecord], int]:
        try:
            parse_filter(filter_text)
        except InvalidFilterError as exc:
            raise BadRequest(str(exc)) from None
        page = self.core.search(experiment, filter_text, None, MAX_TABLE_RUNS, deleted=deleted)

        def counts(conn: Any) -> tuple[int, int]:
            return query.count(conn, experiment, True), query.count(conn, experiment, deleted)

        every, total = self.core.index.use(counts)
        if not every:
            raise NotFound(f"no experiment named {experiment!r} in {self.source}")
        return page.runs, total

    def run(self, run_id: str) -> readers.RunDetail:
        self._check_id(run_id)

        def detail(conn: Any) -> readers.RunDetail:
            found = query.records(conn, [run_id])
            if not found:
                raise NotFound(f"run {run_id} in {self.source} has no readable header yet")
            run = found[0]
            run.tags = visible_tags(run.tags)
            summaries = [
                readers.MetricSummary(*row) for row in query.metric_summaries(conn, run_id)
            ]
            sizes = query.artifact_sizes(conn, run_id)
            parent = query.records(conn, [run.parent_id]) if run.parent_id else []
            return readers.RunDetail(
                record=run,
                metrics=summaries,
                artifacts=[readers.Artifact(path, size) for path, size in sorted(sizes.items())],
                parent=parent[0] if parent else None,
                children=query.records(conn, query.children(conn, run_id)),
            )

        return self._on_run(run_id, detail)

    def metric(self, run_id: str, key: str) -> tuple[Series, str]:
        self._check_id(run_id)
        status = self._on_run(run_id, lambda conn: query.records(conn, [run_id])[0].status)
        with self._lock:
            charted = self._charts.setdefault(run_id, _Charted())
        with charted.lock:
            signature = self.journals.signature(run_id)
            if signature is not None and signature[0] < charted.offset:
                charted.offset, charted.series = 0, {}  # the journal was replaced
            try:
                for records, end, _last in self.core.records(run_id, charted.offset):
                    for record in records:
                        if record[0] == "m":
                            line = charted.series.get(record[1])
                            if line is None:
                                line = charted.series[record[1]] = Series()
                            line.append(record[3], record[2], record[4])
                    charted.offset = end
            except RunNotFoundError as exc:
                raise NotFound(str(exc)) from None
            series, points = charted.series.get(key), charted.points
        with self._lock:
            self._budget.use(run_id, points)
        if series is None:
            raise NotFound(f"run {run_id} has no metric {key!r}")
        return series, status

    def artifact(self, run_id: str, path: str) -> readers.ArtifactFile:
        self._check_id(run_id)
        sizes = self._on_run(run_id, lambda conn: query.artifact_sizes(conn, run_id))
        if path not in sizes:
            raise NotFound(f"run {run_id} has no artifact {path!r}")
        try:
            return self.journals.open_artifact(run_id, path)
        except ValueError as exc:
            raise BadRequest(str(exc)) from None
        except RunNotFoundError as exc:
            raise NotFound(str(exc)) from None

    # -- the model registry: the local store's (autolog.ui.registry) ---------

    def registered_models(self) -> list[dict[str, Any]]:
        return self._registry().registered_models()

    def registered_model(self, name: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        return self._registry().registered_model(name)

    def model_version(self, name: str, version: str) -> dict[str, Any]:
        return self._registry().model_version(name, version)

    def _registry(self) -> LocalModels:
        if not isinstance(self.journals, LocalStore):
            raise NotFound(
                f"{self.source} keeps no model registry: a local store or a tracking server does"
            )
        return LocalModels(self.journals.root)

    def _check_id(self, run_id: str) -> None:
        if not is_run_id(run_id):
            raise NotFound(f"{run_id!r} is not a run id (32 hexadecimal digits)")

    def _on_run(self, run_id: str, work: Callable[[Any], Any]) -> Any:
        """``work`` on the index once this run is caught up; NotFound if it is not there."""
        try:
            return self.core.index.run(run_id, work)
        except (RunNotFoundError, IndexError):
            raise NotFound(f"no run {run_id} with a readable header in {self.source}") from None

    def _drop_series(self, run_id: str) -> None:
        self._charts.pop(run_id, None)  # called by the budget, under self._lock


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
