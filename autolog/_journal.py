"""The journal: one append-only, checksummed file per run, the source of truth.

Every record a run produces is appended here before anything else happens, by
the training thread, with one ``os.write`` to an ``O_APPEND`` descriptor: the
bytes are with the operating system when ``append`` returns, so a crash of the
Python process (even SIGKILL) cannot lose them. ``fsync`` is left to a background
thread, and remote backends are fed from this file by the shipper.

A line is ``<crc32 as 8 hex digits> <JSON array>\\n``. The first element of the
array names the record type (see :mod:`autolog._records`). A reader verifies each
line's checksum; a torn last line (the process died mid-write) or a damaged line
is skipped with a warning and everything else reads back.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import threading
import time
import zlib
from pathlib import Path
from typing import Any

from ._plain import Plain
from ._records import encode_float
from ._warnings import warn

JOURNAL_NAME = "journal.jsonl"
FSYNC_INTERVAL = 1.0
#: Ended journals whose last fsync waits for the background thread; beyond
#: this many the ending thread fsyncs its own (back-pressure, not a growing queue).
MAX_PENDING_SYNCS = 256
_OUT_OF_DESCRIPTORS = (errno.EMFILE, errno.ENFILE)

Record = list[Any]


def encode(record: Record) -> bytes:
    """One journal line for ``record``: checksum, space, compact JSON, newline."""
    body = json.dumps(record, separators=(",", ":"), ensure_ascii=False)
    return _line(body)


def _line(body: str) -> bytes:
    data = body.encode()
    return b"%08x %s\n" % (zlib.crc32(data), data)


def _float_json(value: float) -> str:
    """A float as JSON text; NaN and infinities as Python's json writes them."""
    return repr(value) if value - value == 0.0 else str(encode_float(value))


class Journal:
    """Appends records to one run's journal file.

    Thread-safe; one writer process per file (each run has its own file, so
    parallel processes never share one).
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._key_json: dict[str, str] = {}
        self._needs_newline = False
        self._failed: OSError | None = None
        self._fd = _open_for_append(path)
        if self._fd < 0:
            # Out of descriptors: this journal opens its file for each write
            # instead, and holds none the user's code could need.
            self.size = self.synced_size = _size(path)
            return
        self.size = os.fstat(self._fd).st_size
        self.synced_size = self.size
        _fsyncer.watch(self)

    def append(self, record: Record) -> None:
        """Append one record; see :mod:`autolog._records` for the record types."""
        self._write(encode(record))

    def append_metric(self, key: str, value: float, step: int, timestamp: int) -> None:
        """Append one metric point: the hot path, kept free of ``json.dumps``."""
        key_json = self._key_json.get(key)
        if key_json is None:
            key_json = self._key_json[key] = json.dumps(key, ensure_ascii=False)
        self._write(_line(f'["m",{key_json},{_float_json(value)},{step},{timestamp}]'))

    def _write(self, line: bytes) -> None:
        with self._lock:
            if self._fd < 0:
                # A run that has ended can still receive records (a Keras
                # evaluate() after fit): reopen for this one write.
                self._write_reopened(line)
                return
            if self._needs_newline:
                line = b"\n" + line
            try:
                written = os.write(self._fd, line)
                while written < len(line):
                    written += os.write(self._fd, line[written:])
            except OSError as exc:
                # A partial line may be on disk; start the next record on a new
                # line so that only this one record is unreadable, not the next too.
                self._needs_newline = True
                self._report_write_failure(exc)
                return
            self._needs_newline = False
            self.size += len(line)

    def _write_reopened(self, line: bytes) -> None:
        try:
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
            try:
                os.write(fd, line)
            finally:
                os.close(fd)
        except OSError as exc:
            self._report_write_failure(exc)
            return
        self.size += len(line)

    def _report_write_failure(self, exc: OSError) -> None:
        if self._failed is None or self._failed.errno != exc.errno:
            reason = "the disk is full" if exc.errno == errno.ENOSPC else exc.strerror
            warn(
                f"autolog could not write to {self.path} ({reason}); training goes on, "
                "records already written are intact, new ones are dropped until writing "
                "works again"
            )
        self._failed = exc

    def sync(self) -> None:
        """fsync the file if it grew; called from the background fsync thread.

        Not under the append lock: the training thread must never wait for the
        disk. If the run ends meanwhile and its descriptor is closed (and its
        number reused), the fsync at worst flushes another file: harmless, and
        the ended journal's own last fsync is queued by path.
        """
        fd, size = self._fd, self.size
        if size == self.synced_size or fd < 0:
            return
        try:
            os.fsync(fd)
        except OSError:
            return
        self.synced_size = size

    def close(self) -> None:
        """Close the file now; its last fsync is left to the background thread.

        The bytes are already with the operating system, and the descriptor is
        released at once, so an ended run holds no open file whatever the
        number of runs a process makes. Only the wait for the disk is handed
        over (by path, on a bounded queue), so ending a run costs the training
        thread nothing. A later append reopens the file for that one write.
        """
        with self._lock:
            if self._fd < 0:
                return
            fd, self._fd = self._fd, -1
        _fsyncer.closed(self, fd)


class NullJournal:
    """Stands in for a journal when autolog is disabled: accepts records, keeps none."""

    size = 0

    def append(self, record: Record) -> None:
        pass

    def append_metric(self, key: str, value: float, step: int, timestamp: int) -> None:
        pass

    def close(self) -> None:
        pass


class _Fsyncer:
    """One daemon thread that fsyncs journals which grew, once a second.

    Open journals are fsynced through their own descriptor. An ended journal
    has already closed its descriptor; its path waits in a bounded queue and
    gets one last fsync through a descriptor opened for a moment.
    """

    def __init__(self) -> None:
        self._journals: set[Journal] = set()
        self._ended: dict[Path, None] = {}  # paths of ended journals not yet fsynced
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def watch(self, journal: Journal) -> None:
        with self._lock:
            self._journals.add(journal)
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(
                    target=self._loop, name="autolog-fsync", daemon=True
                )
                self._thread.start()

    def closed(self, journal: Journal, fd: int) -> None:
        """``journal`` ended: close ``fd`` now and queue its last fsync (or do it here if full)."""
        with self._lock:
            self._journals.discard(journal)
            queued = journal.size == journal.synced_size or len(self._ended) < MAX_PENDING_SYNCS
            if queued and journal.size != journal.synced_size:
                self._ended[journal.path] = None
        if not queued:
            with contextlib.suppress(OSError):
                os.fsync(fd)
        with contextlib.suppress(OSError):
            os.close(fd)

    def _loop(self) -> None:
        while True:
            time.sleep(FSYNC_INTERVAL)
            self.sync_all()

    def sync_all(self) -> None:
        """fsync every journal that grew, and the ended ones once more."""
        with self._lock:
            journals, ended, self._ended = list(self._journals), list(self._ended), {}
        for journal in journals:
            journal.sync()
        for path in ended:
            _fsync_path(path)

    def reset_after_fork(self) -> None:
        self._journals = set()
        self._ended = {}
        self._lock = threading.Lock()
        self._thread = None


def _fsync_path(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    with contextlib.suppress(OSError):
        os.fsync(fd)
    os.close(fd)


def _size(path: Path) -> int:
    try:
        return os.path.getsize(path)
    except OSError:
        return 0


_warned_descriptors = False


def _open_for_append(path: Path) -> int:
    """A descriptor appending to ``path``; -1 (after one warning) when the process has none left.

    Creating the file must not fail for lack of descriptors, so the file is
    created with a descriptor opened and closed at once. Our own descriptors
    are all closed at run end, so a process at its limit got there through
    its own open files: autolog then holds none for longer than one write.
    """
    global _warned_descriptors
    try:
        return os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    except OSError as exc:
        if exc.errno not in _OUT_OF_DESCRIPTORS:
            raise
    if not _warned_descriptors:
        _warned_descriptors = True
        warn(
            "autolog: the process has no file descriptors left (its limit is reached); "
            "autolog keeps none open from now on and opens each journal for one write at a "
            "time. Raise the limit (ulimit -n) or close files your code no longer needs."
        )
    return -1


_fsyncer = _Fsyncer()


def sync_all_journals() -> None:
    """fsync what the background thread has not yet; called at exit."""
    _fsyncer.sync_all()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_fsyncer.reset_after_fork)


class JournalRead(Plain):
    """What :func:`read_journal` found: records with their end offsets, and damage."""

    def __init__(self) -> None:
        self.records: list[Record] = []
        self.ends: list[int] = []
        self.torn_tail = False
        self.damaged_lines: list[int] = []
        #: Where each damaged line starts in the file.
        self.damaged_offsets: list[int] = []
        #: Where each record's line starts, beside ``ends``.
        self.starts: list[int] = []

    @property
    def end(self) -> int:
        """Offset just after the last complete line read."""
        return self.ends[-1] if self.ends else 0


def read_journal(path: Path, start: int = 0, *, warn: bool = True) -> JournalRead:
    """Read the complete, intact records of a journal from byte offset ``start``.

    A last line without its newline is a write that was cut short (the process
    was killed): it is left out and, with ``warn``, said so. A line whose checksum
    does not match is skipped the same way; the rest reads back.
    """
    with open(path, "rb") as f:
        if start:
            f.seek(start)
        data = f.read()
    return parse_journal(data, start, path=path, warn=warn)


def parse_journal(data: bytes, start: int = 0, *, path: Path | None = None, warn: bool = True):
    """Parse journal bytes that begin at offset ``start`` of the file; see :func:`read_journal`."""
    result = JournalRead()
    lines = data.split(b"\n")
    result.torn_tail = lines.pop() != b""  # the bytes after the last newline, if any
    bodies: list[bytes] = []
    starts = result.starts
    offset = start
    for line_no, line in enumerate(lines):
        line_start, offset = offset, offset + len(line) + 1
        body = _checked_body(line)
        if body is None:
            if line.strip():
                result.damaged_lines.append(line_no)
                result.damaged_offsets.append(line_start)
            continue
        bodies.append(body)
        starts.append(line_start)
        result.ends.append(offset)
    result.records = _decode_bodies(bodies, result)
    if warn and (result.torn_tail or result.damaged_lines):
        _warn_damage(path, result)
    return result


def _checked_body(line: bytes) -> bytes | None:
    """The JSON part of a line whose checksum matches, else None."""
    if len(line) < 10 or line[8:9] != b" ":
        return None
    body = line[9:]
    try:
        return body if int(line[:8], 16) == zlib.crc32(body) else None
    except ValueError:
        return None


def _decode_bodies(bodies: list[bytes], result: JournalRead) -> list[Record]:
    """Decode checked bodies with one ``json.loads`` (40% faster than one per line).

    A body whose checksum matched but which is not a JSON array (a file
    written by something else) sends us line by line, dropping just that one.
    """
    try:
        records = json.loads(b"[" + b",".join(bodies) + b"]")
        if all(type(record) is list and record for record in records):
            return records
    except (ValueError, RecursionError):  # RecursionError: nesting too deep to decode
        pass
    records, starts, ends = [], [], []
    for body, line_start, end in zip(bodies, result.starts, result.ends, strict=True):
        try:
            record = json.loads(body)
        except (ValueError, RecursionError):
            record = None
        if isinstance(record, list) and record:
            records.append(record)
            starts.append(line_start)
            ends.append(end)
        else:
            result.damaged_offsets.append(line_start)
    result.damaged_offsets.sort()
    result.starts, result.ends = starts, ends
    return records


def _warn_damage(path: Path | None, result: JournalRead) -> None:
    where = f"journal {path}" if path else "journal"
    parts = []
    if result.torn_tail:
        parts.append(
            "its last record is incomplete (the process was probably killed while writing) "
            "and was skipped"
        )
    if result.damaged_lines:
        parts.append(f"{len(result.damaged_lines)} damaged record(s) failed their checksum")
    warn(f"{where}: {'; '.join(parts)}; everything else reads back")
