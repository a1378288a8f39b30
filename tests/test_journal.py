"""The journal: checksummed lines, torn tails, damaged records, full disks."""

from __future__ import annotations

import errno
import math
import os
from pathlib import Path

import pytest

from autolog._journal import Journal, encode, parse_journal, read_journal
from autolog.errors import AutologWarning


def _journal(tmp_path: Path) -> Journal:
    return Journal(tmp_path / "journal.jsonl")


class TestAppendAndRead:
    def test_records_read_back_in_order(self, tmp_path: Path) -> None:
        """Every appended record reads back, in order, with its end offset."""
        journal = _journal(tmp_path)
        journal.append(["run", {"id": "a" * 32}])
        journal.append_metric("loss", 0.5, 3, 1700)
        journal.append(["params", {"lr": "0.1"}])
        journal.close()
        read = read_journal(journal.path)
        assert read.records == [
            ["run", {"id": "a" * 32}],
            ["m", "loss", 0.5, 3, 1700],
            ["params", {"lr": "0.1"}],
        ]
        assert read.ends[-1] == journal.path.stat().st_size == journal.size

    def test_non_finite_metrics_survive(self, tmp_path: Path) -> None:
        """NaN and both infinities are stored and read back as such."""
        journal = _journal(tmp_path)
        for value in (float("nan"), float("inf"), float("-inf"), -0.0, 1e300):
            journal.append_metric("x", value, 0, 1)
        values = [r[2] for r in read_journal(journal.path).records]
        assert math.isnan(values[0])
        assert values[1:] == [float("inf"), float("-inf"), -0.0, 1e300]

    def test_fast_metric_line_equals_generic_encoding(self, tmp_path: Path) -> None:
        """The hand-built metric line is byte-for-byte what json encoding would give."""
        journal = _journal(tmp_path)
        journal.append_metric('we"ird/ключ', 0.1, 7, 123)
        assert journal.path.read_bytes() == encode(["m", 'we"ird/ключ', 0.1, 7, 123])

    def test_reading_from_an_offset(self, tmp_path: Path) -> None:
        """Reading from a record boundary returns only the records after it."""
        journal = _journal(tmp_path)
        journal.append_metric("a", 1.0, 0, 1)
        first_end = journal.size
        journal.append_metric("b", 2.0, 0, 1)
        assert read_journal(journal.path, first_end).records == [["m", "b", 2.0, 0, 1]]

    def test_ended_journal_accepts_late_records(self, tmp_path: Path) -> None:
        """After close, an append reopens the file for that write (evaluate after fit)."""
        journal = _journal(tmp_path)
        journal.append_metric("a", 1.0, 0, 1)
        journal.close()
        journal.append_metric("eval_a", 2.0, 0, 2)
        assert [r[1] for r in read_journal(journal.path).records] == ["a", "eval_a"]


class TestDamage:
    def test_torn_last_line_is_skipped_with_a_warning(self, tmp_path: Path) -> None:
        """A record cut short by a kill is skipped; everything before it reads back."""
        path = tmp_path / "journal.jsonl"
        whole = encode(["m", "a", 1.0, 0, 1]) + encode(["m", "a", 2.0, 1, 1])
        path.write_bytes(whole + encode(["m", "a", 3.0, 2, 1])[:-7])
        with pytest.warns(AutologWarning, match="incomplete"):
            read = read_journal(path)
        assert [r[2] for r in read.records] == [1.0, 2.0]
        assert read.torn_tail and read.end == len(whole)

    def test_damaged_middle_line_is_skipped_and_the_rest_reads(self, tmp_path: Path) -> None:
        """A line whose checksum fails is skipped; the lines after it still read back."""
        good = encode(["m", "a", 1.0, 0, 1])
        bad = bytearray(encode(["m", "a", 2.0, 1, 1]))
        bad[15] ^= 0x01
        path = tmp_path / "journal.jsonl"
        path.write_bytes(good + bytes(bad) + good)
        with pytest.warns(AutologWarning, match="1 damaged record"):
            read = read_journal(path)
        assert len(read.records) == 2 and read.damaged_lines == [1]

    def test_checksummed_line_that_is_not_a_record_is_dropped(self) -> None:
        """A line with a valid checksum but no record in it is left out; its neighbours read."""
        import zlib

        body = b'{"not": "a record"}'
        stranger = b"%08x %s\n" % (zlib.crc32(body), body)
        first, last = encode(["m", "a", 1.0, 0, 1]), encode(["m", "a", 2.0, 1, 1])
        read = parse_journal(first + stranger + last, warn=False)
        assert [r[2] for r in read.records] == [1.0, 2.0]
        assert read.ends == [len(first), len(first + stranger + last)]

    def test_garbage_never_raises(self) -> None:
        """Arbitrary bytes parse to whatever intact records they hold, never an exception."""
        import random

        rng = random.Random(7)
        line = encode(["m", "a", 1.0, 0, 1])
        for _ in range(500):
            blob = bytes(rng.randrange(256) for _ in range(rng.randrange(80)))
            data = blob + line + blob[: rng.randrange(len(blob) + 1)]
            read = parse_journal(data, warn=False)
            assert all(isinstance(r, list) for r in read.records)

    def test_disk_full_warns_keeps_earlier_records_and_next_ones(self, tmp_path: Path) -> None:
        """ENOSPC mid-record: a warning, earlier records intact, later records readable."""
        journal = _journal(tmp_path)
        journal.append_metric("a", 1.0, 0, 1)
        real_write = os.write
        line = encode(["m", "a", 2.0, 1, 1])

        def full_disk(fd: int, data: bytes) -> int:
            real_write(fd, data[:10])  # a partial record reaches the disk, then the disk is full
            raise OSError(errno.ENOSPC, "No space left on device")

        os.write = full_disk  # type: ignore[assignment]
        try:
            with pytest.warns(AutologWarning, match="disk is full"):
                journal._write(line)
        finally:
            os.write = real_write  # type: ignore[assignment]
        journal.append_metric("a", 3.0, 2, 1)
        with pytest.warns(AutologWarning, match="damaged"):
            values = [r[2] for r in read_journal(journal.path).records]
        assert values == [1.0, 3.0]
