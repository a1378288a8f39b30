"""Experiments in SQL: create, get, get by name, search.

Split from :mod:`autolog.server.store` to keep each module small; the tracking
store inherits these methods. An experiment name is unique: creating one that
exists answers RESOURCE_ALREADY_EXISTS, also when two servers race to create it.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import Any

import sqlalchemy as sa

from . import search
from .database import Database
from .errors import ApiError, invalid, not_found
from .pairs import delete_pair, upsert_pairs
from .schema import experiment_tags, experiments, runs


def now_ms() -> int:
    return int(time.time() * 1000)


class ExperimentStore:
    """MLflow's experiment operations over a :class:`Database`."""

    def __init__(self, db: Database, artifact_root: str = "mlflow-artifacts:/") -> None:
        self.db = db
        self.artifact_root = artifact_root.rstrip("/")

    def create_experiment(
        self, name: str, artifact_location: str | None, tag_list: list[dict]
    ) -> str:
        with self.db.write() as conn:
            if conn.execute(
                sa.select(experiments.c.experiment_id).where(experiments.c.name == name)
            ).first():
                raise ApiError("RESOURCE_ALREADY_EXISTS", f"experiment {name!r} already exists")
            now = now_ms()
            try:
                result = conn.execute(
                    experiments.insert().values(
                        name=name,
                        artifact_location=artifact_location or "",
                        lifecycle_stage="active",
                        creation_time=now,
                        last_update_time=now,
                    )
                )
            except sa.exc.IntegrityError:  # another server created it a moment ago
                raise ApiError(
                    "RESOURCE_ALREADY_EXISTS", f"experiment {name!r} already exists"
                ) from None
            experiment_id = result.inserted_primary_key[0]  # type: ignore[index]
            if not artifact_location:
                location = f"{self.artifact_root}/{experiment_id}"
                conn.execute(
                    experiments.update()
                    .where(experiments.c.experiment_id == experiment_id)
                    .values(artifact_location=location)
                )
            if tag_list:
                rows = {t["key"]: t["value"] for t in tag_list}
                conn.execute(
                    experiment_tags.insert(),
                    [
                        {"experiment_id": experiment_id, "key": k, "value": v}
                        for k, v in rows.items()
                    ],
                )
        return str(experiment_id)

    def get_experiment(self, experiment_id: str) -> dict:
        number = experiment_number(experiment_id)
        with self.db.read() as conn:
            found = self._experiments(conn, experiments.c.experiment_id == number)
        if not found:
            raise not_found(f"no experiment with id {experiment_id!r}")
        return found[0]

    def get_experiment_by_name(self, name: str) -> dict:
        with self.db.read() as conn:
            found = self._experiments(conn, experiments.c.name == name)
        if not found:
            raise not_found(f"no experiment named {name!r}")
        return found[0]

    def search_experiments(
        self, view: str, filter_text: str | None, order_by: list[str], limit: int, token: str | None
    ) -> dict:
        """Experiments matching ``name`` and ``tags.X`` clauses, paged by offset."""
        conditions = [experiments.c.lifecycle_stage.in_(search._LIFECYCLE[view])]
        for clause in search.parse_filter(filter_text).clauses:
            conditions.append(self._experiment_condition(clause))
        offset = search.decode_token(token)
        with self.db.read() as conn:
            found = self._experiments(
                conn, *conditions, order_by=_experiment_order(order_by), page=(offset, limit + 1)
            )
        return search.page("experiments", found[:limit], len(found), offset, limit)

    def set_experiment_lifecycle(self, experiment_id: str, stage: str) -> None:
        """Delete (``deleted``) or restore (``active``) an experiment and, like MLflow, its runs."""
        number = experiment_number(experiment_id)
        with self.db.write() as conn:
            result = conn.execute(
                experiments.update()
                .where(experiments.c.experiment_id == number)
                .values(lifecycle_stage=stage, last_update_time=now_ms())
            )
            if result.rowcount == 0:
                raise not_found(f"no experiment with id {experiment_id!r}")
            old = "active" if stage == "deleted" else "deleted"
            conn.execute(
                runs.update()
                .where(runs.c.experiment_id == number, runs.c.lifecycle_stage == old)
                .values(lifecycle_stage=stage)
            )

    def rename_experiment(self, experiment_id: str, new_name: str) -> None:
        number = experiment_number(experiment_id)
        with self.db.write() as conn:
            stage = self._experiment_stage(conn, number, experiment_id)
            if stage != "active":
                raise invalid(f"experiment {experiment_id!r} is deleted; restore it first")
            taken = conn.execute(
                sa.select(experiments.c.experiment_id).where(experiments.c.name == new_name)
            ).scalar()
            if taken is not None and taken != number:
                raise ApiError("RESOURCE_ALREADY_EXISTS", f"experiment {new_name!r} already exists")
            try:
                conn.execute(
                    experiments.update()
                    .where(experiments.c.experiment_id == number)
                    .values(name=new_name, last_update_time=now_ms())
                )
            except sa.exc.IntegrityError:  # another server took the name a moment ago
                raise ApiError(
                    "RESOURCE_ALREADY_EXISTS", f"experiment {new_name!r} already exists"
                ) from None

    def set_experiment_tag(self, experiment_id: str, key: str, value: str | None) -> None:
        """Set (or with ``value`` None, delete) one tag of an experiment."""
        number = experiment_number(experiment_id)
        with self.db.write() as conn:
            if self._experiment_stage(conn, number, experiment_id) != "active":
                raise invalid(f"experiment {experiment_id!r} is deleted; restore it first")
            if value is None:
                missing = f"experiment {experiment_id!r} has no tag {key!r}"
                delete_pair(conn, experiment_tags, {"experiment_id": number}, key, missing)
                return
            pair = [{"key": key, "value": value}]
            upsert_pairs(self.db, conn, experiment_tags, {"experiment_id": number}, pair)

    def _active_experiment(self, conn: sa.Connection, number: int | None, shown: str) -> Any:
        """The experiment's row, refused when it is missing or deleted (runs, models go in it)."""
        experiment = conn.execute(
            sa.select(experiments).where(experiments.c.experiment_id == number)
        ).first()
        if experiment is None:
            raise not_found(f"no experiment with id {shown!r}")
        if experiment.lifecycle_stage != "active":
            raise invalid(f"experiment {shown!r} is deleted; restore it first")
        return experiment

    def _experiment_stage(self, conn: sa.Connection, number: int | None, shown: str) -> str:
        stage = conn.execute(
            sa.select(experiments.c.lifecycle_stage).where(experiments.c.experiment_id == number)
        ).scalar()
        if stage is None:
            raise not_found(f"no experiment with id {shown!r}")
        return str(stage)

    def _experiment_condition(self, clause: Any) -> Any:
        if clause.kind == "attribute" and clause.key == "name":
            return search._string_condition(self.db, experiments.c.name, clause.op, clause.value)
        if clause.kind == "tag":
            t = experiment_tags.c
            return sa.exists().where(
                t.experiment_id == experiments.c.experiment_id,
                t.key == clause.key,
                search._string_condition(self.db, t.value, clause.op, clause.value),
            )
        raise invalid(
            f"experiments can be filtered by name and tags.KEY only, not {clause.kind} "
            f"{clause.key!r}"
        )

    def _experiments(
        self, conn: sa.Connection, *where: Any, order_by: Any = (), page: tuple | None = None
    ) -> list[dict]:
        query = sa.select(experiments).where(*where).order_by(*order_by)
        if page is not None:
            query = query.offset(page[0]).limit(page[1])
        rows = conn.execute(query).mappings().all()
        ids = [row["experiment_id"] for row in rows]
        tag_rows = (
            conn.execute(
                sa.select(experiment_tags).where(experiment_tags.c.experiment_id.in_(ids))
            ).all()
            if ids
            else []
        )
        tags_by_id: dict[int, list[dict]] = {}
        for tag in tag_rows:
            tags_by_id.setdefault(tag.experiment_id, []).append(
                {"key": tag.key, "value": tag.value}
            )
        return [
            {
                "experiment_id": str(row["experiment_id"]),
                "name": row["name"],
                "artifact_location": row["artifact_location"],
                "lifecycle_stage": row["lifecycle_stage"],
                "creation_time": row["creation_time"],
                "last_update_time": row["last_update_time"],
                "tags": tags_by_id.get(row["experiment_id"], []),
            }
            for row in rows
        ]


def experiment_number(experiment_id: str, strict: bool = True) -> int | None:
    text = str(experiment_id).strip()
    if text.isascii() and text.isdigit() and len(text) < 10:  # "¹".isdigit(), int("¹") fails
        return int(text)
    if strict:
        raise not_found(f"no experiment with id {experiment_id!r}")
    return None


_EXPERIMENT_ORDER = {
    "name": experiments.c.name,
    "experiment_id": experiments.c.experiment_id,
    "creation_time": experiments.c.creation_time,
    "last_update_time": experiments.c.last_update_time,
}


def _experiment_order(clauses: Iterable[str]) -> list[Any]:
    """ORDER BY for experiments/search: ``name``, ``experiment_id``, ``*_time``, ASC or DESC."""
    terms = []
    for clause in clauses:
        words = clause.split()
        column = _EXPERIMENT_ORDER.get(words[0].removeprefix("attributes.")) if words else None
        direction = words[1].upper() if len(words) == 2 else "ASC"
        if column is None or len(words) > 2 or direction not in ("ASC", "DESC"):
            raise invalid(
                f"invalid order_by {clause!r}: use name, experiment_id, creation_time or "
                "last_update_time, optionally followed by ASC or DESC"
            )
        terms.append(column.asc() if direction == "ASC" else column.desc())
    return [*terms, experiments.c.experiment_id.asc()]
