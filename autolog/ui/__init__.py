"""``autolog ui``: the web UI over a local store or a blob container, read-only.

    autolog ui [STORE] [--host 127.0.0.1] [--port 5050]
               [--allow-host NAME]... [--allow-origin ORIGIN]...

STORE is a folder (default: the configured store, ``./autolog-runs``), a
``file:`` URI, or a blob URI such as ``wasbs://container@account.blob.core.windows.net/prefix``.
``autolog server`` serves the same UI at its own URL, over its SQL store.

The pages are documented in docs/ui.md. The pieces: :mod:`.app` (routes, assets,
headers), :mod:`.api` (the JSON API), :mod:`.readers` (the interface both stores
implement), :mod:`.journal_reader` with :mod:`.journals` (local folder or blob
container), :mod:`.sql_reader` (the server's store) and :mod:`.series` (metric
arrays and downsampling). Starlette and uvicorn come with
``pip install 'autolog-tracking[server]'`` and are imported only when serving.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from typing import Any


class _Stopped(Exception):
    """SIGTERM arrived: leave the serve loop like Ctrl-C does."""


def main(args: argparse.Namespace) -> int:
    """Entry point of ``autolog ui``; returns the exit code."""
    try:
        import uvicorn

        from .app import create_ui_app
    except ModuleNotFoundError as exc:
        print(
            f"autolog: error: the UI needs {exc.name}: pip install 'autolog-tracking[server]'",
            file=sys.stderr,
        )
        return 1
    from .._config import resolve
    from ..backend import backend_for
    from ..plugins import load_plugins
    from ..server import bind, server_url
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
    everywhere = args.host in ("0.0.0.0", "::", "")
    print(
        f"autolog ui: {reader.source} (read-only) at {url}"
        + ("\n  listening on all interfaces, without a password" if everywhere else ""),
        flush=True,
    )
    from ..server.connections import uvicorn_options
    from ..server.guard import GuardRules

    allowed = _names(args, "allow_host"), _names(args, "allow_origin")
    rules = GuardRules.for_server(args.host, *allowed)
    config_uvicorn = uvicorn.Config(
        create_ui_app(reader, rules),
        log_level="warning",
        access_log=False,
        lifespan="off",
        **uvicorn_options(),
    )
    previous = signal.signal(signal.SIGTERM, _raise_stopped)
    try:
        uvicorn.Server(config_uvicorn).run(sockets=[sock])
    except (KeyboardInterrupt, _Stopped):
        pass
    finally:
        signal.signal(signal.SIGTERM, previous)
        sock.close()
    return 0


def _names(args: argparse.Namespace, option: str) -> list[str]:
    """A repeatable ``--allow-*`` option, each value possibly comma-separated."""
    return [name for value in getattr(args, option, None) or () for name in value.split(",")]


def _raise_stopped(signum: int, frame: Any) -> None:
    raise _Stopped
