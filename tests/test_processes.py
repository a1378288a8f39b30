"""Real processes: killed mid-write, many writing at once, broken backends at exit."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

import autolog
from autolog._journal import read_journal
from tests.support.processes import run_autolog_cli

#: Every test here drives real processes (killed, parallel, at exit): slow for make check.
pytestmark = pytest.mark.slow


def run_script(
    code: str,
    cwd: Path,
    env: dict[str, str] | None = None,
    timeout: float = 60,
    args: tuple[str, ...] = (),
) -> subprocess.CompletedProcess:
    """Run ``code`` in a fresh interpreter in ``cwd``; return the CompletedProcess."""
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code), *args],
        cwd=cwd,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=timeout,
    )


LOGGER = """
    import sys, autolog
    autolog.autolog(backend=sys.argv[1])
    with autolog.start_run(name="victim") as run:
        print(run.id, flush=True)
        for step in range(10_000_000):
            run.log_metric("loss", 1.0 / (step + 1), step=step)
            if step == 1000:
                print("logging", flush=True)
"""


class TestKilled:
    @pytest.mark.parametrize("delay", [0.05, 0.2, 0.5])
    def test_sigkill_mid_logging_leaves_a_readable_store(self, tmp_path: Path, delay: float):
        """kill -9 while logging: every record before the last whole write reads back."""
        store = tmp_path / "runs"
        proc = subprocess.Popen(
            [sys.executable, "-c", textwrap.dedent(LOGGER), str(store)],
            cwd=tmp_path,
            stdout=subprocess.PIPE,
            text=True,
        )
        run_id = proc.stdout.readline().strip()
        assert proc.stdout.readline().strip() == "logging"
        time.sleep(delay)
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
        proc.stdout.close()
        read = read_journal(store / run_id / "journal.jsonl", warn=False)
        steps = [r[3] for r in read.records if r[0] == "m"]
        assert len(steps) > 1000
        assert steps == list(range(len(steps)))  # nothing before the last write is missing
        autolog.autolog(backend=str(store))
        run = autolog.get_run(run_id)
        assert run.status == "RUNNING" and run.metrics["loss"] == 1.0 / len(steps)


WORKER = """
    import sys, autolog
    autolog.autolog(backend=sys.argv[1], experiment="parallel")
    worker = int(sys.argv[2])
    with autolog.start_run(name=f"worker-{worker}") as run:
        run.log_params({"worker": worker})
        for step in range(5000):
            run.log_metrics({"loss": step * 0.001, "worker": worker}, step=step)
"""


class TestParallel:
    def test_eight_processes_into_one_store_all_read_back(self, tmp_path: Path) -> None:
        """8 processes logging at once into one store: 8 whole runs, no record lost."""
        store = tmp_path / "runs"
        procs = [
            subprocess.Popen(
                [sys.executable, "-c", textwrap.dedent(WORKER), str(store), str(i)], cwd=tmp_path
            )
            for i in range(8)
        ]
        assert [p.wait(120) for p in procs] == [0] * 8
        autolog.autolog(backend=str(store))
        runs = autolog.search_runs(experiment="parallel")
        assert sorted(r.params["worker"] for r in runs) == [str(i) for i in range(8)]
        for run in runs:
            assert run.status == "FINISHED"
            history = autolog.get_metric_history(run.id, "loss")
            assert [p.step for p in history] == list(range(5000))
            assert run.metrics["worker"] == float(run.params["worker"])


TRAINING = """
    import sys
    if sys.argv[1] != "none":
        import autolog
        autolog.autolog(backend=["./runs", sys.argv[1]], exit_timeout=float(sys.argv[2]))
        with autolog.start_run(name="t") as run:
            for step in range(200):
                run.log_metric("loss", 1.0 / (step + 1), step=step)
    total = sum(i * i for i in range(1000))
    print("result", total)
    sys.exit(3)
"""


class TestBrokenBackends:
    @pytest.mark.parametrize("backend", ["faulty://raise", "faulty://hang"])
    def test_script_result_and_exit_code_unchanged(self, tmp_path: Path, backend: str) -> None:
        """A backend that raises or hangs: same output and exit code as without autolog."""
        plain = run_script(TRAINING, tmp_path, args=("none", "0"))
        started = time.monotonic()
        broken = run_script(TRAINING, tmp_path, env={"AUTOLOG_TESTING": "0"}, args=(backend, "1.5"))
        assert time.monotonic() - started < 20
        assert (
            (broken.returncode, broken.stdout)
            == (plain.returncode, plain.stdout)
            == (3, f"result {sum(i * i for i in range(1000))}\n")
        )
        assert "not yet sent to faulty://" in broken.stderr
        assert "autolog sync" in broken.stderr

    def test_sync_after_a_raising_backend_delivers_everything_once(self, tmp_path: Path) -> None:
        """Records a raising backend refused reach a healthy one with autolog sync, once."""
        run_script(TRAINING, tmp_path, env={"AUTOLOG_TESTING": "0"}, args=("faulty://raise", "0.5"))
        replica = tmp_path / "replica"
        for _ in range(2):  # a second sync has nothing left to send
            done = run_autolog_cli(
                "sync", "--dir", "runs", "--backend", str(replica), cwd=tmp_path, timeout=60
            )
            assert done.returncode == 0, done.stderr
        assert "0 record(s) of 0 run(s)" in done.stderr
        [run] = autolog.search_runs(backend=str(replica))
        history = autolog.get_metric_history(run.id, "loss", backend=str(replica))
        assert [p.step for p in history] == list(range(200))
        assert run.status == "FINISHED"

    def test_slow_backend_receives_every_record_exactly_once(self, tmp_path: Path) -> None:
        """A slow backend gets all records, none twice, while training is not held up."""
        target = tmp_path / "target"
        code = f"""
            import time, autolog
            autolog.autolog(backend=["./runs", "faulty://slow?delay=0.05&target={target}"])
            start = time.perf_counter()
            with autolog.start_run(name="s") as run:
                for step in range(3000):
                    run.log_metric("loss", float(step), step=step)
            print(time.perf_counter() - start)
            assert autolog.flush(timeout=30)
        """
        done = run_script(code, tmp_path)
        assert done.returncode == 0, done.stderr
        assert float(done.stdout) < 1.0  # training never waited for the 50 ms batches
        [run] = autolog.search_runs(backend=str(target))
        steps = [p.step for p in autolog.get_metric_history(run.id, "loss", backend=str(target))]
        assert steps == list(range(3000))
        offsets = list((tmp_path / "runs" / run.id / "shipped").glob("*.json"))
        [offset] = [json.loads(p.read_text())["offset"] for p in offsets]
        assert offset == (tmp_path / "runs" / run.id / "journal.jsonl").stat().st_size

    def test_flaky_backend_loses_and_duplicates_nothing(self, tmp_path: Path) -> None:
        """A backend failing every third batch still ends with every record once."""
        target = tmp_path / "target"
        code = f"""
            import autolog
            autolog.autolog(backend=["./runs", "faulty://flaky?every=3&target={target}"])
            for i in range(5):
                with autolog.start_run(name=f"f{{i}}") as run:
                    for step in range(2500):
                        run.log_metric("loss", float(step), step=step)
            assert autolog.flush(timeout=60)
        """
        done = run_script(code, tmp_path, env={"AUTOLOG_TESTING": "0"})
        assert done.returncode == 0, done.stderr
        runs = autolog.search_runs(backend=str(target))
        assert len(runs) == 5
        for run in runs:
            history = autolog.get_metric_history(run.id, "loss", backend=str(target))
            assert [p.step for p in history] == list(range(2500))


class TestExit:
    @pytest.mark.parametrize(
        "ending, status",
        [
            ("pass", "FINISHED"),
            ("raise ValueError('x')", "FAILED"),
            ("raise KeyboardInterrupt", "KILLED"),
        ],
    )
    def test_runs_left_open_are_ended_at_exit(self, tmp_path: Path, ending: str, status: str):
        """A run never ended is closed at exit: FINISHED, or FAILED/KILLED after an exception."""
        code = f"""
            import autolog
            run = autolog.start_run(name="open")
            print(run.id, flush=True)
            {ending}
        """
        done = run_script(code, tmp_path)
        run_id = done.stdout.split()[0]
        autolog.autolog(backend=str(tmp_path / "autolog-runs"))
        assert autolog.get_run(run_id).status == status


class TestRefusals:
    def test_a_refused_run_is_set_aside_and_the_others_go_on(self, tmp_path: Path) -> None:
        """A backend refusing one run for good: the others arrive, the exit says what is left."""
        target = tmp_path / "target"
        code = f"""
            import autolog
            autolog.autolog(backend=["./runs", "faulty://reject?name=bad&target={target}"],
                            exit_timeout=5)
            for name in ("good", "bad", "fine"):
                with autolog.start_run(name=name) as run:
                    run.log_metric("loss", 1.0)
            print(autolog.flush(timeout=10))
        """
        done = run_script(code, tmp_path, env={"AUTOLOG_TESTING": "0"})
        assert done.returncode == 0, done.stderr
        assert done.stdout.strip() == "False"
        assert "refused records of run" in done.stderr and "1 run(s) refused" in done.stderr
        names = {run.name for run in autolog.search_runs(backend=str(target))}
        assert names == {"good", "fine"}

    def test_a_run_answered_500_again_and_again_does_not_block_the_others(
        self, tmp_path: Path
    ) -> None:
        """No head-of-line blocking: the poisoned run is set aside after bounded retries with
        the server's reason, every later run arrives, and a later sync goes past it too."""
        target = tmp_path / "target"
        uri = f"faulty://poison?name=bad&target={target}"
        code = f"""
            import autolog
            autolog.autolog(backend=["./runs", "{uri}"], exit_timeout=60)
            for name in ("bad", "one", "two", "three"):
                with autolog.start_run(name=name) as run:
                    for step in range(20):
                        run.log_metric("loss", float(step), step=step)
            print(autolog.flush(timeout=60))
        """
        done = run_script(code, tmp_path, env={"AUTOLOG_TESTING": "0"}, timeout=120)
        assert done.returncode == 0, done.stderr
        assert done.stdout.strip() == "False"
        assert "answers 500 to run 'bad'" in done.stderr and "set aside" in done.stderr
        arrived = {run.name: run for run in autolog.search_runs(backend=str(target))}
        assert set(arrived) == {"one", "two", "three"}
        for run in arrived.values():
            history = autolog.get_metric_history(run.id, "loss", backend=str(target))
            assert [p.step for p in history] == list(range(20))
        sync = run_autolog_cli("sync", "--dir", "runs", "--backend", uri, cwd=tmp_path, timeout=120)
        assert sync.returncode == 1
        assert "1 run(s) refused" in sync.stderr and "answers 500" in sync.stderr

    def test_a_backend_refusing_everything_is_left_alone(self, tmp_path: Path) -> None:
        """Bad credentials: one warning, no retry loop, the script ends promptly."""
        code = """
            import time, autolog
            autolog.autolog(backend=["./runs", "faulty://refuse"], exit_timeout=30)
            with autolog.start_run() as run:
                run.log_metric("loss", 1.0)
            start = time.monotonic()
            print(autolog.flush(timeout=30), time.monotonic() - start < 5)
        """
        done = run_script(code, tmp_path, env={"AUTOLOG_TESTING": "0"})
        assert done.returncode == 0, done.stderr
        assert done.stdout.split() == ["False", "True"]
        assert done.stderr.count("check the credentials") == 1

    def test_sync_reports_refused_runs_and_exits_1(self, tmp_path: Path) -> None:
        """autolog sync sends what it can, names the refused runs, and exits 1."""
        with autolog.start_run(name="bad"), autolog.start_run(name="good"):
            pass
        done = run_autolog_cli(
            "sync",
            "--backend",
            f"faulty://reject?name=bad&target={tmp_path / 'target'}",
            cwd=tmp_path,
            timeout=60,
        )
        assert done.returncode == 1
        assert "1 run(s) refused" in done.stderr and "1 run(s) sent" in done.stderr
        assert [r.name for r in autolog.search_runs(backend=str(tmp_path / "target"))] == ["good"]
