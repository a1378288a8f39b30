"""Bounded connections for uvicorn: idle and slow clients cannot take the server down.

uvicorn closes a keep-alive connection after ``timeout_keep_alive``, but a
connection that never completes its first request's headers is kept forever,
and each one holds a file descriptor: about a thousand of them, token or not,
and ``accept()`` fails with EMFILE for everybody. So:

* **Header timeout.** A connection must finish sending a request's headers
  within ``header_timeout`` seconds of opening (or of its previous answer),
  else it is closed. Slow-loris clients that trickle a byte at a time are
  closed the same way.
* **Connection limit.** At most ``max_connections`` are kept open, by default
  the descriptor limit minus headroom for the database, artifact files and
  logs. A new connection over the limit closes the oldest *idle* one (no
  request in progress), so a fresh client such as a ``/health`` probe is
  always answered; only when every connection is busy is the newcomer closed.
* **Keep-alive timeout.** uvicorn's own, passed through.

The soft descriptor limit is also raised to the hard limit at start, as most
servers do: the default 1024 of many systems is a low ceiling for a service.
"""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from typing import Any

from uvicorn.protocols.http.h11_impl import H11Protocol

log = logging.getLogger("autolog.server")

HEADER_TIMEOUT = 10.0
KEEP_ALIVE_TIMEOUT = 5.0
#: Descriptors kept free of connections: database, WAL, artifact files, logs, the thread
#: pool, and the batch asyncio accepts before the connections closed to make room are gone
#: (it accepts up to 100 at a time; running out pauses accepting for a whole second).
DESCRIPTOR_HEADROOM = 256


def descriptor_limit() -> int:
    """The soft limit on open files, raised to the hard limit first where allowed."""
    try:
        import resource
    except ImportError:  # Windows: no such limit per process
        return 8192
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = hard if hard != resource.RLIM_INFINITY else max(soft, 65536)
    if soft != resource.RLIM_INFINITY and soft < wanted:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
            soft = wanted
        except (ValueError, OSError):
            pass
    return soft if soft != resource.RLIM_INFINITY else 65536


def default_max_connections() -> int:
    """Connections the descriptor limit allows with :data:`DESCRIPTOR_HEADROOM` to spare."""
    limit = descriptor_limit()
    return max(16, min(limit - DESCRIPTOR_HEADROOM, int(limit * 0.9)))


def bounded_protocol(header_timeout: float, max_connections: int) -> type[H11Protocol]:
    """An h11 protocol class for ``uvicorn.Config(http=...)`` with these bounds."""

    # Open connections, oldest first; those closed to make room leave it at once.
    opened: OrderedDict[H11Protocol, None] = OrderedDict()

    class BoundedH11Protocol(H11Protocol):
        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            super().connection_made(transport)
            self.header_deadline: asyncio.TimerHandle | None = None
            self._start_header_clock()
            opened[self] = None
            if len(opened) > max_connections:
                self._make_room()

        def data_received(self, data: bytes) -> None:
            super().data_received(data)
            if self.busy():
                self._stop_header_clock()

        def on_response_complete(self) -> None:
            super().on_response_complete()
            if not self.transport.is_closing():
                self._start_header_clock()

        def connection_lost(self, exc: Exception | None) -> None:
            self._stop_header_clock()
            opened.pop(self, None)
            super().connection_lost(exc)

        def busy(self) -> bool:
            """A request's headers have arrived and its answer is not complete."""
            return self.cycle is not None and not self.cycle.response_complete

        def _start_header_clock(self) -> None:
            self._stop_header_clock()
            self.header_deadline = self.loop.call_later(header_timeout, self._header_timed_out)

        def _stop_header_clock(self) -> None:
            if getattr(self, "header_deadline", None) is not None:
                self.header_deadline.cancel()  # type: ignore[union-attr]
                self.header_deadline = None

        def _header_timed_out(self) -> None:
            self.header_deadline = None
            if not self.busy() and not self.transport.is_closing():
                self.transport.close()

        def _make_room(self) -> None:
            """Close the oldest idle connection (busy ones are rare: the scan is short)."""
            victim: H11Protocol = self
            for connection in opened:
                if connection is not self and not _busy(connection):
                    victim = connection
                    break
            else:
                log.warning("%d connections, all busy: refusing a new one", len(opened))
            opened.pop(victim, None)
            victim.transport.close()

    return BoundedH11Protocol


def _busy(connection: Any) -> bool:
    busy = getattr(connection, "busy", None)
    return bool(busy()) if callable(busy) else True


def uvicorn_options(
    header_timeout: float = HEADER_TIMEOUT,
    keep_alive_timeout: float = KEEP_ALIVE_TIMEOUT,
    max_connections: int | None = None,
) -> dict[str, Any]:
    """Keyword arguments for ``uvicorn.Config`` that bound idle and slow connections."""
    limit = max_connections or default_max_connections()
    return {
        "http": bounded_protocol(header_timeout, limit),
        "timeout_keep_alive": keep_alive_timeout,
    }
