"""The MLflow REST endpoints the server answers, declared once: path, methods, fields, handler.

The app mounts each under ``/api/2.0/mlflow/`` (and ``/ajax-api/2.0/mlflow/``,
where MLflow's web UI calls it), and the OpenAPI description is generated
from the same table. Handlers receive the store and the already validated
fields, check what the field types cannot say (lengths, MLflow's per-request
limits), and return the response body.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from .._validation import check_key
from ..errors import InvalidInputError
from .errors import invalid
from .fields import METRIC, PARAM, TAG, Field
from .store import TrackingStore

# MLflow's limits (mlflow/utils/validation.py), so a client that works here works there.
MAX_METRICS_PER_BATCH = 1000
MAX_PARAMS_TAGS_PER_BATCH = 100
MAX_ENTITIES_PER_BATCH = 1000
MAX_PARAM_VALUE = 6000
MAX_TAG_VALUE = 8000
MAX_EXPERIMENT_NAME = 500
MAX_EXPERIMENT_TAG_VALUE = 20000
MAX_RESULTS = 50000
DEFAULT_RESULTS = 1000

Handler = Callable[[TrackingStore, dict], dict]


@dataclass(frozen=True)
class Endpoint:
    """One REST endpoint; ``response`` names its OpenAPI response schema."""

    path: str
    methods: tuple[str, ...]
    fields: tuple[Field, ...]
    handler: Handler
    summary: str
    response: str = "Empty"


def _key(key: str, what: str) -> str:
    try:
        return check_key(key, what)
    except InvalidInputError as exc:
        raise invalid(str(exc)) from None


def _check_pairs(pairs: list[dict], what: str, max_value: int) -> list[dict]:
    for pair in pairs:
        _key(pair["key"], f"{what} key")
        if len(pair["value"]) > max_value:
            raise invalid(
                f"{what} {pair['key']!r} has a value of {len(pair['value'])} characters; "
                f"the limit is {max_value}"
            )
    return pairs


def _limit(value: int | None) -> int:
    if value is None:
        return DEFAULT_RESULTS
    if not 1 <= value <= MAX_RESULTS:
        raise invalid(f"max_results must be between 1 and {MAX_RESULTS}, got {value}")
    return value


# -- experiments -------------------------------------------------------------


def create_experiment(store: TrackingStore, a: dict) -> dict:
    name = a["name"].strip()
    if not name or len(name) > MAX_EXPERIMENT_NAME:
        raise invalid(f"experiment name must have 1 to {MAX_EXPERIMENT_NAME} characters")
    tags = _check_pairs(a["tags"] or [], "experiment tag", MAX_EXPERIMENT_TAG_VALUE)
    return {"experiment_id": store.create_experiment(name, a["artifact_location"], tags)}


def get_experiment(store: TrackingStore, a: dict) -> dict:
    return {"experiment": store.get_experiment(a["experiment_id"])}


def get_experiment_by_name(store: TrackingStore, a: dict) -> dict:
    return {"experiment": store.get_experiment_by_name(a["experiment_name"])}


def search_experiments(store: TrackingStore, a: dict) -> dict:
    return store.search_experiments(
        a["view_type"] or "active",
        a["filter"],
        a["order_by"] or [],
        _limit(a["max_results"]),
        a["page_token"],
    )


# -- runs --------------------------------------------------------------------


def create_run(store: TrackingStore, a: dict) -> dict:
    tags = _check_pairs(a["tags"] or [], "tag", MAX_TAG_VALUE)
    if a["run_name"] is not None and len(a["run_name"]) > 250:
        raise invalid("run_name must have at most 250 characters")
    run = store.create_run(
        a["experiment_id"] or "0", a["user_id"] or "", a["run_name"], a["start_time"], tags
    )
    return {"run": run}


def get_run(store: TrackingStore, a: dict) -> dict:
    return {"run": store.get_run(a["run_id"])}


def update_run(store: TrackingStore, a: dict) -> dict:
    if a["run_name"] is not None and len(a["run_name"]) > 250:
        raise invalid("run_name must have at most 250 characters")
    info = store.update_run(a["run_id"], a["status"], a["end_time"], a["run_name"])
    return {"run_info": info}


def delete_run(store: TrackingStore, a: dict) -> dict:
    store.set_lifecycle(a["run_id"], "deleted")
    return {}


def restore_run(store: TrackingStore, a: dict) -> dict:
    store.set_lifecycle(a["run_id"], "active")
    return {}


def search_runs(store: TrackingStore, a: dict) -> dict:
    return store.search_runs(
        a["experiment_ids"] or [],
        a["filter"],
        a["run_view_type"] or "active",
        _limit(a["max_results"]),
        a["order_by"],
        a["page_token"],
    )


def log_batch(store: TrackingStore, a: dict) -> dict:
    metrics, params, tags = a["metrics"] or [], a["params"] or [], a["tags"] or []
    if len(metrics) > MAX_METRICS_PER_BATCH:
        raise invalid(
            f"{len(metrics)} metrics in one request; the limit is {MAX_METRICS_PER_BATCH}"
        )
    for name, items in (("params", params), ("tags", tags)):
        if len(items) > MAX_PARAMS_TAGS_PER_BATCH:
            raise invalid(
                f"{len(items)} {name} in one request; the limit is {MAX_PARAMS_TAGS_PER_BATCH}"
            )
    if len(metrics) + len(params) + len(tags) > MAX_ENTITIES_PER_BATCH:
        raise invalid(
            f"{len(metrics) + len(params) + len(tags)} metrics, params and tags in one request; "
            f"the limit is {MAX_ENTITIES_PER_BATCH}"
        )
    for metric in metrics:
        _key(metric["key"], "metric key")
    _check_pairs(params, "param", MAX_PARAM_VALUE)
    _check_pairs(tags, "tag", MAX_TAG_VALUE)
    store.log_batch(a["run_id"], metrics, params, tags)
    return {}


def log_metric(store: TrackingStore, a: dict) -> dict:
    metric = {k: a[k] for k in ("key", "value", "timestamp")}
    return log_batch(store, {**_only_run(a), "metrics": [{**metric, "step": a["step"] or 0}]})


def log_parameter(store: TrackingStore, a: dict) -> dict:
    return log_batch(store, {**_only_run(a), "params": [{"key": a["key"], "value": a["value"]}]})


def set_tag(store: TrackingStore, a: dict) -> dict:
    return log_batch(store, {**_only_run(a), "tags": [{"key": a["key"], "value": a["value"]}]})


def _only_run(a: dict) -> dict:
    return {"run_id": a["run_id"], "metrics": None, "params": None, "tags": None}


def delete_tag(store: TrackingStore, a: dict) -> dict:
    store.delete_tag(a["run_id"], a["key"])
    return {}


def get_metric_history(store: TrackingStore, a: dict) -> dict:
    limit = a["max_results"]
    if limit is not None:
        limit = _limit(limit)
    return store.get_metric_history(a["run_id"], a["metric_key"], limit, a["page_token"])


_RUN_ID = Field("run_id", "string", required=True, aliases=("run_uuid",), doc="the run's id")
_TAGS = Field("tags", "object[]", items=TAG, item_schema="Tag")
_PAGING = (
    Field("max_results", "int64", doc=f"page size, 1 to {MAX_RESULTS} (default 1000)"),
    Field("page_token", "string", doc="next_page_token of the previous page"),
)
_KEY_VALUE = (
    _RUN_ID,
    Field("key", "string", required=True),
    Field("value", "string", required=True),
)

ENDPOINTS: tuple[Endpoint, ...] = (
    Endpoint(
        "experiments/create",
        ("POST",),
        (
            Field("name", "string", required=True),
            Field("artifact_location", "string"),
            _TAGS,
        ),
        create_experiment,
        "Create an experiment; its name must be new.",
        "ExperimentId",
    ),
    Endpoint(
        "experiments/get",
        ("GET",),
        (Field("experiment_id", "string", required=True),),
        get_experiment,
        "An experiment by id.",
        "ExperimentResponse",
    ),
    Endpoint(
        "experiments/get-by-name",
        ("GET",),
        (Field("experiment_name", "string", required=True),),
        get_experiment_by_name,
        "An experiment by name.",
        "ExperimentResponse",
    ),
    Endpoint(
        "experiments/search",
        ("GET", "POST"),
        (
            Field("filter", "string", doc="e.g. name LIKE 'demo%' AND tags.team = 'ml'"),
            Field("order_by", "string[]", doc="name, experiment_id, creation_time [ASC|DESC]"),
            Field("view_type", "view_type", doc="ACTIVE_ONLY (default), DELETED_ONLY or ALL"),
            *_PAGING,
        ),
        search_experiments,
        "Experiments matching a filter, a page at a time.",
        "ExperimentsPage",
    ),
    Endpoint(
        "runs/create",
        ("POST",),
        (
            Field("experiment_id", "string", doc='default "0", the Default experiment'),
            Field("user_id", "string"),
            Field("run_name", "string"),
            Field("start_time", "int64", doc="milliseconds since the epoch (default: now)"),
            _TAGS,
        ),
        create_run,
        "Create a run in an experiment; the server chooses its id.",
        "RunResponse",
    ),
    Endpoint("runs/get", ("GET",), (_RUN_ID,), get_run, "A run by id.", "RunResponse"),
    Endpoint(
        "runs/update",
        ("POST",),
        (
            _RUN_ID,
            Field("status", "string", doc="RUNNING, SCHEDULED, FINISHED, FAILED or KILLED"),
            Field("end_time", "int64"),
            Field("run_name", "string"),
        ),
        update_run,
        "Change a run's status, end time or name.",
        "RunInfoResponse",
    ),
    Endpoint("runs/delete", ("POST",), (_RUN_ID,), delete_run, "Mark a run deleted."),
    Endpoint("runs/restore", ("POST",), (_RUN_ID,), restore_run, "Undo runs/delete."),
    Endpoint(
        "runs/search",
        ("POST",),
        (
            Field("experiment_ids", "string[]"),
            Field("filter", "string", doc="MLflow syntax: metrics.rmse < 1 and params.x = 'a'"),
            Field("run_view_type", "view_type", doc="ACTIVE_ONLY (default), DELETED_ONLY or ALL"),
            Field("order_by", "string[]", doc="e.g. metrics.rmse DESC, start_time"),
            *_PAGING,
        ),
        search_runs,
        "Runs of some experiments matching a filter, sorted, a page at a time.",
        "RunsPage",
    ),
    Endpoint(
        "runs/log-batch",
        ("POST",),
        (
            _RUN_ID,
            Field("metrics", "object[]", items=METRIC, item_schema="Metric"),
            Field("params", "object[]", items=PARAM, item_schema="Param"),
            _TAGS,
        ),
        log_batch,
        "Log up to 1000 metric points, 100 params and 100 tags at once; repeats change nothing.",
    ),
    Endpoint(
        "runs/log-metric",
        ("POST",),
        (_RUN_ID, *METRIC),
        log_metric,
        "Log one metric point; the same point sent twice is stored once.",
    ),
    Endpoint(
        "runs/log-parameter", ("POST",), _KEY_VALUE, log_parameter, "Log a param (fixed per run)."
    ),
    Endpoint("runs/set-tag", ("POST",), _KEY_VALUE, set_tag, "Set a tag, replacing its value."),
    Endpoint(
        "runs/delete-tag",
        ("POST",),
        (_RUN_ID, Field("key", "string", required=True)),
        delete_tag,
        "Remove a tag.",
    ),
    Endpoint(
        "metrics/get-history",
        ("GET",),
        (_RUN_ID, Field("metric_key", "string", required=True), *_PAGING),
        get_metric_history,
        "Every point of one metric, in logging order; paged when max_results is given.",
        "MetricHistory",
    ),
)
