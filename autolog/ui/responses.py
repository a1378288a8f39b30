"""The UI API's JSON answers: compact, strict JSON (no NaN), never cached."""

from __future__ import annotations

import json
from typing import Any

from starlette.responses import Response

NO_STORE = {"Cache-Control": "no-store"}


def json_response(body: Any, status: int = 200) -> Response:
    """``body`` as JSON; the browser must not keep it (runs change while watched)."""
    content = json.dumps(body, separators=(",", ":"), allow_nan=False, ensure_ascii=False)
    return Response(content, status, NO_STORE, media_type="application/json")
