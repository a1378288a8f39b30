"""The ASGI application: routes, request parsing, errors, the token check.

Built on Starlette (routing and requests only, no validation framework: the
field declarations in :mod:`autolog.server.endpoints` do that and also give
the OpenAPI description), which keeps the server ready in a fraction of a
second and small in memory. Database work runs in Starlette's thread pool, so
a slow commit never blocks other requests.

No request makes the server answer 500: input is validated into 4xx answers,
an unavailable database answers 503 with ``Retry-After`` (clients retry), and
only a bug in this code can still produce a 500, logged with its traceback.
The routes leave ``/`` free so that a web UI can be mounted there later
(``create_app(..., extra_routes=[Mount("/", ui)])``).
"""

from __future__ import annotations

import hmac
import json
from base64 import b64decode
from collections.abc import Sequence

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import BaseRoute, Route
from starlette.types import ASGIApp, Receive, Scope, Send

from .._http_guard import CROSS_ORIGIN, GuardRules, RequestGuard
from .all_endpoints import ALL_ENDPOINTS, unimplemented_routes
from .artifact_routes import artifact_routes
from .artifacts import ArtifactStore
from .endpoints import Endpoint
from .errors import ApiError, too_large
from .fields import parse_fields
from .openapi import openapi_document
from .responses import error_response, json_response
from .settings import ServerSettings
from .store import TrackingStore

API_PREFIXES = ("/api/2.0/mlflow", "/ajax-api/2.0/mlflow")
OPEN_PATHS = frozenset({"/health"})


async def read_body(request: Request, limit: int) -> bytes:
    """The request body, refused with 413 as soon as it is known to exceed ``limit`` bytes."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise too_large(limit)
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise too_large(limit)
        chunks.append(chunk)
    return b"".join(chunks)


def _query_data(request: Request, endpoint: Endpoint) -> dict:
    query, data = request.query_params, {}
    for field in endpoint.fields:
        for key in (field.name, *field.aliases):
            if key in query and field.name not in data:
                data[field.name] = query.getlist(key) if field.kind == "string[]" else query[key]
    return data


async def request_data(request: Request, endpoint: Endpoint, limit: int) -> dict:
    """Query parameters for GET (and a DELETE without a body), the JSON body otherwise.

    Parameters in the path (``logged-models/{model_id}``) win over both.
    """
    if request.method == "GET":
        return {**_query_data(request, endpoint), **request.path_params}
    body = await read_body(request, limit)
    if not body.strip():
        return {**_query_data(request, endpoint), **request.path_params}
    try:
        data = json.loads(body)
    except (ValueError, RecursionError) as exc:
        raise ApiError("BAD_REQUEST", f"the request body is not valid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise ApiError("BAD_REQUEST", "the request body must be a JSON object")
    return {**data, **request.path_params}


def endpoint_route(path: str, endpoint: Endpoint, store: TrackingStore, limit: int) -> Route:
    async def handle(request: Request) -> Response:
        try:
            values = parse_fields(endpoint.fields, await request_data(request, endpoint, limit))
            return json_response(await run_in_threadpool(endpoint.handler, store, values))
        except Exception as exc:
            return error_response(exc)

    return Route(path, handle, methods=list(endpoint.methods), name=path)


async def health(request: Request) -> Response:
    return PlainTextResponse("OK")


async def _not_found(request: Request, exc: Exception) -> Response:
    status = getattr(exc, "status_code", 404)
    if status == 405:
        message = f"{request.method} is not allowed on {request.url.path}"
        return json_response({"error_code": "BAD_REQUEST", "message": message}, 405)
    message = f"no endpoint {request.method} {request.url.path}"
    return json_response({"error_code": "ENDPOINT_NOT_FOUND", "message": message}, 404)


async def _internal(request: Request, exc: Exception) -> Response:
    return error_response(exc)


def create_app(
    settings: ServerSettings,
    store: TrackingStore,
    artifacts: ArtifactStore,
    extra_routes: Sequence[BaseRoute] = (),
) -> ASGIApp:
    """The server's ASGI app; ``extra_routes`` (a web UI) are matched after the API."""
    document = openapi_document(API_PREFIXES[0])

    async def openapi(request: Request) -> Response:
        return json_response(document)

    routes: list[BaseRoute] = [
        Route("/health", health, methods=["GET"]),
        Route("/openapi.json", openapi, methods=["GET"]),
    ]
    for prefix in API_PREFIXES:
        for endpoint in ALL_ENDPOINTS:
            routes.append(
                endpoint_route(f"{prefix}/{endpoint.path}", endpoint, store, settings.max_body)
            )
    routes.extend(artifact_routes(artifacts, settings.max_artifact_bytes))
    routes.extend(unimplemented_routes())
    routes.extend(extra_routes)
    app = Starlette(
        routes=routes,
        exception_handlers={HTTPException: _not_found, Exception: _internal},
    )
    rules = GuardRules.for_server(settings.host, settings.allow_host, settings.allow_origin)
    return RequestGuard(TokenAuth(app, settings.token), rules)


class TokenAuth:
    """Require ``Authorization: Bearer TOKEN`` on every path but /health, when a token is set.

    HTTP Basic with the token as password is accepted too, for clients that
    only know user/password (``MLFLOW_TRACKING_USERNAME``/``PASSWORD``) and
    for the UI's pages, but not from a page of an ``--allow-origin`` origin:
    the browser may have cached those credentials for the UI, so such a page
    must send its own Bearer token.
    """

    def __init__(self, app: ASGIApp, token: str | None) -> None:
        self.app = app
        self.token = token.encode() if token else None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            self.token is None
            or scope["type"] != "http"
            or scope["path"] in OPEN_PATHS
            or self._authorised(scope, basic=not scope.get(CROSS_ORIGIN))
        ):
            await self.app(scope, receive, send)
            return
        api = scope["path"].startswith(("/api/", "/ajax-api/"))
        response = json_response(
            {
                "error_code": "UNAUTHENTICATED",
                "message": "this server requires a token: send 'Authorization: Bearer TOKEN' "
                "(MLFLOW_TRACKING_TOKEN or AUTOLOG_TRACKING_TOKEN)",
            },
            401,
            # Browsers prompt for Basic (any user name, the token as password) on the web UI.
            {"WWW-Authenticate": 'Bearer realm="autolog"' if api else 'Basic realm="autolog"'},
        )
        await response(scope, receive, send)

    def _authorised(self, scope: Scope, basic: bool) -> bool:
        assert self.token is not None
        header = next((v for k, v in scope["headers"] if k == b"authorization"), b"")
        scheme, _, credential = header.partition(b" ")
        credential = credential.strip()
        if scheme.lower() == b"basic" and basic:
            try:
                credential = b64decode(credential, validate=True).partition(b":")[2]
            except ValueError:
                return False
        elif scheme.lower() != b"bearer":  # or Basic from an allowed other origin
            return False
        return hmac.compare_digest(credential, self.token)
