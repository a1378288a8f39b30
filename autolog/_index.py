"""The derived index: what listing and search need of every run, in SQLite beside the journals.

The journals stay the only source of truth; this index is a cache of them that
any reader may throw away. Per run it holds the header (name, experiment,
parent, start), status and end, params, tags, the latest/min/max/count of each
metric, the artifacts, the model manifest, dataset inputs, the lifecycle stage
(edits: rename, untag, delete and restore, see autolog._curation), and the
journal offset it has read up to, so a query costs what it returns, not what the store holds.

Why SQLite: it is in the standard library, it answers the filters and orders
of MLflow's search syntax in SQL, and several processes (the CLI, ``autolog
ui``, a notebook) can share one file safely (WAL, one writer at a time, readers
never blocked).

**Written by readers, never by training.** A reader catches the index up
before it answers (:meth:`RunIndex.refresh`):

* a run added or removed changes the store folder's mtime: only then is the
  folder listed and every journal stat'ed (a *sweep*);
* otherwise only the runs not yet ended are stat'ed (a few, typically), and,
  once :data:`SWEEP_INTERVAL` seconds have passed since the ended runs were last
  all checked, some more of them, in run id order from where the previous read
  stopped (at most :data:`SWEEP_SLICE`, and no more than :data:`SWEEP_BUDGET_S`
  of stats, by a process at most every :data:`SLICE_GAP_S`): that is how a
  hand-edited journal of an ended run is noticed, without any one read paying
  for a whole sweep (1.4 s at 100,000 runs);
* a changed journal is read from the offset the index reached, after checking
  that the bytes before it are the ones read last time (first and last line
  checksums); an ended run that changed, or a journal that shrank or was
  replaced, is read again from the start.

**Disposable.** A missing, torn or corrupt index file, or one written by
another version of autolog (:data:`INDEX_FORMAT`), is rebuilt from the
journals before any answer is given. When the store's folder cannot be
written (a read-only share), the index lives in memory for the process.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from ._records import RUNNING, add_inputs
from .errors import RunNotFoundError

if TYPE_CHECKING:
    from ._reader import JournalReader
    from .sources import Signature

#: Bumped whenever the tables change; an index of another format is rebuilt.
INDEX_FORMAT = "2"
#: Seconds after which the ended runs are checked again when nothing signalled a change.
SWEEP_INTERVAL = 30.0
#: Ended runs that one read checks at most, while such a check is due.
SWEEP_SLICE = 2000
#: ... and the time it may spend on them past the first SWEEP_LEAST (a stat costs 5-20 us
#: on this machine's disk, so 2,000 stats were 10-40 ms added to a read that fell due).
SWEEP_BUDGET_S = 0.004
SWEEP_LEAST = 100
#: ... and one process checks a slice at most once a second: a UI or a notebook that reads
#: many times a second pays it once, not at each read.
SLICE_GAP_S = 1.0
#: Runs caught up per write transaction, so other readers are never held long.
BATCH_RUNS = 200
INDEX_NAME = "index.sqlite3"
#: SQLite's page cache and memory map of the index, per connection.
CACHE_KIB = 64 * 1024
MMAP_BYTES = 256 * 2**20

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT);
CREATE TABLE IF NOT EXISTS runs (
    run_id TEXT PRIMARY KEY, experiment TEXT, name TEXT, status TEXT, parent_id TEXT,
    start_time INTEGER, end_time INTEGER, last_activity INTEGER,
    offset INTEGER NOT NULL, signature TEXT NOT NULL, head TEXT, tail TEXT, tail_at INTEGER,
    artifacts TEXT, model TEXT, lifecycle TEXT NOT NULL DEFAULT 'active', inputs TEXT
);
CREATE INDEX IF NOT EXISTS runs_by_start ON runs (start_time DESC, run_id);
CREATE INDEX IF NOT EXISTS runs_by_experiment ON runs (experiment, start_time DESC, run_id);
CREATE INDEX IF NOT EXISTS runs_by_parent ON runs (parent_id);
CREATE INDEX IF NOT EXISTS runs_by_status ON runs (status);
CREATE TABLE IF NOT EXISTS params (
    run_id TEXT, key TEXT, value TEXT, PRIMARY KEY (run_id, key)) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS params_by_key ON params (key, value);
CREATE TABLE IF NOT EXISTS tags (
    run_id TEXT, key TEXT, value TEXT, PRIMARY KEY (run_id, key)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS metrics (
    run_id TEXT, key TEXT, latest REAL, latest_nan INTEGER, latest_step INTEGER,
    latest_time INTEGER, min REAL, max REAL, count INTEGER, last_step INTEGER,
    PRIMARY KEY (run_id, key)) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS metrics_by_key ON metrics (key, latest);
"""
#: How long a catch-up waits for another reader's catch-up to commit.
BUSY_WAIT_MS = 60_000
#: How long opening waits to switch a new index file to WAL before it keeps the index in memory.
WAL_SWITCH_WAIT_MS = 2_000
_TABLES = ("meta", "runs", "params", "tags", "metrics")
T = TypeVar("T")


class RunIndex:
    """The index of one source, shared by every thread of the process; see the module docstring."""

    def __init__(self, reader: JournalReader) -> None:
        self.reader = reader
        self.source = reader.source
        folder = self.source.index_location()
        self.path = folder / INDEX_NAME if folder is not None else None
        self._conn: sqlite3.Connection | None = None
        self._lock = threading.RLock()
        self._sliced_at = -math.inf  # monotonic time of this process's last slice check

    # -- the connection, rebuilt when damaged ------------------------------------

    def _connect(self) -> sqlite3.Connection:
        if self._conn is not None:
            return self._conn
        conn = None
        if self.path is not None:
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                conn = sqlite3.connect(
                    self.path,
                    timeout=BUSY_WAIT_MS / 1000,
                    isolation_level=None,
                    check_same_thread=False,
                )
                # Switching a new (or emptied) file to WAL needs it to itself. A reader that
                # still holds the old file open would make that wait out the 60 s meant for
                # catch-ups; after 2 s this reader keeps its index in memory instead.
                conn.execute(f"PRAGMA busy_timeout={WAL_SWITCH_WAIT_MS}")
                conn.execute("PRAGMA journal_mode=WAL")
                conn.execute(f"PRAGMA busy_timeout={BUSY_WAIT_MS}")
            except (OSError, sqlite3.OperationalError):
                # A read-only store, or a file another reader holds: keep the index in memory.
                if conn is not None:
                    with contextlib.suppress(sqlite3.Error):
                        conn.close()
                conn = None
        if conn is None:
            conn = sqlite3.connect(":memory:", isolation_level=None, check_same_thread=False)
        conn.execute("PRAGMA synchronous=NORMAL")
        # Searches at 100,000 runs touch tens of thousands of rows: map the file and keep up
        # to 64 MiB of it cached rather than SQLite's default 2 MiB (memory used only as read).
        conn.execute(f"PRAGMA mmap_size={MMAP_BYTES}")
        conn.execute(f"PRAGMA cache_size=-{CACHE_KIB}")
        try:
            found = dict(
                conn.execute("SELECT key, value FROM meta WHERE key IN ('format', 'version')")
            )
        except sqlite3.OperationalError:  # a new index: no tables yet
            found = {}
        if found != {"format": INDEX_FORMAT, "version": _version()}:
            _reset(conn)
        self._conn = conn
        return conn

    def close(self) -> None:
        """Let go of the index file (its connection); the next use opens it again."""
        with self._lock:
            if self._conn is not None:
                with contextlib.suppress(sqlite3.Error):
                    self._conn.close()
                self._conn = None

    def _discard(self) -> None:
        """Throw the index away (it is corrupt); the next use rebuilds it from the journals."""
        self.close()
        if self.path is not None:
            for suffix in ("", "-wal", "-shm"):
                with contextlib.suppress(OSError):
                    os.unlink(f"{self.path}{suffix}")

    def use(self, work: Callable[[sqlite3.Connection], T]) -> T:
        """Catch the index up, then run ``work`` on it; a damaged index is rebuilt once."""
        with self._lock:
            for attempt in (1, 2):
                try:
                    conn = self._connect()
                    self._refresh(conn)
                    return _in_one_snapshot(conn, work)
                except sqlite3.DatabaseError as exc:
                    if isinstance(exc, sqlite3.OperationalError) and "locked" in str(exc):
                        raise
                    if attempt == 2:
                        raise
                    self._discard()
        raise AssertionError("unreachable")

    def run(self, run_id: str, work: Callable[[sqlite3.Connection], T]) -> T:
        """Catch one run up (cheap when unchanged), then run ``work``; RunNotFoundError if none."""
        with self._lock:
            for attempt in (1, 2):
                try:
                    conn = self._connect()
                    signature = self.source.signature(run_id)
                    if signature is None:
                        with _writing(conn):
                            _forget(conn, [run_id])
                        raise RunNotFoundError(f"no run {run_id!r} in {self.source.label}")
                    row = conn.execute(
                        "SELECT signature FROM runs WHERE run_id = ?", (run_id,)
                    ).fetchone()
                    if row is None or row[0] != _text(signature):
                        with _writing(conn):
                            self._catch_up(conn, run_id, signature)
                    return _in_one_snapshot(conn, work)
                except sqlite3.DatabaseError:
                    if attempt == 2:
                        raise
                    self._discard()
        raise AssertionError("unreachable")

    # -- catching up -------------------------------------------------------------

    def _refresh(self, conn: sqlite3.Connection) -> None:
        meta = dict(conn.execute("SELECT key, value FROM meta"))
        store = self.source.store_signature()
        swept = float(meta.get("swept_at") or 0)
        sweep = store is None or _text(store) != meta.get("store") or meta.get("complete") != "1"
        checked: dict[str, str] = {}  # what the slice of ended runs moved on to, if one was due
        if sweep:
            signatures = self.source.signatures()
            known = dict(conn.execute("SELECT run_id, signature FROM runs"))
        else:  # only the runs that may still grow: not ended (headerless ones are RUNNING too)
            # INDEXED BY: with every run ended, ANALYZE's statistics tell the planner a status
            # matches all rows, and it scanned the table (58 ms a read at 100,000 runs).
            query = "SELECT run_id, signature FROM runs INDEXED BY runs_by_status WHERE status = ?"
            known = dict(conn.execute(query, (RUNNING,)))
            signatures = {}
            for run_id in known:
                signature = self.source.signature(run_id)
                if signature is not None:
                    signatures[run_id] = signature
            due = time.time() - swept > SWEEP_INTERVAL
            if due and time.monotonic() - self._sliced_at >= SLICE_GAP_S:
                self._sliced_at = time.monotonic()
                checked = self._check_ended_slice(
                    conn, meta.get("sweep_cursor") or "", known, signatures
                )
        gone = [run_id for run_id in known if run_id not in signatures]
        changed = [(r, s) for r, s in signatures.items() if known.get(r) != _text(s)]
        for start in range(0, len(changed), BATCH_RUNS):
            with _writing(conn):
                for run_id, signature in changed[start : start + BATCH_RUNS]:
                    self._catch_up(conn, run_id, signature)
        if gone or sweep or checked:
            with _writing(conn):
                _forget(conn, gone)
                if checked:
                    conn.executemany("INSERT OR REPLACE INTO meta VALUES (?, ?)", checked.items())
                if sweep:
                    stamp = {
                        "swept_at": str(time.time()),
                        "sweep_cursor": "",
                        "complete": "1",
                        "store": _text(store),
                    }
                    analyzed = meta.get("analyzed_runs")
                    if analyzed is None or len(signatures) > max(2 * int(analyzed), 64):
                        _analyze(conn)
                        stamp["analyzed_runs"] = str(len(signatures))
                    conn.executemany("INSERT OR REPLACE INTO meta VALUES (?, ?)", stamp.items())

    def _check_ended_slice(
        self,
        conn: sqlite3.Connection,
        cursor: str,
        known: dict[str, str],
        signatures: dict[str, Signature],
    ) -> dict[str, str]:
        """Stat the next ended runs after ``cursor``, in run id order, into ``known`` and
        ``signatures``: at most :data:`SWEEP_SLICE` of them and, past the first
        :data:`SWEEP_LEAST`, only while :data:`SWEEP_BUDGET_S` lasts, so a read that falls
        due pays a few milliseconds however slow the disk's stats are today. Returns where
        the next read goes on (the meta entries to store)."""
        deadline = time.perf_counter() + SWEEP_BUDGET_S
        rows = conn.execute(
            "SELECT run_id, signature FROM runs WHERE run_id > ? ORDER BY run_id LIMIT ?",
            (cursor, SWEEP_SLICE),
        )
        count, last = 0, cursor
        try:
            for run_id, indexed in rows:
                if run_id not in known:  # a running run was stat'ed already, by the caller
                    known[run_id] = indexed
                    signature = self.source.signature(run_id)
                    if signature is not None:
                        signatures[run_id] = signature
                count, last = count + 1, run_id
                if count >= SWEEP_LEAST and time.perf_counter() > deadline:
                    return {"sweep_cursor": last}
        finally:
            rows.close()
        if count < SWEEP_SLICE:  # the last slice: every run has been checked
            return {"sweep_cursor": "", "swept_at": str(time.time())}
        return {"sweep_cursor": last}

    def _catch_up(self, conn: sqlite3.Connection, run_id: str, signature: Signature) -> None:
        """Bring one run's rows up to its journal (inside a write transaction)."""
        row = conn.execute(
            "SELECT signature, offset, head, tail, tail_at, status, name FROM runs "
            "WHERE run_id = ?",
            (run_id,),
        ).fetchone()
        if row is not None and row[0] == _text(signature):
            return  # another process caught it up meanwhile
        entry = _RunEntry(run_id)
        if row is not None and self._can_continue(run_id, signature, row):
            entry.load(conn)
        _forget(conn, [run_id])
        try:
            for records, end, last_line in self.reader.records(run_id, entry.offset, signature[0]):
                entry.apply(records, end)
                entry.tail_at = last_line
        except (RunNotFoundError, OSError):
            return  # gone meanwhile: the next sweep forgets it
        entry.head = entry.head or self._line_checksum(run_id, 0)
        if entry.tail_at is not None:
            entry.tail = self._line_checksum(run_id, entry.tail_at)
        entry.save(conn, _text(signature))

    def _can_continue(self, run_id: str, signature: Signature, row: tuple[Any, ...]) -> bool:
        """Whether the journal only grew since the index read it (so reading on is exact)."""
        _sig, offset, head, tail, tail_at, status, name = row
        if name is not None and status != RUNNING:
            return False  # an ended run that changed: read it again, it is one run's bytes
        if signature[0] < offset:
            return False
        if offset and self._line_checksum(run_id, 0) != head:
            return False
        return tail_at is None or self._line_checksum(run_id, tail_at) == tail

    def _line_checksum(self, run_id: str, offset: int) -> str | None:
        try:
            return self.source.read_bytes(run_id, offset, offset + 8).decode("ascii", "replace")
        except (RunNotFoundError, OSError):
            return None


class _RunEntry:
    """One run's rows while it is caught up: loaded from the index, then fed new records."""

    def __init__(self, run_id: str) -> None:
        self.run_id = run_id
        self.offset = 0
        self.header: dict[str, Any] | None = None
        self.status, self.end_time, self.last_activity = RUNNING, None, 0
        self.params: dict[str, str] = {}
        self.tags: dict[str, str] = {}
        self.metrics: dict[str, list[Any]] = {}
        self.artifacts: dict[str, int | None] = {}
        self.model: dict[str, Any] | None = None
        self.lifecycle = "active"
        self.inputs: list[dict[str, Any]] = []
        self.head: str | None = None
        self.tail: str | None = None
        self.tail_at: int | None = None

    def load(self, conn: sqlite3.Connection) -> None:
        row = conn.execute(
            "SELECT name, experiment, parent_id, start_time, status, end_time, last_activity, "
            "offset, head, tail, tail_at, artifacts, model, lifecycle, inputs FROM runs "
            "WHERE run_id = ?",
            (self.run_id,),
        ).fetchone()
        name, experiment, parent, start, self.status, self.end_time, self.last_activity = row[:7]
        self.offset, self.head, self.tail, self.tail_at = row[7:11]
        if name is not None:
            self.header = {
                "id": self.run_id,
                "name": name,
                "experiment": experiment,
                "parent_id": parent,
                "start_time": start,
            }
        self.artifacts = json.loads(row[11]) if row[11] else {}
        self.model = json.loads(row[12]) if row[12] else None
        self.lifecycle = row[13]
        self.inputs = json.loads(row[14]) if row[14] else []
        self.params = dict(
            conn.execute("SELECT key, value FROM params WHERE run_id = ?", (self.run_id,))
        )
        self.tags = dict(
            conn.execute("SELECT key, value FROM tags WHERE run_id = ?", (self.run_id,))
        )
        for key, *values in conn.execute(
            "SELECT key, latest, latest_nan, latest_step, latest_time, min, max, count, last_step "
            "FROM metrics WHERE run_id = ?",
            (self.run_id,),
        ):
            if values[1]:
                values[0] = float("nan")
            self.metrics[key] = [
                values[0],
                values[2],
                values[3],
                values[4],
                values[5],
                values[6],
                values[7],
            ]

    def apply(self, records: list[list[Any]], end: int) -> None:
        """Account for records read up to byte ``end`` (the replay rules of RunReplay)."""
        metrics = self.metrics
        for record in records:
            kind = record[0]
            if kind == "m":
                _, key, value, step, timestamp = record
                # [latest, latest_step, latest_time, min, max, count, last_step]
                found = metrics.get(key)
                if found is None:
                    found = metrics[key] = [value, step, timestamp, None, None, 0, step]
                elif (step, timestamp) >= (found[1], found[2]):
                    found[0], found[1], found[2] = value, step, timestamp
                if value == value:
                    if found[3] is None or value < found[3]:
                        found[3] = value
                    if found[4] is None or value > found[4]:
                        found[4] = value
                found[5] += 1
                if step > found[6]:
                    found[6] = step
                if timestamp > self.last_activity:
                    self.last_activity = timestamp
            elif kind == "run":
                self.header = record[1]
                self.last_activity = max(self.last_activity, record[1].get("start_time") or 0)
            elif self.header is None:
                continue
            elif kind == "params":
                self.params.update(record[1])
            elif kind == "tags":
                self.tags.update(record[1])
            elif kind == "artifact":
                self.artifacts[record[1]["path"]] = record[1].get("size")
            elif kind == "model":
                self.model = record[1]
            elif kind == "inputs":
                add_inputs(self.inputs, record[1])
            elif kind == "end":
                self.status = record[1].get("status", "FINISHED")
                self.end_time = record[1].get("end_time")
                self.last_activity = max(self.last_activity, self.end_time or 0)
            elif kind == "rename" and record[1]["name"]:
                self.header = {**self.header, "name": record[1]["name"]}
            elif kind == "untag":
                for key in record[1]["keys"]:
                    self.tags.pop(key, None)
            elif kind == "lifecycle":
                self.lifecycle = record[1]["stage"]
        self.offset = end

    def save(self, conn: sqlite3.Connection, signature: str) -> None:
        header = self.header
        conn.execute(
            "INSERT INTO runs VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                self.run_id,
                (header.get("experiment") or "Default") if header else None,
                (header.get("name") or self.run_id[:8]) if header else None,
                self.status,
                header.get("parent_id") if header else None,
                (header.get("start_time") or 0) if header else None,
                self.end_time,
                self.last_activity,
                self.offset,
                signature,
                self.head,
                self.tail,
                self.tail_at,
                json.dumps(self.artifacts) if self.artifacts else None,
                json.dumps(self.model) if self.model is not None else None,
                self.lifecycle,
                json.dumps(self.inputs) if self.inputs else None,
            ),
        )
        if header is None:
            return
        conn.executemany(
            "INSERT INTO params VALUES (?, ?, ?)",
            [(self.run_id, k, v) for k, v in self.params.items()],
        )
        conn.executemany(
            "INSERT INTO tags VALUES (?, ?, ?)", [(self.run_id, k, v) for k, v in self.tags.items()]
        )
        conn.executemany(
            "INSERT INTO metrics VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                (self.run_id, key, None if m[0] != m[0] else m[0], int(m[0] != m[0]), *m[1:])
                for key, m in self.metrics.items()
            ],
        )


@contextlib.contextmanager
def _writing(conn: sqlite3.Connection) -> Iterator[None]:
    """One write transaction; BEGIN IMMEDIATE so two readers never catch up the same run at once."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


def _in_one_snapshot(conn: sqlite3.Connection, work: Callable[[sqlite3.Connection], T]) -> T:
    """``work`` inside one read transaction, so all its queries see the same index.

    In autocommit each SELECT sees the index as it is then. A search reads a page
    of ids, then their runs, params, tags and metrics in separate queries; another
    process catching a run up in between (its rows deleted and written again, in
    one transaction) made a later query return rows for a run the earlier one had
    not, and the reader failed on it. WAL lets writers go on meanwhile.
    """
    conn.execute("BEGIN")
    try:
        return work(conn)
    finally:
        if conn.in_transaction:  # an error may have ended it already
            conn.execute("COMMIT")  # nothing was written: this only ends the snapshot


def _analyze(conn: sqlite3.Connection) -> None:
    """Give SQLite's planner the store's shape (rows per key, per param value), when it doubled.

    Without statistics SQLite guesses that a metric's range is more selective
    than a param's value and may drive a search from the wrong index: measured at
    100,000 runs, a filtered and ordered search took 500 ms on the guess and
    100 ms with statistics. A full ANALYZE reads the index once (0.4 s at 100,000
    runs); done each time the store doubles, it costs a constant share of the
    reads that built the index.
    """
    conn.execute("PRAGMA analysis_limit=0")
    conn.execute("ANALYZE")


def _forget(conn: sqlite3.Connection, run_ids: list[str]) -> None:
    for table in ("runs", "params", "tags", "metrics"):
        conn.executemany(f"DELETE FROM {table} WHERE run_id = ?", [(r,) for r in run_ids])


def _reset(conn: sqlite3.Connection) -> None:
    """Recreate every table and stamp this version: the next refresh rebuilds from the journals."""
    with _writing(conn):
        for table in _TABLES:
            conn.execute(f"DROP TABLE IF EXISTS {table}")
        for statement in SCHEMA.split(";"):
            if statement.strip():
                conn.execute(statement)
        conn.executemany(
            "INSERT INTO meta VALUES (?, ?)", [("format", INDEX_FORMAT), ("version", _version())]
        )


def _text(signature: Any) -> str:
    return repr(signature)


def _version() -> str:
    from ._version import __version__  # not the distribution's metadata: 20 ms to read

    return __version__


def index_path_of(folder: Path) -> Path:
    """Where the index of a store whose index folder is ``folder`` lives."""
    return folder / INDEX_NAME
