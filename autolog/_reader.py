"""The one journal reader: runs, searches and histories over any :class:`JournalSource`.

The local store, the Azure backend, a plugin's store and the web UI all read
journals through this class, so the format is parsed in one place. A journal
is read in chunks of complete lines (:func:`journal_chunks`), so a run of any
size, or a hostile file, costs bounded memory; each chunk is checked line by
line (:func:`autolog._journal.parse_journal`) and record by record
(:func:`autolog._records.check_records`).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any

from ._journal import Record, parse_journal
from ._plain import Plain
from ._records import (
    EDITS,
    MAX_LINE,
    RUNNING,
    MetricPoint,
    RunRecord,
    RunReplay,
    artifact_names,
    check_records,
    header_of,
    is_run_id,
)
from .errors import RunNotFoundError

if TYPE_CHECKING:
    from .sources import JournalSource, Signature

#: Bytes read from a source at a time.
READ_CHUNK = 8 << 20
#: What :meth:`JournalReader.peek` reads of each end of a journal.
HEAD_BYTES, TAIL_BYTES = 8 << 10, 16 << 10


class Peek(Plain):
    """What a journal's first and last lines tell: header, status and last write (ms)."""

    def __init__(
        self, header: dict[str, Any] | None, status: str = RUNNING, last_activity: int = 0
    ) -> None:
        self.header = header
        self.status = status
        self.last_activity = last_activity


class RunList(list[RunRecord]):
    """Runs of one page of a search, with the token of the next page (None on the last);
    ``token`` is the same, under the name MLflow's ``PagedList`` uses."""

    def __init__(self, runs: Iterable[RunRecord] = (), next_page_token: str | None = None) -> None:
        super().__init__(runs)
        self.next_page_token = next_page_token

    @property
    def token(self) -> str | None:
        return self.next_page_token


class SearchPage(Plain):
    """One page of a search, and the token that asks for the next (None on the last)."""

    def __init__(
        self, runs: list[RunRecord] | None = None, next_page_token: str | None = None
    ) -> None:
        self.runs: list[RunRecord] = [] if runs is None else runs
        self.next_page_token = next_page_token


def journal_chunks(
    source: JournalSource, run_id: str, start: int = 0, stop: int | None = None
) -> Iterator[tuple[int, bytes]]:
    """``(offset, bytes)`` pieces of the journal from ``start``, each ending at a line end.

    A line longer than :data:`MAX_LINE` is dropped without being held whole; the
    bytes after the last newline (an append under way) are not returned.
    """
    position = line_start = start  # the next byte to read; the offset of carry's first byte
    carry, skipping = b"", False
    while stop is None or position < stop:
        want = READ_CHUNK if stop is None else min(READ_CHUNK, stop - position)
        data = source.read_bytes(run_id, position, position + want)
        got = len(data)
        position += got
        if skipping:  # inside an oversized line: drop bytes up to its end
            newline = data.find(b"\n")
            data = data[newline + 1 :] if newline >= 0 else b""
            skipping = newline < 0
            line_start = position - len(data)
        data = carry + data
        cut = data.rfind(b"\n") + 1
        if cut:
            yield line_start, data[:cut]
        carry, line_start = data[cut:], line_start + cut
        if len(carry) > MAX_LINE:
            yield line_start, OVERSIZED
            carry, line_start, skipping = b"", position, True
        if got < want:
            return


#: Stands in for a line too long to read, so the parser reports it as damaged.
OVERSIZED = b"oversized line\n"


class JournalReader:
    """Reads the runs of one source; see the module docstring."""

    def __init__(self, source: JournalSource) -> None:
        from ._index import RunIndex

        self.source = source
        #: The derived index (autolog._index) that answers get_run and search.
        self.index = RunIndex(self)

    # -- one run -------------------------------------------------------------

    def records(
        self, run_id: str, start: int = 0, stop: int | None = None
    ) -> Iterator[tuple[list[Record], int, int | None]]:
        """Valid records of the run from ``start``, in chunks: each chunk's records, the
        offset it ends at, and where its last intact line starts (None if it has none)."""
        for offset, data in journal_chunks(self.source, run_id, start, stop):
            read = parse_journal(data, offset, path=None, warn=False)
            last_line = read.starts[-1] if read.starts else None
            yield check_records(read, self.source, run_id, offset), offset + len(data), last_line

    def replay(self, run_id: str, history: str | bool = False) -> RunReplay:
        """The run rebuilt from its whole journal; RunNotFoundError if it has none."""
        if not is_run_id(run_id) or self.source.signature(run_id) is None:
            raise RunNotFoundError(f"no run {run_id!r} in {self.source.label}")
        replay = RunReplay(keep_history=history)
        for records, _end, _last in self.records(run_id):
            replay.feed(records)
        if replay.run is None:
            raise RunNotFoundError(f"run {run_id!r} in {self.source.label} has no readable header")
        return replay

    def get_run(self, run_id: str) -> RunRecord:
        """The run as the index holds it, after catching this one run up."""
        from ._index_query import records

        if not is_run_id(run_id):
            raise RunNotFoundError(f"no run {run_id!r} in {self.source.label}")
        found = self.index.run(run_id, lambda conn: records(conn, [run_id]))
        if not found:
            raise RunNotFoundError(f"run {run_id!r} in {self.source.label} has no readable header")
        return found[0]

    def get_metric_history(self, run_id: str, key: str) -> list[MetricPoint]:
        return self.replay(run_id, history=key).history.get(key, [])

    def artifact_files(self, run_id: str) -> list[str]:
        """Every artifact file the run's journal names, models' files included."""
        names: dict[str, None] = {}
        for records, _end, _last in self.records(run_id):
            for record in records:
                if record[0] in ("artifact", "model"):
                    names.update(dict.fromkeys(artifact_names(record)))
        return list(names)

    def peek(self, run_id: str, signature: Signature) -> Peek:
        """Header, status and last activity from the first and last lines only."""
        size = signature[0]
        try:
            head = self.source.read_bytes(run_id, 0, min(size, HEAD_BYTES))
            tail = self.source.read_bytes(run_id, max(0, size - TAIL_BYTES), size)
        except (OSError, RunNotFoundError):
            return Peek(None)
        first = head[: head.find(b"\n") + 1]
        header = header_of(self._checked(run_id, first, 0))
        if header is None:
            return Peek(None)
        tail_start = max(0, size - TAIL_BYTES)
        complete = tail[: tail.rfind(b"\n") + 1]
        last_line = complete[complete.rfind(b"\n", 0, len(complete) - 1) + 1 :]
        last = self._checked(run_id, last_line, tail_start + len(complete) - len(last_line))
        if last and last[0][0] in EDITS:  # edited after it ran: its end is further up
            cut = complete.find(b"\n") + 1  # the first line may be cut by the tail's start
            lines = self._checked(run_id, complete[cut:], tail_start + cut)
            last = [record for record in lines if record[0] not in EDITS][-1:]
        moment = header.get("start_time") or 0
        if last and last[0][0] == "end":
            end = last[0][1]
            return Peek(
                header, end.get("status", "FINISHED"), max(moment, end.get("end_time") or 0)
            )
        if last and last[0][0] == "m":
            moment = max(moment, last[0][4])
        return Peek(header, RUNNING, moment)

    def _checked(self, run_id: str, data: bytes, offset: int) -> list[Record]:
        if not data:
            return []
        return check_records(parse_journal(data, offset, warn=False), None, run_id, offset)

    # -- many runs -----------------------------------------------------------

    def search(
        self,
        experiment: str | None = None,
        filter: str | None = None,
        order_by: list[str] | None = None,
        max_results: int | None = None,
        page_token: str | None = None,
        deleted: bool = False,
    ) -> SearchPage:
        """Runs of ``experiment`` matching ``filter``, sorted, a page at a time, from the index;
        soft-deleted runs only when ``deleted``."""
        from ._filter import parse_filter, parse_order_by
        from ._index_query import search

        parse_filter(filter), parse_order_by(order_by)  # a typo is an error before any reading
        offset = decode_page_token(page_token)
        if max_results is not None and max_results < 1:
            raise ValueError(f"max_results must be at least 1, got {max_results}")
        runs, more = self.index.use(
            lambda conn: search(conn, experiment, filter, order_by, offset, max_results, deleted)
        )
        return SearchPage(runs, encode_page_token(offset + len(runs)) if more else None)


def encode_page_token(offset: int) -> str:
    """An opaque token for the page that starts at ``offset``."""
    import base64

    return base64.urlsafe_b64encode(f"o{offset}".encode()).decode().rstrip("=")


def decode_page_token(token: str | None) -> int:
    """The offset a token from :func:`encode_page_token` names; ValueError if it is not one."""
    if not token:
        return 0
    import base64
    import binascii

    try:
        text = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
        if text[:1] == "o" and text[1:].isdigit():
            return int(text[1:])
    except (binascii.Error, UnicodeDecodeError, ValueError):
        pass
    raise ValueError(f"page_token {token!r} is not a token this store gave out")
