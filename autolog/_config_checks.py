"""Checks ``autolog()`` makes before patching anything, so a configuration mistake is one line.

A backend URI that cannot work (a port out of range, no host), or a store
folder that cannot be written, is refused at ``autolog()`` time with the
setting, its value and where it came from, instead of surfacing at the first
fit as an internal failure.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Mapping

from .errors import ConfigurationError

TYPE_CHECKING = False  # not typing's: importing typing costs milliseconds of autolog()
if TYPE_CHECKING:
    from typing import Any


def setting_source(name: str, arguments: Mapping[str, Any], file_label: str | None) -> str:
    """Where the value of setting ``name`` came from, in the precedence order of resolve()."""
    if arguments.get(name) is not None:
        return "autolog()"
    variable = f"AUTOLOG_{name.upper()}"
    if os.environ.get(variable):
        return variable
    if name == "backend" and os.environ.get("MLFLOW_TRACKING_URI"):
        return "MLFLOW_TRACKING_URI"
    return file_label or "the defaults"


def check_config(config: Any, arguments: Mapping[str, Any], file_label: str | None) -> None:
    """Raise ConfigurationError for a backend URI or store folder that cannot work."""
    for uri in config.backends:
        if str(uri).startswith(("http://", "https://")):
            _check_http(str(uri), setting_source("backend", arguments, file_label))
    if not config.disable:
        _check_writable(os.fspath(config.dir), setting_source("dir", arguments, file_label))


def _check_http(uri: str, source: str) -> None:
    from urllib.parse import urlsplit  # here: a local store never pays for it

    from ._validation import strip_credentials

    shown = strip_credentials(uri)
    parts = urlsplit(uri)
    try:
        port = parts.port
    except ValueError:
        port_text = parts.netloc.rsplit(":", 1)[-1]
        raise ConfigurationError(
            f"setting 'backend' from {source}: {shown!r} has port {port_text!r}, "
            "which is not a number from 1 to 65535"
        ) from None
    if not parts.hostname:
        raise ConfigurationError(
            f"setting 'backend' from {source}: {shown!r} names no host; "
            "write it as http://HOST:PORT"
        )
    if port == 0:
        raise ConfigurationError(f"setting 'backend' from {source}: {shown!r} has port 0")


#: Where the write check probes once the store has been read: the index's own folder
#: (autolog._store.INDEX_FOLDER, not imported: autolog._store costs milliseconds of
#: autolog()). A probe in the store's root changes the root's mtime, the index's signal
#: that runs were added, and makes every read in the next seconds sweep the whole store.
#: A store that has never been read has no index to mislead: there the root is probed,
#: and no folder is added to it.
PROBE_FOLDER = ".autolog-index"


def _check_writable(folder: str, source: str) -> None:
    # A probe file of our own, not tempfile's: tempfile (with shutil and random) costs
    # milliseconds of autolog()'s start-up. Named by process and thread, so parallel
    # autolog() calls never remove each other's.
    name = f".autolog-write-check-{os.getpid()}-{threading.get_ident()}"
    index_folder = os.path.join(folder, PROBE_FOLDER)
    read_before = os.path.isdir(index_folder) and not os.path.islink(index_folder)
    probe = os.path.join(index_folder if read_before else folder, name)
    try:
        os.makedirs(folder, exist_ok=True)
        flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_NOFOLLOW", 0)
        os.close(os.open(probe, flags, 0o600))
        os.unlink(probe)
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise ConfigurationError(
            f"setting 'dir' from {source}: cannot write to {str(folder)!r} ({reason}); "
            "give a folder you can write to (AUTOLOG_DIR or autolog(dir=...))"
        ) from None
