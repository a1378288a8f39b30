"""Records reach where they were headed, under one id: real training processes, real servers.

Training runs with its server down (or is SIGKILLed), then a bare ``autolog sync``
in a new shell, with no ``AUTOLOG_*`` variable, delivers every point exactly once
to the destination each run recorded; the server keeps the id training printed,
so MLflow's client reads the run by it; a run the server can never accept is set
aside and the others arrive.
"""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

import pytest

from tests.support.harness import autolog_cli, run_python, shell_env
from tests.support.network import free_port
from tests.support.processes import run_script
from tests.support.restapi import Api

TRAIN = """
import os, sys
import autolog

autolog.autolog(exit_timeout=30)
ids = []
for r in range(3):
    with autolog.start_run(name=f"r{r}") as run:
        run.log_params({"lr": 0.1 * (r + 1)})
        for step in range(200):
            run.log_metric("loss", 1.0 / (step + 1), step=step)
        ids.append(run.id)
print(" ".join(ids), flush=True)
if sys.argv[1:] == ["kill"]:
    with autolog.start_run(name="killed") as run:
        for step in range(150):
            run.log_metric("loss", float(step), step=step)
        print(run.id, flush=True)
        os.kill(os.getpid(), 9)
"""


def train(
    folder: Path, url: str, *args: str, code: str = TRAIN
) -> tuple[subprocess.CompletedProcess, float]:
    """Run ``code`` as train.py in a new shell with ``AUTOLOG_BACKEND=url``; how long it took."""
    script = folder / "train.py"
    script.write_text(code)
    started = time.monotonic()
    done = run_python(
        script, *args, cwd=folder, environ=shell_env(AUTOLOG_BACKEND=url, AUTOLOG_TESTING="0")
    )
    return done, time.monotonic() - started


def cli(folder: Path, *args: str) -> subprocess.CompletedProcess:
    """``autolog ARGS`` typed in a new shell in ``folder``."""
    return autolog_cli(*args, cwd=folder, environ=shell_env())


def bare_sync(folder: Path, *args: str) -> subprocess.CompletedProcess:
    return cli(folder, "sync", *args)


def assert_points_once(api: Api, run_id: str, steps: int) -> None:
    """The server holds the run under our id, with each step exactly once."""
    run = api.ok(api.get("runs/get", run_id=run_id))["run"]
    assert run["info"]["run_id"] == run_id
    history = api.history(run_id, "loss")
    assert sorted(p["step"] for p in history) == list(range(steps))


class TestBareSync:
    def test_server_down_then_bare_sync_delivers_every_point_once(
        self, tmp_path: Path, start_server
    ) -> None:
        """With the server down all along, training exits quickly; a bare sync later delivers."""
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        done, seconds = train(tmp_path, url)
        assert done.returncode == 0, done.stderr
        ids = done.stdout.split()
        # The exit did not wait the configured 30 s for a server nothing ever reached.
        assert seconds < 15, (seconds, done.stderr)
        assert "not yet sent" in done.stderr and "autolog sync" in done.stderr
        assert "--backend" not in done.stderr  # the journal knows where the runs go

        pending = bare_sync(tmp_path, "--dry-run")
        assert pending.returncode == 0
        assert f"{url}: 612 record(s) of 3 run(s) pending" in pending.stderr

        down = bare_sync(tmp_path)
        assert down.returncode == 1
        assert url in down.stderr and "not sent" in down.stderr

        # Reads with the dead server as backend answer from the journal, with one warning.
        listed = cli(tmp_path, "runs", "ls", "-b", url)
        assert listed.returncode == 0, listed.stderr
        assert all(run_id[:12] in listed.stdout for run_id in ids)
        assert listed.stderr.count("answering from the local journal") == 1
        shown = cli(tmp_path, "runs", "show", ids[0][:12], "-b", url)
        assert shown.returncode == 0, shown.stderr
        assert "lr" in shown.stdout and "answering from the local journal" in shown.stderr

        start_server(port=port)
        synced = bare_sync(tmp_path)
        assert synced.returncode == 0, synced.stderr
        assert f"612 record(s) of 3 run(s) sent to {url}" in synced.stderr
        again = bare_sync(tmp_path)
        assert again.returncode == 0 and "0 record(s) of 0 run(s)" in again.stderr
        with Api(url) as api:
            for run_id in ids:
                assert_points_once(api, run_id, 200)

    def test_sigkilled_training_then_bare_sync_delivers(self, tmp_path: Path, start_server) -> None:
        """A training killed with SIGKILL printed nothing; a bare sync still knows where to send."""
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        done, _ = train(tmp_path, url, "kill")
        assert done.returncode == -9
        *ids, killed = done.stdout.split()
        start_server(port=port)
        synced = bare_sync(tmp_path)
        assert synced.returncode == 0, synced.stderr
        with Api(url) as api:
            for run_id in ids:
                assert_points_once(api, run_id, 200)
            assert_points_once(api, killed, 150)
            info = api.ok(api.get("runs/get", run_id=killed))["run"]["info"]
            assert info["status"] == "RUNNING"  # it never ended: the journal has no end

    def test_credentials_stay_out_of_the_journal(self, tmp_path: Path) -> None:
        """The destination is written without user:password; the token comes from the env."""
        port = free_port()
        done, _ = train(tmp_path, f"http://alice:s3cret@127.0.0.1:{port}")
        assert done.returncode == 0, done.stderr
        journals = list((tmp_path / "autolog-runs").glob("*/journal.jsonl"))
        assert len(journals) == 3
        for journal in journals:
            text = journal.read_text()
            assert "s3cret" not in text and "alice" not in text
            assert f'"destinations":["http://127.0.0.1:{port}"]' in text


class TestOneId:
    def test_mlflow_client_reads_the_printed_id(self, tmp_path: Path, start_server, mlflow) -> None:
        """autolog server keeps the journal's id: MLflow's client, the CLI and the folder agree."""
        server = start_server()
        done, _ = train(tmp_path, server.url)
        assert done.returncode == 0, done.stderr
        run_id = done.stdout.split()[0]
        assert (tmp_path / "autolog-runs" / run_id / "journal.jsonl").exists()
        read = run_script(
            "import json, sys\n"
            "from mlflow.tracking import MlflowClient\n"
            "client = MlflowClient(sys.argv[1])\n"
            "run = client.get_run(sys.argv[2])\n"
            "history = client.get_metric_history(sys.argv[2], 'loss')\n"
            "print(json.dumps({'id': run.info.run_id, 'lr': run.data.params['lr'],\n"
            "                  'points': len(history)}))\n",
            cwd=tmp_path,
            python=str(mlflow.python),
            args=[server.url, run_id],
        )
        seen = json.loads(read.stdout.strip().splitlines()[-1])
        assert seen == {"id": run_id, "lr": "0.1", "points": 200}
        shown = cli(tmp_path, "runs", "show", run_id[:12], "-b", server.url)
        assert shown.returncode == 0, shown.stderr
        assert f"run         {run_id}" in shown.stdout


POISONED = r"""
import sys
import autolog

autolog.autolog(exit_timeout=60)
with autolog.start_run(name="poisoned") as run:
    # What a crafted or damaged journal can hold: a value no database stores, as JSON text.
    from autolog._journal import _line

    bad = {"nul": "a\\u0000b", "surrogate": "\\ud800"}[sys.argv[1]]
    run._journal._write(_line('["params",{"bad":"%s"}]' % bad))
    run.log_metric("loss", 1.0)
ids = []
for r in range(3):
    with autolog.start_run(name=f"good{r}") as run:
        for step in range(50):
            run.log_metric("loss", float(step), step=step)
        ids.append(run.id)
print(" ".join(ids), flush=True)
"""


@pytest.mark.parametrize("database", ["sqlite", "postgresql"])
def test_poisoned_run_does_not_hold_back_the_others(
    tmp_path: Path, start_server, postgres, database: str
) -> None:
    """A NUL or a lone surrogate is refused with a 400; the run is set aside, the good arrive."""
    store = postgres.create_database() if database == "postgresql" else None
    server = start_server(store)
    for poison in ("nul", "surrogate"):
        folder = tmp_path / poison
        folder.mkdir()
        done, _ = train(folder, server.url, poison, code=POISONED)
        assert done.returncode == 0, done.stderr
        assert "set aside" in done.stderr
        with Api(server.url) as api:
            for run_id in done.stdout.split():
                assert_points_once(api, run_id, 50)
        status = cli(folder, "status")
        assert "set aside" in status.stdout and "400" in status.stdout, status.stdout


def test_poisoned_run_on_a_real_mlflow_server(tmp_path: Path, mlflow_server: str) -> None:
    """Beside a run holding a lone surrogate (which MLflow's server stores as it comes),
    every good run arrives whole on a real mlflow server, found by our id's tag."""
    done, _ = train(tmp_path, mlflow_server, "surrogate", code=POISONED)
    assert done.returncode == 0, done.stderr
    with Api(mlflow_server) as api:
        for run_id in done.stdout.split():
            server_run = api.find_run(run_id)
            history = api.history(server_run["info"]["run_id"], "loss")
            assert sorted(p["step"] for p in history) == list(range(50))
