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
}


@dataclass(frozen=True)
class ServerSettings:
    """Where to listen, where to keep data, and the limits; see ``autolog server --help``.

    ``max_body`` is MLflow's 1 MB limit on a JSON request; ``max_artifact_bytes``
    bounds one uploaded file (2 GiB by default).
    """

    host: str = DEFAULTS["host"]
    port: int = DEFAULTS["port"]
    store: str = DEFAULTS["store"]
    artifacts: str = DEFAULTS["artifacts"]
    token: str | None = DEFAULTS["token"]
    max_body: int = DEFAULTS["max_body"]
    max_artifact_bytes: int = DEFAULTS["max_artifact_bytes"]

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
        if field.name in ("port", "max_body", "max_artifact_bytes"):
            value = _whole_number(value, source, allow_zero=field.name == "port")
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
