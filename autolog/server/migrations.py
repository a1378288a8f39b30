"""Schema migrations: numbered steps that take any older database to the current schema.

An upgrade must never lose data, so each step is a function that changes the
schema *and moves the data along*, applied in one transaction together with
the row in ``autolog_schema`` that records it: a step is either fully applied or
not at all, even if the server is killed half-way. Every server runs
:func:`migrate` at start; on PostgreSQL an advisory lock makes concurrent
starts of several servers apply each step exactly once. A database written by
a newer autolog is refused rather than misread.

Steps describe the schema *as it was at that version* (they never import
:mod:`autolog.server.schema`), so that editing today's tables cannot change what
an old step does. To change the schema: append a step, then update schema.py.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import sqlalchemy as sa

from .database import Database

_ADVISORY_LOCK_ID = 7_240_011  # any constant shared by all autolog servers


class SchemaError(RuntimeError):
    """The database cannot be used by this server version; the message says why and what to do."""


@dataclass(frozen=True)
class Migration:
    version: int
    description: str
    apply: Callable[[sa.Connection], None]


def _v1_base_tables(conn: sa.Connection) -> None:
    meta = sa.MetaData()
    big_id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
    sa.Table(
        "experiments",
        meta,
        sa.Column("experiment_id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("name", sa.String(500), nullable=False, unique=True),
        sa.Column("artifact_location", sa.Text, nullable=False),
        sa.Column("lifecycle_stage", sa.String(32), nullable=False),
        sa.Column("creation_time", sa.BigInteger, nullable=False),
        sa.Column("last_update_time", sa.BigInteger, nullable=False),
    )
    for name in ("experiment_tags",):
        sa.Table(
            name,
            meta,
            sa.Column("experiment_id", sa.Integer, primary_key=True),
            sa.Column("key", sa.String(250), primary_key=True),
            sa.Column("value", sa.Text, nullable=False),
        )
    runs = sa.Table(
        "runs",
        meta,
        sa.Column("run_uuid", sa.String(32), primary_key=True),
        sa.Column("experiment_id", sa.Integer, nullable=False),
        sa.Column("name", sa.String(250), nullable=False),
        sa.Column("user_id", sa.String(256), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("start_time", sa.BigInteger, nullable=False),
        sa.Column("end_time", sa.BigInteger),
        sa.Column("lifecycle_stage", sa.String(20), nullable=False),
        sa.Column("artifact_uri", sa.Text, nullable=False),
    )
    sa.Index("runs_by_experiment", runs.c.experiment_id, runs.c.start_time)
    for name in ("params", "tags"):
        sa.Table(
            name,
            meta,
            sa.Column("run_uuid", sa.String(32), primary_key=True),
            sa.Column("key", sa.String(250), primary_key=True),
            sa.Column("value", sa.Text, nullable=False),
        )
    metrics = sa.Table(
        "metrics",
        meta,
        sa.Column("id", big_id, primary_key=True, autoincrement=True),
        sa.Column("run_uuid", sa.String(32), nullable=False),
        sa.Column("key", sa.String(250), nullable=False),
        sa.Column("value", sa.Double, nullable=False),
        sa.Column("is_nan", sa.Boolean, nullable=False),
        sa.Column("step", sa.BigInteger, nullable=False),
        sa.Column("timestamp", sa.BigInteger, nullable=False),
    )
    sa.Index(
        "metric_points_unique",
        *(metrics.c[name] for name in ("run_uuid", "key", "step", "timestamp", "value", "is_nan")),
        unique=True,
    )
    meta.create_all(conn)
    now = int(time.time() * 1000)
    conn.execute(
        meta.tables["experiments"].insert(),
        {
            "experiment_id": 0,
            "name": "Default",
            "artifact_location": "mlflow-artifacts:/0",
            "lifecycle_stage": "active",
            "creation_time": now,
            "last_update_time": now,
        },
    )


def _v2_latest_metrics(conn: sa.Connection) -> None:
    meta = sa.MetaData()
    sa.Table(
        "latest_metrics",
        meta,
        sa.Column("run_uuid", sa.String(32), primary_key=True),
        sa.Column("key", sa.String(250), primary_key=True),
        sa.Column("value", sa.Double, nullable=False),
        sa.Column("is_nan", sa.Boolean, nullable=False),
        sa.Column("step", sa.BigInteger, nullable=False),
        sa.Column("timestamp", sa.BigInteger, nullable=False),
    )
    meta.create_all(conn)
    # Backfill: the newest point of each metric, by step, then time, then logging order.
    conn.exec_driver_sql(
        "INSERT INTO latest_metrics (run_uuid, key, value, is_nan, step, timestamp) "
        "SELECT run_uuid, key, value, is_nan, step, timestamp FROM ("
        "  SELECT run_uuid, key, value, is_nan, step, timestamp, ROW_NUMBER() OVER ("
        "    PARTITION BY run_uuid, key ORDER BY step DESC, timestamp DESC, id DESC) AS newest"
        "  FROM metrics) AS ranked "
        "WHERE newest = 1"
    )


def _v3_metric_points_by_id(conn: sa.Connection) -> None:
    # The web UI keeps metric histories in memory and asks only for rows newer than the
    # last id it read: with this index that is one probe, not a scan of the history.
    conn.exec_driver_sql("CREATE INDEX metric_points_by_id ON metrics (run_uuid, key, id)")


def _v4_logged_models(conn: sa.Connection) -> None:
    meta = sa.MetaData()
    models = sa.Table(
        "logged_models",
        meta,
        sa.Column("model_id", sa.String(64), primary_key=True),
        sa.Column("experiment_id", sa.Integer, nullable=False),
        sa.Column("name", sa.String(500), nullable=False),
        sa.Column("artifact_location", sa.Text, nullable=False),
        sa.Column("creation_timestamp_ms", sa.BigInteger, nullable=False),
        sa.Column("last_updated_timestamp_ms", sa.BigInteger, nullable=False),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("lifecycle_stage", sa.String(32), nullable=False),
        sa.Column("model_type", sa.String(500)),
        sa.Column("source_run_id", sa.String(32)),
        sa.Column("status_message", sa.Text),
    )
    sa.Index("logged_models_by_experiment", models.c.experiment_id, models.c.creation_timestamp_ms)
    sa.Index("logged_models_by_run", models.c.source_run_id)
    for name in ("logged_model_tags", "logged_model_params"):
        sa.Table(
            name,
            meta,
            sa.Column("model_id", sa.String(64), primary_key=True),
            sa.Column("key", sa.String(250), primary_key=True),
            sa.Column("value", sa.Text, nullable=False),
        )
    sa.Table(
        "run_models",
        meta,
        sa.Column("run_uuid", sa.String(32), primary_key=True),
        sa.Column("model_id", sa.String(64), primary_key=True),
        sa.Column("direction", sa.String(8), primary_key=True),
        sa.Column("step", sa.BigInteger, nullable=False),
    )
    sa.Table(
        "run_datasets",
        meta,
        sa.Column("run_uuid", sa.String(32), primary_key=True),
        sa.Column("name", sa.String(500), primary_key=True),
        sa.Column("digest", sa.String(64), primary_key=True),
        sa.Column("source_type", sa.String(64), nullable=False),
        sa.Column("source", sa.Text, nullable=False),
        sa.Column("schema", sa.Text),
        sa.Column("profile", sa.Text),
        sa.Column("tags", sa.Text, nullable=False),
        sa.Column("logged_at", sa.BigInteger, nullable=False),
    )
    meta.create_all(conn)


def _v5_model_registry(conn: sa.Connection) -> None:
    meta = sa.MetaData()
    sa.Table(
        "registered_models",
        meta,
        sa.Column("name", sa.String(256), primary_key=True),
        sa.Column("creation_timestamp", sa.BigInteger, nullable=False),
        sa.Column("last_updated_timestamp", sa.BigInteger, nullable=False),
        sa.Column("description", sa.Text, nullable=False),
    )
    sa.Table(
        "registered_model_tags",
        meta,
        sa.Column("name", sa.String(256), primary_key=True),
        sa.Column("key", sa.String(250), primary_key=True),
        sa.Column("value", sa.Text, nullable=False),
    )
    versions = sa.Table(
        "model_versions",
        meta,
        sa.Column("name", sa.String(256), primary_key=True),
        sa.Column("version", sa.Integer, primary_key=True),
        sa.Column("creation_timestamp", sa.BigInteger, nullable=False),
        sa.Column("last_updated_timestamp", sa.BigInteger, nullable=False),
        sa.Column("description", sa.Text, nullable=False),
        sa.Column("current_stage", sa.String(20), nullable=False),
        sa.Column("source", sa.Text, nullable=False),
        sa.Column("storage_location", sa.Text, nullable=False),
        sa.Column("run_id", sa.String(32)),
        sa.Column("run_link", sa.Text),
        sa.Column("model_id", sa.String(64)),
        sa.Column("status", sa.String(20), nullable=False),
    )
    sa.Index("model_versions_by_logged_model", versions.c.model_id)
    sa.Table(
        "model_version_tags",
        meta,
        sa.Column("name", sa.String(256), primary_key=True),
        sa.Column("version", sa.Integer, primary_key=True),
        sa.Column("key", sa.String(250), primary_key=True),
        sa.Column("value", sa.Text, nullable=False),
    )
    sa.Table(
        "registered_model_aliases",
        meta,
        sa.Column("name", sa.String(256), primary_key=True),
        sa.Column("alias", sa.String(256), primary_key=True),
        sa.Column("version", sa.Integer, nullable=False),
    )
    meta.create_all(conn)


MIGRATIONS: tuple[Migration, ...] = (
    Migration(1, "experiments, runs, params, tags and metric points", _v1_base_tables),
    Migration(2, "latest_metrics: the newest point of each metric, backfilled", _v2_latest_metrics),
    Migration(
        3, "metric_points_by_id: a metric's newest points, for live charts", _v3_metric_points_by_id
    ),
    Migration(
        4,
        "MLflow 3 logged models, their tags and params; run inputs and outputs",
        _v4_logged_models,
    ),
    Migration(5, "the model registry: models, versions, tags and aliases", _v5_model_registry),
)
LATEST_VERSION = MIGRATIONS[-1].version

_VERSION_TABLE = sa.Table(
    "autolog_schema",
    sa.MetaData(),
    sa.Column("version", sa.Integer, primary_key=True),
    sa.Column("description", sa.Text, nullable=False),
    sa.Column("applied_at", sa.BigInteger, nullable=False),
)


def current_version(conn: sa.Connection) -> int:
    """The schema version of the database: 0 for an empty one."""
    names = set(sa.inspect(conn).get_table_names())
    if "autolog_schema" not in names:
        if names & {"runs", "experiments", "metrics"}:
            raise SchemaError(
                "the database already holds tables named runs/experiments/metrics that autolog "
                "did not create (an MLflow database?); give autolog server its own database"
            )
        return 0
    return conn.execute(sa.select(sa.func.max(_VERSION_TABLE.c.version))).scalar() or 0


def migrate(db: Database, target: int = LATEST_VERSION) -> list[int]:
    """Apply every step above the database's version up to ``target``; return those applied."""
    applied = []
    for migration in MIGRATIONS:
        if migration.version > target:
            break
        with db.write() as conn:
            if not db.is_sqlite:
                conn.execute(
                    sa.text("SELECT pg_advisory_xact_lock(:id)"), {"id": _ADVISORY_LOCK_ID}
                )
            version = current_version(conn)
            if version > LATEST_VERSION:
                raise SchemaError(
                    f"the database {db.display_url} has schema version {version}, newer than "
                    f"this autolog server knows ({LATEST_VERSION}); upgrade autolog-tracking"
                )
            if version >= migration.version:
                continue
            _VERSION_TABLE.create(conn, checkfirst=True)
            migration.apply(conn)
            conn.execute(
                _VERSION_TABLE.insert(),
                {
                    "version": migration.version,
                    "description": migration.description,
                    "applied_at": int(time.time() * 1000),
                },
            )
            applied.append(migration.version)
    return applied
