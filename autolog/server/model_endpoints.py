"""REST endpoints of MLflow 3 logged models, run inputs/outputs and experiment administration.

Declared like :mod:`autolog.server.endpoints` (path, methods, fields,
handler), in their own module to keep each small. Paths with ``{model_id}``
take it from the URL, as MLflow's client sends it
(``GET /api/2.0/mlflow/logged-models/m-...``).
"""

from __future__ import annotations

import json

from .endpoints import (
    MAX_EXPERIMENT_NAME,
    MAX_EXPERIMENT_TAG_VALUE,
    MAX_PARAM_VALUE,
    MAX_PARAMS_TAGS_PER_BATCH,
    MAX_TAG_VALUE,
    Endpoint,
    _check_pairs,
    _key,
)
from .errors import invalid
from .fields import TAG, Field
from .logged_models import parse_status
from .store import TrackingStore

LOG_MODEL_HISTORY_TAG = "mlflow.log-model.history"
MAX_LOGGED_MODEL_RESULTS = 1000


def _pairs(items: list[dict] | None, what: str, max_value: int) -> list[dict]:
    items = items or []
    if len(items) > MAX_PARAMS_TAGS_PER_BATCH:
        raise invalid(
            f"{len(items)} {what}s in one request; the limit is {MAX_PARAMS_TAGS_PER_BATCH}"
        )
    return _check_pairs(items, what, max_value)


# -- logged models -----------------------------------------------------------


def create_logged_model(store: TrackingStore, a: dict) -> dict:
    if a["name"] is not None and not 1 <= len(a["name"]) <= 500:
        raise invalid("a logged model's name must have 1 to 500 characters")
    model = store.create_logged_model(
        a["experiment_id"],
        a["name"],
        a["model_type"],
        a["source_run_id"],
        _pairs(a["params"], "logged model param", MAX_PARAM_VALUE),
        _pairs(a["tags"], "logged model tag", MAX_TAG_VALUE),
    )
    return {"model": model}


def get_logged_model(store: TrackingStore, a: dict) -> dict:
    return {"model": store.get_logged_model(a["model_id"], bool(a["allow_deleted"]))}


def finalize_logged_model(store: TrackingStore, a: dict) -> dict:
    return {"model": store.finalize_logged_model(a["model_id"], parse_status(a["status"]))}


def delete_logged_model(store: TrackingStore, a: dict) -> dict:
    store.delete_logged_model(a["model_id"])
    return {}


def log_logged_model_params(store: TrackingStore, a: dict) -> dict:
    params = _pairs(a["params"], "logged model param", MAX_PARAM_VALUE)
    store.log_logged_model_params(a["model_id"], params)
    return {}


def set_logged_model_tags(store: TrackingStore, a: dict) -> dict:
    store.set_logged_model_tags(a["model_id"], _pairs(a["tags"], "logged model tag", MAX_TAG_VALUE))
    return {}


def delete_logged_model_tag(store: TrackingStore, a: dict) -> dict:
    store.delete_logged_model_tag(a["model_id"], a["tag_key"])
    return {}


def search_logged_models(store: TrackingStore, a: dict) -> dict:
    limit = a["max_results"] or 100
    if not 1 <= limit <= MAX_LOGGED_MODEL_RESULTS:
        raise invalid(f"max_results must be between 1 and {MAX_LOGGED_MODEL_RESULTS}, got {limit}")
    return store.search_logged_models(
        a["experiment_ids"] or [], a["filter"], a["order_by"] or [], limit, a["page_token"]
    )


# -- run inputs and outputs --------------------------------------------------


def log_inputs(store: TrackingStore, a: dict) -> dict:
    datasets = a["datasets"] or []
    for item in datasets:
        _pairs(item["tags"], "dataset tag", MAX_TAG_VALUE)
    store.log_inputs(a["run_id"], datasets, a["models"] or [])
    return {}


def log_outputs(store: TrackingStore, a: dict) -> dict:
    store.log_outputs(a["run_id"], a["models"] or [])
    return {}


def log_model(store: TrackingStore, a: dict) -> dict:
    """MLflow 2's runs/log-model: append the model's description to the run's history tag."""
    try:
        description = json.loads(a["model_json"])
    except ValueError as exc:
        raise invalid(f"model_json is not valid JSON: {exc}") from None
    if not isinstance(description, dict):
        raise invalid("model_json must be a JSON object (an MLmodel as JSON)")
    tags = store.get_run(a["run_id"])["data"]["tags"]
    old = next((t["value"] for t in tags if t["key"] == LOG_MODEL_HISTORY_TAG), "[]")
    try:
        history = json.loads(old)
    except ValueError:
        history = []
    history = [*history, description] if isinstance(history, list) else [description]
    value = json.dumps(history)
    store.log_batch(a["run_id"], [], [], [{"key": LOG_MODEL_HISTORY_TAG, "value": value}])
    return {}


# -- experiments -------------------------------------------------------------


def delete_experiment(store: TrackingStore, a: dict) -> dict:
    store.set_experiment_lifecycle(a["experiment_id"], "deleted")
    return {}


def restore_experiment(store: TrackingStore, a: dict) -> dict:
    store.set_experiment_lifecycle(a["experiment_id"], "active")
    return {}


def update_experiment(store: TrackingStore, a: dict) -> dict:
    name = (a["new_name"] or "").strip()
    if not name or len(name) > MAX_EXPERIMENT_NAME:
        raise invalid(f"new_name must have 1 to {MAX_EXPERIMENT_NAME} characters")
    store.rename_experiment(a["experiment_id"], name)
    return {}


def set_experiment_tag(store: TrackingStore, a: dict) -> dict:
    _check_pairs(
        [{"key": a["key"], "value": a["value"]}], "experiment tag", MAX_EXPERIMENT_TAG_VALUE
    )
    store.set_experiment_tag(a["experiment_id"], a["key"], a["value"])
    return {}


def delete_experiment_tag(store: TrackingStore, a: dict) -> dict:
    store.set_experiment_tag(a["experiment_id"], _key(a["key"], "experiment tag key"), None)
    return {}


_MODEL_ID = Field("model_id", "string", required=True, doc="m-<32 hex>, in the path")
_PAIRS = (Field("key", "string", required=True), Field("value", "string", required=True))
_PARAMS = Field("params", "object[]", items=_PAIRS, item_schema="Param")
_TAGS = Field("tags", "object[]", items=_PAIRS, item_schema="Tag")
_EXPERIMENT = Field("experiment_id", "string", required=True)
_RUN = Field("run_id", "string", required=True, aliases=("run_uuid",))
DATASET = (
    Field("name", "string", required=True),
    Field("digest", "string", required=True),
    Field("source_type", "string", required=True),
    Field("source", "string", required=True),
    Field("schema", "string"),
    Field("profile", "string"),
)
DATASET_INPUT = (
    Field("tags", "object[]", items=TAG, item_schema="Tag"),
    Field("dataset", "object", required=True, items=DATASET, item_schema="Dataset"),
)
MODEL_OUTPUT = (Field("model_id", "string", required=True), Field("step", "int64", default=0))
MODEL_INPUT = (Field("model_id", "string", required=True),)
ORDER_BY = (
    Field("field_name", "string", required=True, doc="name, creation_timestamp, ..."),
    Field("ascending", "bool", default=True),
    Field("dataset_name", "string"),
    Field("dataset_digest", "string"),
)
DATASET_FILTER = (Field("dataset_name", "string", required=True), Field("dataset_digest", "string"))
_BASE = "logged-models/{model_id}"

ENDPOINTS: tuple[Endpoint, ...] = (
    Endpoint(
        "logged-models",
        ("POST",),
        (
            _EXPERIMENT,
            Field("name", "string", doc="the artifact name, e.g. model (default: generated)"),
            Field("model_type", "string"),
            Field("source_run_id", "string"),
            _PARAMS,
            _TAGS,
        ),
        create_logged_model,
        "Create a logged model (PENDING) with its own artifact location.",
        "LoggedModelResponse",
    ),
    Endpoint(
        _BASE,
        ("GET",),
        (_MODEL_ID, Field("allow_deleted", "bool", default=False)),
        get_logged_model,
        "A logged model by id.",
        "LoggedModelResponse",
    ),
    Endpoint(
        _BASE,
        ("PATCH",),
        (_MODEL_ID, Field("status", "string", required=True, doc="LOGGED_MODEL_READY, ...")),
        finalize_logged_model,
        "Finalize a logged model: READY once its files are uploaded, or UPLOAD_FAILED.",
        "LoggedModelResponse",
    ),
    Endpoint(_BASE, ("DELETE",), (_MODEL_ID,), delete_logged_model, "Mark a logged model deleted."),
    Endpoint(
        f"{_BASE}/params",
        ("POST",),
        (_MODEL_ID, _PARAMS),
        log_logged_model_params,
        "Add params to a logged model (up to 100 per request).",
    ),
    Endpoint(
        f"{_BASE}/tags",
        ("PATCH",),
        (_MODEL_ID, _TAGS),
        set_logged_model_tags,
        "Set tags of a logged model, replacing their values.",
    ),
    Endpoint(
        f"{_BASE}/tags/{{tag_key:path}}",
        ("DELETE",),
        (_MODEL_ID, Field("tag_key", "string", required=True)),
        delete_logged_model_tag,
        "Remove a tag of a logged model.",
    ),
    Endpoint(
        "logged-models/search",
        ("POST",),
        (
            Field("experiment_ids", "string[]"),
            Field("filter", "string", doc="e.g. name = 'model' AND tags.team = 'ml'"),
            Field("datasets", "object[]", items=DATASET_FILTER, item_schema="DatasetFilter"),
            Field("max_results", "int64", doc=f"1 to {MAX_LOGGED_MODEL_RESULTS} (default 100)"),
            Field("order_by", "object[]", items=ORDER_BY, item_schema="LoggedModelOrderBy"),
            Field("page_token", "string"),
        ),
        search_logged_models,
        "Logged models of some experiments matching a filter, newest first, a page at a time.",
        "LoggedModelsPage",
    ),
    Endpoint(
        "runs/log-inputs",
        ("POST",),
        (
            _RUN,
            Field("datasets", "object[]", items=DATASET_INPUT, item_schema="DatasetInput"),
            Field("models", "object[]", items=MODEL_INPUT, item_schema="ModelInput"),
        ),
        log_inputs,
        "Record datasets (by name and digest) and models a run used; get_run returns them.",
    ),
    Endpoint(
        "runs/outputs",
        ("POST",),
        (_RUN, Field("models", "object[]", items=MODEL_OUTPUT, item_schema="ModelOutput")),
        log_outputs,
        "Record logged models a run produced (MLflow 3's log_model sends this).",
    ),
    Endpoint(
        "runs/log-model",
        ("POST",),
        (_RUN, Field("model_json", "string", required=True)),
        log_model,
        "MLflow 2's model record: appended to the run's mlflow.log-model.history tag.",
    ),
    Endpoint(
        "experiments/delete",
        ("POST",),
        (_EXPERIMENT,),
        delete_experiment,
        "Mark an experiment and its runs deleted.",
    ),
    Endpoint(
        "experiments/restore",
        ("POST",),
        (_EXPERIMENT,),
        restore_experiment,
        "Undo experiments/delete, for the experiment and its runs.",
    ),
    Endpoint(
        "experiments/update",
        ("POST",),
        (_EXPERIMENT, Field("new_name", "string", required=True)),
        update_experiment,
        "Rename an experiment; the new name must be free.",
    ),
    Endpoint(
        "experiments/set-experiment-tag",
        ("POST",),
        (_EXPERIMENT, *_PAIRS),
        set_experiment_tag,
        "Set a tag of an experiment.",
    ),
    Endpoint(
        "experiments/delete-experiment-tag",
        ("POST",),
        (_EXPERIMENT, Field("key", "string", required=True)),
        delete_experiment_tag,
        "Remove a tag of an experiment.",
    ),
)
