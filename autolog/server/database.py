"""Connections to the store's database: SQLite (WAL) or PostgreSQL, same code above.

Durability is the point of this module. A write transaction commits before the
response is sent, and SQLite runs in WAL mode with ``synchronous=FULL``, so
anything the server acknowledged survives a SIGKILL of the server and a power
cut alike. SQLite write transactions start with ``BEGIN IMMEDIATE`` (taking the
write lock up front, so two writers queue instead of one failing half-way) and
are also serialised inside the process, which is cheaper than SQLite's
busy-wait. PostgreSQL needs neither: several server processes can share one
database, and every write is written to be safe when they race.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from .._validation import strip_credentials

SQLITE_PRAGMAS = (
    "PRAGMA journal_mode=WAL",
    "PRAGMA synchronous=FULL",
    "PRAGMA busy_timeout=30000",
    "PRAGMA foreign_keys=ON",
    # MLflow's LIKE is case-sensitive (ILIKE is not); SQLite's is not by default.
    "PRAGMA case_sensitive_like=ON",
)


class StoreUrlError(ValueError):
    """The ``--store`` URL names a database this server cannot use."""


class Database:
    """An engine plus the two ways the store uses it: :meth:`read` and :meth:`write`."""

    def __init__(self, url: str) -> None:
        self.url = normalise_url(url)
        self.display_url = strip_credentials(url)
        self.is_sqlite = self.url.startswith("sqlite")
        if self.is_sqlite:
            self.engine = _sqlite_engine(self.url)
        else:
            self.engine = sa.create_engine(
                self.url, pool_size=10, max_overflow=20, pool_pre_ping=True, pool_timeout=30
            )
        self._write_lock = threading.Lock() if self.is_sqlite else None

    @contextmanager
    def write(self) -> Iterator[sa.Connection]:
        """A transaction that commits when the block ends without an exception."""
        with self._write_lock or nullcontext(), self.engine.connect() as conn:
            conn.execution_options(autolog_write=True)
            with conn.begin():
                yield conn

    @contextmanager
    def read(self) -> Iterator[sa.Connection]:
        """A read-only transaction: one consistent snapshot for the whole block."""
        with self.engine.connect() as conn, conn.begin():
            yield conn

    def insert(self, table: sa.Table) -> Any:
        """The dialect's INSERT, which has ``on_conflict_do_nothing/update``."""
        return (sqlite.insert if self.is_sqlite else postgresql.insert)(table)

    def like(self, column: Any, pattern: str, ignore_case: bool) -> Any:
        """SQL LIKE with only ``%`` and ``_`` special, as in MLflow's filter syntax.

        PostgreSQL's LIKE treats a backslash as an escape character by default;
        doubling it keeps the backslash literal, as it is on SQLite.
        """
        if not self.is_sqlite:
            pattern = pattern.replace("\\", "\\\\")
        if ignore_case:
            return sa.func.lower(column).like(pattern.lower())
        return column.like(pattern)

    def close(self) -> None:
        self.engine.dispose()


def normalise_url(url: str) -> str:
    """Check the URL's scheme and pick psycopg (v3) for PostgreSQL when no driver is named."""
    scheme = url.split("://", 1)[0].lower() if "://" in url else ""
    if scheme in ("postgres", "postgresql"):
        return "postgresql+psycopg://" + url.split("://", 1)[1]
    if scheme.startswith("postgresql+") or scheme == "sqlite":
        if scheme == "sqlite" and url.rstrip("/") in ("sqlite:", "sqlite:/", "sqlite://"):
            raise StoreUrlError(
                "an in-memory SQLite store loses everything on restart; "
                "give a file, e.g. sqlite:///autolog.db"
            )
        return url
    raise StoreUrlError(
        f"unsupported store {strip_credentials(url)!r}: use sqlite:///path/to/file.db or "
        "postgresql://user:password@host:5432/database"
    )


def _sqlite_engine(url: str) -> sa.Engine:
    path = sa.engine.make_url(url).database
    if path and path != ":memory:":
        Path(path).expanduser().parent.mkdir(parents=True, exist_ok=True)
    engine = sa.create_engine(url, pool_size=8, max_overflow=16, pool_timeout=60)

    @sa.event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy's "begin" event below issue BEGIN, not the sqlite3 module.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        for pragma in SQLITE_PRAGMAS:
            cursor.execute(pragma)
        cursor.close()

    @sa.event.listens_for(engine, "begin")
    def _on_begin(conn: sa.Connection) -> None:
        write = conn.get_execution_options().get("autolog_write")
        conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")

    return engine


def is_unavailable(exc: BaseException) -> bool:
    """Whether a database error means "try again later" (server down, locked, pool exhausted)."""
    if isinstance(exc, (sa.exc.OperationalError, sa.exc.TimeoutError, sa.exc.InterfaceError)):
        return True
    return isinstance(exc, sa.exc.DBAPIError) and exc.connection_invalidated
