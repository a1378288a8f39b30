"""The training process killed with SIGKILL at random points: the store reads back whole.

The training script reports on stdout, after each autolog call returned, what
that call wrote. Those are the completed writes: every one of them must be in
the store after a ``kill -9`` at a random moment, with nothing missing before
the last of them, only a torn last line at worst, and artifacts matching
their sha256. The killed stores are then synced to a healthy server, once.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import time
import warnings
from pathlib import Path

import pytest

from autolog._store import LocalStore, sha256_file
from tests.support import harness

pytestmark = pytest.mark.slow

TRIALS = 20
SEED = int(os.environ.get("AUTOLOG_RELIABILITY_SEED", time.time_ns() % 100_000))

# A sweep: a parent run, children of 100 steps each with tags and artifacts,
# one metric of the parent per child. Each line on stdout follows a call that returned.
TRAINING = """
import os, sys, time
import autolog

def done(text):
    os.write(1, (text + "\\n").encode())

autolog.autolog(backend=sys.argv[1])
with autolog.start_run(name="sweep") as parent:
    done(f"run {parent.id}")
    parent.log_params({"lr": 0.1, "layers": 3})
    done(f"params {parent.id}")
    for trial in range(1_000_000):
        with autolog.start_run(name=f"trial-{trial}") as child:
            done(f"run {child.id}")
            for step in range(100):
                child.log_metrics({"loss": 1.0 / (step + 1), "acc": step / 100}, step=step)
                done(f"m {child.id} {step}")
                if step % 25 == 0:
                    child.set_tags({"phase": str(step)})
                    done(f"tag {child.id} {step}")
                if step % 50 == 0:
                    child.log_text("notes " * 50 + str(step), f"notes/{step}.txt")
                    done(f"artifact {child.id} notes/{step}.txt")
                time.sleep(0.001)
        done(f"end {child.id}")
        parent.log_metric("trials", float(trial), step=trial)
        done(f"pm {parent.id} {trial}")
"""


def confirmed_points(lines: list[str], runs: dict) -> list:
    """The metric points the reported calls wrote, with the timestamps the journal gave them."""
    stamps = {(p[0], p[1], p[2]): p for run in runs.values() for p in run.points}
    expected = []
    for line in lines:
        kind, *rest = line.split()
        if kind == "m":
            run_id, step = rest[0], int(rest[1])
            keys = ("loss", "acc")
        elif kind == "pm":
            run_id, step = rest[0], int(rest[1])
            keys = ("trials",)
        else:
            continue
        for key in keys:
            # A confirmed point the journal does not have is lost; its timestamp is unknown.
            expected.append(
                stamps.get((run_id, key, step), harness.point(run_id, key, step, -1, -1.0))
            )
    return expected


class TestKilledTraining:
    def test_random_sigkills_lose_no_completed_write(
        self, tmp_path: Path, summary, shared_server, api
    ) -> None:
        """20 kill -9 at random moments: every confirmed write reads back, none before is lost."""
        rng = random.Random(SEED)
        script = harness.write_script(tmp_path, "train.py", TRAINING)
        store = tmp_path / "runs"
        sent, found, lost, duplicated, torn = 0, 0, 0, 0, 0
        for trial in range(TRIALS):
            process = harness.start_python(
                script, str(store), cwd=tmp_path, environ=harness.env(), stderr=subprocess.DEVNULL
            )
            try:
                first = process.stdout.readline()
                assert first.startswith("run "), first
                time.sleep(rng.uniform(0.0, 0.6))
                process.send_signal(signal.SIGKILL)
                rest, _ = process.communicate(timeout=30)
            finally:
                if process.poll() is None:
                    process.kill()
                    process.wait()
            assert process.returncode == -signal.SIGKILL
            output = first + rest
            lines = output.splitlines()[:-1] if not output.endswith("\n") else output.splitlines()
            reported = {line.split()[1] for line in lines}
            runs = {
                run_id: run
                for run_id, run in harness.read_store(store).items()
                if run_id in reported
            }
            expected = confirmed_points(lines, runs)
            counts = harness.count(expected, harness.store_points(runs.values()))
            sent, found, lost = sent + counts.sent, found + counts.found, lost + counts.lost
            duplicated += counts.duplicated
            torn += sum(run.torn_tail for run in runs.values())
            context = f"trial {trial}, seed {SEED}, last report {lines[-1]!r}"
            assert counts.lost == 0 and counts.duplicated == 0, (context, counts.missing)
            self._check_other_writes(lines, runs, store, context)
        summary.add(
            "training killed with SIGKILL at random points (local store)",
            trials=TRIALS,
            sent=sent,
            found=found,
            lost=lost,
            duplicated=duplicated,
            note=f"{torn} torn last line(s) skipped; seed {SEED}",
        )
        self._check_readable(store)
        self._check_sync(store, tmp_path, shared_server, api, summary)

    def _check_other_writes(self, lines: list[str], runs: dict, store: Path, context: str):
        """Runs, params, tags, artifacts and ends that were confirmed are there; no gaps."""
        for line in lines:
            kind, run_id, *rest = line.split()
            run = runs.get(run_id)
            assert run is not None and run.header.get("id") == run_id, (context, line)
            if kind == "params":
                assert run.params == {"lr": "0.1", "layers": "3"}, (context, line)
            elif kind == "tag":
                assert ["tags", {"phase": rest[0]}] in run.records, (context, line)
            elif kind == "artifact":
                [record] = [
                    r[1] for r in run.records if r[0] == "artifact" and r[1]["path"] == rest[0]
                ]
                stored = store / run_id / "artifacts" / rest[0]
                assert sha256_file(stored) == record["sha256"], (context, line)
            elif kind == "end":
                assert run.status == "FINISHED", (context, line)
        for run_id, run in runs.items():
            assert run.damaged == 0, (context, run_id)  # only the last line may be torn
            for key in ("loss", "acc", "trials"):
                steps = [p[2] for p in run.points if p[1] == key]
                assert steps == list(range(len(steps))), (context, run_id, key)

    def _check_readable(self, store: Path) -> None:
        """The public readers see every run of the killed store, ended or still RUNNING."""
        # A kill between creating a journal and writing its first record leaves an empty
        # journal: a run that never started, which readers rightly skip.
        started = {run_id for run_id, run in harness.read_store(store).items() if run.header}
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # "its last record is incomplete", by design
            runs = LocalStore(store).search_runs()
            assert {run.id for run in runs} == started
            statuses = {run.status for run in runs}
        assert statuses <= {"RUNNING", "FINISHED"} and "RUNNING" in statuses

    def _check_sync(self, store: Path, folder: Path, server, api, summary) -> None:
        """autolog sync sends each complete record of the killed store to a server, once."""
        sync = harness.autolog_cli(
            "sync", "--dir", str(store), "--backend", server.url, "--quiet", cwd=folder
        )
        assert sync.returncode == 0, sync.stderr
        runs = {run_id: run for run_id, run in harness.read_store(store).items() if run.header}
        read = harness.read_server(api, runs)
        counts = harness.count(harness.store_points(runs.values()), read.points, read.extra_copies)
        summary.add("the killed stores, then autolog sync to a server", **counts.row())
        assert counts.lost == 0 and counts.duplicated == 0, counts.missing
        for run_id, run in runs.items():
            assert read.runs[run_id]["info"]["status"] == run.status
