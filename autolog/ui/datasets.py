"""The run page's Datasets section: what a run trained on, and which other runs used the same data.

``GET /ui-api/runs/{id}/datasets`` answers the run's dataset inputs (name, digest,
context, schema and profile decoded from MLflow's JSON text) and, per digest, up
to ``MAX_SAME`` other runs whose inputs have that digest: the runs to compare
with when asking "was it the model or the data?". Other runs are found through
the reader's run listings, one experiment at a time.
"""

from __future__ import annotations

import json
from typing import Any

from .readers import Reader

MAX_SAME = 50


def datasets_payload(reader: Reader, run_id: str) -> dict[str, Any]:
    """The run's datasets, each with the other runs that trained on the same digest."""
    run = reader.run(run_id).record
    datasets = [_dataset(item) for item in run.inputs]
    digests = {d["digest"] for d in datasets if d["digest"]}
    same: dict[str, list[dict[str, Any]]] = {digest: [] for digest in digests}
    if digests:
        for experiment in reader.experiments():
            records, _ = reader.runs(experiment.name, None)
            for other in records:
                if other.id == run_id:
                    continue
                for digest in {i.get("dataset", {}).get("digest") for i in other.inputs}:
                    if digest in same and len(same[digest]) < MAX_SAME:
                        same[digest].append(
                            {
                                "id": other.id,
                                "name": other.name,
                                "experiment": other.experiment,
                                "status": other.status,
                                "start": other.start_time,
                            }
                        )
    for dataset in datasets:
        dataset["same_digest"] = sorted(
            same.get(dataset["digest"], []), key=lambda r: -(r["start"] or 0)
        )
    return {"run_id": run_id, "datasets": datasets}


def _dataset(item: dict[str, Any]) -> dict[str, Any]:
    dataset = item.get("dataset", {})
    return {
        "name": dataset.get("name", ""),
        "digest": dataset.get("digest", ""),
        "context": item.get("tags", {}).get("mlflow.data.context", ""),
        "source_type": dataset.get("source_type", ""),
        "schema": _decoded(dataset.get("schema")),
        "profile": _decoded(dataset.get("profile")),
    }


def _decoded(text: Any) -> Any:
    """MLflow keeps schema and profile as JSON text; anything unreadable is shown as it is."""
    if not isinstance(text, str) or not text:
        return None
    try:
        return json.loads(text)
    except ValueError:
        return text
