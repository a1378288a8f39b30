"""The derived index: answers equal a replay of every journal, after any damage, under load."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

import autolog
from autolog import _index
from autolog._filter import parse_filter, sort_runs
from autolog._store import LocalStore

FILTERS = [
    None,
    "metrics.loss < 0.5",
    "metrics.loss != 0.25",
    "metrics.acc >= 0.5 and params.model = 'ridge'",
    "params.model IN ('ridge', 'tree')",
    "params.model NOT IN ('ridge')",
    "params.model LIKE 'r%'",
    "tags.team = 'vision'",
    "tags.mlflow.runName = 'run-3'",
    "attributes.status = 'FINISHED'",
    "attributes.start_time > 0",
    "name ILIKE 'RUN-1%'",
]
ORDERS = [None, ["metrics.loss ASC"], ["metrics.acc DESC"], ["params.model"], ["name DESC"]]


def make_runs(count: int = 12) -> list[str]:
    """Runs with params, tags, a NaN metric now and then, a parent and children."""
    ids = []
    with autolog.start_run(name="parent", experiment="sweep") as parent:
        ids.append(parent.id)
        for i in range(count):
            with autolog.start_run(name=f"run-{i}") as run:
                run.log_params({"model": ("ridge", "tree", "lasso")[i % 3], "i": str(i)})
                if i % 4 == 0:
                    run.set_tag("team", "vision")
                for step in range(3):
                    loss = float("nan") if i == 5 and step == 2 else 1.0 / (i + step + 1)
                    run.log_metrics({"loss": loss, "acc": (i % 5) / 4}, step=step)
            ids.append(run.id)
    with autolog.start_run(name="other", experiment="e2") as other:
        other.log_metric("loss", 0.25)
    ids.append(other.id)
    return ids


def truth(store: Path, filter_text: str | None, order_by: list[str] | None) -> list[str]:
    """What replaying every journal answers, without the index."""
    reader = LocalStore(store).journal_reader
    runs = [reader.replay(run_id).run for run_id in LocalStore(store).run_ids()]
    matching = [run for run in runs if parse_filter(filter_text).matches(run)]
    return [run.id for run in sort_runs(matching, order_by)]


def answers(store: Path) -> list:
    """Every filter and order through a fresh reader of the store (so through its index file)."""
    reader = LocalStore(store)
    found = []
    for filter_text in FILTERS:
        for order in ORDERS:
            found.append([r.id for r in reader.search_runs(None, filter_text, order)])
    details = [reader.get_run(run_id) for run_id in sorted(reader.run_ids())]
    found.append(
        [(r.id, r.params, repr(r.metrics), r.tags, r.status, r.artifacts) for r in details]
    )
    return found


def edited_by_hand(store: Path) -> autolog.RunRecord:
    """A 'tree' run of :func:`make_runs` whose journal's params are rewritten in place."""
    from autolog._journal import encode

    run = next(r for r in autolog.search_runs("sweep") if r.params.get("model") == "tree")
    journal = store / run.id / "journal.jsonl"
    lines = [ln for ln in journal.read_bytes().splitlines(keepends=True) if b'"params"' not in ln]
    journal.write_bytes(lines[0] + encode(["params", {"model": "edited"}]) + b"".join(lines[1:]))
    return run


def reads_of_slices(
    store: Path, edited: autolog.RunRecord, monkeypatch: pytest.MonkeyPatch, reads: int = 0
) -> list[int]:
    """The journals each search stats, read after read, until every run was checked once
    (or for ``reads`` reads); asserts that ``edited`` is found from its slice's read on,
    and not before."""
    an_hour_ago = time.time() - 3600  # a store folder's fresh mtime makes every read sweep
    os.utime(store, (an_hour_ago, an_hour_ago))
    total = len(autolog.search_runs())  # the one sweep that the changed mtime asks for
    stats: list[str] = []
    signature = LocalStore.signature

    def counted(self: LocalStore, run_id: str) -> object:
        stats.append(run_id)
        return signature(self, run_id)

    monkeypatch.setattr(LocalStore, "signature", counted)
    per_read, found, checked = [], [], set()
    while len(per_read) < reads if reads else len(checked) < total:
        stats.clear()
        found.append([r.id for r in autolog.search_runs(filter="params.model = 'edited'")])
        per_read.append(len(stats))
        checked.update(stats)
        assert len(per_read) < 20, "the slices do not go round the store"
    noticed = found.index([edited.id]) if [edited.id] in found else len(found)
    assert found[:noticed] == [[]] * noticed
    assert found[noticed:] == [[edited.id]] * (len(found) - noticed)
    return per_read


class TestAnswers:
    def test_index_agrees_with_a_replay_of_every_journal(self, store: Path) -> None:
        """Each filter (SQL and Python parts) and each order gives the replay's answer."""
        make_runs()
        reader = LocalStore(store)
        for filter_text in FILTERS:
            for order in ORDERS:
                got = [r.id for r in reader.search_runs(None, filter_text, order)]
                assert got == truth(store, filter_text, order), (filter_text, order)

    def test_pages_cover_every_run_once(self, store: Path) -> None:
        make_runs()
        everything = [r.id for r in autolog.search_runs(order_by=["metrics.loss ASC"])]
        seen, token = [], None
        while True:
            page = autolog.search_runs(
                order_by=["metrics.loss ASC"], max_results=4, page_token=token
            )
            seen += [r.id for r in page]
            token = page.next_page_token
            if token is None:
                break
        assert seen == everything and len(seen) == 14
        with pytest.raises(ValueError, match="page_token"):
            autolog.search_runs(page_token="nonsense")

    @pytest.mark.parametrize("walk_seconds", [0.0, 60.0])
    def test_pages_walked_or_planned_give_the_replay_s_answer(
        self, store: Path, monkeypatch, walk_seconds: float
    ) -> None:
        """A filtered page, walked in its order (newest first, or a metric's values) or
        (budget spent) planned: the same pages."""
        from autolog import _index_query

        monkeypatch.setattr(_index_query, "WALK_SECONDS", walk_seconds)
        monkeypatch.setattr(_index_query, "WALK_CHECK_EVERY", 1)
        walked = _index_query._walked
        outcomes: list[bool] = []
        by_metric: list[str] = []

        def watched(conn, text, args):
            found = walked(conn, text, args)
            outcomes.append(found is not None)
            if "INDEXED BY metrics_by_key" in text:
                by_metric.append(text)
            return found

        monkeypatch.setattr(_index_query, "_walked", watched)
        make_runs()
        reader = LocalStore(store)
        for filter_text in FILTERS:
            for order in (None, ["metrics.loss ASC"], ["metrics.acc DESC", "params.model"]):
                seen, token = [], None
                while True:
                    page = reader.journal_reader.search(None, filter_text, order, 3, token)
                    seen += [r.id for r in page.runs]
                    token = page.next_page_token
                    if token is None:
                        break
                assert seen == truth(store, filter_text, order), (filter_text, order)
        assert set(outcomes) == {walk_seconds > 0}  # every page walked, or every walk cut short
        assert by_metric  # the metric orders' pages were walked (or tried) too

    def test_cli_pages(self, store: Path) -> None:
        make_runs()
        env = {**os.environ, "AUTOLOG_DIR": str(store)}
        command = [sys.executable, "-m", "autolog", "runs", "ls", "-n", "5"]
        first = subprocess.run(command, env=env, capture_output=True, text=True, timeout=60)
        assert first.returncode == 0, first.stderr
        token = first.stdout.split("--page-token ")[1].split(",")[0]
        second = subprocess.run(
            [*command, "--page-token", token], env=env, capture_output=True, text=True, timeout=60
        )
        assert second.returncode == 0 and "run-" in second.stdout
        assert set(first.stdout.splitlines()[1:-1]).isdisjoint(second.stdout.splitlines()[1:])

    def test_a_run_appended_to_while_listed(self, store: Path) -> None:
        """A running run's new points and its end are seen by the next listing."""
        run = autolog.start_run(name="live", experiment="live")
        run.log_metric("loss", 1.0, step=0)
        assert autolog.search_runs("live")[0].metrics == {"loss": 1.0}
        run.log_metric("loss", 0.5, step=1)
        run.log_param("late", "yes")
        [listed] = autolog.search_runs("live", filter="metrics.loss < 0.8")
        assert listed.params == {"late": "yes"} and listed.status == "RUNNING"
        autolog.end_run()
        assert autolog.search_runs("live")[0].status == "FINISHED"

    def test_a_search_reads_one_snapshot_while_another_process_rewrites_runs(
        self, store: Path
    ) -> None:
        """The queries of one search all see the index as it was when the first ran, though
        another process commits a catch-up between them: a reader once found metric rows of a
        run its runs query had not seen, and failed with a KeyError (16 writers, 2 readers)."""
        make_runs(3)
        index = LocalStore(store).journal_reader.index
        assert index.path is not None

        def work(conn: sqlite3.Connection) -> tuple[int, int, list[str]]:
            before = conn.execute("SELECT COUNT(*) FROM metrics").fetchone()[0]
            other = sqlite3.connect(index.path, isolation_level=None)
            other.execute("DELETE FROM runs")
            other.execute("DELETE FROM metrics")
            other.close()
            after = conn.execute("SELECT COUNT(*) FROM metrics").fetchone()[0]
            ids = [row[0] for row in conn.execute("SELECT run_id FROM runs")]
            return before, after, ids

        before, after, ids = index.use(work)
        assert before > 0 and after == before and len(ids) == 5


APPENDER = textwrap.dedent(
    """
    import sys, time, autolog
    autolog.autolog(backend=sys.argv[1])
    with autolog.start_run(name="live", experiment="live") as run:
        print(run.id, flush=True)
        for step in range(int(sys.argv[2])):
            run.log_metric("loss", 1.0 / (step + 1), step=step)
            run.log_param(f"p{step}", str(step))
            time.sleep(0.002)
    """
)


def test_a_run_appended_to_by_another_process_while_it_is_listed(store: Path) -> None:
    """Listings taken while another process appends: each is a prefix of the run, none goes back.

    The writer's journal is read while lines are half written; a listing must
    never show a point without the ones before it, nor fewer params than the
    last listing, and once the run ends the index equals a fresh rebuild.
    """
    store.mkdir(parents=True, exist_ok=True)
    steps = 400
    writer = subprocess.Popen(
        [sys.executable, "-c", APPENDER, str(store), str(steps)], stdout=subprocess.PIPE, text=True
    )
    assert writer.stdout is not None
    run_id = writer.stdout.readline().strip()
    listings, last_params = 0, -1
    while writer.poll() is None or listings == 0:
        found = LocalStore(store).search_runs("live", "metrics.loss > 0")
        if not found:
            continue
        [run] = found
        params = len(run.params)
        # loss = 1 / (step + 1): the latest point names the step, and a param follows each point.
        step = round(1 / run.metrics["loss"]) - 1
        assert params in (step, step + 1), (params, step)
        assert params >= last_params
        last_params, listings = params, listings + 1
    assert writer.wait(60) == 0
    assert listings > 3
    final = autolog.get_run(run_id)
    assert final.status == "FINISHED" and len(final.params) == steps
    assert len(autolog.get_metric_history(run_id, "loss")) == steps
    listed = answers(store)
    shutil.rmtree(store / ".autolog-index")
    assert answers(store) == listed


class TestRepair:
    @pytest.fixture
    def built(self, store: Path) -> tuple[Path, list]:
        make_runs()
        reference = answers(store)
        assert (store / ".autolog-index" / "index.sqlite3").is_file()
        return store, reference

    def index_file(self, store: Path) -> Path:
        return store / ".autolog-index" / "index.sqlite3"

    def test_deleted(self, built) -> None:
        store, reference = built
        shutil.rmtree(store / ".autolog-index")
        assert answers(store) == reference

    @pytest.mark.parametrize(
        "damage",
        [
            "torn",
            "garbage",
            "empty",  # another reader still holds the old file: no 60 s wait for it
            "not sqlite",
        ],
    )
    def test_torn_or_corrupt(self, built, damage: str) -> None:
        store, reference = built
        path = self.index_file(store)
        for suffix in ("-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        data = path.read_bytes()
        if damage == "torn":
            path.write_bytes(data[: len(data) // 2])
        elif damage == "garbage":
            path.write_bytes(data[:4096] + os.urandom(len(data) - 4096))
        elif damage == "empty":
            path.write_bytes(b"")
        else:
            path.write_bytes(b"this is not a database" * 100)
        assert answers(store) == reference

    def test_written_by_another_version(self, built) -> None:
        store, reference = built
        with sqlite3.connect(self.index_file(store)) as conn:
            conn.execute("UPDATE meta SET value = '999' WHERE key = 'format'")
            conn.execute("UPDATE params SET value = 'wrong'")
        assert answers(store) == reference

    def test_journal_rewritten_by_hand(self, built, monkeypatch) -> None:
        """An ended run's journal edited in place is read again at the next sweep."""
        store, _reference = built
        monkeypatch.setattr(_index, "SWEEP_INTERVAL", 0.0)
        run = edited_by_hand(store)
        assert autolog.get_run(run.id).params == {"model": "edited"}
        fresh = answers(store)
        shutil.rmtree(store / ".autolog-index")
        assert answers(store) == fresh
        assert [r.id for r in autolog.search_runs(filter="params.model = 'edited'")] == [run.id]

    def test_ended_runs_are_checked_a_slice_per_read(
        self, built, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """Once a check is due, each read stats a slice of the ended runs (never all at once),
        and a journal edited by hand is read again when its slice comes round."""
        store, _reference = built
        monkeypatch.setattr(_index, "SWEEP_INTERVAL", 0.0)
        monkeypatch.setattr(_index, "SLICE_GAP_S", 0.0)
        monkeypatch.setattr(_index, "SWEEP_SLICE", 4)
        run = edited_by_hand(store)
        assert reads_of_slices(store, run, monkeypatch) == [4, 4, 4, 2]  # 14 runs

    def test_a_process_reading_often_checks_a_slice_once_a_second(
        self, built, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """A UI or a notebook reading many times a second pays for a slice once a second."""
        store, _reference = built
        monkeypatch.setattr(_index, "SWEEP_INTERVAL", 0.0)
        monkeypatch.setattr(_index, "SWEEP_SLICE", 4)
        run = edited_by_hand(store)
        monkeypatch.setattr(_index, "SLICE_GAP_S", 3600.0)
        assert reads_of_slices(store, run, monkeypatch, reads=3) == [4, 0, 0]

    def test_a_slow_disk_shortens_the_slice_not_the_check(
        self, built, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """Past its first few stats a slice stops when its time is spent (stats cost more on a
        busy disk), and the next read goes on from there: every run is still checked."""
        store, _reference = built
        monkeypatch.setattr(_index, "SWEEP_INTERVAL", 0.0)
        monkeypatch.setattr(_index, "SLICE_GAP_S", 0.0)
        monkeypatch.setattr(_index, "SWEEP_BUDGET_S", 0.0)
        monkeypatch.setattr(_index, "SWEEP_LEAST", 3)
        run = edited_by_hand(store)
        assert reads_of_slices(store, run, monkeypatch) == [3, 3, 3, 3, 2]

    def test_run_folder_copied_in(self, built, tmp_path: Path) -> None:
        store, reference = built
        elsewhere = tmp_path / "elsewhere"
        autolog.autolog(backend=str(elsewhere))
        with autolog.start_run(name="copied", experiment="sweep") as run:
            run.log_metric("loss", 0.01)
        autolog.autolog(backend=str(store))
        shutil.copytree(elsewhere / run.id, store / run.id, copy_function=shutil.copy2)
        assert autolog.search_runs(filter="metrics.loss < 0.02")[0].id == run.id
        fresh = answers(store)
        shutil.rmtree(store / ".autolog-index")
        assert answers(store) == fresh
        assert len(fresh[0]) == len(reference[0]) + 1

    def test_read_only_store_keeps_the_index_in_memory(self, built) -> None:
        store, reference = built
        shutil.rmtree(store / ".autolog-index")
        (store / ".autolog-index").write_text("a file where the folder would be")
        assert answers(store) == reference


WRITER = textwrap.dedent(
    """
    import sys, autolog
    autolog.autolog(backend=sys.argv[1])
    for i in range(int(sys.argv[2])):
        with autolog.start_run(name=f"w{sys.argv[3]}-{i}", experiment="load") as run:
            run.log_params({"writer": sys.argv[3]})
            for step in range(5):
                run.log_metric("loss", 1.0 / (step + 1), step=step)
    """
)
READER = textwrap.dedent(
    """
    import json, sys, time, autolog
    autolog.autolog(backend=sys.argv[1])
    stop, rounds, seen = sys.argv[2], 0, 0
    import os
    while not os.path.exists(stop) or rounds < 3:
        runs = autolog.search_runs("load", filter="params.writer != 'x'")
        assert all(r.name.startswith("w") for r in runs)
        assert len(runs) >= seen, (len(runs), seen)
        seen = len(runs)
        for run in runs[:3]:
            autolog.get_run(run.id)
        rounds += 1
    print(json.dumps({"rounds": rounds, "seen": seen}))
    """
)


@pytest.mark.slow  # 16 writer processes
class TestConcurrency:
    def test_sixteen_writers_and_two_readers(self, store: Path, tmp_path: Path) -> None:
        """Readers sharing one index while 16 processes write: no error, and in the end exact."""
        store.mkdir(parents=True, exist_ok=True)
        stop = tmp_path / "stop"
        readers = [
            subprocess.Popen(
                [sys.executable, "-c", READER, str(store), str(stop)],
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for _ in range(2)
        ]
        writers = [
            subprocess.Popen([sys.executable, "-c", WRITER, str(store), "15", str(n)])
            for n in range(16)
        ]
        assert all(w.wait(300) == 0 for w in writers)
        stop.write_text("")
        for reader in readers:
            out, err = reader.communicate(timeout=300)
            assert reader.returncode == 0, err
            assert json.loads(out)["rounds"] >= 3
        final = {r.id for r in LocalStore(store).search_runs("load")}
        assert len(final) == 16 * 15
        assert [r.id for r in LocalStore(store).search_runs("load")] == truth(store, None, None)


def test_autolog_leaves_the_store_root_s_mtime_alone(store: Path) -> None:
    """autolog()'s write check probes inside the index's folder, not in the root.

    The root's mtime tells the index that runs were added; one changed by every
    ``autolog()`` made each read in the next two seconds stat every journal.
    """
    from autolog._config_checks import PROBE_FOLDER
    from autolog._store import INDEX_FOLDER

    assert PROBE_FOLDER == INDEX_FOLDER
    with autolog.start_run():
        pass
    assert not (store / INDEX_FOLDER).exists()  # autolog() adds no folder to a fresh store
    assert len(autolog.search_runs()) == 1  # the first read makes the index
    old = os.stat(store).st_mtime_ns - 60 * 10**9
    os.utime(store, ns=(old, old))
    autolog.autolog(backend=str(store))
    assert os.stat(store).st_mtime_ns == old
    assert LocalStore(store).store_signature() is not None  # an mtime the index can trust
    assert [p.name for p in (store / INDEX_FOLDER).iterdir() if "write-check" in p.name] == []


def test_another_folder_is_paged_in_its_own_index(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``search_runs(backend=<a folder other than the store>, max_results=5)`` reads 5 runs.

    Such a folder is a replica, read behind the local journal's fallback; its page
    still comes from its index, not from every run read back and sorted in Python.
    """
    from autolog._records import RunRecord

    replica = tmp_path / "replica"
    autolog.autolog(backend=str(replica))
    for i in range(40):
        with autolog.start_run(name=f"r{i}") as run:
            run.log_metric("loss", 1 / (i + 1))
    autolog.autolog(backend=str(tmp_path / "own"))  # the replica is now another folder
    autolog.search_runs(backend=str(replica), max_results=1)  # builds the replica's index
    built: list[str] = []
    init = RunRecord.__init__

    def counting(self: RunRecord, *args: object, **kwargs: object) -> None:
        init(self, *args, **kwargs)
        built.append(self.id)

    monkeypatch.setattr(RunRecord, "__init__", counting)
    page = autolog.search_runs(backend=str(replica), max_results=5, order_by=["metrics.loss"])
    assert [r.name for r in page] == ["r39", "r38", "r37", "r36", "r35"]
    assert page.next_page_token is not None
    assert len(built) == 5
