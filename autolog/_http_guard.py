"""The request guard of ``autolog server`` and ``autolog ui``: refuse forged requests.

A tracking server on ``localhost`` is reachable by every web page the user
opens: the page cannot read the answers (no CORS headers are sent), but it can
*send* requests, with the browser's cached credentials, and a DNS name that
an attacker re-points at 127.0.0.1 (DNS rebinding) even makes its pages
same-origin. This ASGI middleware, in front of both apps, closes those doors:

* **Host.** The ``Host`` header must name this server: an IP address, a
  ``localhost`` name, the name it was bound to (its own host names when bound
  to all interfaces), or a name given with ``--allow-host``. A rebound
  attacker's name is none of these. ``/health`` is exempt, for load balancers.
* **Origin.** A browser request from another origin (``Origin`` not this
  server's, or ``Sec-Fetch-Site`` ``cross-site``/``same-site``, which covers
  another port of ``localhost``) is refused unless the origin was allowed with
  ``--allow-origin``; only a plain link (a GET navigation) may come from
  anywhere. Allowed origins get CORS answers without credentials, so their
  pages must send the token themselves: HTTP Basic credentials that the
  browser cached for the UI never authorise their writes.
* **Content-Type.** A write to a JSON endpoint must say
  ``Content-Type: application/json``: an HTML form or a ``text/plain`` fetch,
  which browsers send cross-site without asking, is refused. Artifact uploads
  take any bytes, behind the origin check.

Refusals are 403 (host, origin) or 415 (content type) with an MLflow-shaped
JSON body that says what to do.
"""

from __future__ import annotations

import ipaddress
import json
import socket
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # no Starlette at run time: the CLI imports this module for its options
    from starlette.types import ASGIApp, Message, Receive, Scope, Send

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
WILDCARD_HOSTS = frozenset({"", "0.0.0.0", "::"})
RAW_BODY_PREFIXES = ("/api/2.0/mlflow-artifacts/", "/ajax-api/2.0/mlflow-artifacts/")
OPEN_PATHS = frozenset({"/health"})
#: Set in the scope of a request from an ``--allow-origin`` page: it must bring its token.
CROSS_ORIGIN = "autolog.cross_origin"


@dataclass(frozen=True)
class GuardRules:
    """Which ``Host`` names and which other origins a server accepts."""

    hosts: frozenset[str]
    host_suffixes: tuple[str, ...]
    any_host: bool
    origins: frozenset[str]

    @classmethod
    def for_server(
        cls, bind_host: str, allow_hosts: Iterable[str] = (), allow_origins: Iterable[str] = ()
    ) -> GuardRules:
        """The rules of a server bound to ``bind_host`` with the user's extra names."""
        hosts = {"localhost"}
        if bind_host in WILDCARD_HOSTS:
            hosts.update({socket.gethostname(), socket.getfqdn()})
        else:
            hosts.add(bind_host)
        suffixes, any_host = [".localhost"], False
        for name in allow_hosts:
            name = _host_name(name.strip())
            if name == "*":
                any_host = True
            elif name.startswith(("*.", ".")):
                suffixes.append("." + name.lstrip("*."))
            elif name:
                hosts.add(name)
        return cls(
            hosts=frozenset(_host_name(h) for h in hosts),
            host_suffixes=tuple(suffixes),
            any_host=any_host,
            origins=frozenset(o.strip().rstrip("/").lower() for o in allow_origins if o.strip()),
        )

    def host_allowed(self, host: str) -> bool:
        """True if a ``Host`` header value (with or without port) names this server."""
        name = _host_name(host)
        if self.any_host or name in self.hosts or name.endswith(self.host_suffixes):
            return True
        try:  # an address cannot be rebound: only names can
            ipaddress.ip_address(name)
        except ValueError:
            return False
        return True


class RequestGuard:
    """ASGI middleware applying :class:`GuardRules` to every HTTP request."""

    def __init__(self, app: ASGIApp, rules: GuardRules) -> None:
        self.app = app
        self.rules = rules

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = _headers(scope)
        method, path = scope["method"], scope["path"]
        host = headers.get("host", "")
        if path not in OPEN_PATHS and host and not self.rules.host_allowed(host):
            await _refuse(
                send,
                403,
                f"this server does not answer to the name {_host_name(host)!r}; if it is "
                "really its name, start it with --allow-host NAME",
            )
            return
        origin = headers.get("origin", "").rstrip("/").lower()
        allowed_other = bool(origin) and origin in self.rules.origins
        if not allowed_other and self._cross_site(method, host, origin, headers):
            await _refuse(
                send,
                403,
                f"cross-origin request from {origin or 'another site'} refused; a page that "
                "should reach this server needs --allow-origin ORIGIN and its own token",
            )
            return
        if allowed_other and method == "OPTIONS" and "access-control-request-method" in headers:
            await _preflight(send, origin)
            return
        json_write = method not in SAFE_METHODS and not path.startswith(RAW_BODY_PREFIXES)
        if json_write and _has_body(headers) and not _is_json(headers.get("content-type", "")):
            await _refuse(
                send,
                415,
                "a write must send its body as JSON with 'Content-Type: application/json'",
                "BAD_REQUEST",
            )
            return
        if allowed_other:
            scope = {**scope, CROSS_ORIGIN: True}
            send = _with_cors(send, origin)
        await self.app(scope, receive, send)

    @staticmethod
    def _cross_site(method: str, host: str, origin: str, headers: dict[str, str]) -> bool:
        """True for a browser request sent by a page of another origin."""
        site = headers.get("sec-fetch-site", "")
        if method in SAFE_METHODS and headers.get("sec-fetch-mode") == "navigate":
            return False  # a link followed from anywhere: it reads, the user sees the page
        if origin:
            own = origin.partition("://")[2]
            return origin == "null" or own != host.lower()
        return site in ("cross-site", "same-site")


def _host_name(host: str) -> str:
    """``"[::1]:5000"`` -> ``"::1"``, ``"Example.COM.:80"`` -> ``"example.com"``."""
    host = host.strip().lower()
    if host.startswith("["):
        return host[1:].partition("]")[0]
    if host.count(":") == 1:
        host = host.partition(":")[0]
    return host.rstrip(".")


def _headers(scope: Scope) -> dict[str, str]:
    return {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}


def _has_body(headers: dict[str, str]) -> bool:
    length = headers.get("content-length", "")
    return "transfer-encoding" in headers or (length not in ("", "0"))


def _is_json(content_type: str) -> bool:
    media = content_type.partition(";")[0].strip().lower()
    return media == "application/json" or (
        media.startswith("application/") and media.endswith("+json")
    )


async def _refuse(send: Send, status: int, message: str, code: str = "PERMISSION_DENIED") -> None:
    body = json.dumps({"error_code": code, "message": message}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"vary", b"Origin"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


async def _preflight(send: Send, origin: str) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": 204,
            "headers": [
                *_cors_headers(origin),
                (b"access-control-allow-methods", b"GET, POST, PUT, PATCH, DELETE"),
                (b"access-control-allow-headers", b"authorization, content-type"),
                (b"access-control-max-age", b"600"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": b""})


def _cors_headers(origin: str) -> list[tuple[bytes, bytes]]:
    # No Access-Control-Allow-Credentials: cached Basic credentials and cookies never go along.
    return [(b"access-control-allow-origin", origin.encode("latin-1")), (b"vary", b"Origin")]


def _with_cors(send: Send, origin: str) -> Send:
    async def send_with_cors(message: Message) -> None:
        if message["type"] == "http.response.start":
            message = {**message, "headers": [*message.get("headers", []), *_cors_headers(origin)]}
        await send(message)

    return send_with_cors
