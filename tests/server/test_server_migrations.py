"""Schema migrations on SQLite and PostgreSQL: fresh schema, upgrades that keep data, refusals."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from autolog.server import migrations, schema
from autolog.server.database import Database
from tests.support.processes import AutologServer
from tests.support.restapi import Api


@pytest.fixture(params=["sqlite", "postgresql"])
def db(request, tmp_path) -> Database:
    """An empty database of each kind."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'store.db'}"
    else:
        url = request.getfixturevalue("postgres").create_database()
    database = Database(url)
    yield database
    database.close()


def _columns(db: Database) -> dict[str, set[str]]:
    inspector = sa.inspect(db.engine)
    return {t: {c["name"] for c in inspector.get_columns(t)} for t in inspector.get_table_names()}


class TestMigrations:
    def test_fresh_database_matches_the_schema_module(self, db: Database):
        """Migrating an empty database gives exactly the tables and columns schema.py describes."""
        assert migrations.migrate(db) == [m.version for m in migrations.MIGRATIONS]
        expected = {t.name: {c.name for c in t.columns} for t in schema.metadata.tables.values()}
        assert _columns(db) == expected
        assert migrations.migrate(db) == []  # a second start changes nothing

    def test_upgrade_from_version_1_keeps_data_and_backfills(self, db: Database, tmp_path):
        """A version-1 database with runs and points upgrades with every row kept and latest set."""
        migrations.migrate(db, target=1)
        with db.write() as conn:
            conn.execute(
                sa.text(
                    "INSERT INTO runs (run_uuid, experiment_id, name, user_id, status, start_time,"
                    " lifecycle_stage, artifact_uri) VALUES ('a' || :x, 0, 'old', '', 'FINISHED',"
                    " 1, 'active', 'mlflow-artifacts:/0/r/artifacts')"
                ),
                {"x": "0" * 31},
            )
            conn.execute(
                sa.text(
                    "INSERT INTO metrics (run_uuid, key, value, is_nan, step, timestamp)"
                    " VALUES (:run, 'loss', :value, :nan, :step, :ts)"
                ),
                [
                    {"run": "a" + "0" * 31, "value": v, "nan": False, "step": s, "ts": t}
                    for v, s, t in ((3.0, 0, 1), (1.0, 2, 1), (2.0, 1, 9), (0.5, 2, 5))
                ],
            )
        assert migrations.migrate(db) == [m.version for m in migrations.MIGRATIONS][1:]
        with db.read() as conn:
            assert conn.execute(sa.text("SELECT COUNT(*) FROM metrics")).scalar() == 4
            latest = conn.execute(
                sa.text("SELECT value, step, timestamp FROM latest_metrics")
            ).all()
        assert [tuple(row) for row in latest] == [(0.5, 2, 5)]
        db.close()
        server = AutologServer(db.url.replace("+psycopg", ""), tmp_path / "artifacts").start()
        try:
            api = Api(server.url)
            run = api.ok(api.get("runs/get", run_id="a" + "0" * 31))["run"]
            assert run["data"]["metrics"] == [
                {"key": "loss", "value": 0.5, "timestamp": 5, "step": 2}
            ]
            api.close()
        finally:
            server.kill()

    def test_newer_schema_is_refused(self, db: Database, tmp_path):
        """A database from a newer autolog is not touched; the server says to upgrade."""
        migrations.migrate(db)
        with db.write() as conn:
            conn.execute(sa.text("INSERT INTO autolog_schema VALUES (99, 'from the future', 0)"))
        with pytest.raises(migrations.SchemaError, match="upgrade autolog-tracking"):
            migrations.migrate(db)
        db.close()
        server = AutologServer(db.url.replace("+psycopg", ""), tmp_path / "artifacts")
        with pytest.raises(RuntimeError, match="newer than this autolog server"):
            server.start()

    def test_foreign_tables_are_refused(self, db: Database):
        """A database that already has an unrelated runs table (MLflow's, say) is refused."""
        with db.write() as conn:
            conn.execute(sa.text("CREATE TABLE runs (run_uuid VARCHAR(32) PRIMARY KEY)"))
        with pytest.raises(migrations.SchemaError, match="did not create"):
            migrations.migrate(db)
