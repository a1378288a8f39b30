"""The web UI as Starlette routes: the page at ``/``, its assets, and the JSON API.

``autolog server`` adds :func:`ui_routes` to its own app (so the UI sits behind
the same token as the API); ``autolog ui`` serves :func:`create_ui_app` alone,
which has no route that writes anything.

The page is one HTML file plus ES modules and CSS from ``static/``, with no
build step and nothing fetched from the internet. It is sent with a strict
Content-Security-Policy (scripts, styles and data from this origin only), and
assets with ``Cache-Control: no-cache`` so an upgrade is picked up at once
while unchanged files still answer 304.
"""

from __future__ import annotations

from collections.abc import MutableMapping
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Receive, Scope, Send

from .._curation import Editor
from .._http_guard import GuardRules, RequestGuard
from .api import api_routes
from .readers import Reader

STATIC = Path(__file__).parent / "static"
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-cache",
}


class _Assets(StaticFiles):
    """Static files that browsers revalidate on every load (cheap 304s, never stale)."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def send_with_headers(message: MutableMapping[str, Any]) -> None:
            if message["type"] == "http.response.start":
                message.setdefault("headers", [])
                message["headers"] = [
                    *message["headers"],
                    (b"cache-control", b"no-cache"),
                    (b"x-content-type-options", b"nosniff"),
                ]
            await send(message)

        await super().__call__(scope, receive, send_with_headers)


def ui_routes(reader: Reader, editor: Editor | None = None) -> list[BaseRoute]:
    """The page, its assets and its API, for mounting at ``/`` of any Starlette app."""
    page = (STATIC / "index.html").read_bytes()

    async def index(request: Request) -> Response:
        return Response(page, headers=SECURITY_HEADERS, media_type="text/html")

    return [
        Route("/", index, methods=["GET"]),
        api_routes(reader, editor),
        Mount("/static", app=_Assets(directory=STATIC), name="ui-static"),
    ]


def create_ui_app(
    reader: Reader, rules: GuardRules | None = None, editor: Editor | None = None
) -> ASGIApp:
    """The app of ``autolog ui``: the UI and ``/health``, behind the request guard;
    read-only without an ``editor``."""

    async def health(request: Request) -> Response:
        return PlainTextResponse("OK")

    routes = [Route("/health", health, methods=["GET"]), *ui_routes(reader, editor)]
    return RequestGuard(Starlette(routes=routes), rules or GuardRules.for_server("127.0.0.1"))
