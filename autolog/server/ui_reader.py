"""The UI's reader over the tracking server's SQL store, for ``autolog server``.

Runs are read with a few set-based queries per page (runs, then their params,
latest metrics and parent tags), never one query per run, so the runs page of
an experiment with 5,000 runs costs the same handful of statements. A filter
is translated to SQL by :mod:`autolog.server.search`, exactly as ``runs/search``
does, so the page and the REST API always agree.

Metric histories are cached in memory as arrays (see :mod:`autolog.ui.series`)
and kept current by reading only rows with a larger id than the last one read,
which the ``metric_points_by_id`` index (migration 3) makes a single index
probe when nothing changed. Runs logged by autolog's HTTP backend keep their
bookkeeping in tags (``mlflow.parentRunId``, ``autolog.model``), read here.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any
from urllib.parse import urlsplit

import sqlalchemy as sa

from .._records import RunRecord
from ..ui.readers import (
    Artifact,
    ArtifactFile,
    BadRequest,
    ExperimentSummary,
    MetricSummary,
    NotFound,
    RunDetail,
    parse_model_tag,
    visible_tags,
)
from ..ui.series import Budget, Series
from . import search
from .artifacts import ArtifactStore, normalise_path
from .errors import ApiError
from .schema import experiments, latest_metrics, metrics, params, runs, tags
from .store import TrackingStore

SERIES_BUDGET_POINTS = 8_000_000
MAX_LISTED_ARTIFACTS = 10_000
PARENT_TAG, RUN_ID_TAG, MODEL_TAG = "mlflow.parentRunId", "autolog.run_id", "autolog.model"
_ACTIVE = "active"
NAN = float("nan")


class SqlReader:
    """The :class:`~autolog.ui.readers.Reader` over a :class:`TrackingStore` and its artifacts."""

    kind = "server"

    def __init__(self, store: TrackingStore, artifacts: ArtifactStore) -> None:
        self.store = store
        self.db = store.db
        self.artifacts = artifacts
        self.source = self.db.display_url
        self._series: dict[tuple[str, str], tuple[Series, int]] = {}
        self._series_lock = threading.Lock()
        self._budget = Budget(SERIES_BUDGET_POINTS, self._series.pop)

    def experiments(self) -> list[ExperimentSummary]:
        running = sa.func.sum(sa.case((runs.c.status == "RUNNING", 1), else_=0))
        joined = experiments.outerjoin(
            runs,
            sa.and_(
                runs.c.experiment_id == experiments.c.experiment_id,
                runs.c.lifecycle_stage == _ACTIVE,
            ),
        )
        query = (
            sa.select(
                experiments.c.experiment_id,
                experiments.c.name,
                sa.func.count(runs.c.run_uuid),
                running,
                sa.func.max(runs.c.start_time),
                sa.func.max(runs.c.end_time),
            )
            .select_from(joined)
            .where(experiments.c.lifecycle_stage == _ACTIVE)
            .group_by(experiments.c.experiment_id, experiments.c.name)
        )
        metric_activity = (
            sa.select(runs.c.experiment_id, sa.func.max(latest_metrics.c.timestamp))
            .join(runs, runs.c.run_uuid == latest_metrics.c.run_uuid)
            .where(runs.c.lifecycle_stage == _ACTIVE)
            .group_by(runs.c.experiment_id)
        )
        with self.db.read() as conn:
            rows = conn.execute(query).all()
            latest = dict(conn.execute(metric_activity).all())
        found = []
        for number, name, count, now_running, started, ended in rows:
            moments = [m for m in (started, ended, latest.get(number)) if m]
            found.append(
                ExperimentSummary(name, count, int(now_running or 0), max(moments, default=None))
            )
        return found

    def runs(
        self, experiment: str, filter_text: str | None, deleted: bool = False
    ) -> tuple[list[RunRecord], int]:
        try:
            search.parse_filter(filter_text)
        except ApiError as exc:
            raise BadRequest(exc.message) from None
        with self.db.read() as conn:
            number = self._experiment_number(conn, experiment)
            stages = (_ACTIVE, "deleted") if deleted else (_ACTIVE,)
            in_experiment = sa.select(runs.c.run_uuid).where(
                runs.c.experiment_id == number, runs.c.lifecycle_stage.in_(stages)
            )
            rows = conn.execute(
                sa.select(
                    runs.c.run_uuid,
                    runs.c.name,
                    runs.c.status,
                    runs.c.start_time,
                    runs.c.end_time,
                    runs.c.lifecycle_stage,
                ).where(runs.c.experiment_id == number, runs.c.lifecycle_stage.in_(stages))
            ).all()
            records = {
                row.run_uuid: RunRecord(
                    id=row.run_uuid,
                    name=row.name,
                    experiment=experiment,
                    status=row.status,
                    start_time=row.start_time,
                    end_time=row.end_time,
                    lifecycle_stage=row.lifecycle_stage,
                )
                for row in rows
            }
            if filter_text and filter_text.strip():
                view = "all" if deleted else _ACTIVE
                query = search.select_run_ids(
                    self.db, [number], filter_text, view, None, 0, len(records) + 1
                )
                matched = set(conn.execute(query).scalars())
            else:
                matched = set(records)
            _fill_params_and_metrics(conn, records, in_experiment)
            for run_id, parent in conn.execute(
                sa.select(tags.c.run_uuid, tags.c.value).where(
                    tags.c.key == PARENT_TAG, tags.c.run_uuid.in_(in_experiment)
                )
            ):
                records[run_id].parent_id = parent
        return [r for r in records.values() if r.id in matched], len(records)

    def _experiment_number(self, conn: sa.Connection, name: str) -> int:
        number = conn.execute(
            sa.select(experiments.c.experiment_id).where(
                experiments.c.name == name, experiments.c.lifecycle_stage == _ACTIVE
            )
        ).scalar()
        if number is None:
            raise NotFound(f"no experiment named {name!r} on this server")
        return number

    def run(self, run_id: str) -> RunDetail:
        with self.db.read() as conn:
            row = self._run_row(conn, run_id)
            record = self._records(conn, [row])[0]
            stats = conn.execute(
                sa.select(
                    metrics.c.key,
                    sa.func.min(sa.case((metrics.c.is_nan, None), else_=metrics.c.value)),
                    sa.func.max(sa.case((metrics.c.is_nan, None), else_=metrics.c.value)),
                    sa.func.count(),
                    sa.func.max(metrics.c.step),
                )
                .where(metrics.c.run_uuid == row.run_uuid)
                .group_by(metrics.c.key)
                .order_by(metrics.c.key)
            ).all()
            parent = None
            if record.parent_id:
                parent_row = conn.execute(
                    _run_columns().where(runs.c.run_uuid == record.parent_id)
                ).first()
                parent = self._records(conn, [parent_row])[0] if parent_row else None
            child_rows = conn.execute(
                _run_columns()
                .join(tags, tags.c.run_uuid == runs.c.run_uuid)
                .where(tags.c.key == PARENT_TAG, tags.c.value == row.run_uuid)
                .where(runs.c.lifecycle_stage == _ACTIVE)
                .order_by(runs.c.start_time, runs.c.run_uuid)
            ).all()
            children = self._records(conn, child_rows, with_details=False)
        summaries = [
            MetricSummary(key, record.metrics.get(key, float("nan")), low, high, count, last)
            for key, low, high, count, last in stats
        ]
        record.tags = visible_tags(record.tags)
        return RunDetail(
            record=record,
            metrics=summaries,
            artifacts=self._artifacts(row.artifact_uri),
            parent=parent,
            children=children,
        )

    def _run_row(self, conn: sa.Connection, run_id: str) -> Any:
        """The run by the server's id, or by autolog's own id (the ``autolog.run_id`` tag)."""
        row = conn.execute(_run_columns().where(runs.c.run_uuid == run_id)).first()
        if row is None:
            row = conn.execute(
                _run_columns()
                .join(tags, tags.c.run_uuid == runs.c.run_uuid)
                .where(tags.c.key == RUN_ID_TAG, tags.c.value == run_id)
            ).first()
        if row is None:
            raise NotFound(f"no run {run_id!r} on this server")
        return row

    def _records(
        self, conn: sa.Connection, rows: Sequence[Any], with_details: bool = True
    ) -> list[RunRecord]:
        """RunRecords for rows of :func:`_run_columns`, with tags (and params, metrics)."""
        records = {
            row.run_uuid: RunRecord(
                id=row.run_uuid,
                name=row.name,
                experiment=row.experiment,
                status=row.status,
                start_time=row.start_time,
                end_time=row.end_time,
                lifecycle_stage=row.lifecycle_stage,
            )
            for row in rows
        }
        ids = list(records)
        if not ids:
            return []
        tag_query = sa.select(tags.c.run_uuid, tags.c.key, tags.c.value).where(
            tags.c.run_uuid.in_(ids)
        )
        if not with_details:
            tag_query = tag_query.where(tags.c.key == PARENT_TAG)
        for run_id, key, value in conn.execute(tag_query):
            records[run_id].tags[key] = value
        for record in records.values():
            record.parent_id = record.tags.get(PARENT_TAG)
            record.model = parse_model_tag(record.tags.get(MODEL_TAG))
        if with_details:
            _fill_params_and_metrics(conn, records, ids)
        return [records[row.run_uuid] for row in rows]

    def _artifact_root(self, artifact_uri: str) -> str | None:
        """The run's folder in the artifact store, for runs whose artifacts the server keeps."""
        if not artifact_uri.startswith("mlflow-artifacts:"):
            return None
        return normalise_path(urlsplit(artifact_uri).path.strip("/"), allow_empty=True)

    def _artifacts(self, artifact_uri: str) -> list[Artifact]:
        root = self._artifact_root(artifact_uri)
        if root is None:
            return []
        found: list[Artifact] = []
        pending = [""]
        while pending and len(found) < MAX_LISTED_ARTIFACTS:
            folder = pending.pop()
            for entry in self.artifacts.list(f"{root}/{folder}".rstrip("/")):
                path = f"{folder}/{entry.name}".strip("/")
                if entry.is_dir:
                    pending.append(path)
                else:
                    found.append(Artifact(path, entry.size))
        return sorted(found, key=lambda a: a.path)

    def metric(self, run_id: str, key: str) -> tuple[Series, str]:
        with self.db.read() as conn:
            row = self._run_row(conn, run_id)
            newest = conn.execute(
                sa.select(sa.func.max(metrics.c.id)).where(
                    metrics.c.run_uuid == row.run_uuid, metrics.c.key == key
                )
            ).scalar()
            if newest is None:
                raise NotFound(f"run {run_id} has no metric {key!r}")
            with self._series_lock:
                series, last_id = self._series.get((row.run_uuid, key), (Series(), 0))
                if newest > last_id:
                    self._read_points(conn, row.run_uuid, key, last_id, newest, series)
                    last_id = newest
                self._series[(row.run_uuid, key)] = (series, last_id)
                self._budget.use((row.run_uuid, key), len(series))
        return series, row.status

    def _read_points(
        self, conn: sa.Connection, run_id: str, key: str, after: int, newest: int, series: Series
    ) -> None:
        """Append the metric's points with ids in ``(after, newest]``.

        The first read of a history goes through the covering unique index in
        step order (no table lookups); later reads take the few new rows in id
        order through ``metric_points_by_id``. A plain DB-API cursor, not
        SQLAlchemy rows: a million points come in a third of the time.
        """
        marker = "?" if self.db.is_sqlite else "%s"
        order = "step, timestamp" if after == 0 else "id"
        cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
        try:
            cursor.execute(
                "SELECT step, CASE WHEN is_nan THEN NULL ELSE value END, timestamp FROM metrics "
                f"WHERE run_uuid = {marker} AND key = {marker} AND id > {marker} "
                f"AND id <= {marker} ORDER BY {order}",
                (run_id, key, after, newest),
            )
            while rows := cursor.fetchmany(200_000):
                steps = [row[0] for row in rows]
                values = [row[1] for row in rows]
                times = [row[2] for row in rows]
                if None in values:
                    values = [NAN if value is None else value for value in values]
                series.extend(steps, values, times)
        finally:
            cursor.close()

    def artifact(self, run_id: str, path: str) -> ArtifactFile:
        with self.db.read() as conn:
            row = self._run_row(conn, run_id)
        root = self._artifact_root(row.artifact_uri)
        try:
            relative = normalise_path(path)
        except ApiError as exc:
            raise BadRequest(exc.message) from None
        if root is None:
            raise NotFound(f"run {run_id} keeps its artifacts outside this server")
        full = f"{root}/{relative}"
        name = relative.rsplit("/", 1)[-1]
        local = self.artifacts.local_path(full)
        if local is not None:
            return ArtifactFile(name=name, path=local, size=local.stat().st_size)
        try:
            source = self.artifacts.open(full)
        except FileNotFoundError:
            raise NotFound(f"run {run_id} has no artifact file {path!r}") from None
        return ArtifactFile(name=name, chunks=_chunks(source), cleanup=source.close)

    # -- the model registry: the server's own, as its REST API answers it --

    def registered_models(self) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = []
        token: str | None = None
        while True:
            page = _registry_call(self.store.search_registered_models, None, 1000, [], token)
            found.extend(page["registered_models"])
            token = page.get("next_page_token")
            if not token:
                return found

    def registered_model(self, name: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        model = _registry_call(self.store.get_registered_model, name)
        escaped = name.replace("'", "''")
        versions: list[dict[str, Any]] = []
        token: str | None = None
        while True:
            page = _registry_call(
                self.store.search_model_versions,
                f"name = '{escaped}'",
                1000,
                ["version_number DESC"],
                token,
            )
            versions.extend(page["model_versions"])
            token = page.get("next_page_token")
            if not token:
                return model, versions

    def model_version(self, name: str, version: str) -> dict[str, Any]:
        return _registry_call(self.store.get_model_version, name, version)


def _registry_call(call: Any, *args: Any) -> Any:
    """A registry read, its refusals as the UI's NotFound or BadRequest (never a 500)."""
    try:
        return call(*args)
    except ApiError as exc:
        if exc.status == 404:
            raise NotFound(exc.message) from None
        raise BadRequest(exc.message) from None


def _run_columns() -> sa.Select:
    return sa.select(
        runs.c.run_uuid,
        runs.c.name,
        runs.c.status,
        runs.c.start_time,
        runs.c.end_time,
        runs.c.artifact_uri,
        runs.c.lifecycle_stage,
        experiments.c.name.label("experiment"),
    ).join(experiments, experiments.c.experiment_id == runs.c.experiment_id)


def _chunks(source: Any) -> Any:
    while chunk := source.read(1 << 20):
        yield chunk


def _fill_params_and_metrics(conn: Any, records: dict[str, RunRecord], run_ids: Any) -> None:
    """Each record's params and latest metrics, for the runs ``run_ids`` selects (a list or a
    subquery), in two queries."""
    for run_id, key, value in conn.execute(
        sa.select(params.c.run_uuid, params.c.key, params.c.value).where(
            params.c.run_uuid.in_(run_ids)
        )
    ):
        records[run_id].params[key] = value
    for run_id, key, value, is_nan in conn.execute(
        sa.select(
            latest_metrics.c.run_uuid,
            latest_metrics.c.key,
            latest_metrics.c.value,
            latest_metrics.c.is_nan,
        ).where(latest_metrics.c.run_uuid.in_(run_ids))
    ):
        records[run_id].metrics[key] = float("nan") if is_nan else value
