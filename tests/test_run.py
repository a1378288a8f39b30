"""The Run as a unit: it writes its own header and end record into a real journal."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from autolog import run as run_module
from autolog._journal import Journal, read_journal
from autolog.errors import InvalidInputError
from autolog.run import MOST_STAMP_LEAD_MS, Run, now_ms, start_stamp, status_for


class Owner:
    """A RunOwner that remembers what it was told, in order."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str, str | None]] = []

    def run_ending(self, run: Run, status: str) -> None:
        run.set_tag("closing", "yes")  # a plugin's last record goes before the end record
        self.calls.append(("ending", run.id, status))

    def run_ended(self, run: Run) -> None:
        self.calls.append(("ended", run.id, run.status))


def started(tmp_path: Path, owner: Owner | None = None, **kwargs: object) -> Run:
    (tmp_path / "r").mkdir(exist_ok=True)
    journal = Journal(tmp_path / "r" / "journal.jsonl")
    arguments: dict = dict(
        run_id="a" * 32,
        name="first",
        experiment="exp",
        parent_id=None,
        artifacts_dir=tmp_path / "r" / "artifacts",
        config=None,
        owner=owner,
    )
    arguments.update(kwargs)
    return Run.start(journal, **arguments)


def records(tmp_path: Path) -> list[list]:
    return read_journal(tmp_path / "r" / "journal.jsonl").records


def open_descriptors() -> int:
    return len(os.listdir("/proc/self/fd"))


class TestRecords:
    def test_start_writes_the_header_then_the_parent_tag_then_the_tags(self, tmp_path: Path):
        """The header is the journal's first record; parent and user tags follow it."""
        run = started(tmp_path, parent_id="b" * 32, tags={"team": "ml"})
        header, parent, tags = records(tmp_path)
        assert header == [
            "run",
            {
                "id": "a" * 32,
                "name": "first",
                "experiment": "exp",
                "parent_id": "b" * 32,
                "start_time": run.start_time,
            },
        ]
        assert parent == ["tags", {"parent_run_id": "b" * 32}]
        assert tags == ["tags", {"team": "ml"}]

    def test_end_asks_the_owner_first_and_writes_the_end_record_after(self, tmp_path: Path):
        """run_ending may still log; the end record comes after; run_ended sees the status."""
        owner = Owner()
        run = started(tmp_path, owner)
        run.end("FAILED")
        kinds = [record[0] for record in records(tmp_path)]
        assert kinds == ["run", "tags", "end"]
        assert records(tmp_path)[-1] == ["end", {"status": "FAILED", "end_time": run.end_time}]
        assert owner.calls == [("ending", run.id, "FAILED"), ("ended", run.id, "FAILED")]
        assert run.ended and run.end_time is not None and run.end_time >= run.start_time

    def test_a_second_end_does_nothing(self, tmp_path: Path):
        """Ending twice writes one end record and tells the owner once."""
        owner = Owner()
        run = started(tmp_path, owner)
        run.end()
        run.end("FAILED")
        assert [r[0] for r in records(tmp_path)].count("end") == 1
        assert run.status == "FINISHED" and len(owner.calls) == 2

    def test_a_bad_status_is_refused_by_name(self, tmp_path: Path):
        """A status that is not FINISHED/FAILED/KILLED is refused and the run stays open."""
        run = started(tmp_path)
        with pytest.raises(InvalidInputError, match="'DONE' is not one of"):
            run.end("DONE")
        assert not run.ended

    def test_context_manager_ends_with_the_status_of_the_exception(self, tmp_path: Path):
        """A block that raises ends FAILED and the exception passes unchanged."""
        error = ValueError("boom")
        with pytest.raises(ValueError) as raised, started(tmp_path):
            raise error
        assert raised.value is error
        assert records(tmp_path)[-1][1]["status"] == "FAILED"
        assert status_for(KeyboardInterrupt()) == "KILLED" and status_for(None) == "FINISHED"


class TestDescriptors:
    def test_an_ended_run_holds_no_open_file(self, tmp_path: Path):
        """The journal's descriptor is closed at the end, not a second later."""
        before = open_descriptors()
        run = started(tmp_path)
        assert open_descriptors() == before + 1
        run.end()
        assert open_descriptors() == before

    def test_a_record_after_the_end_is_still_written(self, tmp_path: Path):
        """A metric logged after the end (Keras evaluate after fit) reopens for one write."""
        run = started(tmp_path)
        run.end()
        before = open_descriptors()
        run.log_metric("late", 1.0)
        assert open_descriptors() == before
        assert records(tmp_path)[-1][:3] == ["m", "late", 1.0]


class TestAttach:
    def test_attach_reads_the_identity_from_the_header_and_writes_none(self, tmp_path: Path):
        """A worker's handle appends to the owner's journal under the owner's header."""
        owner_run = started(tmp_path, name="owner", experiment="e2")
        handle = Run.attach(owner_run.id, tmp_path / "r" / "journal.jsonl")
        assert (handle.id, handle.name, handle.experiment) == (owner_run.id, "owner", "e2")
        handle.log_metric("loss", 0.5, step=0)
        handle.detach()
        owner_run.end()
        kinds = [record[0] for record in records(tmp_path)]
        assert kinds == ["run", "m", "end"]


class TestOutOfDescriptors:
    def test_a_journal_opened_at_the_descriptor_limit_warns_once_and_holds_none(
        self, tmp_path: Path
    ):
        """At EMFILE a journal keeps no descriptor; its records are written once one is free."""
        import resource
        import warnings

        from autolog import _journal
        from autolog.errors import AutologWarning

        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        held: list[int] = []
        resource.setrlimit(resource.RLIMIT_NOFILE, (open_descriptors() + 16, hard))
        try:
            try:
                while True:
                    held.append(os.open(os.devnull, os.O_RDONLY))
            except OSError:
                pass
            _journal._warned_descriptors = False
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                journal = Journal(tmp_path / "journal.jsonl")
                Journal(tmp_path / "other.jsonl")
            assert journal._fd == -1
            assert [str(w.message) for w in caught if w.category is AutologWarning] == [
                "autolog: the process has no file descriptors left (its limit is reached); "
                "autolog keeps none open from now on and opens each journal for one write at "
                "a time. Raise the limit (ulimit -n) or close files your code no longer needs."
            ]
            os.close(held.pop())  # the user's code closes a file: the next write goes through
            journal.append(["tags", {"a": "b"}])
            assert journal._fd == -1  # the write opened and closed its own descriptor
        finally:
            for fd in held:
                os.close(fd)
            resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
        assert read_journal(tmp_path / "journal.jsonl").records == [["tags", {"a": "b"}]]


class TestStartStamps:
    def test_a_burst_of_starts_is_stamped_in_the_order_it_started(self, tmp_path: Path):
        """Runs started within one millisecond (a grid's children) get increasing start
        times, so a listing by start time keeps their order; an end never precedes its start."""
        runs = [started(tmp_path, run_id=f"{i:032x}") for i in range(50)]
        stamps = [run.start_time for run in runs]
        assert stamps == sorted(set(stamps)), stamps
        assert stamps[-1] - now_ms() < MOST_STAMP_LEAD_MS
        for run in runs:
            run.end()
            assert run.end_time is not None and run.end_time >= run.start_time

    def test_past_the_lead_starts_share_the_last_stamp_and_never_go_back(
        self, monkeypatch: pytest.MonkeyPatch
    ):
        """A flood of starts leads the clock by at most MOST_STAMP_LEAD_MS; after that,
        starts tie with the last stamp instead of being stamped before it."""
        monkeypatch.setattr(run_module, "_last_stamp", run_module._last_stamp)  # restored after
        frozen = now_ms() + 10 * MOST_STAMP_LEAD_MS  # after every stamp earlier tests made
        monkeypatch.setattr(run_module, "now_ms", lambda: frozen)
        stamps = [start_stamp() for _ in range(MOST_STAMP_LEAD_MS + 20)]
        assert stamps[0] == frozen
        assert stamps == sorted(stamps)
        assert stamps[-1] == stamps[-20] == frozen + MOST_STAMP_LEAD_MS
        monkeypatch.setattr(run_module, "now_ms", lambda: frozen + 5 * MOST_STAMP_LEAD_MS)
        assert start_stamp() == frozen + 5 * MOST_STAMP_LEAD_MS  # the clock is back in front
