"""One line per request, in the Combined Log Format web servers write, plus the time taken.

    127.0.0.1 - - [02/Dec/2026:04:51:07 +0000] "POST /api/2.0/mlflow/runs/log-batch HTTP/1.1"
        200 2 "-" "mlflow-python-client/3.1.0" 0.004      (one line)

Written to stdout (where ``autolog server`` prints its start-up lines), so log
collectors and ``grep`` read it as they read nginx's. The query string is left
out: MLflow clients send run ids there, never secrets, but a token could be
passed as ``?token=`` by a mistaken client, and a log must never hold one.
"""

from __future__ import annotations

import sys
import time
from datetime import datetime, timezone
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send


class AccessLog:
    """ASGI middleware writing one Combined Log Format line per HTTP request."""

    def __init__(self, app: ASGIApp, out: Any = None) -> None:
        self.app = app
        self.out = out

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status, size = 500, 0

        async def counting_send(message: Message) -> None:
            nonlocal status, size
            if message["type"] == "http.response.start":
                status = message["status"]
            elif message["type"] == "http.response.body":
                size += len(message.get("body", b""))
            await send(message)

        try:
            await self.app(scope, receive, counting_send)
        finally:
            self._write(scope, status, size, time.perf_counter() - started)

    def _write(self, scope: Scope, status: int, size: int, seconds: float) -> None:
        client = (scope.get("client") or ("-", 0))[0]
        headers = dict(scope.get("headers") or [])
        referer = _quoted(headers.get(b"referer", b"-"))
        agent = _quoted(headers.get(b"user-agent", b"-"))
        moment = datetime.now(timezone.utc).strftime("%d/%b/%Y:%H:%M:%S +0000")
        path = _quoted(scope.get("raw_path") or scope.get("path", "").encode())
        version = scope.get("http_version", "1.1")
        line = (
            f'{client} - - [{moment}] "{scope.get("method", "-")} {path} HTTP/{version}" '
            f'{status} {size or "-"} "{referer}" "{agent}" {seconds:.3f}\n'
        )
        out = self.out or sys.stdout
        try:
            out.write(line)
            out.flush()
        except (OSError, ValueError):  # a closed stdout must not fail a request
            pass


def _quoted(raw: bytes | str) -> str:
    """Header or path text safe inside a log line: no quotes, no control characters."""
    text = raw.decode("latin-1") if isinstance(raw, bytes) else raw
    text = text.split("?", 1)[0] if text.startswith("/") else text
    return "".join(c if 32 <= ord(c) < 127 and c != '"' else f"\\x{ord(c):02x}" for c in text)
