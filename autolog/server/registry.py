"""The model registry in SQL: registered models, their versions, tags and aliases.

What MLflow's ``registered-models`` and ``model-versions`` REST families need,
in the same database as the runs, so a registration is as durable as a
metric: each method is one transaction committed before the answer.

Versions are numbered 1, 2, 3... per model and a number is never reused: a
deleted version keeps its row (stage ``Deleted_Internal``, as in MLflow's SQL
store) and is hidden everywhere. Two servers registering a version of the
same model at once on PostgreSQL cannot both get the same number: the
primary key refuses the second, which retries with the next number.
A version's ``storage_location`` (what ``get-download-uri`` answers, and where
``models:/name/3`` loads from) is resolved once, at registration: a
``models:/m-...`` source becomes the logged model's artifact location, a
``runs:/RUN/path`` source the run's artifact folder plus the path.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from . import entity_filter, search
from .database import Database
from .errors import ApiError, invalid, not_found
from .experiments import now_ms
from .pairs import delete_pair, upsert_pairs
from .schema import (
    logged_models,
    model_version_tags,
    model_versions,
    registered_model_aliases,
    registered_model_tags,
    registered_models,
    runs,
)

STAGES = ("None", "Staging", "Production", "Archived")
DELETED = "Deleted_Internal"
_r = registered_models.c
_v = model_versions.c
_MODEL_FILTER = {"name": "name"}
_MODEL_ORDER = {
    "name": _r.name,
    "creation_timestamp": _r.creation_timestamp,
    "last_updated_timestamp": _r.last_updated_timestamp,
    "timestamp": _r.last_updated_timestamp,
}
_VERSION_FILTER = {
    "name": "name",
    "version_number": "version",
    "version": "version",
    "run_id": "run_id",
    "source_path": "source",
    "source": "source",
    "model_id": "model_id",
    "current_stage": "current_stage",
}
_VERSION_ORDER = {
    "name": _v.name,
    "version_number": _v.version,
    "creation_timestamp": _v.creation_timestamp,
    "last_updated_timestamp": _v.last_updated_timestamp,
    "timestamp": _v.last_updated_timestamp,
}


def parse_stage(raw: str) -> str:
    """A stage name in MLflow's spelling, whatever its case."""
    for stage in STAGES:
        if raw.strip().lower() == stage.lower():
            return stage
    raise invalid(f"stage {raw!r} is not one of {', '.join(STAGES)}")


def parse_version(raw: str) -> int:
    text = str(raw).strip()
    if not (text.isascii() and text.isdigit() and 0 < len(text) < 10):
        raise invalid(f"version {raw!r} must be a positive whole number such as 1 or 3")
    return int(text)


class RegistryStore:
    """MLflow's model registry operations; mixed into the tracking store, which has ``db``."""

    db: Database

    # -- registered models -------------------------------------------------

    def create_registered_model(self, name: str, tag_list: list[dict], description: str) -> dict:
        with self.db.write() as conn:
            if self._model_row(conn, name, must_exist=False) is not None:
                raise ApiError(
                    "RESOURCE_ALREADY_EXISTS", f"registered model {name!r} already exists"
                )
            now = now_ms()
            try:
                conn.execute(
                    registered_models.insert().values(
                        name=name,
                        creation_timestamp=now,
                        last_updated_timestamp=now,
                        description=description or "",
                    )
                )
            except sa.exc.IntegrityError:  # another server created it a moment ago
                raise ApiError(
                    "RESOURCE_ALREADY_EXISTS", f"registered model {name!r} already exists"
                ) from None
            upsert_pairs(self.db, conn, registered_model_tags, {"name": name}, tag_list)
            return self._registered_models(conn, [name])[0]

    def get_registered_model(self, name: str) -> dict:
        with self.db.read() as conn:
            self._model_row(conn, name)
            return self._registered_models(conn, [name])[0]

    def update_registered_model(self, name: str, description: str | None) -> dict:
        with self.db.write() as conn:
            self._model_row(conn, name)
            values: dict[str, Any] = {"last_updated_timestamp": now_ms()}
            if description is not None:
                values["description"] = description
            conn.execute(registered_models.update().where(_r.name == name).values(**values))
            return self._registered_models(conn, [name])[0]

    def rename_registered_model(self, name: str, new_name: str) -> dict:
        with self.db.write() as conn:
            self._model_row(conn, name)
            if new_name != name and self._model_row(conn, new_name, must_exist=False) is not None:
                raise ApiError(
                    "RESOURCE_ALREADY_EXISTS", f"registered model {new_name!r} already exists"
                )
            for table in (
                registered_models,
                registered_model_tags,
                model_versions,
                model_version_tags,
                registered_model_aliases,
            ):
                conn.execute(table.update().where(table.c.name == name).values(name=new_name))
            conn.execute(
                registered_models.update()
                .where(_r.name == new_name)
                .values(last_updated_timestamp=now_ms())
            )
            return self._registered_models(conn, [new_name])[0]

    def delete_registered_model(self, name: str) -> None:
        """Remove a model with its versions, tags and aliases (its files stay where they are)."""
        with self.db.write() as conn:
            self._model_row(conn, name)
            for table in (
                registered_model_aliases,
                model_version_tags,
                model_versions,
                registered_model_tags,
                registered_models,
            ):
                conn.execute(table.delete().where(table.c.name == name))

    def set_registered_model_tag(self, name: str, key: str, value: str | None) -> None:
        """Set (or with ``value`` None, delete) one tag of a registered model."""
        with self.db.write() as conn:
            self._model_row(conn, name)
            if value is None:
                missing = f"registered model {name!r} has no tag {key!r}"
                delete_pair(conn, registered_model_tags, {"name": name}, key, missing)
            else:
                upsert_pairs(
                    self.db,
                    conn,
                    registered_model_tags,
                    {"name": name},
                    [{"key": key, "value": value}],
                )
            self._touch(conn, name)

    def search_registered_models(
        self, filter_text: str | None, limit: int, order_by: list[str], token: str | None
    ) -> dict:
        clauses = entity_filter.parse(filter_text, _MODEL_FILTER, ("tag",))
        join = registered_model_tags.c.name == _r.name
        conditions = [self._condition(c, _r, registered_model_tags, join) for c in clauses]
        terms = entity_filter.order_terms(order_by, _MODEL_ORDER, "registered models", [_r.name])
        offset = search.decode_token(token)
        query = sa.select(_r.name).where(*conditions).order_by(*terms)
        with self.db.read() as conn:
            names = list(conn.execute(query.offset(offset).limit(limit + 1)).scalars())
            found = self._registered_models(conn, names[:limit])
        return search.page("registered_models", found, len(names), offset, limit)

    # -- versions ----------------------------------------------------------

    def create_model_version(
        self,
        name: str,
        source: str,
        run_id: str | None,
        tag_list: list[dict],
        run_link: str | None,
        description: str | None,
        model_id: str | None,
    ) -> dict:
        for attempt in range(5):
            try:
                with self.db.write() as conn:
                    self._model_row(conn, name)
                    location, run_id, model_id = self._resolve_source(
                        conn, source, run_id, model_id
                    )
                    newest = conn.execute(
                        sa.select(sa.func.max(_v.version)).where(_v.name == name)
                    ).scalar()
                    version = (newest or 0) + 1
                    now = now_ms()
                    conn.execute(
                        model_versions.insert().values(
                            name=name,
                            version=version,
                            creation_timestamp=now,
                            last_updated_timestamp=now,
                            description=description or "",
                            current_stage="None",
                            source=source,
                            storage_location=location,
                            run_id=run_id or None,
                            run_link=run_link or None,
                            model_id=model_id or None,
                            status="READY",
                        )
                    )
                    upsert_pairs(
                        self.db,
                        conn,
                        model_version_tags,
                        {"name": name, "version": version},
                        tag_list,
                    )
                    self._touch(conn, name)
                    return self._versions(conn, [(name, version)])[0]
            except sa.exc.IntegrityError:
                if attempt == 4:
                    raise
        raise AssertionError("unreachable")

    def _resolve_source(
        self, conn: sa.Connection, source: str, run_id: str | None, model_id: str | None
    ) -> tuple[str, str | None, str | None]:
        """``(storage location, run id, model id)`` of a version's source URI."""
        if source.startswith("models:/m-") or (model_id and source == f"models:/{model_id}"):
            model_id = source.removeprefix("models:/").strip("/")
        if model_id:
            row = conn.execute(
                sa.select(logged_models).where(logged_models.c.model_id == model_id)
            ).first()
            if row is None:
                raise not_found(f"no logged model with id {model_id!r} (the version's source)")
            return row.artifact_location, run_id or row.source_run_id, model_id
        if source.startswith("runs:/"):
            run, _, path = source.removeprefix("runs:/").partition("/")
            root = conn.execute(
                sa.select(runs.c.artifact_uri).where(runs.c.run_uuid == run)
            ).scalar()
            if root is None:
                raise not_found(f"no run with id {run!r} (in the source {source!r})")
            return f"{root.rstrip('/')}/{path}".rstrip("/"), run_id or run, None
        if source.startswith("models:/"):
            raise invalid(
                f"source {source!r} names a registered model; register from the version's "
                "source (get-download-uri) or from a runs:/ or models:/m-... URI"
            )
        return source, run_id, None

    def get_model_version(self, name: str, version: str) -> dict:
        with self.db.read() as conn:
            number = self._version_row(conn, name, version)
            return self._versions(conn, [(name, number)])[0]

    def update_model_version(self, name: str, version: str, description: str | None) -> dict:
        with self.db.write() as conn:
            number = self._version_row(conn, name, version)
            values: dict[str, Any] = {"last_updated_timestamp": now_ms()}
            if description is not None:
                values["description"] = description
            conn.execute(
                model_versions.update()
                .where(_v.name == name, _v.version == number)
                .values(**values)
            )
            return self._versions(conn, [(name, number)])[0]

    def transition_stage(self, name: str, version: str, stage: str, archive_others: bool) -> dict:
        with self.db.write() as conn:
            number = self._version_row(conn, name, version)
            now = now_ms()
            if archive_others and stage in ("Staging", "Production"):
                conn.execute(
                    model_versions.update()
                    .where(_v.name == name, _v.version != number, _v.current_stage == stage)
                    .values(current_stage="Archived", last_updated_timestamp=now)
                )
            conn.execute(
                model_versions.update()
                .where(_v.name == name, _v.version == number)
                .values(current_stage=stage, last_updated_timestamp=now)
            )
            self._touch(conn, name)
            return self._versions(conn, [(name, number)])[0]

    def delete_model_version(self, name: str, version: str) -> None:
        """Hide a version (its number is never reused) and drop its tags and aliases."""
        with self.db.write() as conn:
            number = self._version_row(conn, name, version)
            conn.execute(
                model_versions.update()
                .where(_v.name == name, _v.version == number)
                .values(current_stage=DELETED, last_updated_timestamp=now_ms())
            )
            for table in (model_version_tags, registered_model_aliases):
                conn.execute(table.delete().where(table.c.name == name, table.c.version == number))
            self._touch(conn, name)

    def get_download_uri(self, name: str, version: str) -> str:
        with self.db.read() as conn:
            number = self._version_row(conn, name, version)
            return str(
                conn.execute(
                    sa.select(_v.storage_location).where(_v.name == name, _v.version == number)
                ).scalar()
            )

    def set_model_version_tag(self, name: str, version: str, key: str, value: str | None) -> None:
        with self.db.write() as conn:
            number = self._version_row(conn, name, version)
            if value is None:
                owner = {"name": name, "version": number}
                missing = f"version {number} of {name!r} has no tag {key!r}"
                delete_pair(conn, model_version_tags, owner, key, missing)
            else:
                upsert_pairs(
                    self.db,
                    conn,
                    model_version_tags,
                    {"name": name, "version": number},
                    [{"key": key, "value": value}],
                )

    def get_latest_versions(self, name: str, stages: list[str]) -> list[dict]:
        """The newest version in each of ``stages`` (every stage when empty)."""
        wanted = [parse_stage(s) for s in stages] or list(STAGES)
        with self.db.read() as conn:
            self._model_row(conn, name)
            return self._latest(conn, [name], wanted).get(name, [])

    def search_model_versions(
        self, filter_text: str | None, limit: int, order_by: list[str], token: str | None
    ) -> dict:
        clauses = entity_filter.parse(filter_text, _VERSION_FILTER, ("tag",))
        conditions = [_v.current_stage != DELETED]
        for clause in clauses:
            if clause.kind == "attribute" and clause.key == "version":
                clause = _numeric_version(clause)
            join = sa.and_(
                model_version_tags.c.name == _v.name, model_version_tags.c.version == _v.version
            )
            conditions.append(self._condition(clause, _v, model_version_tags, join))
        default = [_v.last_updated_timestamp.desc(), _v.name.asc(), _v.version.desc()]
        terms = entity_filter.order_terms(order_by, _VERSION_ORDER, "model versions", default)
        offset = search.decode_token(token)
        query = sa.select(_v.name, _v.version).where(*conditions).order_by(*terms)
        with self.db.read() as conn:
            keys = [tuple(r) for r in conn.execute(query.offset(offset).limit(limit + 1))]
            found = self._versions(conn, keys[:limit])
        return search.page("model_versions", found, len(keys), offset, limit)

    # -- aliases -----------------------------------------------------------

    def set_alias(self, name: str, alias: str, version: str) -> None:
        with self.db.write() as conn:
            number = self._version_row(conn, name, version)
            stmt = self.db.insert(registered_model_aliases)
            a = registered_model_aliases.c
            conn.execute(
                stmt.on_conflict_do_update(
                    index_elements=[a.name, a.alias], set_={"version": stmt.excluded.version}
                ),
                {"name": name, "alias": alias, "version": number},
            )
            self._touch(conn, name)

    def delete_alias(self, name: str, alias: str) -> None:
        with self.db.write() as conn:
            self._model_row(conn, name)
            missing = f"registered model {name!r} has no alias {alias!r}"
            delete_pair(conn, registered_model_aliases, {"name": name}, alias, missing, "alias")

    def get_version_by_alias(self, name: str, alias: str) -> dict:
        with self.db.read() as conn:
            self._model_row(conn, name)
            a = registered_model_aliases.c
            number = conn.execute(
                sa.select(a.version).where(a.name == name, a.alias == alias)
            ).scalar()
            if number is None:
                raise not_found(f"registered model {name!r} has no alias {alias!r}")
            return self._versions(conn, [(name, number)])[0]

    # -- helpers -----------------------------------------------------------

    def _condition(self, clause: entity_filter.Clause, c: Any, tags: sa.Table, join: Any) -> Any:
        if clause.kind == "attribute":
            return entity_filter.condition(self.db, c[clause.key], clause.op, clause.value)
        if clause.op == "!=":  # MLflow: a model without the tag matches (prompts filter on it)
            same = sa.and_(join, tags.c.key == clause.key, tags.c.value == str(clause.value))
            return sa.not_(sa.exists().where(same))
        return entity_filter.key_value_exists(self.db, tags, join, clause)

    def _model_row(self, conn: sa.Connection, name: str, must_exist: bool = True) -> Any:
        row = conn.execute(sa.select(registered_models).where(_r.name == name)).first()
        if row is None and must_exist:
            raise not_found(f"no registered model named {name!r}")
        return row

    def _version_row(self, conn: sa.Connection, name: str, version: str) -> int:
        number = parse_version(version)
        stage = conn.execute(
            sa.select(_v.current_stage).where(_v.name == name, _v.version == number)
        ).scalar()
        if stage is None or stage == DELETED:
            self._model_row(conn, name)
            raise not_found(f"registered model {name!r} has no version {number}")
        return number

    def _touch(self, conn: sa.Connection, name: str) -> None:
        conn.execute(
            registered_models.update()
            .where(_r.name == name)
            .values(last_updated_timestamp=now_ms())
        )

    def _registrations(self, conn: sa.Connection, model_ids: list[str]) -> dict[str, list[dict]]:
        """Registry versions made from each logged model (a logged model's ``registrations``)."""
        found: dict[str, list[dict]] = {}
        if not model_ids:
            return found
        query = sa.select(_v.model_id, _v.name, _v.version).where(
            _v.model_id.in_(model_ids), _v.current_stage != DELETED
        )
        for row in conn.execute(query.order_by(_v.name, _v.version)):
            found.setdefault(row.model_id, []).append(
                {"name": row.name, "version": str(row.version)}
            )
        return found

    def _registered_models(self, conn: sa.Connection, names: list[str]) -> list[dict]:
        if not names:
            return []
        rows = {
            r.name: r for r in conn.execute(sa.select(registered_models).where(_r.name.in_(names)))
        }
        tags = _pairs_by(conn, registered_model_tags, registered_model_tags.c.name.in_(names))
        a = registered_model_aliases.c
        aliases: dict[str, list[dict]] = {}
        for row in conn.execute(sa.select(registered_model_aliases).where(a.name.in_(names))):
            aliases.setdefault(row.name, []).append(
                {"alias": row.alias, "version": str(row.version)}
            )
        latest = self._latest(conn, names, list(STAGES))
        result = []
        for name in names:
            if name not in rows:
                continue
            row = rows[name]
            model: dict[str, Any] = {
                "name": row.name,
                "creation_timestamp": row.creation_timestamp,
                "last_updated_timestamp": row.last_updated_timestamp,
                "tags": tags.get((name,), []),
                "aliases": sorted(aliases.get(name, []), key=lambda x: x["alias"]),
            }
            if row.description:
                model["description"] = row.description
            if latest.get(name):
                model["latest_versions"] = latest[name]
            result.append(model)
        return result

    def _latest(self, conn: sa.Connection, names: list[str], stages: list[str]) -> dict[str, list]:
        newest = (
            sa.select(_v.name, _v.current_stage, sa.func.max(_v.version).label("version"))
            .where(_v.name.in_(names), _v.current_stage.in_(stages))
            .group_by(_v.name, _v.current_stage)
        )
        keys = sorted((row.name, row.version) for row in conn.execute(newest))
        found: dict[str, list] = {}
        for version in self._versions(conn, keys):
            found.setdefault(version["name"], []).append(version)
        return found

    def _versions(self, conn: sa.Connection, keys: list[tuple]) -> list[dict]:
        """Model versions in MLflow's JSON shape, in the order of ``(name, version)`` keys."""
        if not keys:
            return []
        names = sorted({k[0] for k in keys})
        rows = {
            (r.name, r.version): r
            for r in conn.execute(sa.select(model_versions).where(_v.name.in_(names)))
            if (r.name, r.version) in set(keys)
        }
        tags = _pairs_by(conn, model_version_tags, model_version_tags.c.name.in_(names))
        a = registered_model_aliases.c
        aliases: dict[tuple, list[str]] = {}
        for row in conn.execute(sa.select(registered_model_aliases).where(a.name.in_(names))):
            aliases.setdefault((row.name, row.version), []).append(row.alias)
        return [
            _version_json(rows[k], tags.get(k, []), sorted(aliases.get(k, [])))
            for k in keys
            if k in rows
        ]


def _numeric_version(clause: entity_filter.Clause) -> entity_filter.Clause:
    try:
        value = (
            [int(v) for v in clause.value] if isinstance(clause.value, list) else int(clause.value)
        )
    except (TypeError, ValueError):
        raise invalid(
            f"version_number must be compared with a whole number, got {clause.value!r}"
        ) from None
    return entity_filter.Clause(clause.kind, clause.key, clause.op, value)


def _pairs_by(conn: sa.Connection, table: sa.Table, where: Any) -> dict[tuple, list[dict]]:
    owner = [c.name for c in table.primary_key.columns if c.name != "key"]
    found: dict[tuple, list[dict]] = {}
    for row in conn.execute(sa.select(table).where(where).order_by(table.c.key)):
        key = tuple(getattr(row, c) for c in owner)
        found.setdefault(key, []).append({"key": row.key, "value": row.value})
    return found


def _version_json(row: Any, tags: list, aliases: list) -> dict:
    version: dict[str, Any] = {
        "name": row.name,
        "version": str(row.version),
        "creation_timestamp": row.creation_timestamp,
        "last_updated_timestamp": row.last_updated_timestamp,
        "current_stage": row.current_stage,
        "source": row.source,
        "status": row.status,
        "tags": tags,
        "aliases": aliases,
    }
    for key in ("description", "run_id", "run_link", "model_id"):
        if getattr(row, key):
            version[key] = getattr(row, key)
    return version
