"""The HTTP backend: ``http(s)://`` tracking servers that speak MLflow's REST API.

It works the same against ``autolog server`` and a real ``mlflow server``. The
shipper feeds it batches from the journal on a background thread, so a slow or
absent server never slows training; this module turns a batch into MLflow
requests that are safe to send twice:

* MLflow chooses run ids, so each server run carries the tag ``autolog.run_id``
  (our id) from its creation on. Before creating a run we search for that tag,
  which is how a retry, or ``autolog sync`` in another process, finds the run
  instead of making a second one. A child whose parent the server has not seen
  yet creates the parent early (same experiment); the parent's own records fill
  it in later.
* Metric points are idempotent on the server (a repeated point is stored once by
  ``autolog server`` and MLflow's SQL store), params are fixed per run, tags and
  artifacts are overwritten with the same value.
* Requests respect MLflow's limits: 1000 metrics, 100 params, 100 tags, < 1 MB.

Retries, the two kinds of error (:class:`ServerUnavailableError`, worth
retrying, and :class:`ServerRejectedError`, ``permanent``) and credentials
(URI user/password, or a bearer token from ``AUTOLOG_TRACKING_TOKEN`` /
``MLFLOW_TRACKING_TOKEN``, never shown) live in :mod:`._mlflow_rest`.
"""

from __future__ import annotations

import json
import math
import re
import time
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import quote, urlsplit

from .._containment import contained
from .._records import FINISHED, STATUSES, MetricPoint, RunRecord
from ..backend import Backend, Batch
from ..errors import AutologWarning, RunNotFoundError, UnsafePathError
from ._mlflow_rest import RestClient, ServerRejectedError, ServerUnavailableError

__all__ = ["HttpBackend", "ServerRejectedError", "ServerUnavailableError"]

RUN_ID_TAG, PARENT_TAG, MODEL_TAG = "autolog.run_id", "autolog.parent_id", "autolog.model"
HIDDEN_TAGS = frozenset({RUN_ID_TAG, PARENT_TAG, MODEL_TAG, "mlflow.runName", "mlflow.parentRunId"})
ARTIFACTS = "/api/2.0/mlflow-artifacts/artifacts"
LIMITS = {"metrics": 1000, "params": 100, "tags": 100}
MAX_ENTITIES, MAX_REQUEST_BYTES, MAX_TAG_VALUE = 1000, 900_000, 8000
_RUN_ID = re.compile(r"^[0-9a-f]{32}$")


@dataclass
class ServerRun:
    """What we need of a run on the server: its id, experiment, artifact root and name."""

    id: str
    experiment_id: str
    artifact_uri: str
    name: str


def _double(value: Any) -> float:
    """A double from MLflow JSON: a number, or "NaN", "Infinity", "-Infinity"."""
    return float(value)


def _json_double(value: float) -> float | str:
    if math.isfinite(value):
        return value
    return "NaN" if value != value else ("Infinity" if value > 0 else "-Infinity")


class HttpBackend(Backend):
    """A tracking server reached over HTTP; see the module docstring."""

    remote = True
    max_batch_records = 5000

    def __init__(self, uri: str) -> None:
        self.rest = RestClient(uri)
        self.uri, self.base = self.rest.uri, self.rest.base
        self._runs: dict[str, ServerRun] = {}
        self._experiment_ids: dict[str, str] = {}
        self._experiment_names: dict[str, str] = {}

    def __repr__(self) -> str:
        return f"<HttpBackend {self.uri}>"

    # -- shipping ------------------------------------------------------------

    def ship(self, batch: Batch) -> None:
        run = self._ensure_run(batch.run_id, batch.header)
        params: dict[str, str] = {}
        tags: dict[str, str] = {}
        metrics: list[dict] = []
        files: list[str] = []
        end = None
        for record in batch.records:
            kind = record[0]
            if kind == "m":
                _, key, value, step, timestamp = record
                metrics.append(
                    {"key": key, "value": _json_double(value), "timestamp": timestamp, "step": step}
                )
            elif kind == "params":
                params.update(record[1])
            elif kind == "tags":
                tags.update(record[1])
            elif kind == "artifact":
                files.append(record[1]["path"])
            elif kind == "model":
                tags[MODEL_TAG] = _model_tag(record[1])
            elif kind == "end":
                end = record[1]
        for body in _batches(params, tags, metrics):
            self.rest.call("runs/log-batch", {"run_id": run.id, **body})
        for path in files:
            self._upload(run, batch.artifacts_dir, path)
        if end is not None:
            status = end.get("status", FINISHED)
            self.rest.call("runs/update", {"run_id": run.id, "status": status, **_end_time(end)})

    def _upload(self, run: ServerRun, artifacts_dir: Path, path: str) -> None:
        try:  # a crafted journal can name /etc/passwd or ../../.ssh/id_rsa
            source = contained(artifacts_dir, path, f"artifact of run {run.id}")
        except UnsafePathError as exc:
            warnings.warn(f"{exc}; it is not sent to {self.uri}", AutologWarning, stacklevel=2)
            return
        if not source.is_file():
            warnings.warn(
                f"artifact {path!r} of run {run.id} is no longer in {artifacts_dir}; "
                f"it is not sent to {self.uri}",
                AutologWarning,
                stacklevel=2,
            )
            return
        self.rest.request("PUT", self._artifact_url(run, path), file=source)

    def _ensure_run(self, run_id: str, header: dict) -> ServerRun:
        """The server run for our ``run_id``: cached, found by its tag, or created now."""
        found = self._runs.get(run_id)
        name = header.get("name")
        if found is not None and (not name or found.name == name):
            return found
        experiment_id = self._experiment_id(header.get("experiment") or "Default", create=True)
        found = found or self._find([experiment_id], run_id)  # type: ignore[list-item]
        if found is None:
            tags = {RUN_ID_TAG: run_id}
            parent_id = header.get("parent_id")
            if parent_id:
                parent_header = {k: header.get(k) for k in ("experiment", "start_time")}
                parent = self._ensure_run(parent_id, parent_header)
                tags.update({PARENT_TAG: parent_id, "mlflow.parentRunId": parent.id})
            body = {
                "experiment_id": experiment_id,
                "start_time": header.get("start_time") or int(time.time() * 1000),
                "tags": [{"key": k, "value": v} for k, v in tags.items()],
            }
            if name:
                body["run_name"] = name
            found = self._remember(self.rest.call("runs/create", body)["run"])
        elif name and found.name != name:  # created early as a parent: now we know its name
            self.rest.call("runs/update", {"run_id": found.id, "run_name": name})
            found.name = name
        return found

    def _remember(self, run: dict) -> ServerRun:
        info = run["info"]
        tags = {t["key"]: t["value"] for t in run.get("data", {}).get("tags", [])}
        server_run = ServerRun(
            info["run_id"], str(info["experiment_id"]), info.get("artifact_uri", ""),
            info.get("run_name") or tags.get("mlflow.runName", ""),
        )  # fmt: skip
        self._runs[tags.get(RUN_ID_TAG, info["run_id"])] = server_run
        return server_run

    def _find(self, experiment_ids: list[str], run_id: str) -> ServerRun | None:
        if not experiment_ids or not _RUN_ID.match(run_id):
            return None
        found = self.rest.call(
            "runs/search",
            {
                "experiment_ids": experiment_ids,
                "filter": f"tags.`{RUN_ID_TAG}` = '{run_id}'",
                "run_view_type": "ALL",
                "max_results": 1,
            },
        ).get("runs", [])
        return self._remember(found[0]) if found else None

    def _experiment_id(self, name: str, create: bool) -> str | None:
        """The id of experiment ``name``, created first if ``create``; None if there is none."""
        if name in self._experiment_ids:
            return self._experiment_ids[name]
        try:
            found = self.rest.call("experiments/get-by-name", experiment_name=name)
        except ServerRejectedError as exc:
            if exc.error_code != "RESOURCE_DOES_NOT_EXIST":
                raise
            if not create:
                return None
            try:
                self.rest.call("experiments/create", {"name": name})
            except ServerRejectedError as again:
                if again.error_code != "RESOURCE_ALREADY_EXISTS":  # else another process won
                    raise
            return self._experiment_id(name, create=False)
        experiment = found["experiment"]
        if create and experiment.get("lifecycle_stage") == "deleted":
            raise ServerRejectedError(
                f"experiment {name!r} is deleted on {self.uri}; restore it or use another name",
                400,
                "INVALID_STATE",
            )
        self._experiment_ids[name] = str(experiment["experiment_id"])
        self._experiment_names[self._experiment_ids[name]] = name
        return self._experiment_ids[name]

    # -- reading -------------------------------------------------------------

    def _all_experiment_ids(self) -> list[str]:
        ids, token = [], None
        while True:
            body = {"max_results": 1000, "view_type": "ALL"}
            page = self.rest.call("experiments/search", _with_token(body, token))
            for experiment in page.get("experiments", []):
                experiment_id = str(experiment["experiment_id"])
                self._experiment_names[experiment_id] = experiment["name"]
                ids.append(experiment_id)
            token = page.get("next_page_token")
            if not token:
                return ids

    def _resolve(self, run_id: str) -> ServerRun:
        """The server run for one of our ids, or for a server run id given directly."""
        if run_id in self._runs:
            return self._runs[run_id]
        experiment_ids = self._all_experiment_ids()
        for first in range(0, len(experiment_ids), 100):
            found = self._find(experiment_ids[first : first + 100], run_id)
            if found is not None:
                return found
        try:
            return self._remember(self.rest.call("runs/get", run_id=run_id)["run"])
        except ServerRejectedError as exc:
            if exc.error_code in ("RESOURCE_DOES_NOT_EXIST", "INVALID_PARAMETER_VALUE"):
                raise RunNotFoundError(f"no run {run_id!r} on {self.uri}") from None
            raise

    def _record(self, run: dict) -> RunRecord:
        """Our RunRecord for an MLflow run: our ids, names and statuses, bookkeeping tags hidden."""
        self._remember(run)
        info, data = run["info"], run.get("data", {})
        tags = {t["key"]: t["value"] for t in data.get("tags", [])}
        experiment_id = str(info["experiment_id"])
        if experiment_id not in self._experiment_names:
            got = self.rest.call("experiments/get", experiment_id=experiment_id)["experiment"]
            self._experiment_names[experiment_id] = got["name"]
        model = None
        if MODEL_TAG in tags:
            try:
                model = json.loads(tags[MODEL_TAG])
            except ValueError:
                model = None
        run_id = tags.get(RUN_ID_TAG, info["run_id"])
        status = info.get("status", "RUNNING")
        return RunRecord(
            id=run_id,
            name=info.get("run_name") or tags.get("mlflow.runName") or run_id[:8],
            experiment=self._experiment_names[experiment_id],
            status=status if status in STATUSES else "RUNNING",
            parent_id=tags.get(PARENT_TAG) or tags.get("mlflow.parentRunId"),
            start_time=int(info.get("start_time") or 0),
            end_time=int(info["end_time"]) if info.get("end_time") else None,
            params={p["key"]: p["value"] for p in data.get("params", [])},
            metrics={m["key"]: _double(m["value"]) for m in data.get("metrics", [])},
            tags={k: v for k, v in tags.items() if k not in HIDDEN_TAGS},
            model=model,
        )

    def search_runs(
        self, experiment: str | None = None, filter: str | None = None
    ) -> list[RunRecord]:
        from .._filter import parse_filter, sort_runs

        run_filter = parse_filter(filter)  # a bad filter fails here, before any request
        if experiment is None:
            experiment_ids = self._all_experiment_ids()
        else:
            found = self._experiment_id(experiment, create=False)
            experiment_ids = [found] if found else []
        records: list[RunRecord] = []
        token = None
        for first in range(0, len(experiment_ids), 100):
            while True:
                body = {"experiment_ids": experiment_ids[first : first + 100], "max_results": 1000}
                page = self.rest.call("runs/search", _with_token(body, token))
                records.extend(self._record(run) for run in page.get("runs", []))
                token = page.get("next_page_token")
                if not token:
                    break
        return sort_runs([r for r in records if run_filter.matches(r)], None)

    def get_run(self, run_id: str) -> RunRecord:
        server_run = self._resolve(run_id)
        record = self._record(self.rest.call("runs/get", run_id=server_run.id)["run"])
        record.artifacts = [path for path, _ in self._walk(server_run, "")]
        return record

    def get_metric_history(self, run_id: str, key: str) -> list[MetricPoint]:
        server_run = self._resolve(run_id)
        points: list[MetricPoint] = []
        token = None
        while True:
            params: dict[str, Any] = {
                "run_id": server_run.id,
                "metric_key": key,
                "max_results": 25000,
            }
            page = self.rest.call("metrics/get-history", **params, page_token=token)
            points.extend(
                MetricPoint(int(m.get("step", 0)), _double(m["value"]), int(m["timestamp"]))
                for m in page.get("metrics", [])
            )
            token = page.get("next_page_token")
            if not token:
                return points

    def download_artifacts(self, run_id: str, path: str, dest: Path) -> Path:
        server_run = self._resolve(run_id)
        path = path.strip("/")
        what = f"artifact listed by {self.uri}"
        name = PurePosixPath(path).name
        target = contained(Path(dest), name, what) if path else Path(dest)
        files = list(self._walk(server_run, path))
        if not files:
            files = [(path, "")]  # a single file, or nothing (then the GET says so)
        for artifact_path, relative in files:
            local = contained(target, relative, what) if relative else target
            local.parent.mkdir(parents=True, exist_ok=True)
            try:
                response = self.rest.request("GET", self._artifact_url(server_run, artifact_path))
            except ServerRejectedError as exc:
                if exc.status == 404:
                    raise RunNotFoundError(f"run {run_id!r} has no artifact {path!r}") from None
                raise
            local.write_bytes(response.content)
        return target

    def _walk(self, run: ServerRun, folder: str, limit: int = 10_000) -> Iterator[tuple[str, str]]:
        """Files under ``folder`` as (path in the run, path relative to ``folder``)."""
        pending, seen = [folder], 0
        while pending and seen < limit:
            current = pending.pop()
            root = self._artifact_root(run)
            listing = self.rest.request(
                "GET", self.base + ARTIFACTS, params={"path": f"{root}/{current}".rstrip("/")}
            ).json()
            for entry in listing.get("files", []):
                child = f"{current}/{entry['path']}".strip("/")
                if entry.get("is_dir"):
                    pending.append(child)
                else:
                    seen += 1
                    yield child, child[len(folder) :].strip("/")

    def _artifact_root(self, run: ServerRun) -> str:
        uri = run.artifact_uri
        if not uri.startswith("mlflow-artifacts:"):
            raise ServerRejectedError(
                f"{self.uri} keeps run artifacts at {uri!r}, which it does not serve over HTTP; "
                "start it with artifact serving on (mlflow server --serve-artifacts, the default)",
                400,
                "INVALID_STATE",
            )
        return urlsplit(uri).path.strip("/")

    def _artifact_url(self, run: ServerRun, path: str) -> str:
        return f"{self.base}{ARTIFACTS}/{quote(self._artifact_root(run) + '/' + path)}"

    def download_model(self, uri: str, dest: Path) -> Path:
        """The files of a ``runs:/`` or ``models:/`` URI, downloaded into ``dest``."""
        from ._mlflow_models import download, model_location

        if uri.startswith("runs:/"):  # our run id or the server's
            run_id, _, path = uri.removeprefix("runs:/").partition("/")
            uri = f"runs:/{self._resolve(run_id).id}/{path}"
        return download(self.rest, model_location(self.rest, uri), dest / "model")

    def close(self) -> None:
        self.rest.close()


def _batches(params: dict, tags: dict, metrics: list[dict]) -> Iterator[dict]:
    """log-batch bodies within MLflow's limits, params and tags first."""
    body: dict[str, list] = {"metrics": [], "params": [], "tags": []}
    count = size = 0
    items = [("params", {"key": k, "value": v}) for k, v in params.items()]
    items += [("tags", {"key": k, "value": v}) for k, v in tags.items()]
    items += [("metrics", metric) for metric in metrics]
    for kind, item in items:
        item_size = len(item["key"]) + (60 if kind == "metrics" else len(item["value"]) + 30)
        full = len(body[kind]) >= LIMITS[kind] or count >= MAX_ENTITIES
        if count and (full or size + item_size > MAX_REQUEST_BYTES):
            yield {k: v for k, v in body.items() if v}
            body, count, size = {"metrics": [], "params": [], "tags": []}, 0, 0
        body[kind].append(item)
        count, size = count + 1, size + item_size
    if count:
        yield {k: v for k, v in body.items() if v}


def _with_token(body: dict, token: str | None) -> dict:
    return {**body, "page_token": token} if token else body


def _model_tag(manifest: dict) -> str:
    """The model manifest as a tag; without its file list when that would not fit."""
    text = json.dumps(manifest, separators=(",", ":"), sort_keys=True)
    if len(text) > MAX_TAG_VALUE:
        text = json.dumps({k: v for k, v in manifest.items() if k != "files"})
    return text[:MAX_TAG_VALUE]


def _end_time(end: dict) -> dict:
    return {"end_time": end["end_time"]} if end.get("end_time") else {}
