"""``autolog ui``: the web UI over a local store or a blob container, read-only.

    autolog ui [STORE] [--host 127.0.0.1] [--port 5050]
               [--allow-host NAME]... [--allow-origin ORIGIN]...

STORE is a folder (default: the configured store, ``./autolog-runs``), a
``file:`` URI, or a blob URI such as ``wasbs://container@account.blob.core.windows.net/prefix``.
``autolog server`` serves the same UI at its own URL, over its SQL store.

The pages are documented in docs/ui.md. The pieces: :mod:`.app` (routes, assets,
headers), :mod:`.api` (the JSON API), :mod:`.readers` (the interface every
reader implements), :mod:`.journal_reader` (any store of journals: a local
folder, a blob container, a plugin's :class:`~autolog.sources.JournalSource`)
and :mod:`.series` (metric arrays and downsampling). The UI imports nothing
from the server: ``autolog server`` hands it a reader of its SQL store
(:mod:`autolog.server.ui_reader`). Starlette and uvicorn come with
``pip install 'autolog-tracking[server]'`` and are imported only when serving.
"""

from __future__ import annotations

import argparse
import sys
import threading
from typing import Any


def main(args: argparse.Namespace) -> int:
    """Entry point of ``autolog ui``; returns the exit code."""
    try:
        import uvicorn  # noqa: F401 (checked here, so a missing one is a one-line error)

        from .app import create_ui_app
    except ModuleNotFoundError as exc:
        print(
            f"autolog: error: the UI needs {exc.name}: pip install 'autolog-tracking[server]'",
            file=sys.stderr,
        )
        return 1
    from .._config import resolve
    from .._serve import bind, listens_everywhere, serve_app, server_url
    from ..backend import backend_for
    from ..plugins import load_plugins
    from .journal_reader import open_reader
    from .readers import BadRequest, NotFound

    config = resolve({})
    store = args.store or config.dir
    try:
        load_plugins()
        reader = open_reader(store, lambda uri: backend_for(uri, config))
        sock = bind(args.host, args.port)
    except (NotFound, BadRequest, OSError) as exc:
        hint = " (--port 0 picks a free one)" if isinstance(exc, OSError) else ""
        print(f"autolog: error: {exc}{hint}", file=sys.stderr)
        return 1
    # Replay the journals in the background, so the first pages do not wait for them.
    threading.Thread(target=reader.warm_up, name="autolog-ui-warm-up", daemon=True).start()
    url = server_url(args.host, sock.getsockname()[1])
    everywhere = listens_everywhere(args.host)
    print(
        f"autolog ui: {reader.source}"
        + (" (read-only)" if ui_editor(reader, args) is None else "")
        + f" at {url}"
        + (
            "\n  listening on all interfaces, without a password, so read-only"
            if everywhere
            else ""
        ),
        flush=True,
    )
    from .._connections import uvicorn_options
    from .._http_guard import GuardRules

    allowed = _names(args, "allow_host"), _names(args, "allow_origin")
    rules = GuardRules.for_server(args.host, *allowed)
    serve_app(create_ui_app(reader, rules, ui_editor(reader, args)), sock, **uvicorn_options())
    return 0


def ui_editor(reader: Any, args: argparse.Namespace) -> Any:
    """Edits for a local folder served on this machine only; none for blobs or other hosts."""
    from .._curation import JournalEditor
    from .._store import LocalStore

    loopback = args.host in ("127.0.0.1", "localhost", "::1")
    store = reader.journals
    if not isinstance(store, LocalStore) or not loopback or getattr(args, "read_only", False):
        return None
    return JournalEditor(store)


def _names(args: argparse.Namespace, option: str) -> list[str]:
    """A repeatable ``--allow-*`` option, each value possibly comma-separated."""
    return [name for value in getattr(args, option, None) or () for name in value.split(",")]
