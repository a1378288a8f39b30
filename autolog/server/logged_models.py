"""MLflow 3 logged models in SQL: create, get, search, finalize, delete, params and tags.

MLflow 3's ``log_model`` no longer writes a model into a run's artifacts: it
creates a *logged model* (``m-<32 hex>``) with its own artifact location,
``<experiment artifact root>/models/<model_id>/artifacts``, uploads the files
there through the artifact proxy, links it to the run (``runs/outputs``) and
marks it READY (or UPLOAD_FAILED). ``runs:/<run>/<name>`` URIs find the model
by searching the run's experiment for that name, and ``models:/m-<id>`` URIs
by getting it, so all three have to be right for a model to load back.

The tracking store mixes these methods in; each is one committed transaction.
A deleted model keeps its rows (``lifecycle_stage`` = ``deleted``) and is
hidden from get and search unless asked for, as in MLflow.
"""

from __future__ import annotations

import uuid
from typing import Any

import sqlalchemy as sa

from . import entity_filter, search
from .errors import invalid, not_found
from .experiments import ExperimentStore, experiment_number, now_ms
from .pairs import delete_pair, upsert_pairs
from .schema import (
    logged_model_params,
    logged_model_tags,
    logged_models,
    runs,
)

STATUSES = ("LOGGED_MODEL_PENDING", "LOGGED_MODEL_READY", "LOGGED_MODEL_UPLOAD_FAILED")
_STATUS_NUMBERS = {1: STATUSES[0], 2: STATUSES[1], 3: STATUSES[2]}
_m = logged_models.c
_FILTER_ATTRIBUTES = {
    "name": "name",
    "model_id": "model_id",
    "model_type": "model_type",
    "status": "status",
    "source_run_id": "source_run_id",
    "creation_timestamp": "creation_timestamp_ms",
    "creation_time": "creation_timestamp_ms",
    "last_updated_timestamp": "last_updated_timestamp_ms",
}
_ORDER_COLUMNS = {
    "name": _m.name,
    "model_id": _m.model_id,
    "model_type": _m.model_type,
    "status": _m.status,
    "source_run_id": _m.source_run_id,
    "experiment_id": _m.experiment_id,
    "creation_timestamp": _m.creation_timestamp_ms,
    "creation_time": _m.creation_timestamp_ms,
    "last_updated_timestamp": _m.last_updated_timestamp_ms,
}


def parse_status(raw: Any) -> str:
    """A LoggedModelStatus as protobuf's JSON sends it: its name (``READY`` too) or number."""
    if isinstance(raw, int) and raw in _STATUS_NUMBERS:
        return _STATUS_NUMBERS[raw]
    text = str(raw).strip().upper()
    if text.isdigit() and int(text) in _STATUS_NUMBERS:
        return _STATUS_NUMBERS[int(text)]
    name = text if text.startswith("LOGGED_MODEL_") else f"LOGGED_MODEL_{text}"
    if name not in STATUSES:
        raise invalid(f"logged model status {raw!r} is not one of {', '.join(STATUSES)}")
    return name


class LoggedModelStore(ExperimentStore):
    """MLflow 3's logged-model operations (models live in experiments, hence the base)."""

    def create_logged_model(
        self,
        experiment_id: str,
        name: str | None,
        model_type: str | None,
        source_run_id: str | None,
        param_list: list[dict],
        tag_list: list[dict],
    ) -> dict:
        number = experiment_number(experiment_id)
        model_id = f"m-{uuid.uuid4().hex}"
        with self.db.write() as conn:
            experiment = self._active_experiment(conn, number, experiment_id)
            if (
                source_run_id
                and conn.execute(
                    sa.select(runs.c.run_uuid).where(runs.c.run_uuid == source_run_id)
                ).first()
                is None
            ):
                raise not_found(f"no run with id {source_run_id!r} (the model's source_run_id)")
            now = now_ms()
            conn.execute(
                logged_models.insert().values(
                    model_id=model_id,
                    experiment_id=number,
                    name=name or f"model-{model_id[2:10]}",
                    artifact_location=(
                        f"{experiment.artifact_location.rstrip('/')}/models/{model_id}/artifacts"
                    ),
                    creation_timestamp_ms=now,
                    last_updated_timestamp_ms=now,
                    status=STATUSES[0],
                    lifecycle_stage="active",
                    model_type=model_type,
                    source_run_id=source_run_id or None,
                )
            )
            self._upsert_model_rows(conn, logged_model_params, model_id, param_list)
            self._upsert_model_rows(conn, logged_model_tags, model_id, tag_list)
            return self._logged_models(conn, [model_id])[0]

    def get_logged_model(self, model_id: str, allow_deleted: bool = False) -> dict:
        with self.db.read() as conn:
            found = self._logged_models(conn, [model_id], allow_deleted)
        if not found:
            raise not_found(f"no logged model with id {model_id!r}")
        return found[0]

    def finalize_logged_model(self, model_id: str, status: str) -> dict:
        with self.db.write() as conn:
            self._live_model(conn, model_id)
            conn.execute(
                logged_models.update()
                .where(_m.model_id == model_id)
                .values(status=status, last_updated_timestamp_ms=now_ms())
            )
            return self._logged_models(conn, [model_id])[0]

    def delete_logged_model(self, model_id: str) -> None:
        """Mark a model deleted; its rows and files stay, as in MLflow."""
        with self.db.write() as conn:
            self._live_model(conn, model_id)
            conn.execute(
                logged_models.update()
                .where(_m.model_id == model_id)
                .values(lifecycle_stage="deleted", last_updated_timestamp_ms=now_ms())
            )

    def log_logged_model_params(self, model_id: str, param_list: list[dict]) -> None:
        with self.db.write() as conn:
            self._live_model(conn, model_id)
            self._upsert_model_rows(conn, logged_model_params, model_id, param_list)

    def set_logged_model_tags(self, model_id: str, tag_list: list[dict]) -> None:
        with self.db.write() as conn:
            self._live_model(conn, model_id)
            self._upsert_model_rows(conn, logged_model_tags, model_id, tag_list)

    def delete_logged_model_tag(self, model_id: str, key: str) -> None:
        with self.db.write() as conn:
            self._live_model(conn, model_id)
            missing = f"logged model {model_id!r} has no tag {key!r}"
            delete_pair(conn, logged_model_tags, {"model_id": model_id}, key, missing)

    def search_logged_models(
        self,
        experiment_ids: list[str],
        filter_text: str | None,
        order_by: list[dict],
        limit: int,
        token: str | None,
    ) -> dict:
        """Live models of some experiments matching a filter, newest first unless ordered."""
        numbers = [
            n for e in experiment_ids if (n := experiment_number(e, strict=False)) is not None
        ]
        conditions = [_m.experiment_id.in_(numbers), _m.lifecycle_stage == "active"]
        clauses = entity_filter.parse(filter_text, _FILTER_ATTRIBUTES, ("tag", "param"))
        conditions.extend(self._model_condition(clause) for clause in clauses)
        offset = search.decode_token(token)
        terms = [_order_term(item) for item in order_by]
        query = (
            sa.select(_m.model_id)
            .where(*conditions)
            .order_by(*terms, _m.creation_timestamp_ms.desc(), _m.model_id.asc())
            .offset(offset)
            .limit(limit + 1)
        )
        with self.db.read() as conn:
            ids = list(conn.execute(query).scalars())
            found = self._logged_models(conn, ids[:limit])
        return search.page("models", found, len(ids), offset, limit)

    def _model_condition(self, clause: entity_filter.Clause) -> Any:
        if clause.kind == "attribute":
            value = clause.value
            if clause.key == "status" and clause.op in ("=", "!="):
                value = parse_status(value)
            return entity_filter.condition(self.db, _m[clause.key], clause.op, value)
        table = logged_model_tags if clause.kind == "tag" else logged_model_params
        return entity_filter.key_value_exists(
            self.db, table, table.c.model_id == _m.model_id, clause
        )

    def _live_model(self, conn: sa.Connection, model_id: str) -> None:
        stage = conn.execute(sa.select(_m.lifecycle_stage).where(_m.model_id == model_id)).scalar()
        if stage != "active":
            raise not_found(f"no logged model with id {model_id!r}")

    def _upsert_model_rows(
        self, conn: sa.Connection, table: sa.Table, model_id: str, pairs: list[dict]
    ) -> None:
        if pairs:
            upsert_pairs(self.db, conn, table, {"model_id": model_id}, pairs)
            conn.execute(
                logged_models.update()
                .where(_m.model_id == model_id)
                .values(last_updated_timestamp_ms=now_ms())
            )

    def _logged_models(
        self, conn: sa.Connection, model_ids: list[str], allow_deleted: bool = False
    ) -> list[dict]:
        """Logged models in MLflow's JSON shape, in the order of ``model_ids``."""
        if not model_ids:
            return []
        query = sa.select(logged_models).where(_m.model_id.in_(model_ids))
        if not allow_deleted:
            query = query.where(_m.lifecycle_stage == "active")
        rows = {row.model_id: row for row in conn.execute(query)}
        pairs: dict[tuple[str, str], list[dict]] = {}
        for name, table in (("tags", logged_model_tags), ("params", logged_model_params)):
            for row in conn.execute(sa.select(table).where(table.c.model_id.in_(list(rows)))):
                pairs.setdefault((row.model_id, name), []).append(
                    {"key": row.key, "value": row.value}
                )
        registrations = self._registrations(conn, list(rows))
        return [
            _logged_model_json(
                rows[model_id],
                pairs.get((model_id, "tags"), []),
                pairs.get((model_id, "params"), []),
                registrations.get(model_id, []),
            )
            for model_id in model_ids
            if model_id in rows
        ]

    def _registrations(self, conn: sa.Connection, model_ids: list[str]) -> dict[str, list[dict]]:
        """The registry versions made from each model; the registry store overrides this."""
        return {}


def _order_term(item: dict) -> Any:
    name = item["field_name"].lower().removeprefix("attributes.")
    column = _ORDER_COLUMNS.get(name)
    if column is None:
        raise invalid(
            f"logged models cannot be ordered by {item['field_name']!r}; use one of "
            f"{', '.join(sorted(_ORDER_COLUMNS))} (this server keeps no per-model metrics)"
        )
    return column.desc() if item["ascending"] is False else column.asc()


def _logged_model_json(row: Any, tags: list, params: list, registrations: list) -> dict:
    info: dict[str, Any] = {
        "model_id": row.model_id,
        "experiment_id": str(row.experiment_id),
        "name": row.name,
        "creation_timestamp_ms": row.creation_timestamp_ms,
        "last_updated_timestamp_ms": row.last_updated_timestamp_ms,
        "artifact_uri": row.artifact_location,
        "status": row.status,
        "tags": tags,
        "registrations": registrations,
    }
    for key in ("model_type", "source_run_id", "status_message"):
        if getattr(row, key):
            info[key] = getattr(row, key)
    return {"info": info, "data": {"params": params, "metrics": []}}
