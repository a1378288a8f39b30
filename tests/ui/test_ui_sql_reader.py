"""The UI's reader over the server's SQL store, in-process on real SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from autolog.server.artifacts import LocalArtifactStore
from autolog.server.database import Database
from autolog.server.migrations import migrate
from autolog.server.store import TrackingStore
from autolog.server.ui_reader import SqlReader
from autolog.ui.readers import BadRequest, NotFound


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[TrackingStore]:
    """An empty, migrated tracking store on each database the server supports."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'ui.db'}"
    else:
        url = request.getfixturevalue("postgres").create_database()
    db = Database(url)
    migrate(db)
    try:
        yield TrackingStore(db)
    finally:
        db.close()


def points(key: str, steps: range, value=lambda step: float(step)) -> list[dict]:
    return [{"key": key, "value": value(s), "step": s, "timestamp": 1_000 + s} for s in steps]


class TestSqlReader:
    def test_new_points_are_read_incrementally_through_the_id_index(
        self, store: TrackingStore, tmp_path
    ):
        """Migration 3 indexes points by (run, key, id); a second read adds only new points."""
        with store.db.read() as conn:
            indexes = {i["name"] for i in sa.inspect(conn).get_indexes("metrics")}
        assert "metric_points_by_id" in indexes
        experiment = store.create_experiment("sql-ui", None, [])
        run_id = store.create_run(experiment, "me", "trainer", 1_000, [])["info"]["run_id"]
        store.log_batch(run_id, points("loss", range(100)), [], [])
        reader = SqlReader(store, LocalArtifactStore(tmp_path / "artifacts"))
        series, status = reader.metric(run_id, "loss")
        assert (len(series), status) == (100, "RUNNING")
        store.log_batch(run_id, points("loss", range(100, 150)), [], [])
        again, _ = reader.metric(run_id, "loss")
        assert again is series and len(series) == 150
        assert series.view(points=1000)["step"] == list(range(150))

    def test_runs_filter_and_summaries(self, store: TrackingStore, tmp_path):
        """Runs come with params, latest metrics and parents; min/max ignore NaN."""
        experiment = store.create_experiment("sql-ui", None, [])
        parent = store.create_run(experiment, "me", "parent", 1_000, [])["info"]["run_id"]
        tags = [{"key": "mlflow.parentRunId", "value": parent}]
        child = store.create_run(experiment, "me", "child", 2_000, tags)["info"]["run_id"]
        values = [3.0, float("nan"), 1.0, 2.0]
        store.log_batch(
            child,
            points("loss", range(4), lambda s: values[s]),
            [{"key": "lr", "value": "0.1"}],
            [],
        )
        reader = SqlReader(store, LocalArtifactStore(tmp_path / "artifacts"))
        runs, total = reader.runs("sql-ui", "params.lr = '0.1'")
        assert total == 2 and [r.name for r in runs] == ["child"]
        assert runs[0].parent_id == parent and runs[0].metrics == {"loss": 2.0}
        detail = reader.run(child)
        [loss] = detail.metrics
        assert (loss.min, loss.max, loss.count) == (1.0, 3.0, 4)
        assert detail.parent.name == "parent"
        assert [c.name for c in reader.run(parent).children] == ["child"]
        with pytest.raises(BadRequest, match="expected"):
            reader.runs("sql-ui", "params.lr =")
        with pytest.raises(NotFound):
            reader.runs("no-such-experiment", None)
