"""Nothing acknowledged is lost: SIGKILL, restarts, a server that is down, then ``autolog sync``."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import autolog
from tests.support.network import free_port
from tests.support.processes import AutologServer, run_autolog_cli, run_script
from tests.support.restapi import Api

STEPS = 20_000

LONG_TRAINING = """
import sys, time
import autolog
autolog.autolog(backend=sys.argv[1], dir="runs", experiment="crash", exit_timeout=1)
with autolog.start_run(name="long") as run:
    print(run.id, flush=True)
    for step in range({steps}):
        autolog.log_metrics({{"loss": 1 / (step + 1), "acc": step / {steps}}}, step=step)
        if step % 100 == 0:
            time.sleep(0.015)
"""

FIT_WITH_SERVER_DOWN = """
import sys, time
import autolog
from sklearn.linear_model import LogisticRegression
autolog.autolog(backend=sys.argv[1], dir="runs", experiment="offline", exit_timeout=1)
started = time.perf_counter()
with autolog.start_run(name="offline") as run:
    model = LogisticRegression(max_iter=200).fit([[0.0], [1.0], [2.0], [3.0]], [0, 0, 1, 1])
    autolog.log_params({"C": model.C})
    for step in range(5000):
        autolog.log_metric("loss", 1 / (step + 1), step=step)
    open("report.txt", "w").write("offline")
    autolog.log_artifact("report.txt")
    autolog.log_model(model)
print(run.id)
print(f"seconds {time.perf_counter() - started:.3f}")
"""


def _steps(api: Api, run_id: str, key: str) -> list[int]:
    return [point["step"] for point in api.history(run_id, key)]


class TestKilledServer:
    def test_sigkill_mid_run_then_sync_stores_every_point_exactly_once(
        self, start_server, tmp_path
    ):
        """SIGKILL of the server while a run ships, a restart, then sync: each point once."""
        server = start_server()
        api = Api(server.url)
        script = tmp_path / "train.py"
        script.write_text(LONG_TRAINING.format(steps=STEPS))
        training = subprocess.Popen(
            [sys.executable, "-P", str(script), server.url],
            cwd=tmp_path,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            run_id = training.stdout.readline().strip()
            acknowledged, deadline = 0, time.monotonic() + 60
            while acknowledged < 2000:  # the shipper is sending: kill the server in the middle
                assert time.monotonic() < deadline, "the run never reached the server"
                time.sleep(0.05)
                try:
                    acknowledged = len(api.history(api.find_run(run_id)["info"]["run_id"], "loss"))
                except AssertionError:
                    continue
            server.kill()
            time.sleep(1.0)
            server.start()  # same store, same port
            server_run = api.find_run(run_id)["info"]["run_id"]
            assert len(_steps(api, server_run, "loss")) >= acknowledged
            _, stderr = training.communicate(timeout=120)
            assert training.returncode == 0, stderr
        finally:
            if training.poll() is None:
                training.kill()
                training.wait()
        sync = run_autolog_cli("sync", "--dir", "runs", "--backend", server.url, cwd=tmp_path)
        assert sync.returncode == 0, sync.stderr
        for key in ("loss", "acc"):
            assert _steps(api, server_run, key) == list(range(STEPS))
        # Send the whole journal again, as if no acknowledgement had been recorded.
        for acked in (tmp_path / "runs" / run_id / "shipped").iterdir():
            acked.unlink()
        sync = run_autolog_cli("sync", "--dir", "runs", "--backend", server.url, cwd=tmp_path)
        assert sync.returncode == 0, sync.stderr
        assert _steps(api, server_run, "loss") == list(range(STEPS))
        assert api.ok(api.get("runs/get", run_id=server_run))["run"]["info"]["status"] == "FINISHED"
        api.close()

    def test_acknowledged_batch_survives_immediate_sigkill(self, start_server):
        """A log-batch that got its 200 is there after kill -9 right after and a restart."""
        server = start_server()
        api = Api(server.url)
        run_id = api.new_run("kill")
        metrics = [{"key": "m", "value": i, "timestamp": 1, "step": i} for i in range(1000)]
        api.ok(api.post("runs/log-batch", {"run_id": run_id, "metrics": metrics}))
        server.kill()
        server.start()
        assert _steps(api, run_id, "m") == list(range(1000))
        api.close()


class TestServerDown:
    def test_training_finishes_then_sync_delivers_everything(self, start_server, tmp_path):
        """With no server, the fit finishes and says what is unsent; sync sends it all later."""
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        result = run_script(FIT_WITH_SERVER_DOWN, tmp_path, python=None, timeout=120, args=[url])
        run_id = result.stdout.split()[0]
        assert "not yet sent" in result.stderr and "autolog sync" in result.stderr
        start_server(port=port)
        sync = run_autolog_cli("sync", "--dir", "runs", "--backend", url, cwd=tmp_path)
        assert sync.returncode == 0, sync.stderr
        assert "sent to" in sync.stderr
        run = autolog.get_run(run_id, backend=url)
        assert (run.name, run.experiment, run.status) == ("offline", "offline", "FINISHED")
        assert run.params["C"] == "1.0" and "report.txt" in run.artifacts
        assert [p.step for p in autolog.get_metric_history(run_id, "loss", backend=url)] == list(
            range(5000)
        )
        assert autolog.load_model(run_id, backend=url).predict([[3.0]])[0] == 1


class TestRestart:
    def test_sigterm_stops_cleanly_and_restart_keeps_data(self, start_server):
        """SIGTERM (and SIGINT) stop the server with exit code 0; a restart sees every run."""
        server = start_server()
        api = Api(server.url)
        run_id = api.new_run("restart", run_name="kept")
        api.ok(api.post("runs/log-parameter", {"run_id": run_id, "key": "p", "value": "1"}))
        assert server.stop(signal.SIGTERM) == 0
        assert "autolog server stopped" in "".join(server.lines)
        server.start()
        run = api.ok(api.get("runs/get", run_id=run_id))["run"]
        assert run["info"]["run_name"] == "kept" and run["data"]["params"] == [
            {"key": "p", "value": "1"}
        ]
        assert server.stop(signal.SIGINT) == 0
        api.close()

    def test_cli_prints_url_and_reads_environment(self, tmp_path: Path):
        """``autolog server`` takes AUTOLOG_SERVER_* variables and prints the URL it serves."""
        server = AutologServer(
            f"sqlite:///{tmp_path / 'unused.db'}",
            tmp_path / "unused",
            env={"AUTOLOG_SERVER_STORE": f"sqlite:///{tmp_path / 'env.db'}"},
        )
        server.store = f"sqlite:///{tmp_path / 'env.db'}"
        try:
            server.start()
            assert server.url.startswith("http://127.0.0.1:")
            assert (tmp_path / "env.db").exists()
        finally:
            server.kill()
