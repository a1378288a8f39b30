"""The transport under the HTTP backend: one keep-alive connection, retries, two kinds of error.

Connection errors, timeouts, 408, 429 and 5xx are retried a few times with
exponential backoff and jitter, honouring ``Retry-After``, then raised as
:class:`ServerUnavailableError` (``permanent = False``) so that the shipper
tries again later. Any other 4xx is :class:`ServerRejectedError`
(``permanent = True``): the same request can never succeed.

Credentials come from the URI (``http://user:password@host``, sent as HTTP
Basic) or from ``AUTOLOG_TRACKING_TOKEN`` / ``MLFLOW_TRACKING_TOKEN`` (sent as
``Authorization: Bearer``, which is what MLflow's client does). They are kept
out of ``uri`` and every message. httpx is imported on the first request, so
configuring an HTTP backend costs ``import autolog`` nothing.
"""

from __future__ import annotations

import json
import os
import random
import threading
import time
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from .._validation import strip_credentials
from ..errors import BackendError

TOKEN_VARIABLES = ("AUTOLOG_TRACKING_TOKEN", "MLFLOW_TRACKING_TOKEN")
API = "/api/2.0/mlflow/"
ATTEMPTS, BACKOFF_FIRST, BACKOFF_MAX, RETRY_AFTER_MAX = 4, 0.25, 4.0, 30.0


class ServerUnavailableError(BackendError):
    """The server could not be reached or asked us to come back later; retrying may work.

    ``status`` is the HTTP status when the server answered (a 500 that may
    concern only the batch sent), None when it could not be reached at all.
    """

    permanent = False
    retry_after: float | None = None
    status: int | None = None

    @property
    def unreachable(self) -> bool:  # type: ignore[override]
        """No answer, or one saying the server is down or overloaded (not a 500 to a batch)."""
        return self.status is None or self.status in (408, 429, 502, 503, 504)


class ServerRejectedError(BackendError):
    """The server refused the request (a 4xx); sending it again cannot succeed."""

    permanent = True

    def __init__(self, message: str, status: int, error_code: str) -> None:
        super().__init__(message)
        self.status, self.error_code = status, error_code


class RestClient:
    """Requests to one MLflow-compatible server; safe to share between threads."""

    def __init__(self, uri: str) -> None:
        parts = urlsplit(uri)
        self.uri = strip_credentials(uri)
        host = parts.hostname or ""
        netloc = (f"[{host}]" if ":" in host else host) + (f":{parts.port}" if parts.port else "")
        self.base = urlunsplit((parts.scheme, netloc, parts.path.rstrip("/"), "", ""))
        token = next((os.environ[v] for v in TOKEN_VARIABLES if os.environ.get(v)), None)
        self._headers = {"Authorization": f"Bearer {token}"} if token else {}
        self._basic = (parts.username or "", parts.password or "") if parts.username else None
        if self._basic is None and os.environ.get("MLFLOW_TRACKING_USERNAME"):
            # MLflow's own variables, so a URI written down without its password works again.
            password = os.environ.get("MLFLOW_TRACKING_PASSWORD", "")
            self._basic = (os.environ["MLFLOW_TRACKING_USERNAME"], password)
        #: True once a response came back; False while every attempt failed to connect.
        self.reachable: bool | None = None
        self._client: Any = None
        self._client_pid = 0
        self._lock = threading.Lock()

    def _http(self) -> Any:
        """The httpx client, made on first use (and again in a forked child)."""
        with self._lock:
            if self._client is None or self._client_pid != os.getpid():
                import httpx

                self._client = httpx.Client(
                    headers=self._headers,
                    auth=self._basic,
                    timeout=httpx.Timeout(60.0, connect=5.0),
                    limits=httpx.Limits(max_keepalive_connections=4),
                )
                self._client_pid = os.getpid()
            return self._client

    def request(self, method: str, url: str, file: Path | None = None, **kwargs: Any) -> Any:
        """Send with retries; ``file`` is streamed as the body (reopened for each attempt)."""
        import httpx

        error: ServerUnavailableError | None = None
        for attempt in range(ATTEMPTS):
            delay = min(BACKOFF_MAX, BACKOFF_FIRST * 2**attempt) * random.uniform(0.5, 1.5)
            try:
                if file is not None:
                    with open(file, "rb") as content:
                        response = self._http().request(method, url, content=content, **kwargs)
                else:
                    response = self._http().request(method, url, **kwargs)
            except httpx.TransportError as exc:
                reason = f"{type(exc).__name__}: {strip_credentials(str(exc))}"
                error = ServerUnavailableError(f"{self.uri} is unreachable ({reason})")
                if not self.reachable:
                    self.reachable = False
            else:
                self.reachable = True
                status = response.status_code
                if status < 400:
                    return response
                if status not in (408, 429) and status < 500:
                    raise self._rejected(response, method, url)
                where = f"{method} {url.removeprefix(self.base)}"
                error = ServerUnavailableError(
                    f"{self.uri} answered {status} to {where}{_reason(response)}"
                )
                error.status = status
                error.retry_after = retry_after(response.headers.get("retry-after"))
                delay = delay if error.retry_after is None else error.retry_after
            if attempt + 1 == ATTEMPTS or delay > RETRY_AFTER_MAX:
                break
            time.sleep(delay)
        assert error is not None
        raise error

    def _rejected(self, response: Any, method: str, url: str) -> ServerRejectedError:
        try:
            body = response.json()
            code, message = body.get("error_code", ""), body.get("message", "")
        except ValueError:
            code, message = "", response.text[:200]
        hint = " (check the token)" if response.status_code in (401, 403) else ""
        return ServerRejectedError(
            f"{self.uri} refused {method} {url.removeprefix(self.base)}: "
            f"{response.status_code} {code} {message}{hint}".strip(),
            response.status_code,
            code,
        )

    def call(self, endpoint: str, body: dict | None = None, **params: Any) -> dict:
        """POST ``body`` (or GET with ``params``) to an MLflow endpoint; its JSON answer."""
        url = self.base + API + endpoint
        if body is None:
            query = {k: v for k, v in params.items() if v is not None}
            response = self.request("GET", url, params=query)
        else:
            data = json.dumps(body, allow_nan=False, separators=(",", ":")).encode()
            headers = {"Content-Type": "application/json"}
            response = self.request("POST", url, content=data, headers=headers)
        return response.json() if response.content else {}

    def close(self) -> None:
        with self._lock:
            if self._client is not None and self._client_pid == os.getpid():
                self._client.close()
            self._client = None


def _reason(response: Any) -> str:
    """The server's own words about an error, when it gave any (MLflow's JSON message)."""
    try:
        message = response.json().get("message", "")
    except (ValueError, AttributeError):
        message = ""
    return f": {str(message)[:300]}" if message else ""


def retry_after(header: str | None) -> float | None:
    """Seconds to wait from a Retry-After header (seconds or an HTTP date), or None."""
    if not header:
        return None
    try:
        return max(0.0, float(header))
    except ValueError:
        pass
    try:
        return max(0.0, parsedate_to_datetime(header).timestamp() - time.time())
    except (TypeError, ValueError):
        return None
