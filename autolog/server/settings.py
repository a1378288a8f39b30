"""The server's settings: command-line options, else ``AUTOLOG_SERVER_*`` variables, else defaults.

The token is best given as ``AUTOLOG_SERVER_TOKEN`` rather than ``--token``,
since other users of the machine can read a process's command line.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, fields
from typing import Any

from .._validation import strip_credentials

DEFAULTS: dict[str, Any] = {
    "host": "127.0.0.1",
    "port": 5000,
    "store": "sqlite:///autolog.db",
    "artifacts": "./autolog-artifacts",
    "token": None,
    "max_body": 1_000_000,
    "max_artifact_bytes": 2 * 1024**3,
    "allow_origin": (),
    "allow_host": (),
    "header_timeout": 10.0,
    "keep_alive_timeout": 5.0,
    "max_connections": 0,
}


@dataclass(frozen=True)
class ServerSettings:
    """Where to listen, where to keep data, and the limits; see ``autolog server --help``.

    ``max_body`` is MLflow's 1 MB limit on a JSON request; ``max_artifact_bytes``
    bounds one uploaded file (2 GiB by default). ``allow_origin``/``allow_host``
    widen the request guard (:mod:`autolog._http_guard`); the timeouts and
    ``max_connections`` (0: from the descriptor limit) bound connections
    (:mod:`autolog._connections`).
    """

    host: str = DEFAULTS["host"]
    port: int = DEFAULTS["port"]
    store: str = DEFAULTS["store"]
    artifacts: str = DEFAULTS["artifacts"]
    token: str | None = DEFAULTS["token"]
    max_body: int = DEFAULTS["max_body"]
    max_artifact_bytes: int = DEFAULTS["max_artifact_bytes"]
    allow_origin: tuple[str, ...] = DEFAULTS["allow_origin"]
    allow_host: tuple[str, ...] = DEFAULTS["allow_host"]
    header_timeout: float = DEFAULTS["header_timeout"]
    keep_alive_timeout: float = DEFAULTS["keep_alive_timeout"]
    max_connections: int = DEFAULTS["max_connections"]

    def __repr__(self) -> str:
        token = "set" if self.token else "none"
        store = strip_credentials(self.store)
        return f"ServerSettings({self.host}:{self.port}, store={store!r}, token {token})"


def env_name(setting: str) -> str:
    return f"AUTOLOG_SERVER_{setting.upper()}"


def resolve_settings(given: dict[str, Any]) -> ServerSettings:
    """Merge ``given`` (None means "not given") over the environment over the defaults."""
    values: dict[str, Any] = {}
    for field in fields(ServerSettings):
        value = given.get(field.name)
        source = f"--{field.name.replace('_', '-')}"
        if value is None:
            value = os.environ.get(env_name(field.name)) or None
            source = env_name(field.name)
        if value is None:
            continue
        if field.name in ("port", "max_body", "max_artifact_bytes", "max_connections"):
            allow_zero = field.name in ("port", "max_connections")
            value = _whole_number(value, source, allow_zero=allow_zero)
        elif field.name in ("allow_origin", "allow_host"):
            value = _names(value)
        elif field.name.endswith("_timeout"):
            value = _seconds(value, source)
        values[field.name] = value
    return ServerSettings(**values)


def _whole_number(value: Any, source: str, allow_zero: bool) -> int:
    try:
        number = int(value)
    except (TypeError, ValueError):
        number = -1
    if number < 0 or (number == 0 and not allow_zero):
        raise ValueError(f"{source} must be a whole number, got {value!r}")
    return number


def _names(value: Any) -> tuple[str, ...]:
    """A repeated option or a comma-separated variable as a tuple of names."""
    items = value.split(",") if isinstance(value, str) else [n for v in value for n in v.split(",")]
    return tuple(item.strip() for item in items if item.strip())


def _seconds(value: Any, source: str) -> float:
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        seconds = -1.0
    if not seconds > 0:
        raise ValueError(f"{source} must be a number of seconds > 0, got {value!r}")
    return seconds
