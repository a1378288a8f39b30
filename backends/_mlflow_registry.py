"""autolog's registry API over MLflow's REST calls (``autolog server`` or any MLflow server).

``register_model`` does what ``mlflow.register_model`` does: create the name if it
is new (an existing one is fine), then a version whose source is the folder that
holds the model (the run's ``model`` artifacts, or the MLflow 3 logged model of
that name the run produced). When autolog saved the model, the version carries
the manifest's sha256 as the tag ``autolog.manifest_sha256``, so loading it by
name is checked against what was saved even where the run is gone.
"""

from __future__ import annotations

import json
from typing import Any

from .._registry import MANIFEST_TAG, ModelVersion, RegisteredModel
from ..errors import AutologError
from ._mlflow_models import run_model
from ._mlflow_rest import RestClient, ServerRejectedError

MODEL_TAG = "autolog.model"
PAGE = 1000


def recorded_sha256(run: dict, path: str) -> str | None:
    """The manifest sha256 autolog recorded on the server run for its model at ``path``."""
    tags = {t["key"]: t["value"] for t in run.get("data", {}).get("tags", [])}
    try:
        record = json.loads(tags.get(MODEL_TAG) or "null")
    except ValueError:
        return None
    if not isinstance(record, dict) or str(record.get("path", "model")) != path:
        return None
    files = record.get("files") if isinstance(record.get("files"), dict) else {}
    found = record.get("manifest_sha256") or (files or {}).get("manifest.json")
    return str(found) if found else None


def register(rest: RestClient, name: str, server_run_id: str, path: str | None) -> ModelVersion:
    run = rest.call("runs/get", run_id=server_run_id)["run"]
    if path is None:
        path = _model_path(run)
    location, model_id = run_model(rest, server_run_id, path)
    try:
        rest.call("registered-models/create", {"name": name})
    except ServerRejectedError as exc:
        if exc.error_code != "RESOURCE_ALREADY_EXISTS":
            raise
    body: dict[str, Any] = {"name": name, "source": location, "run_id": server_run_id}
    expected = recorded_sha256(run, path)
    if expected:
        body["tags"] = [{"key": MANIFEST_TAG, "value": expected}]
    if model_id:
        body["model_id"] = model_id
    return version_of(rest.call("model-versions/create", body)["model_version"])


def _model_path(run: dict) -> str:
    tags = {t["key"]: t["value"] for t in run.get("data", {}).get("tags", [])}
    try:
        record = json.loads(tags.get(MODEL_TAG) or "null")
    except ValueError:
        record = None
    return str(record.get("path", "model")) if isinstance(record, dict) else "model"


def set_alias(rest: RestClient, name: str, alias: str, version: int) -> None:
    rest.call("registered-models/alias", {"name": name, "alias": alias, "version": str(version)})


def delete_alias(rest: RestClient, name: str, alias: str) -> None:
    url = f"{rest.base}/api/2.0/mlflow/registered-models/alias"
    rest.request("DELETE", url, params={"name": name, "alias": alias})


def search(rest: RestClient) -> list[RegisteredModel]:
    found: list[RegisteredModel] = []
    token = None
    while True:
        page = rest.call("registered-models/search", max_results=PAGE, page_token=token)
        found.extend(_model_of(entry, []) for entry in page.get("registered_models", []))
        token = page.get("next_page_token")
        if not token:
            return sorted(found, key=lambda m: (-m.updated, m.name))


def get(rest: RestClient, name: str) -> RegisteredModel:
    try:
        entry = rest.call("registered-models/get", name=name)["registered_model"]
    except ServerRejectedError as exc:
        if exc.status == 404:
            raise AutologError(f"no registered model {name!r} on {rest.uri}") from None
        raise
    quoted = f"'{name}'" if "'" not in name else json.dumps(name)
    versions: list[ModelVersion] = []
    token = None
    while True:
        page = rest.call(
            "model-versions/search", filter=f"name = {quoted}", max_results=PAGE, page_token=token
        )
        versions.extend(version_of(v) for v in page.get("model_versions", []))
        token = page.get("next_page_token")
        if not token:
            break
    return _model_of(entry, sorted(versions, key=lambda v: v.version))


def _model_of(entry: dict, versions: list[ModelVersion]) -> RegisteredModel:
    aliases = {a["alias"]: int(a["version"]) for a in entry.get("aliases", [])}
    if not versions:  # a listing: the latest versions are what the server sends
        versions = [version_of(v) for v in entry.get("latest_versions", [])]
    for version in versions:
        version.aliases = sorted(a for a, n in aliases.items() if n == version.version)
    return RegisteredModel(
        name=entry["name"],
        created=int(entry.get("creation_timestamp") or 0),
        updated=int(entry.get("last_updated_timestamp") or entry.get("creation_timestamp") or 0),
        versions=sorted({v.version: v for v in versions}.values(), key=lambda v: v.version),
        aliases=aliases,
        description=entry.get("description") or "",
    )


def version_of(entry: dict) -> ModelVersion:
    """Our ModelVersion for MLflow's model version JSON."""
    tags = {t["key"]: t["value"] for t in entry.get("tags", [])}
    return ModelVersion(
        name=entry["name"],
        version=int(entry["version"]),
        run_id=entry.get("run_id") or None,
        source=entry.get("source", ""),
        created=int(entry.get("creation_timestamp") or 0),
        aliases=list(entry.get("aliases", [])),
        manifest_sha256=tags.get(MANIFEST_TAG),
        model_id=entry.get("model_id") or None,
    )
