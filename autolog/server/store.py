"""The tracking store: runs, params, tags and metric points in SQL.

Experiments are in :mod:`autolog.server.experiments`, which this class extends.
Each public method is one transaction, committed before it returns, which is
what lets the server promise that an acknowledged request survives a crash.
Results are plain dicts already in MLflow's JSON shape, since the only caller
serialises them straight into responses.

Writes are written to be safe when several server processes share one
PostgreSQL database: metric points and params are inserted with
``ON CONFLICT DO NOTHING`` (a retried batch changes nothing), tags and latest
metrics are upserts, and keys are processed in sorted order so that two
concurrent batches cannot deadlock on each other's rows.
"""

from __future__ import annotations

import uuid
from typing import Any

import sqlalchemy as sa

from ..sources import is_run_id
from . import search
from .errors import invalid, not_found
from .experiments import experiment_number, now_ms
from .fields import encode_double
from .logged_models import LoggedModelStore
from .pairs import delete_pair
from .registry import RegistryStore
from .run_io import RunIOStore
from .schema import METRIC_POINT_COLUMNS, latest_metrics, metrics, params, runs, tags

RUN_STATUSES = ("RUNNING", "SCHEDULED", "FINISHED", "FAILED", "KILLED")
RUN_NAME_TAG = "mlflow.runName"
#: The tag autolog's HTTP backend creates runs with: the id of the run's journal. The server
#: keeps it as the run's id, so the id training printed is the id everywhere.
CLIENT_RUN_ID_TAG = "autolog.run_id"


class TrackingStore(RegistryStore, LoggedModelStore, RunIOStore):
    """MLflow's tracking operations: runs, params, tags, metrics; the rest is mixed in.

    Experiments, the model registry, logged models and run inputs/outputs come from
    their own modules.
    """

    @property
    def _insert_points_sql(self) -> str:
        """INSERT of metric points that skips points already stored (idempotent ingest)."""
        marker = "?" if self.db.is_sqlite else "%s"
        return (
            "INSERT INTO metrics (run_uuid, key, value, is_nan, step, timestamp) "
            f"VALUES ({', '.join([marker] * 6)}) "
            f"ON CONFLICT ({', '.join(METRIC_POINT_COLUMNS)}) DO NOTHING"
        )

    # -- runs --------------------------------------------------------------

    def create_run(
        self,
        experiment_id: str,
        user_id: str,
        run_name: str | None,
        start_time: int | None,
        tag_list: list[dict],
    ) -> dict:
        number = experiment_number(experiment_id)
        tag_values = {t["key"]: t["value"] for t in tag_list}
        requested = tag_values.get(CLIENT_RUN_ID_TAG, "")
        run_id = requested if is_run_id(requested) else uuid.uuid4().hex
        name = run_name or tag_values.get(RUN_NAME_TAG) or f"run-{run_id[:8]}"
        tag_values[RUN_NAME_TAG] = name
        with self.db.write() as conn:
            experiment = self._active_experiment(conn, number, experiment_id)
            if run_id == requested and self._run_exists(conn, run_id):
                if self._client_id(conn, run_id) == requested:
                    return self._runs(conn, [run_id])[0]  # a retried create: the same run
                run_id = uuid.uuid4().hex  # the id is taken by another run: use our own
            conn.execute(
                runs.insert().values(
                    run_uuid=run_id,
                    experiment_id=number,
                    name=name,
                    user_id=user_id or "",
                    status="RUNNING",
                    start_time=start_time if start_time is not None else now_ms(),
                    end_time=None,
                    lifecycle_stage="active",
                    artifact_uri=f"{experiment.artifact_location.rstrip('/')}/{run_id}/artifacts",
                )
            )
            conn.execute(
                tags.insert(),
                [{"run_uuid": run_id, "key": k, "value": v} for k, v in sorted(tag_values.items())],
            )
            return self._runs(conn, [run_id])[0]

    def get_run(self, run_id: str) -> dict:
        with self.db.read() as conn:
            found = self._runs(conn, [run_id])
        if not found:
            raise not_found(f"no run with id {run_id!r}")
        return found[0]

    def update_run(
        self, run_id: str, status: str | None, end_time: int | None, run_name: str | None
    ) -> dict:
        values: dict[str, Any] = {}
        if status is not None:
            if status not in RUN_STATUSES:
                raise invalid(f"run status {status!r} is not one of {', '.join(RUN_STATUSES)}")
            values["status"] = status
        if end_time is not None:
            values["end_time"] = end_time
        if run_name:
            values["name"] = run_name
        with self.db.write() as conn:
            self._active_run(conn, run_id)
            if values:
                conn.execute(runs.update().where(runs.c.run_uuid == run_id).values(**values))
            if run_name:
                self._upsert_tags(conn, run_id, {RUN_NAME_TAG: run_name})
            return self._runs(conn, [run_id])[0]["info"]

    def set_lifecycle(self, run_id: str, stage: str) -> None:
        """Delete (``deleted``) or restore (``active``) a run; its data stays either way."""
        with self.db.write() as conn:
            result = conn.execute(
                runs.update().where(runs.c.run_uuid == run_id).values(lifecycle_stage=stage)
            )
            if result.rowcount == 0:
                raise not_found(f"no run with id {run_id!r}")

    def delete_tag(self, run_id: str, key: str) -> None:
        with self.db.write() as conn:
            self._active_run(conn, run_id)
            delete_pair(conn, tags, {"run_uuid": run_id}, key, f"run {run_id!r} has no tag {key!r}")

    def log_batch(
        self, run_id: str, metric_list: list[dict], param_list: list[dict], tag_list: list[dict]
    ) -> None:
        """Store params, tags and metric points in one transaction; a repeat changes nothing."""
        with self.db.write() as conn:
            self._active_run(conn, run_id)
            if param_list:
                self._insert_params(conn, run_id, param_list)
            if tag_list:
                self._upsert_tags(conn, run_id, {t["key"]: t["value"] for t in tag_list})
            if metric_list:
                self._insert_metrics(conn, run_id, metric_list)

    def _insert_params(self, conn: sa.Connection, run_id: str, param_list: list[dict]) -> None:
        wanted: dict[str, str] = {}
        for param in param_list:
            _check_param(run_id, param["key"], wanted.get(param["key"]), param["value"])
            wanted[param["key"]] = param["value"]
        existing = dict(
            conn.execute(
                sa.select(params.c.key, params.c.value).where(
                    params.c.run_uuid == run_id, params.c.key.in_(list(wanted))
                )
            ).all()
        )
        for key, value in wanted.items():
            _check_param(run_id, key, existing.get(key), value)
        new = [
            {"run_uuid": run_id, "key": key, "value": value}
            for key, value in sorted(wanted.items())
            if key not in existing
        ]
        if new:
            conn.execute(self.db.insert(params).on_conflict_do_nothing(), new)

    def _upsert_tags(self, conn: sa.Connection, run_id: str, values: dict[str, str]) -> None:
        rows = [{"run_uuid": run_id, "key": k, "value": v} for k, v in sorted(values.items())]
        stmt = self.db.insert(tags)
        stmt = stmt.on_conflict_do_update(
            index_elements=[tags.c.run_uuid, tags.c.key], set_={"value": stmt.excluded.value}
        )
        conn.execute(stmt, rows)
        if values.get(RUN_NAME_TAG):
            conn.execute(
                runs.update().where(runs.c.run_uuid == run_id).values(name=values[RUN_NAME_TAG])
            )

    def _insert_metrics(self, conn: sa.Connection, run_id: str, metric_list: list[dict]) -> None:
        rows = []
        newest: dict[str, dict] = {}
        for metric in metric_list:
            value = metric["value"]
            is_nan = value != value
            row = {
                "run_uuid": run_id,
                "key": metric["key"],
                "value": 0.0 if is_nan else value,
                "is_nan": is_nan,
                "step": metric["step"],
                "timestamp": metric["timestamp"],
            }
            rows.append(row)
            latest = newest.get(row["key"])
            if latest is None or (row["step"], row["timestamp"]) >= (
                latest["step"],
                latest["timestamp"],
            ):
                newest[row["key"]] = row
        # The hot path: one executemany straight to the driver, without SQLAlchemy's
        # per-row parameter processing, which costs more than the insert itself.
        columns = ("run_uuid", "key", "value", "is_nan", "step", "timestamp")
        conn.exec_driver_sql(self._insert_points_sql, [tuple(r[c] for c in columns) for r in rows])
        stmt = self.db.insert(latest_metrics)
        newer = sa.or_(
            stmt.excluded.step > latest_metrics.c.step,
            sa.and_(
                stmt.excluded.step == latest_metrics.c.step,
                stmt.excluded.timestamp >= latest_metrics.c.timestamp,
            ),
        )
        stmt = stmt.on_conflict_do_update(
            index_elements=[latest_metrics.c.run_uuid, latest_metrics.c.key],
            set_={name: stmt.excluded[name] for name in ("value", "is_nan", "step", "timestamp")},
            where=newer,
        )
        conn.execute(stmt, [newest[key] for key in sorted(newest)])

    def get_metric_history(
        self, run_id: str, key: str, limit: int | None, token: str | None
    ) -> dict:
        """Points of one metric in logging order, ``limit`` at a time (all when None)."""
        after = search.decode_token(token)
        query = (
            sa.select(
                metrics.c.id, metrics.c.value, metrics.c.is_nan, metrics.c.step, metrics.c.timestamp
            )
            .where(metrics.c.run_uuid == run_id, metrics.c.key == key, metrics.c.id > after)
            .order_by(metrics.c.id)
        )
        if limit is not None:
            query = query.limit(limit + 1)
        with self.db.read() as conn:
            if (
                conn.execute(sa.select(runs.c.run_uuid).where(runs.c.run_uuid == run_id)).first()
                is None
            ):
                raise not_found(f"no run with id {run_id!r}")
            rows = conn.execute(query).all()
        response: dict[str, Any] = {}
        if limit is not None and len(rows) > limit:
            rows = rows[:limit]
            response["next_page_token"] = search.encode_token(rows[-1].id)
        response["metrics"] = [
            {
                "key": key,
                "value": "NaN" if row.is_nan else encode_double(row.value),
                "timestamp": row.timestamp,
                "step": row.step,
            }
            for row in rows
        ]
        return response

    def search_runs(
        self,
        experiment_ids: list[str],
        filter_text: str | None,
        view: str,
        limit: int,
        order_by: list[str] | None,
        token: str | None,
    ) -> dict:
        numbers = [experiment_number(e, strict=False) for e in experiment_ids]
        offset = search.decode_token(token)
        query = search.select_run_ids(
            self.db,
            [n for n in numbers if n is not None],
            filter_text,
            view,
            order_by,
            offset,
            limit + 1,
        )
        with self.db.read() as conn:
            run_ids = list(conn.execute(query).scalars())
            found = self._runs(conn, run_ids[:limit])
        return search.page("runs", found, len(run_ids), offset, limit)

    @staticmethod
    def _run_exists(conn: sa.Connection, run_id: str) -> bool:
        query = sa.select(runs.c.run_uuid).where(runs.c.run_uuid == run_id)
        return conn.execute(query).first() is not None

    @staticmethod
    def _client_id(conn: sa.Connection, run_id: str) -> str | None:
        query = sa.select(tags.c.value).where(
            tags.c.run_uuid == run_id, tags.c.key == CLIENT_RUN_ID_TAG
        )
        row = conn.execute(query).first()
        return row.value if row is not None else None

    def _runs(self, conn: sa.Connection, run_ids: list[str]) -> list[dict]:
        """Full runs (info, latest metrics, params, tags) in the order of ``run_ids``."""
        if not run_ids:
            return []
        rows = {
            row.run_uuid: row
            for row in conn.execute(sa.select(runs).where(runs.c.run_uuid.in_(run_ids)))
        }
        data: dict[str, dict[str, list]] = {
            run_id: {"metrics": [], "params": [], "tags": []} for run_id in rows
        }
        for row in conn.execute(sa.select(params).where(params.c.run_uuid.in_(run_ids))):
            data[row.run_uuid]["params"].append({"key": row.key, "value": row.value})
        for row in conn.execute(sa.select(tags).where(tags.c.run_uuid.in_(run_ids))):
            data[row.run_uuid]["tags"].append({"key": row.key, "value": row.value})
        latest = sa.select(latest_metrics).where(latest_metrics.c.run_uuid.in_(run_ids))
        for row in conn.execute(latest):
            data[row.run_uuid]["metrics"].append(
                {
                    "key": row.key,
                    "value": "NaN" if row.is_nan else encode_double(row.value),
                    "timestamp": row.timestamp,
                    "step": row.step,
                }
            )
        io = self._run_io(conn, run_ids)
        return [
            {
                "info": _run_info(rows[run_id]),
                "data": data[run_id],
                "inputs": io.get(run_id, ({}, {}))[0],
                "outputs": io.get(run_id, ({}, {}))[1],
            }
            for run_id in run_ids
            if run_id in rows
        ]


def _run_info(row: Any) -> dict:
    info = {
        "run_id": row.run_uuid,
        "run_uuid": row.run_uuid,
        "run_name": row.name,
        "experiment_id": str(row.experiment_id),
        "user_id": row.user_id,
        "status": row.status,
        "start_time": row.start_time,
        "artifact_uri": row.artifact_uri,
        "lifecycle_stage": row.lifecycle_stage,
    }
    if row.end_time is not None:
        info["end_time"] = row.end_time
    return info


def _check_param(run_id: str, key: str, old: str | None, new: str) -> None:
    if old is not None and old != new:
        raise invalid(
            f"param {key!r} of run {run_id} is already {old!r} and cannot change to {new!r}; "
            "params are fixed per run (log a metric or a tag for values that change)"
        )
