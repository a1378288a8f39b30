"""Serving a Starlette app with uvicorn, for ``autolog server`` and ``autolog ui`` alike.

Both commands bind their socket first (so a port in use is a one-line error
before anything else starts), print their URL, and stop cleanly on Ctrl-C or
SIGTERM. uvicorn is imported only by :func:`serve_app`.
"""

from __future__ import annotations

import signal
import socket
from typing import Any


class _Stopped(Exception):
    """SIGTERM arrived: leave the serve loop like Ctrl-C does."""


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


def listens_everywhere(host: str) -> bool:
    """Whether ``host`` is a wildcard address (every interface)."""
    return host in ("0.0.0.0", "::", "")


def serve_app(app: Any, sock: socket.socket, **options: Any) -> None:
    """Serve ``app`` on ``sock`` until Ctrl-C or SIGTERM; the socket is closed after.

    ``options`` go to ``uvicorn.Config`` (e.g. ``timeout_graceful_shutdown``).
    """
    import uvicorn

    config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off", **options)
    previous = signal.signal(signal.SIGTERM, _raise_stopped)
    try:
        uvicorn.Server(config).run(sockets=[sock])
    except (KeyboardInterrupt, _Stopped):
        pass
    finally:
        signal.signal(signal.SIGTERM, previous)
        sock.close()


def _raise_stopped(signum: int, frame: Any) -> None:
    raise _Stopped
