"""Where the UI reads journals from: a local store folder, or a blob container laid out like one.

Both sources answer the same questions, cheaply first:

* ``signatures()``: every run id with a change signature (a folder's journal size
  and mtime; a blob journal's length);
* ``peek(run_id)``: the run's header, whether its last record ends it, and when
  it was last written, from the journal's first and last lines only, which is
  all the experiments page needs;
* ``chunks(run_id, start)``: the complete lines from byte ``start`` on, for
  replaying only what was appended since the last read;
* ``artifact(run_id, path)``: one artifact file to send.

A blob container has no cheap per-run change signal, so its journals are
fetched whole, in parallel, at most every :data:`BLOB_INTERVAL` seconds (one
run at most every :data:`RUN_INTERVAL` seconds), and still parsed only from the
last offset.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .._journal import JOURNAL_NAME, parse_journal
from .._records import RUNNING
from .._store import LocalStore
from ..errors import AutologError
from .readers import ArtifactFile, BadRequest, NotFound

LISTING_INTERVAL = 1.0
BLOB_INTERVAL = 10.0
RUN_INTERVAL = 2.0
READ_CHUNK = 16 << 20
HEAD_BYTES, TAIL_BYTES = 8 << 10, 16 << 10
RUN_ID = re.compile(r"^[0-9a-f]{32}$")
EDITS = frozenset({"rename", "untag", "lifecycle", "tags"})  # records an edit appends


@dataclass
class Peek:
    """What a journal's first and last lines tell: header, status and last write (ms)."""

    header: dict[str, Any] | None
    status: str = RUNNING
    last_activity: int = 0


def peek_bytes(head: bytes, tail: bytes, modified: int = 0) -> Peek:
    """Read the header from the first line of ``head``, the end from the last line of ``tail``."""
    first = head[: head.find(b"\n") + 1]
    records = parse_journal(first, warn=False).records if first else []
    header = records[0][1] if records and records[0][0] == "run" else None
    if header is None:
        return Peek(None)
    complete = tail[: tail.rfind(b"\n") + 1]
    last_line = complete[complete.rfind(b"\n", 0, len(complete) - 1) + 1 :]
    last = parse_journal(last_line, warn=False).records
    if last and last[0][0] in EDITS:  # edited after it ran: the end is further up
        lines = parse_journal(complete[complete.find(b"\n") + 1 :], warn=False).records
        last = [record for record in lines if record[0] not in EDITS][-1:]
    moment = modified or header.get("start_time") or 0
    if last and last[0][0] == "end":
        end = last[0][1]
        return Peek(header, end.get("status", "FINISHED"), max(moment, end.get("end_time") or 0))
    if last and last[0][0] == "m":
        moment = max(moment, last[0][4])
    return Peek(header, RUNNING, moment)


def signature_size(signature: Any) -> int:
    return signature if isinstance(signature, int) else signature[0]


class FolderJournals:
    """Journals in a local store folder; a run changed when its journal's size or mtime did."""

    interval = LISTING_INTERVAL

    def __init__(self, store: LocalStore) -> None:
        self.store = store

    def signatures(self) -> dict[str, Any]:
        try:
            entries = list(os.scandir(self.store.root))
        except FileNotFoundError:
            return {}
        found = {}
        for entry in entries:
            if RUN_ID.match(entry.name):
                signature = self.signature(entry.name)
                if signature is not None:
                    found[entry.name] = signature
        return found

    def signature(self, run_id: str) -> Any:
        try:
            stat = os.stat(os.path.join(self.store.root, run_id, JOURNAL_NAME))
        except OSError:
            return None
        return (stat.st_size, stat.st_mtime_ns)

    def peek(self, run_id: str, signature: Any) -> Peek:
        size, modified_ns = signature
        try:
            with open(self.store.journal_path(run_id), "rb") as f:
                head = f.read(HEAD_BYTES)
                f.seek(max(0, size - TAIL_BYTES))
                tail = f.read(TAIL_BYTES)
        except OSError:
            return Peek(None)
        return peek_bytes(head, tail, modified_ns // 1_000_000)

    def chunks(self, run_id: str, start: int, stop: int | None = None) -> Iterator[bytes]:
        """Complete lines of the journal from ``start`` (up to ``stop``), in large chunks."""
        with open(self.store.journal_path(run_id), "rb") as f:
            f.seek(start)
            carry = b""
            while True:
                size = READ_CHUNK if stop is None else min(READ_CHUNK, stop - f.tell())
                data = f.read(size) if size > 0 else b""
                if not data:
                    return
                data = carry + data
                cut = data.rfind(b"\n") + 1
                carry = data[cut:]
                if cut:
                    yield data[:cut]

    def artifact(self, run_id: str, path: str) -> ArtifactFile:
        try:
            target = self.store.artifact_path(run_id, path)
        except ValueError as exc:
            raise BadRequest(str(exc)) from None
        if not target.is_file():
            raise NotFound(f"run {run_id} has no artifact file {path!r}")
        return ArtifactFile(name=target.name, path=target, size=target.stat().st_size)


class BlobJournals:
    """Journals in a blob container, through a backend with ``run_ids`` and ``journal_bytes``."""

    interval = BLOB_INTERVAL

    def __init__(self, backend: Any) -> None:
        self.backend = backend
        self._fetched: dict[str, bytes] = {}
        self._fetched_at: dict[str, float] = {}

    def signatures(self) -> dict[str, Any]:
        run_ids = list(self.backend.run_ids())
        with ThreadPoolExecutor(8, thread_name_prefix="autolog-ui-read") as pool:
            journals = list(pool.map(self.backend.journal_bytes, run_ids))
        now = time.monotonic()
        self._fetched = {r: data for r, data in zip(run_ids, journals, strict=True) if data}
        self._fetched_at = dict.fromkeys(self._fetched, now)
        return {run_id: len(data) for run_id, data in self._fetched.items()}

    def signature(self, run_id: str) -> Any:
        """The journal's length, fetched again at most every RUN_INTERVAL seconds."""
        if time.monotonic() - self._fetched_at.get(run_id, -1e9) < RUN_INTERVAL:
            return len(self._fetched[run_id])
        data = self.backend.journal_bytes(run_id)
        if data is None:
            return None
        self._fetched[run_id] = data
        self._fetched_at[run_id] = time.monotonic()
        return len(data)

    def peek(self, run_id: str, signature: Any) -> Peek:
        data = self._fetched.get(run_id, b"")
        return peek_bytes(data[:HEAD_BYTES], data[-TAIL_BYTES:])

    def chunks(self, run_id: str, start: int, stop: int | None = None) -> Iterator[bytes]:
        data = self._fetched.get(run_id)
        if data is None:
            data = self.backend.journal_bytes(run_id) or b""
        data = data[start:stop]
        cut = data.rfind(b"\n") + 1
        if cut:
            yield data[:cut]

    def artifact(self, run_id: str, path: str) -> ArtifactFile:
        folder = Path(tempfile.mkdtemp(prefix="autolog-ui-"))
        try:
            target = Path(self.backend.download_artifacts(run_id, path, folder))
        except AutologError:
            shutil.rmtree(folder, ignore_errors=True)
            raise NotFound(f"run {run_id} has no artifact file {path!r}") from None
        if not target.is_file():
            shutil.rmtree(folder, ignore_errors=True)
            raise NotFound(f"{path!r} of run {run_id} is a folder; download its files one by one")
        return ArtifactFile(
            name=target.name,
            path=target,
            size=target.stat().st_size,
            cleanup=lambda: shutil.rmtree(folder, ignore_errors=True),
        )
