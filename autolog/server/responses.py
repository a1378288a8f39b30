"""JSON responses in MLflow's shape, and the one place that turns exceptions into answers."""

from __future__ import annotations

import json
import logging
from typing import Any

from starlette.responses import Response

from .database import is_unavailable
from .errors import ApiError

log = logging.getLogger("autolog.server")


def json_response(body: Any, status: int = 200, headers: dict | None = None) -> Response:
    """Compact JSON; doubles are already protobuf-encoded, so NaN never reaches the encoder."""
    content = json.dumps(body, separators=(",", ":"), allow_nan=False)
    return Response(content, status, headers, media_type="application/json")


def error_response(exc: BaseException) -> Response:
    """The MLflow-shaped answer to any exception raised while handling a request."""
    if isinstance(exc, ApiError):
        return json_response(exc.body(), exc.status)
    if is_unavailable(exc):
        log.warning("database unavailable: %s", exc)
        body = {"error_code": "TEMPORARILY_UNAVAILABLE", "message": "the database is unavailable"}
        return json_response(body, 503, {"Retry-After": "1"})
    if isinstance(exc, OSError):  # the artifact folder: disk full, permissions, a lost mount
        log.warning("artifact storage failed: %s", exc)
        message = f"the server cannot store files right now ({exc.strerror or exc})"
        body = {"error_code": "TEMPORARILY_UNAVAILABLE", "message": message}
        return json_response(body, 503, {"Retry-After": "5"})
    log.exception("internal error")
    body = {"error_code": "INTERNAL_ERROR", "message": f"internal error: {type(exc).__name__}"}
    return json_response(body, 500)
