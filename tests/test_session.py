"""The session as a unit: per-thread run stacks, nesting, exit, and bounded bookkeeping."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import autolog
from autolog._journal import read_journal
from autolog._session import session


def header(store: Path, run_id: str) -> dict:
    return read_journal(store / run_id / "journal.jsonl").records[0][1]


def in_thread(target) -> object:
    result: list[object] = []
    thread = threading.Thread(target=lambda: result.append(target()))
    thread.start()
    thread.join()
    return result[0]


class TestNesting:
    def test_a_run_started_inside_another_on_the_same_thread_is_its_child(self, store: Path):
        """Nesting on one thread: same experiment, parent in the header and in a tag."""
        with autolog.start_run(experiment="exp") as parent, autolog.start_run() as child:
            assert autolog.active_run() is child
        assert header(store, child.id)["parent_id"] == parent.id
        assert header(store, child.id)["experiment"] == "exp"

    def test_ending_a_parent_ends_the_children_still_open_inside_it(self, store: Path):
        """The parent's end closes what was opened inside it, innermost first."""
        parent = autolog.start_run()
        child = autolog.start_run()
        parent.end("KILLED")
        assert child.status == "KILLED" and parent.status == "KILLED"
        assert autolog.active_run() is None


class TestThreads:
    def test_a_run_on_another_thread_is_not_a_child_of_this_threads_run(self, store: Path):
        """A worker thread's run is top-level even while the main thread has a run open."""
        with autolog.start_run() as main_run:
            worker_run = in_thread(lambda: autolog.start_run(name="worker"))
            assert autolog.active_run() is main_run
        assert header(store, worker_run.id)["parent_id"] is None
        assert not worker_run.ended  # still open on its own (finished) thread
        worker_run.end()

    def test_each_thread_sees_only_its_own_active_run(self, store: Path):
        """active_run() answers per thread."""
        with autolog.start_run():
            assert in_thread(autolog.active_run) is None

    def test_nesting_within_a_worker_thread_still_works(self, store: Path):
        """On a worker thread, a run inside that thread's run is its child."""

        def nested() -> tuple[str, str | None]:
            with autolog.start_run() as outer, autolog.start_run() as inner:
                return outer.id, inner.parent_id

        outer_id, inner_parent = in_thread(nested)
        assert inner_parent == outer_id

    def test_close_ends_the_runs_of_every_thread(self, store: Path):
        """At exit, a run left open on another thread is ended too."""
        worker_run = in_thread(lambda: autolog.start_run())
        main_run = autolog.start_run()
        session.close()
        assert worker_run.status == main_run.status == "FINISHED"
        assert read_journal(store / worker_run.id / "journal.jsonl").records[-1][0] == "end"


class TestBounded:
    def test_ended_runs_leave_no_descriptor_and_no_bookkeeping(self, store: Path):
        """200 runs later, the process holds the same descriptors and remembers no journal."""
        # The system-metrics sampler opens /proc files while it samples: off, so that only
        # the runs' own descriptors are counted.
        autolog.autolog(backend=str(store), system_metrics=False)
        autolog.start_run().end()
        from autolog import _environment

        if _environment._warm_up is not None:  # the package map read on a background thread
            _environment._warm_up.join()
        before = len(os.listdir("/proc/self/fd"))
        for _ in range(200):
            with autolog.start_run() as run:
                run.log_metric("x", 1.0)
        # The fsync thread opens an ended journal for a moment to give it its last fsync: a
        # count taken at that moment is one higher, so the count is read until it settles.
        deadline = time.monotonic() + 5
        while len(os.listdir("/proc/self/fd")) > before and time.monotonic() < deadline:
            time.sleep(0.05)
        assert len(os.listdir("/proc/self/fd")) <= before
        assert session.journals == {}
        assert session.open_runs() == []
