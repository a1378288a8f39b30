"""Every REST endpoint the server answers, and the MLflow ones it answers with 501.

The endpoint tables live in small modules by family (tracking, logged
models, model registry); this one puts them together for the app and the
OpenAPI document, adds their response schemas, and lists the parts of MLflow
3.17's REST API this server does not implement (traces, prompts'
optimisation jobs, the AI gateway, webhooks, evaluation datasets, scorers,
workspaces, presigned and multipart uploads). A client calling one of those
gets ``501 NOT_IMPLEMENTED`` with a message naming the endpoint and what to
use instead, never a bare 404 page or a 500. docs/server.md has the table.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from .endpoints import ENDPOINTS, Endpoint
from .model_endpoints import ENDPOINTS as MODEL_ENDPOINTS
from .registry_endpoints import ENDPOINTS as REGISTRY_ENDPOINTS
from .responses import json_response

ALL_ENDPOINTS: tuple[Endpoint, ...] = (*ENDPOINTS, *MODEL_ENDPOINTS, *REGISTRY_ENDPOINTS)

#: MLflow's paths (Flask syntax turned into Starlette's) this server answers with 501, by family.
UNIMPLEMENTED: dict[str, tuple[str, ...]] = {
    "traces (MLflow Tracing; log traces to an MLflow server)": (
        "GET,POST /api/2.0/mlflow/traces",
        "PATCH /api/2.0/mlflow/traces/{request_id}",
        "GET /api/2.0/mlflow/traces/{request_id}/info",
        "DELETE,PATCH /api/2.0/mlflow/traces/{request_id}/tags",
        "POST /api/2.0/mlflow/traces/delete-traces",
        "POST /api/2.0/mlflow/traces/link-prompts",
        "POST /api/2.0/mlflow/traces/link-to-run",
        "GET /api/2.0/mlflow/get-online-trace-details",
        "GET /api/2.0/mlflow/unified-traces",
        "POST /api/3.0/mlflow/traces",
        "GET /api/3.0/mlflow/traces/{trace_id}",
        "POST /api/3.0/mlflow/traces/{trace_id}/assessments",
        "DELETE,GET,PATCH /api/3.0/mlflow/traces/{trace_id}/assessments/{assessment_id}",
        "DELETE,PATCH /api/3.0/mlflow/traces/{trace_id}/tags",
        "GET /api/3.0/mlflow/traces/batchGet",
        "POST /api/3.0/mlflow/traces/batchGetInfos",
        "POST /api/3.0/mlflow/traces/calculate-filter-correlation",
        "POST /api/3.0/mlflow/traces/delete-traces",
        "GET /api/3.0/mlflow/traces/get",
        "POST /api/3.0/mlflow/traces/metrics",
        "POST /api/3.0/mlflow/traces/search",
    ),
    "webhooks": (
        "GET,POST /api/2.0/mlflow/webhooks",
        "DELETE,GET,PATCH /api/2.0/mlflow/webhooks/{webhook_id}",
        "POST /api/2.0/mlflow/webhooks/{webhook_id}/test",
    ),
    "presigned and multipart artifact uploads (upload through the mlflow-artifacts proxy)": (
        "POST /api/2.0/mlflow/artifacts/presigned-download-url",
        "POST /api/2.0/mlflow/artifacts/presigned-upload-url",
        "POST /api/2.0/mlflow-artifacts/mpu/abort/{path:path}",
        "POST /api/2.0/mlflow-artifacts/mpu/complete/{path:path}",
        "POST /api/2.0/mlflow-artifacts/mpu/create/{path:path}",
        "GET /api/2.0/mlflow-artifacts/presigned/{path:path}",
    ),
    "artifact listing outside the proxy (list through mlflow-artifacts)": (
        "GET /api/2.0/mlflow/artifacts/list",
        "GET /api/2.0/mlflow/logged-models/{model_id}/artifacts/directories",
    ),
    "MLflow UI's bulk metric sampling (our UI has its own)": (
        "GET /api/2.0/mlflow/metrics/get-history-bulk-interval",
    ),
    "GenAI evaluation datasets": (
        "DELETE,GET /api/3.0/mlflow/datasets/{dataset_id}",
        "POST /api/3.0/mlflow/datasets/{dataset_id}/add-experiments",
        "GET /api/3.0/mlflow/datasets/{dataset_id}/experiment-ids",
        "DELETE,GET,POST /api/3.0/mlflow/datasets/{dataset_id}/records",
        "POST /api/3.0/mlflow/datasets/{dataset_id}/remove-experiments",
        "PATCH /api/3.0/mlflow/datasets/{dataset_id}/tags",
        "DELETE /api/3.0/mlflow/datasets/{dataset_id}/tags/{key}",
        "POST /api/3.0/mlflow/datasets/create",
        "GET,POST /api/3.0/mlflow/datasets/search",
    ),
    "the AI gateway": tuple(
        f"{methods} /api/3.0/mlflow/gateway/{path}"
        for methods, path in (
            ("POST", "budgets/create"),
            ("DELETE", "budgets/delete"),
            ("GET", "budgets/get"),
            ("GET", "budgets/list"),
            ("POST", "budgets/update"),
            ("GET", "budgets/windows"),
            ("POST", "endpoints/bindings/create"),
            ("DELETE", "endpoints/bindings/delete"),
            ("GET", "endpoints/bindings/list"),
            ("POST", "endpoints/create"),
            ("DELETE", "endpoints/delete"),
            ("DELETE", "endpoints/delete-tag"),
            ("GET", "endpoints/get"),
            ("GET", "endpoints/list"),
            ("POST", "endpoints/models/attach"),
            ("POST", "endpoints/models/detach"),
            ("POST", "endpoints/set-tag"),
            ("POST", "endpoints/update"),
            ("POST", "guardrails/add-to-endpoint"),
            ("POST", "guardrails/create"),
            ("DELETE", "guardrails/delete"),
            ("GET", "guardrails/get"),
            ("GET", "guardrails/list"),
            ("GET", "guardrails/list-for-endpoint"),
            ("DELETE", "guardrails/remove-from-endpoint"),
            ("PATCH", "guardrails/update-config"),
            ("POST", "model-definitions/create"),
            ("DELETE", "model-definitions/delete"),
            ("GET", "model-definitions/get"),
            ("GET", "model-definitions/list"),
            ("POST", "model-definitions/update"),
            ("POST", "secrets/create"),
            ("DELETE", "secrets/delete"),
            ("GET", "secrets/get"),
            ("GET", "secrets/list"),
            ("POST", "secrets/update"),
        )
    ),
    "GenAI issues, label schemas and review queues": (
        "POST /api/3.0/mlflow/issues",
        "GET,PATCH /api/3.0/mlflow/issues/{issue_id}",
        "POST /api/3.0/mlflow/issues/search",
        "POST /api/3.0/mlflow/label-schemas/create",
        "DELETE /api/3.0/mlflow/label-schemas/delete",
        "GET /api/3.0/mlflow/label-schemas/get",
        "GET /api/3.0/mlflow/label-schemas/get-by-name",
        "GET /api/3.0/mlflow/label-schemas/list",
        "PATCH /api/3.0/mlflow/label-schemas/update",
        "POST /api/3.0/mlflow/review-queues/create",
        "POST /api/3.0/mlflow/review-queues/delete",
        "GET /api/3.0/mlflow/review-queues/get",
        "GET /api/3.0/mlflow/review-queues/get-by-name",
        "POST /api/3.0/mlflow/review-queues/get-or-create-user",
        "POST /api/3.0/mlflow/review-queues/items/add",
        "GET /api/3.0/mlflow/review-queues/items/list",
        "POST /api/3.0/mlflow/review-queues/items/remove",
        "POST /api/3.0/mlflow/review-queues/items/set-status",
        "GET /api/3.0/mlflow/review-queues/list",
        "POST /api/3.0/mlflow/review-queues/update",
    ),
    "prompt optimization jobs": (
        "POST /api/3.0/mlflow/prompt-optimization/jobs",
        "DELETE,GET /api/3.0/mlflow/prompt-optimization/jobs/{job_id}",
        "POST /api/3.0/mlflow/prompt-optimization/jobs/{job_id}/cancel",
        "GET,POST /api/3.0/mlflow/prompt-optimization/jobs/search",
    ),
    "scorers": (
        "DELETE /api/3.0/mlflow/scorers/delete",
        "GET /api/3.0/mlflow/scorers/get",
        "GET /api/3.0/mlflow/scorers/list",
        "PUT /api/3.0/mlflow/scorers/online-config",
        "GET /api/3.0/mlflow/scorers/online-configs",
        "POST /api/3.0/mlflow/scorers/register",
        "GET /api/3.0/mlflow/scorers/versions",
    ),
    "workspaces": (
        "GET,POST /api/3.0/mlflow/workspaces",
        "DELETE,GET,PATCH /api/3.0/mlflow/workspaces/{workspace_name}",
    ),
}


def unimplemented_routes() -> list[Route]:
    """501 routes for :data:`UNIMPLEMENTED` (also under /ajax-api), plus /server-info."""
    routes = [Route("/api/3.0/mlflow/server-info", _server_info, methods=["GET"])]
    for family, entries in UNIMPLEMENTED.items():
        for entry in entries:
            methods, path = entry.split(" ", 1)
            handler = _not_implemented(family)
            for prefix in ("/api/", "/ajax-api/"):
                routes.append(
                    Route(prefix + path.removeprefix("/api/"), handler, methods=methods.split(","))
                )
    return routes


def _not_implemented(family: str) -> Any:
    async def answer(request: Request) -> Response:
        message = (
            f"autolog server does not implement {request.method} {request.url.path}: "
            f"{family} are not part of what it serves; see the compatibility table in "
            "docs/server.md"
        )
        return json_response({"error_code": "NOT_IMPLEMENTED", "message": message}, 501)

    return answer


async def _server_info(request: Request) -> Response:
    """What MLflow 3's client asks before artifact uploads: plain proxy uploads, no workspaces."""
    return json_response(
        {
            "store_type": "SqlStore",
            "workspaces_enabled": False,
            "multipart_uploads_enabled": False,
            "multipart_downloads_enabled": False,
        }
    )


def _page(name: str, item: str) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": {
            name: {"type": "array", "items": {"$ref": f"#/components/schemas/{item}"}},
            "next_page_token": {"type": "string"},
        },
    }


def _wrap(name: str, item: str) -> dict[str, Any]:
    return {"type": "object", "properties": {name: {"$ref": f"#/components/schemas/{item}"}}}


_OPEN_OBJECT: dict[str, Any] = {"type": "object", "additionalProperties": True}

#: Response schemas of the logged-model and registry endpoints, for /openapi.json.
RESPONSE_SCHEMAS: dict[str, Any] = {
    "LoggedModel": _OPEN_OBJECT,
    "RegisteredModel": _OPEN_OBJECT,
    "ModelVersion": _OPEN_OBJECT,
    "Dataset": _OPEN_OBJECT,
    "DatasetInput": _OPEN_OBJECT,
    "DatasetFilter": _OPEN_OBJECT,
    "ModelInput": _OPEN_OBJECT,
    "ModelOutput": _OPEN_OBJECT,
    "LoggedModelOrderBy": _OPEN_OBJECT,
    "LoggedModelResponse": _wrap("model", "LoggedModel"),
    "LoggedModelsPage": _page("models", "LoggedModel"),
    "RegisteredModelResponse": _wrap("registered_model", "RegisteredModel"),
    "RegisteredModelsPage": _page("registered_models", "RegisteredModel"),
    "ModelVersionResponse": _wrap("model_version", "ModelVersion"),
    "ModelVersionsPage": _page("model_versions", "ModelVersion"),
    "ModelVersionList": _page("model_versions", "ModelVersion"),
    "DownloadUri": {"type": "object", "properties": {"artifact_uri": {"type": "string"}}},
}
