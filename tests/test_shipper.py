"""The shipper as a unit: real journals in a temporary store, the real faulty/slow backends.

Runs are logged with autolog's real API into a local store; a Shipper is then
pointed at that store and a ``faulty://`` backend whose healthy calls ship into a
second local store (``target``), which the tests read back record by record.
"""

from __future__ import annotations

import math
import time
import warnings
from pathlib import Path

import pytest

import autolog
from autolog._journal import Journal
from autolog._shipper import Shipper, backend_key
from autolog._store import LocalStore
from autolog.errors import AutologWarning
from autolog.testing import FaultyBackend


def log_run(name: str, steps: int) -> str:
    """A finished run with ``steps`` loss points; returns its id."""
    with autolog.start_run(name=name) as run:
        run.log_param("steps", steps)
        for step in range(steps):
            run.log_metric("loss", 1.0 / (step + 1), step=step)
    return run.id


def shipper_for(uri: str, store: Path, run_ids: list[str]) -> Shipper:
    """A shipper of ``run_ids`` from ``store`` to the backend ``uri`` (as a session builds it)."""
    local = LocalStore(store)
    journals = {run_id: Journal(local.journal_path(run_id)) for run_id in run_ids}
    return Shipper(FaultyBackend(uri), local, journals=lambda: journals)


def losses(store: Path, run_id: str) -> list[tuple[int, float]]:
    return [(p.step, p.value) for p in LocalStore(store).get_metric_history(run_id, "loss")]


@pytest.fixture
def target(tmp_path: Path) -> Path:
    return tmp_path / "target"


class TestDelivery:
    def test_a_flaky_backend_gets_every_record_exactly_once(
        self, store: Path, target: Path
    ) -> None:
        run_ids = [log_run("a", 250), log_run("b", 40)]
        shipper = shipper_for(f"faulty://flaky?every=2&target={target}", store, run_ids)
        shipper.backend.max_batch_records = 50

        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            assert shipper.ship_until_done(timeout=30)

        for run_id, steps in zip(run_ids, (250, 40), strict=True):
            assert losses(target, run_id) == [(s, 1.0 / (s + 1)) for s in range(steps)]
            assert shipper.acked(run_id) == LocalStore(store).journal_path(run_id).stat().st_size
        assert shipper.pending() == [] and shipper.unsent_message() == ""
        warned = [w for w in caught if issubclass(w.category, AutologWarning)]
        assert len(warned) == 1 and "training goes on" in str(warned[0].message)

    def test_records_go_in_batches_of_the_backends_size(self, store: Path, target: Path) -> None:
        run_id = log_run("batched", 95)
        shipper = shipper_for(f"faulty://slow?delay=0&target={target}", store, [run_id])
        shipper.backend.max_batch_records = 10
        records = shipper.pending_records(run_id)

        assert shipper.ship_run(run_id) == records
        assert shipper.backend.calls == math.ceil(records / 10)

    def test_a_new_shipper_resumes_from_the_acknowledged_offset(
        self, store: Path, target: Path
    ) -> None:
        """What one process acknowledged is not sent again by the next (``autolog sync``)."""
        run_id = log_run("resumed", 30)
        uri = f"faulty://slow?delay=0&target={target}"
        first = shipper_for(uri, store, [run_id])
        records = first.pending_records(run_id)
        assert first.ship_run(run_id) == records

        again = shipper_for(uri, store, [run_id])
        assert again.acked(run_id) == first.acked(run_id)
        assert again.ship_run(run_id) == 0 and again.backend.calls == 0
        assert len(losses(target, run_id)) == 30

    def test_a_torn_last_line_waits_and_the_complete_records_go(
        self, store: Path, target: Path
    ) -> None:
        run_id = log_run("torn", 5)
        journal = LocalStore(store).journal_path(run_id)
        complete = journal.stat().st_size
        with open(journal, "ab") as f:
            f.write(b'{"half a record')  # a writer killed mid-line
        shipper = shipper_for(f"faulty://slow?delay=0&target={target}", store, [run_id])

        assert shipper.ship_until_done(timeout=10)
        assert shipper.acked(run_id) == complete
        assert len(losses(target, run_id)) == 5


class TestFailures:
    def test_a_hanging_backend_holds_flush_no_longer_than_its_timeout(self, store: Path) -> None:
        run_id = log_run("held", 10)
        shipper = shipper_for("faulty://hang", store, [run_id])

        started = time.monotonic()
        done = shipper.ship_until_done(timeout=0.5)
        took = time.monotonic() - started

        assert not done and took < 2.0
        [pending] = shipper.pending()
        assert (pending.run_id, pending.records) == (run_id, shipper.pending_records(run_id))
        message = shipper.unsent_message()
        assert f"autolog sync --dir {store}" in message and "faulty://hang" in message
        shipper.backend._hang.set()  # let the worker thread finish

    def test_a_rejected_run_is_set_aside_and_the_others_are_delivered(
        self, store: Path, target: Path
    ) -> None:
        refused, fine = log_run("poison", 3), log_run("fine", 3)
        shipper = shipper_for(
            f"faulty://reject?name=poison&target={target}", store, [refused, fine]
        )

        with pytest.warns(AutologWarning, match=f"refused records of run {refused}"):
            assert not shipper.ship_until_done(timeout=10)

        assert set(shipper.rejected) == {refused}
        assert len(losses(target, fine)) == 3
        assert not LocalStore(target).journal_path(refused).exists()
        assert "1 run(s) refused by the backend" in shipper.unsent_message()

    def test_a_backend_refusing_everything_stops_shipping_at_once(self, store: Path) -> None:
        run_ids = [log_run("one", 3), log_run("two", 3)]
        shipper = shipper_for("faulty://refuse", store, run_ids)

        with pytest.warns(AutologWarning, match="check the credentials"):
            assert not shipper.ship_until_done(timeout=10)

        assert shipper.refused is not None and shipper.backend.calls == 1
        assert {p.run_id for p in shipper.pending()} == set(run_ids)

    @pytest.mark.slow  # waits out real backoff delays
    def test_the_background_thread_delivers_after_failures_with_backoff(
        self, store: Path, target: Path
    ) -> None:
        run_id = log_run("background", 20)
        shipper = shipper_for(f"faulty://flaky?every=2&target={target}", store, [run_id])
        shipper.backend.max_batch_records = 5  # several batches: every second call fails
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", AutologWarning)
            shipper.start()
            shipper.wake()
            deadline = time.monotonic() + 15
            while shipper.pending() and time.monotonic() < deadline:
                time.sleep(0.05)
            shipper.stop(timeout=5)

        assert shipper.pending() == []
        assert len(losses(target, run_id)) == 20
        assert shipper.last_error is None and shipper.backend.calls >= 6


class TestBackendKey:
    def test_the_key_ignores_credentials_and_differs_per_backend(self) -> None:
        assert backend_key("http://user:secret@host:5000") == backend_key("http://host:5000")
        assert backend_key("http://host:5000") != backend_key("http://other:5000")
        assert len(backend_key("http://host:5000")) == 16
