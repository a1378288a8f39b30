"""The local-folder backend plugin: folder paths and ``file:`` URIs.

The backend itself lives in :mod:`autolog.backends.local_backend`, which
imports no pluggy, so that reading a local store (``autolog runs ls``) can
build it without loading the plugin machinery; see ``autolog.backend.backend_for``.
"""

from __future__ import annotations

from .._config import Config
from ..backend import Backend
from ..hookspecs import hookimpl
from .local_backend import LocalBackend, local_backend

__all__ = ["LocalBackend", "autolog_backend"]


@hookimpl
def autolog_backend(uri: str, config: Config) -> Backend | None:
    return local_backend(uri, config)
