"""A run's inputs and outputs: datasets and models it consumed (log-inputs), models it made.

``mlflow.log_input`` (and MLflow's autologging, which logs the training set)
sends ``runs/log-inputs``; MLflow 3's ``log_model`` sends ``runs/outputs`` to
link the logged model to its run. ``get_run`` and ``search_runs`` return both
in the run's ``inputs`` and ``outputs``, as MLflow's server does. A dataset is
identified by its name and digest: logging it again replaces its tags, never
adds a second copy.
"""

from __future__ import annotations

import json
from typing import Any

import sqlalchemy as sa

from .database import Database
from .errors import invalid, not_found
from .experiments import now_ms
from .schema import logged_models, run_datasets, run_models, runs

MAX_DATASET_TEXT = 1 << 20  # schema or profile text per dataset, as MLflow's limit


class RunIOStore:
    """log-inputs and outputs; mixed into the tracking store, which has ``db``."""

    db: Database

    def log_inputs(self, run_id: str, datasets: list[dict], models: list[dict]) -> None:
        with self.db.write() as conn:
            self._active_run(conn, run_id)
            now = now_ms()
            for item in datasets:
                dataset = item["dataset"]
                for key in ("schema", "profile"):
                    if len(dataset[key] or "") > MAX_DATASET_TEXT:
                        raise invalid(
                            f"dataset {dataset['name']!r} has a {key} of {len(dataset[key])} "
                            f"characters; the limit is {MAX_DATASET_TEXT}"
                        )
                row = {
                    "run_uuid": run_id,
                    "name": dataset["name"],
                    "digest": dataset["digest"],
                    "source_type": dataset["source_type"],
                    "source": dataset["source"],
                    "schema": dataset["schema"],
                    "profile": dataset["profile"],
                    "tags": json.dumps(
                        [{"key": t["key"], "value": t["value"]} for t in item["tags"] or []]
                    ),
                    "logged_at": now,
                }
                stmt = self.db.insert(run_datasets)
                keep = ("source_type", "source", "schema", "profile", "tags")
                conn.execute(
                    stmt.on_conflict_do_update(
                        index_elements=[
                            run_datasets.c.run_uuid,
                            run_datasets.c.name,
                            run_datasets.c.digest,
                        ],
                        set_={k: stmt.excluded[k] for k in keep},
                    ),
                    row,
                )
            self._link_models(conn, run_id, models, "input")

    def log_outputs(self, run_id: str, models: list[dict]) -> None:
        with self.db.write() as conn:
            self._active_run(conn, run_id)
            self._link_models(conn, run_id, models, "output")

    def _active_run(self, conn: sa.Connection, run_id: str) -> None:
        """Refuse to log to a run that does not exist or is deleted."""
        stage = conn.execute(
            sa.select(runs.c.lifecycle_stage).where(runs.c.run_uuid == run_id)
        ).scalar()
        if stage is None:
            raise not_found(f"no run with id {run_id!r}")
        if stage != "active":
            raise invalid(f"run {run_id!r} is deleted; restore it before logging to it")

    def _link_models(
        self, conn: sa.Connection, run_id: str, models: list[dict], direction: str
    ) -> None:
        if not models:
            return
        wanted = sorted({m["model_id"] for m in models})
        known = set(
            conn.execute(
                sa.select(logged_models.c.model_id).where(logged_models.c.model_id.in_(wanted))
            ).scalars()
        )
        if missing := [m for m in wanted if m not in known]:
            raise not_found(f"no logged model with id {missing[0]!r}")
        rows = [
            {
                "run_uuid": run_id,
                "model_id": m["model_id"],
                "direction": direction,
                "step": m.get("step") or 0,
            }
            for m in models
        ]
        stmt = self.db.insert(run_models)
        conn.execute(
            stmt.on_conflict_do_update(
                index_elements=[
                    run_models.c.run_uuid,
                    run_models.c.model_id,
                    run_models.c.direction,
                ],
                set_={"step": stmt.excluded.step},
            ),
            rows,
        )

    def _run_io(self, conn: sa.Connection, run_ids: list[str]) -> dict[str, tuple[dict, dict]]:
        """``(inputs, outputs)`` in MLflow's JSON shape for each run that has any."""
        found: dict[str, tuple[dict, dict]] = {}

        def entry(run_id: str) -> tuple[dict, dict]:
            return found.setdefault(run_id, ({}, {}))

        datasets = (
            sa.select(run_datasets)
            .where(run_datasets.c.run_uuid.in_(run_ids))
            .order_by(run_datasets.c.logged_at, run_datasets.c.name)
        )
        for row in conn.execute(datasets):
            dataset: dict[str, Any] = {
                "name": row.name,
                "digest": row.digest,
                "source_type": row.source_type,
                "source": row.source,
            }
            for key in ("schema", "profile"):
                if getattr(row, key) is not None:
                    dataset[key] = getattr(row, key)
            entry(row.run_uuid)[0].setdefault("dataset_inputs", []).append(
                {"tags": json.loads(row.tags), "dataset": dataset}
            )
        links = sa.select(run_models).where(run_models.c.run_uuid.in_(run_ids))
        for row in conn.execute(links.order_by(run_models.c.step, run_models.c.model_id)):
            inputs, outputs = entry(row.run_uuid)
            if row.direction == "input":
                inputs.setdefault("model_inputs", []).append({"model_id": row.model_id})
            else:
                outputs.setdefault("model_outputs", []).append(
                    {"model_id": row.model_id, "step": row.step}
                )
        return found
