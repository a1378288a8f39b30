"""Built-in plugin: the URI schemes of the built-in remote backends.

The HTTP and Azure backends import clients, SDKs and their dependencies that
cost ~10 ms together, a fifth of autolog's start-up budget. This plugin knows
their schemes and imports a backend's module only for a URI it owns, so a
script logging to the local store never pays for them.
"""

from __future__ import annotations

from .._config import Config
from ..backend import Backend
from ..hookspecs import hookimpl

HTTP_SCHEMES = ("http://", "https://")
BLOB_SCHEMES = ("wasbs://", "azure://")


@hookimpl
def autolog_backend(uri: str, config: Config) -> Backend | None:
    scheme = uri[: uri.find("://") + 3].lower() if "://" in uri else ""
    if scheme in HTTP_SCHEMES:
        from .http import HttpBackend

        return HttpBackend(uri)
    if scheme in BLOB_SCHEMES:
        from .azure import open_blob_backend

        return open_blob_backend(uri, config)
    return None
