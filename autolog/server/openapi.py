"""The OpenAPI 3 description served at ``/openapi.json``, generated from the endpoint table.

Request schemas come from the same :class:`~autolog.server.fields.Field`
declarations that validate requests, so the description cannot drift from
what the server accepts; response schemas are written out here once.
"""

from __future__ import annotations

import re
from typing import Any

from .._version import __version__
from .all_endpoints import ALL_ENDPOINTS, RESPONSE_SCHEMAS
from .fields import METRIC, PARAM, Field

_TYPES: dict[str, dict[str, Any]] = {
    "string": {"type": "string"},
    "int64": {"type": "integer", "format": "int64"},
    "double": {"oneOf": [{"type": "number"}, {"enum": ["NaN", "Infinity", "-Infinity"]}]},
    "bool": {"type": "boolean"},
    # A single string is taken as a list of one (see fields.py).
    "string[]": {"anyOf": [{"type": "array", "items": {"type": "string"}}, {"type": "string"}]},
    "view_type": {"type": "string", "enum": ["ACTIVE_ONLY", "DELETED_ONLY", "ALL"]},
}


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _array(name: str) -> dict[str, Any]:
    return {"type": "array", "items": _ref(name)}


def _object(properties: dict[str, Any], required: tuple[str, ...] = ()) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "object", "properties": properties}
    if required:
        schema["required"] = list(required)
    return schema


def field_schema(field: Field) -> dict[str, Any]:
    if field.kind == "object":
        schema: dict[str, Any] = dict(_ref(field.item_schema))
    elif field.kind == "object[]":
        schema = _array(field.item_schema)
    else:
        schema = dict(_TYPES[field.kind])
    if field.doc:
        schema["description"] = field.doc
    return schema


def fields_schema(fields: tuple[Field, ...]) -> dict[str, Any]:
    # An optional field may be null: as in protobuf's JSON mapping, null means "not given".
    return _object(
        {f.name: field_schema(f) if f.required else {**field_schema(f), "nullable": True}
         for f in fields},
        tuple(f.name for f in fields if f.required),
    )  # fmt: skip


_INT = _TYPES["int64"]
_STR = _TYPES["string"]
_SCHEMAS: dict[str, Any] = {
    "Error": _object({"error_code": _STR, "message": _STR}, ("error_code", "message")),
    "Empty": _object({}),
    "Experiment": _object(
        {
            "experiment_id": _STR,
            "name": _STR,
            "artifact_location": _STR,
            "lifecycle_stage": _STR,
            "creation_time": _INT,
            "last_update_time": _INT,
            "tags": _array("Tag"),
        }
    ),
    "RunInfo": _object(
        {
            "run_id": _STR,
            "run_uuid": _STR,
            "run_name": _STR,
            "experiment_id": _STR,
            "user_id": _STR,
            "status": _STR,
            "start_time": _INT,
            "end_time": _INT,
            "artifact_uri": _STR,
            "lifecycle_stage": _STR,
        }
    ),
    "RunData": _object(
        {"metrics": _array("Metric"), "params": _array("Param"), "tags": _array("Tag")}
    ),
    "Run": _object({"info": _ref("RunInfo"), "data": _ref("RunData")}),
    "FileInfo": _object({"path": _STR, "is_dir": _TYPES["bool"], "file_size": _INT}),
    "ExperimentId": _object({"experiment_id": _STR}),
    "ExperimentResponse": _object({"experiment": _ref("Experiment")}),
    "ExperimentsPage": _object({"experiments": _array("Experiment"), "next_page_token": _STR}),
    "RunResponse": _object({"run": _ref("Run")}),
    "RunInfoResponse": _object({"run_info": _ref("RunInfo")}),
    "RunsPage": _object({"runs": _array("Run"), "next_page_token": _STR}),
    "MetricHistory": _object({"metrics": _array("Metric"), "next_page_token": _STR}),
    "FileList": _object({"files": _array("FileInfo")}),
}


def _responses(schema: str) -> dict[str, Any]:
    def error(text: str) -> dict[str, Any]:
        return {"description": text, "content": {"application/json": {"schema": _ref("Error")}}}

    return {
        "200": {"description": "OK", "content": {"application/json": {"schema": _ref(schema)}}},
        "400": error("invalid parameter or malformed JSON"),
        "401": error("token missing or wrong"),
        "404": error("no such experiment, run or artifact"),
        "413": error("body over the size limit"),
        "503": error("database unavailable; retry after Retry-After seconds"),
    }


def _operation(endpoint: Any, method: str) -> dict[str, Any]:
    name = re.sub(r"[^a-z0-9]+", "_", endpoint.path.lower()).strip("_")
    operation: dict[str, Any] = {
        "summary": endpoint.summary,
        "operationId": f"{method.lower()}_{name}",
        "responses": _responses(endpoint.response),
    }
    in_path = set(path_parameters(endpoint.path))
    parameters = [
        {"name": f.name, "in": "path", "required": True, "schema": field_schema(f)}
        for f in endpoint.fields
        if f.name in in_path
    ]
    rest = tuple(f for f in endpoint.fields if f.name not in in_path)
    if method in ("GET", "DELETE") and not any(f.kind.startswith("object") for f in rest):
        parameters += [
            {"name": f.name, "in": "query", "required": f.required, "schema": field_schema(f)}
            for f in rest
        ]
    else:
        body = fields_schema(rest)
        operation["requestBody"] = {"content": {"application/json": {"schema": body}}}
    if parameters:
        operation["parameters"] = parameters
    return operation


def path_parameters(path: str) -> list[str]:
    """The names of a route's ``{name}`` / ``{name:path}`` parameters."""
    return [match.split(":")[0] for match in re.findall(r"{([^}]+)}", path)]


def _artifact_paths() -> dict[str, Any]:
    path_param = {"name": "path", "in": "path", "required": True, "schema": _STR}
    octets = {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}}
    base = "/api/2.0/mlflow-artifacts/artifacts"
    return {
        base: {
            "get": {
                "summary": "List a folder of artifacts.",
                "parameters": [{"name": "path", "in": "query", "schema": _STR}],
                "responses": _responses("FileList"),
            }
        },
        base + "/{path}": {
            "put": {
                "summary": "Upload a file (replaces it if present).",
                "parameters": [path_param],
                "requestBody": {"content": octets},
                "responses": _responses("Empty"),
            },
            "get": {
                "summary": "Download a file.",
                "parameters": [path_param],
                "responses": {
                    **_responses("Empty"),
                    "200": {"description": "OK", "content": octets},
                },
            },
            "delete": {
                "summary": "Delete a file or folder.",
                "parameters": [path_param],
                "responses": _responses("Empty"),
            },
        },
    }


def openapi_document(prefix: str) -> dict[str, Any]:
    """The whole OpenAPI document for the endpoints mounted under ``prefix``."""
    paths: dict[str, Any] = {
        "/health": {
            "get": {
                "summary": "Liveness; the one path that needs no token.",
                "security": [],
                "responses": {"200": {"description": "OK"}},
            }
        }
    }
    for endpoint in ALL_ENDPOINTS:
        path = re.sub(r"{([^}:]+):path}", r"{\1}", f"{prefix}/{endpoint.path}")
        paths.setdefault(path, {}).update(
            {method.lower(): _operation(endpoint, method) for method in endpoint.methods}
        )
    paths.update(_artifact_paths())
    schemas = {
        **_SCHEMAS,
        **RESPONSE_SCHEMAS,
        "Metric": fields_schema(METRIC),
        "Param": fields_schema(PARAM),
        "Tag": fields_schema(PARAM),
    }
    return {
        "openapi": "3.0.3",
        "info": {
            "title": "autolog tracking server",
            "version": __version__,
            "description": "The MLflow REST API 2.0 subset that clients use, plus the "
            "mlflow-artifacts proxy. Errors are {error_code, message}.",
        },
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
        "security": [{"bearer": []}],
    }
