"""The shipper: feeds one remote backend from the journals, on its own thread.

For each run it keeps the byte offset the backend acknowledged, on disk beside
the journal (``shipped/<backend>.json``), so whatever one process could not
send, ``autolog sync`` in another process sends later, from exactly there.
A batch is the next complete records after that offset; the offset moves only
after the backend returned, so a failure means "send it again", which backends
must accept without duplicating anything.

Failures are retried with exponential backoff and jitter. The training thread
never waits on any of this; only ``flush()`` and the exit handler do, bounded.
"""

from __future__ import annotations

import os
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ._delivery import Delivery, destination_key, destination_uri
from ._journal import Journal, read_journal
from ._records import header_of
from ._store import LocalStore
from ._validation import strip_credentials
from ._warnings import warn
from .backend import Backend, Batch

POLL_INTERVAL = 0.5
BACKOFF_FIRST = 0.5
BACKOFF_MAX = 30.0
#: Attempts at one batch that a reachable server answers with an error (a 500) before
#: the run is set aside, so that one poisoned run never holds back the others.
SERVER_ERROR_ATTEMPTS = 3
#: How long the exit waits for a backend that no attempt of this process ever reached.
UNREACHABLE_EXIT_WAIT = 1.5


def backend_key(uri: str) -> str:
    """A stable file name for a backend URI (credentials stripped first)."""
    return destination_key(uri)


def is_server_error(exc: BaseException) -> bool:
    """True for an error the backend answered itself (an HTTP 500), which may repeat forever.

    Unlike an unreachable or overloaded backend (connection refused, 503 with
    Retry-After), which stops the round for everyone, such an error concerns the
    batch sent, so the other runs go on and this one is tried a bounded number of times.
    """
    return getattr(exc, "status", None) == 500


@dataclass
class Pending:
    """What is not yet acknowledged for one run."""

    run_id: str
    records: int
    bytes: int


class Shipper:
    """Ships journals to ``backend``: in the background, or until done for sync/flush."""

    def __init__(
        self,
        backend: Backend,
        store: LocalStore,
        journals: Callable[[], dict[str, Journal]] | None = None,
        on_end: Callable[[Backend, str, dict], None] | None = None,
    ) -> None:
        self.backend = backend
        #: Called with (backend, run id, run header) once a run's end record was acknowledged.
        self.on_end = on_end
        self.store = store
        self.key = backend_key(backend.uri)
        self._journals = journals or (lambda: {})
        self._deliveries: dict[str, Delivery] = {}
        self._headers: dict[str, dict] = {}
        self._server_errors: dict[tuple[str, int], int] = {}
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._ship_lock = threading.Lock()
        self.last_error: BaseException | None = None
        self._failures = 0
        self._retry_at = 0.0
        self._warned = False
        #: Runs the backend refused for good (a 4xx, a 500 that kept coming), with the reason.
        self.rejected: dict[str, BaseException] = {}
        #: True once any request reached the backend; False while every attempt failed to connect.
        self.connected = False
        #: Set when the backend refuses everything (bad credentials): shipping stops.
        self.refused: BaseException | None = None

    # -- background thread -------------------------------------------------

    def start(self) -> None:
        """Start the background thread if it is not running."""
        if self._thread is None or not self._thread.is_alive():
            self._stop.clear()
            self._thread = threading.Thread(
                target=self._loop, name=f"autolog-shipper-{self.key[:6]}", daemon=True
            )
            self._thread.start()

    def wake(self) -> None:
        self._wake.set()

    def stop(self, timeout: float = 0) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None and timeout:
            self._thread.join(timeout)

    def _loop(self) -> None:
        while not self._stop.is_set() and self.refused is None:
            self._wake.wait(POLL_INTERVAL)
            self._wake.clear()
            if time.monotonic() < self._retry_at:
                continue
            run_ids = self._unacknowledged()
            if run_ids:
                self._ship_runs(run_ids)

    def _unacknowledged(self) -> list[str]:
        """This process's runs whose journal file extends past the acknowledged offset.

        The file's size, not the in-memory count, so that records a worker
        process appended to one of our runs (``attach_run``) are shipped too.
        """
        return [
            run_id
            for run_id, journal in self._journals().items()
            if run_id not in self.rejected and _file_size(journal.path) > self.acked(run_id)
        ]

    def _ship_runs(self, run_ids: list[str]) -> int | None:
        """Ship the runs in turn; the number of records sent, or None after a failure.

        A run the backend refuses for good is set aside and the others go on;
        any other failure (the backend is down) stops the round for a retry.
        """
        sent = 0
        server_error: BaseException | None = None
        for run_id in run_ids:
            try:
                sent += self.ship_run(run_id)
            except Exception as exc:
                if getattr(exc, "permanent", False):
                    self._note_refusal(run_id, exc)
                    if self.refused is not None:
                        return None
                    continue
                if is_server_error(exc):
                    self.connected = True
                    server_error = exc
                    self.note_server_error(run_id, exc)
                    continue  # the next run may well go through
                self._note_failure(exc)
                return None
        if server_error is not None:
            self._note_failure(server_error)
            return sent or None
        self._failures = 0
        self._retry_at = 0.0
        self.last_error = None
        return sent

    def note_server_error(self, run_id: str, exc: BaseException) -> bool:
        """Count a server error on ``run_id``'s next batch; True once the run is set aside."""
        attempt = (run_id, self.acked(run_id))
        self._server_errors[attempt] = self._server_errors.get(attempt, 0) + 1
        if self._server_errors[attempt] < SERVER_ERROR_ATTEMPTS:
            return False
        self._note_refusal(run_id, exc)
        return True

    def _note_refusal(self, run_id: str, exc: BaseException) -> None:

        uri = strip_credentials(self.backend.uri)
        reason = strip_credentials(str(exc))
        if getattr(exc, "refuses_everything", False):
            self.refused = self.last_error = exc
            if getattr(exc, "reported", False):
                return
            warn(
                f"autolog: {uri} refuses our records ({reason}); check the credentials. "
                f"Nothing more is sent to it from this process; records stay in "
                f"{self.store.root}, send them later with: autolog sync"
            )
            return
        self.set_aside(run_id, exc)
        warn(
            f"autolog: {uri} refused records of run {run_id} ({reason}); that run is set "
            f"aside, the others go on. It stays whole in {self.store.root}."
        )

    def set_aside(self, run_id: str, exc: BaseException) -> str:
        """Stop sending ``run_id`` here for now, and keep the reason beside its journal."""
        reason = strip_credentials(f"{exc}")
        self.rejected[run_id] = exc
        delivery = self.delivery(run_id)
        delivery.set_aside = {"offset": delivery.offset, "reason": reason}
        delivery.save(self.store.run_dir(run_id), self.key)
        return reason

    def _note_failure(self, exc: BaseException) -> None:
        self.last_error = exc
        self._failures += 1
        delay = min(BACKOFF_MAX, BACKOFF_FIRST * 2 ** (self._failures - 1))
        self._retry_at = time.monotonic() + delay * random.uniform(0.5, 1.0)
        if not self._warned and not getattr(exc, "reported", False):
            self._warned = True

            warn(
                f"autolog cannot reach {strip_credentials(self.backend.uri)} "
                f"({type(exc).__name__}: {strip_credentials(str(exc))}); training goes on, "
                f"records are kept in {self.store.root} and sent when it answers "
                "(or later with: autolog sync)"
            )

    # -- shipping ----------------------------------------------------------

    def delivery(self, run_id: str) -> Delivery:
        """This backend's progress with ``run_id`` (read from disk once, then kept)."""
        if run_id not in self._deliveries:
            uri = destination_uri(self.backend.uri)
            self._deliveries[run_id] = Delivery.load(self.store.run_dir(run_id), self.key, uri)
        return self._deliveries[run_id]

    def acked(self, run_id: str) -> int:
        return self.delivery(run_id).offset

    def _acknowledge(self, run_id: str, end: int, deferred: list[str]) -> None:
        delivery = self.delivery(run_id)
        delivery.offset = end
        delivery.deferred = deferred
        delivery.set_aside = None
        delivery.save(self.store.run_dir(run_id), self.key)

    def ship_run(self, run_id: str, progress: Callable[[int], None] | None = None) -> int:
        """Send everything of ``run_id`` past the acknowledged offset; return records sent."""
        with self._ship_lock:
            start = self.acked(run_id)
            read = read_journal(self.store.journal_path(run_id), start, warn=False)
            deferred = list(self.delivery(run_id).deferred)
            if not read.records and not deferred:
                return 0
            header = self._header(run_id, read.records)
            if deferred:  # artifacts a destination could not take before: try them first
                retry = [["artifact", {"path": path}] for path in deferred]
                batch = Batch(run_id, header, retry, start, start, b"", *self._dirs(run_id))
                deferred = self._ship(batch)
                self._acknowledge(run_id, start, deferred)
            sent = 0
            size = self.backend.max_batch_records
            with open(self.store.journal_path(run_id), "rb") as f:
                for first in range(0, len(read.records), size):
                    records = read.records[first : first + size]
                    end = read.ends[first + len(records) - 1]
                    f.seek(start)
                    raw = f.read(end - start)
                    batch = Batch(run_id, header, records, start, end, raw, *self._dirs(run_id))
                    deferred = _merged(deferred, self._ship(batch))
                    self._acknowledge(run_id, end, deferred)
                    if any(record[0] == "end" for record in records):
                        self._ended(run_id, header)
                    start = end
                    sent += len(records)
                    if progress is not None:
                        progress(len(records))
            return sent

    def _ended(self, run_id: str, header: dict) -> None:
        """The backend holds the run's end: tell ``on_end`` (its errors are ours: warned)."""
        if self.on_end is None:
            return
        try:
            self.on_end(self.backend, run_id, header)
        except Exception as exc:
            warn(f"autolog: could not announce run {run_id} ({type(exc).__name__}: {exc})")

    def _ship(self, batch: Batch) -> list[str]:
        """Send one batch; the artifacts the backend deferred."""
        self.backend.ship(batch)
        self.connected = True
        return batch.deferred

    def _dirs(self, run_id: str) -> tuple[Path, Path]:
        return self.store.artifacts_dir(run_id), self.store.journal_path(run_id)

    def _header(self, run_id: str, records: list[list]) -> dict:
        if run_id not in self._headers:
            header = header_of(records)
            if header is None:
                first = read_journal(self.store.journal_path(run_id), warn=False).records
                header = header_of(first) or {}
            self._headers[run_id] = header
        return self._headers[run_id]

    def ship_until_done(self, timeout: float) -> bool:
        """Ship this process's runs now, retrying until all is acknowledged or time is up.

        Runs on the caller's thread, but each attempt happens on the shipper's
        own worker so a backend that hangs cannot hold the caller past ``timeout``.
        """
        started = time.monotonic()
        deadline = started + timeout
        while self.refused is None:
            run_ids = self._unacknowledged()
            if not run_ids:
                return not self.rejected
            if self._never_reached():
                # Every attempt so far failed to connect: a dead server will not come
                # back within the exit wait, so wait only briefly for it.
                deadline = min(deadline, started + UNREACHABLE_EXIT_WAIT)
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            sent = self._ship_bounded(run_ids, remaining, started)
            if sent == 0:  # only incomplete last lines, or refused runs, are left
                return not self.rejected
            if sent is None:
                time.sleep(min(max(0.0, deadline - time.monotonic()), 0.2 * random.uniform(1, 2)))
        return False

    def _never_reached(self) -> bool:
        """True while every attempt of this process to reach the backend failed to connect."""
        if self.connected:
            return False
        return self.last_error is not None or self.backend.reachable is False

    def _ship_bounded(self, run_ids: list[str], timeout: float, started: float) -> int | None:
        """Ship on a worker for at most ``timeout``; less once the backend proved unreachable."""
        outcome: list[int | None] = []
        worker = threading.Thread(
            target=lambda: outcome.append(self._ship_runs(run_ids)),
            name="autolog-flush",
            daemon=True,
        )
        worker.start()
        deadline = time.monotonic() + timeout
        while worker.is_alive():
            now = time.monotonic()
            if now >= deadline:
                break
            if self._never_reached():
                deadline = min(deadline, started + UNREACHABLE_EXIT_WAIT)
            worker.join(min(0.05, max(0.0, deadline - now)))
        return outcome[0] if outcome else None

    def pending_records(self, run_id: str) -> int:
        """How many complete records of ``run_id`` the backend has not acknowledged."""
        path = self.store.journal_path(run_id)
        records = len(read_journal(path, self.acked(run_id), warn=False).records)
        return records + len(self.delivery(run_id).deferred)

    def pending(self) -> list[Pending]:
        """Runs of this process with records the backend has not acknowledged."""
        result = []
        for run_id, journal in self._journals().items():
            acked, size = self.acked(run_id), _file_size(journal.path)
            deferred = len(self.delivery(run_id).deferred)
            # Rejected runs count too: they are unsent, and `autolog sync` retries them.
            if size > acked or deferred:
                records = len(read_journal(journal.path, acked, warn=False).records) + deferred
                if records:
                    result.append(Pending(run_id, records, size - acked))
        return result

    def unsent_message(self) -> str:
        """The exit message: what is still unsent to this backend and how to send it."""
        pending = self.pending()
        if not pending:
            return ""
        records = sum(p.records for p in pending)
        reason = ""
        if self.rejected:
            reason = f" ({len(self.rejected)} run(s) refused by the backend)"
        if self.last_error is not None:
            reason = (
                f" ({type(self.last_error).__name__}: {strip_credentials(str(self.last_error))})"
            )
        where = (
            ""
            if self.store.root.resolve() == Path("autolog-runs").resolve()
            else (f" --dir {self.store.root}")
        )
        return (
            f"autolog: {records} record(s) of {len(pending)} run(s) not yet sent to "
            f"{strip_credentials(self.backend.uri)}{reason}. They are safe in the journal "
            f"{self.store.root}; send them later with: autolog sync{where}"
        )


def _merged(first: list[str], second: list[str]) -> list[str]:
    return first + [path for path in second if path not in first]


def _file_size(path: Path) -> int:
    try:
        return os.stat(path).st_size
    except OSError:
        return 0
