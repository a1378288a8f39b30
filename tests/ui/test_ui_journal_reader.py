"""The UI's journal reader: cheap listings, incremental replay, torn lines, bounded memory."""

from __future__ import annotations

from pathlib import Path

import autolog
from autolog._journal import encode
from autolog._store import LocalStore
from autolog.ui.journal_reader import JournalReader


def reader_of(store: Path) -> JournalReader:
    return JournalReader(LocalStore(store), "local")


def log_loss(run: autolog.Run, steps: range) -> None:
    for step in steps:
        run.log_metric("loss", 1.0 / (step + 1), step=step)


class TestJournalReader:
    def test_experiments_page_reads_only_the_ends_of_journals(self, store: Path):
        """Listing experiments is answered by the index; no chart array is read."""
        with autolog.start_run(name="done", experiment="e1") as run:
            log_loss(run, range(50))
        running = autolog.start_run(name="going", experiment="e1")
        log_loss(running, range(3))
        reader = reader_of(store)
        [summary] = reader.experiments()
        assert (summary.name, summary.runs, summary.running) == ("e1", 2, 1)
        assert summary.last_activity > 0
        assert reader._charts == {}
        assert (store / ".autolog-index" / "index.sqlite3").is_file()

    def test_only_appended_bytes_are_read_again(self, store: Path):
        """A second read of a run continues from the last offset, into the same arrays."""
        run = autolog.start_run(name="growing", experiment="e2")
        log_loss(run, range(10))
        reader = reader_of(store)
        series, status = reader.metric(run.id, "loss")
        offset = reader._charts[run.id].offset
        assert (len(series), status) == (10, "RUNNING")
        log_loss(run, range(10, 15))
        again, _ = reader.metric(run.id, "loss")
        assert again is series and len(series) == 15
        assert reader._charts[run.id].offset > offset
        autolog.end_run()
        assert reader.run(run.id).record.status == "FINISHED"

    def test_a_torn_last_line_is_read_once_complete(self, store: Path):
        """Half a record at the end of a journal is left for later, then read whole."""
        run = autolog.start_run(name="torn", experiment="e3")
        log_loss(run, range(2))
        reader = reader_of(store)
        assert len(reader.metric(run.id, "loss")[0]) == 2
        line = encode(["m", "loss", 0.25, 2, 1_000])
        journal = store / run.id / "journal.jsonl"
        with open(journal, "ab") as f:
            f.write(line[:10])
        assert len(reader.metric(run.id, "loss")[0]) == 2
        with open(journal, "ab") as f:
            f.write(line[10:])
        assert reader.metric(run.id, "loss")[0].view()["value"][-1] == 0.25

    def test_arrays_dropped_over_budget_are_rebuilt_on_demand(self, store: Path):
        """Past the point budget older arrays are dropped, and come back when asked for."""
        ids = []
        for name in ("a", "b"):
            with autolog.start_run(name=name, experiment="e4") as run:
                log_loss(run, range(20))
            ids.append(run.id)
        reader = reader_of(store)
        reader._budget.limit = 30
        reader.metric(ids[0], "loss")
        reader.metric(ids[1], "loss")
        assert ids[0] not in reader._charts
        series, _ = reader.metric(ids[0], "loss")
        assert series.view()["step"] == list(range(20))
