"""Model URIs over MLflow's REST API: where ``models:/...`` and ``runs:/...`` files live.

Used by ``autolog.load_model`` against an HTTP backend (``autolog server`` or
any MLflow server), so that a model MLflow's client logged loads the same way
a model autolog saved does:

* ``models:/m-<id>``: an MLflow 3 logged model, by id;
* ``models:/NAME/3``, ``models:/NAME/latest``, ``models:/NAME@ALIAS``: the registry;
* ``runs:/RUN/PATH``: the run's artifact folder, or, as MLflow 3 logs models, the
  logged model of that name the run produced.

Every location is an ``mlflow-artifacts:`` URI, downloaded through the
server's artifact proxy.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote, urlsplit

from .._containment import contained
from .._registry import ModelRef, parse_model_uri
from ..errors import AutologError
from ._mlflow_rest import RestClient, ServerRejectedError

ARTIFACTS = "/api/2.0/mlflow-artifacts/artifacts"


def model_location(rest: RestClient, uri: str) -> str:
    """The ``mlflow-artifacts:`` folder holding the model ``uri`` names."""
    return locate(rest, uri)[0]


def locate(rest: RestClient, uri: str) -> tuple[str, dict | None]:
    """Where the model ``uri`` names is, and the registry's version entry when it has one."""
    try:
        if uri.startswith("models:/"):
            ref = parse_model_uri(uri)
            if ref.model_id:
                info = rest.call(f"logged-models/{ref.model_id}")["model"]["info"]
                return str(info["artifact_uri"]), None
            version = version_entry(rest, ref)
            found = rest.call(
                "model-versions/get-download-uri", name=ref.name, version=version["version"]
            )
            return str(found["artifact_uri"]), version
        if uri.startswith("runs:/"):
            run_id, _, path = uri.removeprefix("runs:/").strip("/").partition("/")
            return run_model(rest, run_id, path or "model")[0], None
    except ServerRejectedError as exc:
        if exc.status == 404:
            raise AutologError(f"{rest.uri} has no model {uri!r}: {exc}") from None
        raise
    raise AutologError(
        f"{uri!r} is not a model URI; use runs:/RUN_ID/model, models:/NAME/VERSION, "
        "models:/NAME@ALIAS or models:/m-MODEL_ID"
    )


def version_entry(rest: RestClient, ref: ModelRef) -> dict:
    """MLflow's JSON for the registered version ``ref`` names (by alias, number or latest)."""
    if ref.alias is not None:
        found = rest.call("registered-models/alias", name=ref.name, alias=ref.alias)
        return dict(found["model_version"])
    if ref.version is not None:
        found = rest.call("model-versions/get", name=ref.name, version=str(ref.version))
        return dict(found["model_version"])
    latest = rest.call("registered-models/get-latest-versions", {"name": ref.name})
    versions = latest.get("model_versions", [])
    if not versions:
        raise AutologError(f"registered model {ref.name!r} has no versions")
    return dict(max(versions, key=lambda v: int(v["version"])))


def run_model(rest: RestClient, run_id: str, path: str) -> tuple[str, str | None]:
    """``(location, logged model id or None)`` of the model a run saved at ``path``."""
    run = rest.call("runs/get", run_id=run_id)["run"]
    root = run["info"]["artifact_uri"].rstrip("/")
    if root.startswith("mlflow-artifacts:") and any(
        name in ("MLmodel", "manifest.json") for name in _names(rest, f"{root}/{path}")
    ):
        return f"{root}/{path}", None
    # MLflow 3 keeps a logged model's files beside the run: find the one of that name.
    search = {
        "experiment_ids": [run["info"]["experiment_id"]],
        "filter": f"name = '{path}'",
        "max_results": 100,
    }
    models = rest.call("logged-models/search", search).get("models", [])
    mine = [m["info"] for m in models if m["info"].get("source_run_id") == run_id]
    if not mine:
        raise AutologError(f"run {run_id} has no model at {path!r}")
    newest = max(mine, key=lambda info: int(info.get("creation_timestamp_ms", 0)))
    return str(newest["artifact_uri"]), str(newest["model_id"])


def _names(rest: RestClient, location: str) -> list[str]:
    listing = rest.request("GET", rest.base + ARTIFACTS, params={"path": _proxy_path(location)})
    return [entry["path"].rsplit("/", 1)[-1] for entry in listing.json().get("files", [])]


def download(rest: RestClient, location: str, dest: Path) -> Path:
    """Download every file under ``location`` into ``dest``; return ``dest``."""
    root = _proxy_path(location)
    count = 0
    for relative in _walk(rest, root, ""):
        url = f"{rest.base}{ARTIFACTS}/{quote(f'{root}/{relative}')}"
        local = contained(dest, relative, f"model file listed by {rest.uri}")
        local.parent.mkdir(parents=True, exist_ok=True)
        local.write_bytes(rest.request("GET", url).content)
        count += 1
    if not count:
        raise AutologError(f"{rest.uri} holds no files at {location!r}")
    return dest


def _walk(rest: RestClient, root: str, folder: str, limit: int = 10_000) -> Iterator[str]:
    pending, seen = [folder], 0
    while pending and seen < limit:
        current = pending.pop()
        params = {"path": f"{root}/{current}".rstrip("/")}
        listing = rest.request("GET", rest.base + ARTIFACTS, params=params).json()
        for entry in listing.get("files", []):
            child = f"{current}/{entry['path'].rsplit('/', 1)[-1]}".strip("/")
            if entry.get("is_dir"):
                pending.append(child)
            else:
                seen += 1
                yield child


def _proxy_path(location: str) -> str:
    if not location.startswith("mlflow-artifacts:"):
        raise AutologError(
            f"the model's files are at {location!r}, which the server does not serve over HTTP; "
            "start it with artifact serving on (mlflow server --serve-artifacts, the default)"
        )
    return urlsplit(location).path.strip("/")
