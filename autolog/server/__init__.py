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
import signal
import socket
import sys
from typing import Any

from .._validation import strip_credentials

SERVER_OPTIONS = ("host", "port", "store", "artifacts", "token")
GUARD_OPTIONS = ("allow_origin", "allow_host")


class _Stopped(Exception):
    """SIGTERM arrived: leave the serve loop like Ctrl-C does."""


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
        import uvicorn

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
    everywhere = " (all interfaces)" if settings.host in ("0.0.0.0", "::", "") else ""
    print(
        f"autolog server listening on {url}{everywhere}\n"
        f"  store {db.display_url}, artifacts {artifacts.location}, {auth}",
        flush=True,
    )
    from .connections import uvicorn_options

    limits = uvicorn_options(
        settings.header_timeout, settings.keep_alive_timeout, settings.max_connections
    )
    config = uvicorn.Config(
        app,
        log_level="warning",
        access_log=False,
        lifespan="off",
        timeout_graceful_shutdown=10,
        **limits,
    )
    previous = signal.signal(signal.SIGTERM, _raise_stopped)
    try:
        uvicorn.Server(config).run(sockets=[sock])
    except (KeyboardInterrupt, _Stopped):
        pass
    finally:
        signal.signal(signal.SIGTERM, previous)
        sock.close()
        db.close()
    print("autolog server stopped", flush=True)
    return 0


def web_ui(store: Any, artifacts: Any) -> list:
    """The web UI's routes at ``/`` (see autolog.ui), reading the same store as the API."""
    from ..ui.app import ui_routes
    from ..ui.sql_reader import SqlReader

    return ui_routes(SqlReader(store, artifacts))


def _raise_stopped(signum: int, frame: Any) -> None:
    raise _Stopped


def bind(host: str, port: int) -> socket.socket:
    """A listening socket; port 0 picks a free one (the printed URL says which)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # IPPROTO_TCP said explicitly: asyncio sets TCP_NODELAY only on accepted sockets whose
    # proto is TCP, and without it every response after the first on a keep-alive
    # connection waits ~40 ms (Nagle's algorithm against the client's delayed ACK).
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise OSError(f"cannot listen on {host}:{port}: {exc.strerror}") from None
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


def server_url(host: str, port: int) -> str:
    """The URL to give clients; a wildcard address becomes this machine's loopback."""
    shown = {"0.0.0.0": "127.0.0.1", "": "127.0.0.1", "::": "::1"}.get(host, host)
    return f"http://[{shown}]:{port}" if ":" in shown else f"http://{shown}:{port}"
