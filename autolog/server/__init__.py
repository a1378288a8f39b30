"""``autolog server``: a durable tracking server that speaks MLflow's REST API.

    autolog server [--host 127.0.0.1] [--port 5000] [--store sqlite:///autolog.db]
                   [--artifacts ./autolog-artifacts] [--token TOKEN]
                   [--allow-origin ORIGIN]... [--allow-host NAME]...

Every option can also come from ``AUTOLOG_SERVER_HOST``, ``_PORT``, ``_STORE``,
``_ARTIFACTS``, ``_TOKEN``, ``_ALLOW_ORIGIN`` and ``_ALLOW_HOST`` (comma-separated);
connection bounds from ``_HEADER_TIMEOUT``, ``_KEEP_ALIVE_TIMEOUT`` and
``_MAX_CONNECTIONS``. The store is SQLite (WAL, fsync on commit) or
PostgreSQL (``postgresql://user:password@host/db``), which several server
processes can share. A response means the data is committed, so killing the
server loses nothing it acknowledged; the schema is migrated at start.

This package imports its dependencies (Starlette, uvicorn, SQLAlchemy) only
when the server starts, so ``import autolog`` stays light; they come with
``pip install 'autolog-tracking[server]'``.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from .._serve import bind, listens_everywhere, serve_app, server_url
from .._validation import strip_credentials

__all__ = ["bind", "main", "serve", "server_url", "web_ui"]

SERVER_OPTIONS = ("host", "port", "store", "artifacts", "token")
GUARD_OPTIONS = ("allow_origin", "allow_host")


def main(args: argparse.Namespace) -> int:
    """Entry point of ``autolog server``; returns the exit code."""
    try:
        from .settings import resolve_settings

        settings = resolve_settings(
            {k: getattr(args, k, None) for k in (*SERVER_OPTIONS, *GUARD_OPTIONS)}
        )
    except ValueError as exc:
        print(f"autolog: error: {exc}", file=sys.stderr)
        return 2
    return serve(settings)


def serve(settings: Any) -> int:
    """Migrate the store, bind the socket, print the URL, serve until SIGTERM or SIGINT."""
    try:
        import uvicorn  # noqa: F401 (checked here, so a missing one is a one-line error)

        from .app import create_app
        from .artifacts import open_artifact_store
        from .database import Database
        from .migrations import migrate
        from .store import TrackingStore
    except ModuleNotFoundError as exc:
        print(
            f"autolog: error: the server needs {exc.name}: pip install 'autolog-tracking[server]'",
            file=sys.stderr,
        )
        return 1
    try:
        db = Database(settings.store)
        migrate(db)
        artifacts = open_artifact_store(settings.artifacts)
        sock = bind(settings.host, settings.port)
    except Exception as exc:  # a bad URL, an unreachable database, a port in use
        print(f"autolog: error: {strip_credentials(str(exc))}", file=sys.stderr)
        return 1
    store = TrackingStore(db)
    app = create_app(settings, store, artifacts, extra_routes=web_ui(store, artifacts))
    url = server_url(settings.host, sock.getsockname()[1])
    auth = "token required" if settings.token else "no token: anyone who can connect can write"
    everywhere = " (all interfaces)" if listens_everywhere(settings.host) else ""
    print(
        f"autolog server listening on {url}{everywhere}\n"
        f"  store {db.display_url}, artifacts {artifacts.location}, {auth}\n"
        f"  web UI: {url}/   MLflow clients: MLFLOW_TRACKING_URI={url}",
        flush=True,
    )
    from .._connections import uvicorn_options
    from .access_log import AccessLog

    limits = uvicorn_options(
        settings.header_timeout, settings.keep_alive_timeout, settings.max_connections
    )
    try:
        serve_app(AccessLog(app), sock, timeout_graceful_shutdown=10, **limits)
    finally:
        db.close()
    print("autolog server stopped", flush=True)
    return 0


def web_ui(store: Any, artifacts: Any) -> list:
    """The web UI's routes at ``/`` (see autolog.ui), handed a reader of the same store."""
    from ..ui.app import ui_routes
    from .ui_edits import StoreEditor
    from .ui_reader import SqlReader

    reader = SqlReader(store, artifacts)
    return ui_routes(
        reader, StoreEditor(store, resolve=lambda run_id: reader.run(run_id).record.id)
    )
