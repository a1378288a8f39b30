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
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from .._containment import contained
from .._records import FINISHED, STATUSES, MetricPoint, RunRecord, encode_float, visible_tags
from .._registry import MANIFEST_TAG, ModelVersion, RegisteredModel
from .._warnings import warn
from ..backend import Backend, Batch
from ..errors import BackendError, RunNotFoundError, UnsafePathError
from ..sources import is_run_id
from ._artifact_roots import ArtifactRoot, ArtifactRootUnavailable, artifact_root
from ._mlflow_rest import RestClient, ServerRejectedError, ServerUnavailableError
from ._ship_edits import EDIT_KINDS, ship_edits

__all__ = ["HttpBackend", "ServerRejectedError", "ServerUnavailableError"]

RUN_ID_TAG, PARENT_TAG, MODEL_TAG = "autolog.run_id", "autolog.parent_id", "autolog.model"
LIMITS = {"metrics": 1000, "params": 100, "tags": 100}
MAX_ENTITIES, MAX_REQUEST_BYTES, MAX_TAG_VALUE = 1000, 900_000, 8000


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
        self._no_inputs_warned = False
        self._roots: dict[str, ArtifactRoot] = {}
        self._warned_roots: set[str] = set()

    @property
    def reachable(self) -> bool | None:
        return self.rest.reachable

    def __repr__(self) -> str:
        return f"<HttpBackend {self.uri}>"

    # -- shipping ------------------------------------------------------------

    def ship(self, batch: Batch) -> None:
        run = self._ensure_run(batch.run_id, batch.header)
        params: dict[str, str] = {}
        tags: dict[str, str] = {}
        metrics: list[dict] = []
        files: list[str] = []
        edits: list[list] = []
        inputs: list[dict] = []
        end = None
        for record in batch.records:
            kind = record[0]
            if kind == "m":
                _, key, value, step, timestamp = record
                metrics.append(
                    {"key": key, "value": encode_float(value), "timestamp": timestamp, "step": step}
                )
            elif kind == "params":
                params.update(record[1])
            elif kind == "tags":
                tags.update(record[1])
            elif kind == "artifact":
                files.append(record[1]["path"])
            elif kind == "model":
                tags[MODEL_TAG] = _model_tag(record[1])
            elif kind == "inputs":
                inputs.extend(record[1])
            elif kind == "end":
                end = record[1]
            elif kind in EDIT_KINDS:
                edits.append(record)
        for body in _batches(params, tags, metrics):
            self.rest.call("runs/log-batch", {"run_id": run.id, **body})
        if inputs:
            self._log_inputs(run, inputs)
        for path in files:
            try:
                self._upload(run, batch.artifacts_dir, path)
            except ArtifactRootUnavailable as exc:
                batch.deferred.append(path)
                self._warn_deferred(run, exc)
        if edits:
            ship_edits(self.rest, run.id, edits)
        if end is not None:
            status = end.get("status", FINISHED)
            self.rest.call("runs/update", {"run_id": run.id, "status": status, **_end_time(end)})

    def run_url(self, run_id: str) -> str | None:
        """The run's page in the server's UI, with the ids the server gave it.

        ``#/experiments/<experiment_id>/runs/<run_id>`` is the route of MLflow's
        UI; ``autolog server``'s UI has the same route.
        """
        run = self._runs.get(run_id)
        if run is None:
            return None
        return f"{self.base}/#/experiments/{run.experiment_id}/runs/{run.id}"

    def _log_inputs(self, run: ServerRun, inputs: list[dict]) -> None:
        """MLflow keeps each (run, dataset) once, so a batch sent twice is harmless.

        A server without log-inputs (an MLflow before 2.4) keeps everything else:
        the datasets stay in the journal and are said to be missing once.
        """
        try:
            self.rest.call("runs/log-inputs", {"run_id": run.id, "datasets": mlflow_inputs(inputs)})
        except ServerRejectedError as exc:
            if exc.status != 404:
                raise
            if self._no_inputs_warned:
                return
            self._no_inputs_warned = True
            warn(
                f"{self.uri} has no runs/log-inputs endpoint; dataset inputs stay in the local "
                "journal only"
            )

    def _upload(self, run: ServerRun, artifacts_dir: Path, path: str) -> None:
        try:  # a crafted journal can name /etc/passwd or ../../.ssh/id_rsa
            source = contained(artifacts_dir, path, f"artifact of run {run.id}")
        except UnsafePathError as exc:
            warn(f"{exc}; it is not sent to {self.uri}")
            return
        if not source.is_file():
            warn(
                f"artifact {path!r} of run {run.id} is no longer in {artifacts_dir}; "
                f"it is not sent to {self.uri}"
            )
            return
        self._root(run).put(path, source)

    def _root(self, run: ServerRun) -> ArtifactRoot:
        if run.artifact_uri not in self._roots:
            self._roots[run.artifact_uri] = artifact_root(run.artifact_uri, self.rest)
        return self._roots[run.artifact_uri]

    def _warn_deferred(self, run: ServerRun, exc: ArtifactRootUnavailable) -> None:
        """One warning per reason: params, metrics and status went on; these files wait."""
        reason = str(exc)
        if reason in self._warned_roots:
            return
        self._warned_roots.add(reason)
        warn(
            f"autolog: {self.uri}: {reason}. The run's params, metrics, tags and status were "
            "sent; its artifacts wait in the local journal folder and go with the next "
            "`autolog sync`"
        )

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
        if not experiment_ids or not is_run_id(run_id):
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
        # autolog server keeps our ids, and a server's own id may be given: one request.
        try:
            return self._remember(self.rest.call("runs/get", run_id=run_id)["run"])
        except ServerRejectedError as exc:
            if exc.error_code not in ("RESOURCE_DOES_NOT_EXIST", "INVALID_PARAMETER_VALUE"):
                raise
        # A server that assigns its own ids (mlflow server): find ours by its tag.
        experiment_ids = self._all_experiment_ids()
        for first in range(0, len(experiment_ids), 100):
            found = self._find(experiment_ids[first : first + 100], run_id)
            if found is not None:
                return found
        raise RunNotFoundError(f"no run {run_id!r} on {self.uri}")

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
            tags=visible_tags(tags),
            model=model,
            lifecycle_stage=info.get("lifecycle_stage") or "active",
            inputs=journal_inputs(run.get("inputs", {}).get("dataset_inputs", [])),
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
                body = {
                    "experiment_ids": experiment_ids[first : first + 100],
                    "max_results": 1000,
                    "run_view_type": "ALL",  # deleted ones too; autolog.search_runs hides them
                }
                page = self.rest.call("runs/search", _with_token(body, token))
                records.extend(self._record(run) for run in page.get("runs", []))
                token = page.get("next_page_token")
                if not token:
                    break
        return sort_runs([r for r in records if run_filter.matches(r)], None)

    def get_run(self, run_id: str) -> RunRecord:
        server_run = self._resolve(run_id)
        record = self._record(self.rest.call("runs/get", run_id=server_run.id)["run"])
        try:
            record.artifacts = [path for path, _ in self._walk(self._root(server_run), "")]
        except ArtifactRootUnavailable:
            record.artifacts = []  # the server keeps them where we cannot look
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
        root = self._readable_root(server_run)
        files = list(self._walk(root, path))
        if not files:
            files = [(path, "")]  # a single file, or nothing (then the GET says so)
        for artifact_path, relative in files:
            local = contained(target, relative, what) if relative else target
            local.parent.mkdir(parents=True, exist_ok=True)
            try:
                root.get(artifact_path, local)
            except ServerRejectedError as exc:
                if exc.status == 404:
                    raise RunNotFoundError(f"run {run_id!r} has no artifact {path!r}") from None
                raise
        return target

    def _readable_root(self, run: ServerRun) -> ArtifactRoot:
        try:
            return self._root(run)
        except ArtifactRootUnavailable as exc:
            raise BackendError(f"cannot read the artifacts of run {run.id}: {exc}") from None

    def _walk(
        self, root: ArtifactRoot, folder: str, limit: int = 10_000
    ) -> Iterator[tuple[str, str]]:
        """Files under ``folder`` as (path in the run, path relative to ``folder``)."""
        pending, seen = [folder], 0
        while pending and seen < limit:
            current = pending.pop()
            for child, is_dir in root.list(current):
                if is_dir:
                    pending.append(child)
                else:
                    seen += 1
                    yield child, child[len(folder) :].strip("/")

    def run_ids_starting_with(self, prefix: str) -> list[str]:
        """Our ids and the server's own: a prefix of either finds the run, shown by our id."""
        matches = []
        for run in self.search_runs():
            server_id = next((s.id for k, s in self._runs.items() if k == run.id), "")
            if run.id.startswith(prefix) or server_id.startswith(prefix):
                matches.append(run.id)
        return matches

    # -- the model registry, over MLflow's REST calls (_mlflow_registry.py) --

    def register_model(self, name: str, run_id: str, path: str | None) -> ModelVersion:
        from ._mlflow_registry import register

        return register(self.rest, name, self._resolve(run_id).id, path)

    def set_model_alias(self, name: str, alias: str, version: int) -> None:
        from ._mlflow_registry import set_alias

        set_alias(self.rest, name, alias, version)

    def delete_model_alias(self, name: str, alias: str) -> None:
        from ._mlflow_registry import delete_alias

        delete_alias(self.rest, name, alias)

    def search_registered_models(self) -> list[RegisteredModel]:
        from ._mlflow_registry import search

        return search(self.rest)

    def get_registered_model(self, name: str) -> RegisteredModel:
        from ._mlflow_registry import get

        return get(self.rest, name)

    def fetch_model(self, uri: str, dest: Path) -> tuple[Path, str | None]:
        """The files of a ``runs:/`` or ``models:/`` URI, and the manifest sha256 on record.

        The sha256 comes from the registered version's tag, else from the
        ``autolog.model`` tag of the run the files came from; None for a model
        MLflow's client logged (it has no manifest) or one no record vouches for.
        """
        from ._mlflow_models import download, locate
        from ._mlflow_registry import recorded_sha256

        run_id, path = "", "model"
        if uri.startswith("runs:/"):  # our run id or the server's
            run_id, _, path = uri.removeprefix("runs:/").strip("/").partition("/")
            run_id, path = self._resolve(run_id).id, path or "model"
            uri = f"runs:/{run_id}/{path}"
        location, version = locate(self.rest, uri)
        tags = {t["key"]: t["value"] for t in (version or {}).get("tags", [])}
        expected = tags.get(MANIFEST_TAG)
        if version and not expected and version.get("run_id"):
            run_id = str(version["run_id"])
            path = location.rstrip("/").rsplit("/", 1)[-1]
        if run_id and not expected:
            try:
                run = self.rest.call("runs/get", run_id=run_id)["run"]
            except ServerRejectedError:
                run = {}  # the run is gone: the version's files are all there is
            root = str(run.get("info", {}).get("artifact_uri", "")).rstrip("/")
            if location.rstrip("/") == f"{root}/{path}":
                expected = recorded_sha256(run, path)
        return download(self.rest, location, dest / "model"), expected or None

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


def mlflow_inputs(inputs: list[dict]) -> list[dict]:
    """Our dataset inputs as the ``datasets`` of MLflow's log-inputs (tags as key/value lists)."""
    return [
        {
            "tags": [{"key": k, "value": v} for k, v in item.get("tags", {}).items()],
            "dataset": item["dataset"],
        }
        for item in inputs
    ]


def journal_inputs(dataset_inputs: list[dict]) -> list[dict]:
    """MLflow's ``run.inputs.dataset_inputs`` in the journal's shape."""
    return [
        {
            "dataset": item.get("dataset", {}),
            "tags": {t["key"]: t.get("value", "") for t in item.get("tags", [])},
        }
        for item in dataset_inputs
    ]


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
