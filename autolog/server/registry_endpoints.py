"""REST endpoints of MLflow's model registry: ``registered-models/*`` and ``model-versions/*``.

Same paths, methods and JSON as MLflow's server (``mlflow.register_model``,
``MlflowClient.set_registered_model_alias``, ``models:/name@alias`` and
``models:/name/3`` URIs all go through these). Validation of names, keys and
lengths is here; :mod:`autolog.server.registry` does the SQL.
"""

from __future__ import annotations

import re

from .endpoints import MAX_TAG_VALUE, Endpoint, _check_pairs, _key
from .errors import invalid
from .fields import TAG, Field
from .registry import parse_stage
from .store import TrackingStore

MAX_NAME = 256
MAX_DESCRIPTION = 5000
DEFAULT_MODEL_RESULTS, MAX_MODEL_RESULTS = 100, 1000
DEFAULT_VERSION_RESULTS, MAX_VERSION_RESULTS = 10_000, 200_000


def _name(value: str | None, what: str = "registered model name") -> str:
    name = (value or "").strip()
    if not name or len(name) > MAX_NAME or "/" in name or ":" in name:
        raise invalid(
            f"{what} {value!r} must have 1 to {MAX_NAME} characters, without '/' or ':' "
            "(they would break models:/NAME/VERSION URIs)"
        )
    return name


def _alias(value: str) -> str:
    alias = value.strip()
    if not alias or len(alias) > MAX_NAME or not re.fullmatch(r"[\w\-]+", alias):
        raise invalid(
            f"alias {value!r} must be a name of letters, digits, '_' and '-', like champion"
        )
    if alias.lower() == "latest" or (alias[0] in "vV" and alias[1:].isdigit()):
        raise invalid(f"alias {value!r} is reserved (latest and vN mean versions); choose another")
    return alias


def _description(value: str | None) -> str | None:
    if value is not None and len(value) > MAX_DESCRIPTION:
        raise invalid(f"a description has at most {MAX_DESCRIPTION} characters")
    return value


def _results(value: int | None, default: int, most: int) -> int:
    if value is None:
        return default
    if not 1 <= value <= most:
        raise invalid(f"max_results must be between 1 and {most}, got {value}")
    return value


def _tag(a: dict) -> tuple[str, str]:
    _check_pairs([{"key": a["key"], "value": a["value"]}], "tag", MAX_TAG_VALUE)
    return a["key"], a["value"]


# -- registered models -------------------------------------------------------


def create_registered_model(store: TrackingStore, a: dict) -> dict:
    tags = _check_pairs(a["tags"] or [], "registered model tag", MAX_TAG_VALUE)
    model = store.create_registered_model(
        _name(a["name"]), tags, _description(a["description"]) or ""
    )
    return {"registered_model": model}


def get_registered_model(store: TrackingStore, a: dict) -> dict:
    return {"registered_model": store.get_registered_model(a["name"])}


def update_registered_model(store: TrackingStore, a: dict) -> dict:
    model = store.update_registered_model(a["name"], _description(a["description"]))
    return {"registered_model": model}


def rename_registered_model(store: TrackingStore, a: dict) -> dict:
    new_name = _name(a["new_name"], "new_name")
    return {"registered_model": store.rename_registered_model(a["name"], new_name)}


def delete_registered_model(store: TrackingStore, a: dict) -> dict:
    store.delete_registered_model(a["name"])
    return {}


def search_registered_models(store: TrackingStore, a: dict) -> dict:
    limit = _results(a["max_results"], DEFAULT_MODEL_RESULTS, MAX_MODEL_RESULTS)
    return store.search_registered_models(a["filter"], limit, a["order_by"] or [], a["page_token"])


def get_latest_versions(store: TrackingStore, a: dict) -> dict:
    return {"model_versions": store.get_latest_versions(a["name"], a["stages"] or [])}


def set_registered_model_tag(store: TrackingStore, a: dict) -> dict:
    store.set_registered_model_tag(a["name"], *_tag(a))
    return {}


def delete_registered_model_tag(store: TrackingStore, a: dict) -> dict:
    store.set_registered_model_tag(a["name"], _key(a["key"], "tag key"), None)
    return {}


def set_alias(store: TrackingStore, a: dict) -> dict:
    store.set_alias(a["name"], _alias(a["alias"]), a["version"])
    return {}


def delete_alias(store: TrackingStore, a: dict) -> dict:
    store.delete_alias(a["name"], a["alias"])
    return {}


def get_version_by_alias(store: TrackingStore, a: dict) -> dict:
    return {"model_version": store.get_version_by_alias(a["name"], a["alias"])}


# -- model versions ----------------------------------------------------------


def create_model_version(store: TrackingStore, a: dict) -> dict:
    tags = _check_pairs(a["tags"] or [], "model version tag", MAX_TAG_VALUE)
    source = a["source"].strip()
    if not source:
        raise invalid("source must be the URI of the model's files, e.g. models:/m-... or runs:/")
    version = store.create_model_version(
        a["name"],
        source,
        a["run_id"],
        tags,
        a["run_link"],
        _description(a["description"]),
        a["model_id"],
    )
    return {"model_version": version}


def get_model_version(store: TrackingStore, a: dict) -> dict:
    return {"model_version": store.get_model_version(a["name"], a["version"])}


def update_model_version(store: TrackingStore, a: dict) -> dict:
    version = store.update_model_version(a["name"], a["version"], _description(a["description"]))
    return {"model_version": version}


def delete_model_version(store: TrackingStore, a: dict) -> dict:
    store.delete_model_version(a["name"], a["version"])
    return {}


def transition_stage(store: TrackingStore, a: dict) -> dict:
    version = store.transition_stage(
        a["name"], a["version"], parse_stage(a["stage"]), bool(a["archive_existing_versions"])
    )
    return {"model_version": version}


def get_download_uri(store: TrackingStore, a: dict) -> dict:
    return {"artifact_uri": store.get_download_uri(a["name"], a["version"])}


def search_model_versions(store: TrackingStore, a: dict) -> dict:
    limit = _results(a["max_results"], DEFAULT_VERSION_RESULTS, MAX_VERSION_RESULTS)
    return store.search_model_versions(a["filter"], limit, a["order_by"] or [], a["page_token"])


def set_model_version_tag(store: TrackingStore, a: dict) -> dict:
    store.set_model_version_tag(a["name"], a["version"], *_tag(a))
    return {}


def delete_model_version_tag(store: TrackingStore, a: dict) -> dict:
    store.set_model_version_tag(a["name"], a["version"], _key(a["key"], "tag key"), None)
    return {}


_NAME = Field("name", "string", required=True, doc="the registered model's name")
_VERSION = Field("version", "string", required=True, doc="a version number, e.g. 3")
_KEY = Field("key", "string", required=True)
_VALUE = Field("value", "string", required=True)
_TAGS = Field("tags", "object[]", items=TAG, item_schema="Tag")
_DESCRIPTION = Field("description", "string")
_SEARCH = (
    Field("filter", "string", doc="e.g. name LIKE 'churn%' AND tags.team = 'ml'"),
    Field("max_results", "int64"),
    Field("order_by", "string[]", doc="e.g. name ASC, last_updated_timestamp DESC"),
    Field("page_token", "string"),
)
_RM = "registered-models"
_MV = "model-versions"

ENDPOINTS: tuple[Endpoint, ...] = (
    Endpoint(
        f"{_RM}/create",
        ("POST",),
        (_NAME, _TAGS, _DESCRIPTION, Field("deployment_job_id", "string")),
        create_registered_model,
        "Create a registered model; the name must be new.",
        "RegisteredModelResponse",
    ),
    Endpoint(
        f"{_RM}/get",
        ("GET",),
        (_NAME,),
        get_registered_model,
        "A registered model with its latest versions, tags and aliases.",
        "RegisteredModelResponse",
    ),
    Endpoint(
        f"{_RM}/update",
        ("PATCH",),
        (_NAME, _DESCRIPTION, Field("deployment_job_id", "string")),
        update_registered_model,
        "Change a registered model's description.",
        "RegisteredModelResponse",
    ),
    Endpoint(
        f"{_RM}/rename",
        ("POST",),
        (_NAME, Field("new_name", "string", required=True)),
        rename_registered_model,
        "Rename a registered model, with its versions, tags and aliases.",
        "RegisteredModelResponse",
    ),
    Endpoint(
        f"{_RM}/delete",
        ("DELETE",),
        (_NAME,),
        delete_registered_model,
        "Delete a registered model and all its versions (their files stay).",
    ),
    Endpoint(
        f"{_RM}/search",
        ("GET",),
        _SEARCH,
        search_registered_models,
        f"Registered models matching a filter, by name, {DEFAULT_MODEL_RESULTS} a page.",
        "RegisteredModelsPage",
    ),
    Endpoint(
        f"{_RM}/get-latest-versions",
        ("GET", "POST"),
        (_NAME, Field("stages", "string[]", doc="None, Staging, Production, Archived")),
        get_latest_versions,
        "The newest version of a model in each stage asked for (every stage by default).",
        "ModelVersionList",
    ),
    Endpoint(
        f"{_RM}/set-tag",
        ("POST",),
        (_NAME, _KEY, _VALUE),
        set_registered_model_tag,
        "Set a tag of a registered model.",
    ),
    Endpoint(
        f"{_RM}/delete-tag",
        ("DELETE",),
        (_NAME, _KEY),
        delete_registered_model_tag,
        "Remove a tag of a registered model.",
    ),
    Endpoint(
        f"{_RM}/alias",
        ("POST",),
        (_NAME, Field("alias", "string", required=True), _VERSION),
        set_alias,
        "Point an alias (e.g. champion) at a version; models:/name@alias loads it.",
    ),
    Endpoint(
        f"{_RM}/alias",
        ("DELETE",),
        (_NAME, Field("alias", "string", required=True)),
        delete_alias,
        "Remove an alias.",
    ),
    Endpoint(
        f"{_RM}/alias",
        ("GET",),
        (_NAME, Field("alias", "string", required=True)),
        get_version_by_alias,
        "The version an alias points at.",
        "ModelVersionResponse",
    ),
    Endpoint(
        f"{_MV}/create",
        ("POST",),
        (
            _NAME,
            Field("source", "string", required=True, doc="models:/m-..., runs:/RUN/path or a URI"),
            Field("run_id", "string"),
            _TAGS,
            Field("run_link", "string"),
            _DESCRIPTION,
            Field("model_id", "string"),
        ),
        create_model_version,
        "Register a new version (numbered 1, 2, ...) of a model from its files' URI.",
        "ModelVersionResponse",
    ),
    Endpoint(
        f"{_MV}/get",
        ("GET",),
        (_NAME, _VERSION),
        get_model_version,
        "One version of a registered model.",
        "ModelVersionResponse",
    ),
    Endpoint(
        f"{_MV}/update",
        ("PATCH",),
        (_NAME, _VERSION, _DESCRIPTION),
        update_model_version,
        "Change a version's description.",
        "ModelVersionResponse",
    ),
    Endpoint(
        f"{_MV}/delete",
        ("DELETE",),
        (_NAME, _VERSION),
        delete_model_version,
        "Delete a version; its number is not reused.",
    ),
    Endpoint(
        f"{_MV}/transition-stage",
        ("POST",),
        (
            _NAME,
            _VERSION,
            Field("stage", "string", required=True, doc="None, Staging, Production, Archived"),
            Field("archive_existing_versions", "bool", default=False),
        ),
        transition_stage,
        "Move a version to a stage (MLflow's deprecated stages; aliases replace them).",
        "ModelVersionResponse",
    ),
    Endpoint(
        f"{_MV}/get-download-uri",
        ("GET",),
        (_NAME, _VERSION),
        get_download_uri,
        "Where a version's files are (what models:/name/N loads).",
        "DownloadUri",
    ),
    Endpoint(
        f"{_MV}/search",
        ("GET",),
        _SEARCH,
        search_model_versions,
        "Versions matching a filter (name, version_number, run_id, tags.KEY), newest first.",
        "ModelVersionsPage",
    ),
    Endpoint(
        f"{_MV}/set-tag",
        ("POST",),
        (_NAME, _VERSION, _KEY, _VALUE),
        set_model_version_tag,
        "Set a tag of a version.",
    ),
    Endpoint(
        f"{_MV}/delete-tag",
        ("DELETE",),
        (_NAME, _VERSION, _KEY),
        delete_model_version_tag,
        "Remove a tag of a version.",
    ),
)
