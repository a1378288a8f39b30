"""Real processes for the server tests: ``autolog server``, ``mlflow server``, training scripts.

Every process is started in its own session and stopped by its own id (or its
own process group, for servers with workers) in the fixtures' ``finally``.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx

from tests.support.network import free_port

READY_TIMEOUT = 20.0


def wait_healthy(url: str, timeout: float, process: subprocess.Popen | None = None) -> None:
    """Poll ``url``/health until it answers 200; fail if the process died or time ran out."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode} before it was ready")
        try:
            if httpx.get(url + "/health", timeout=1.0).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.05)
    raise TimeoutError(f"{url} was not ready after {timeout} s")


def end_process_group(process: subprocess.Popen | None, grace: float = 10) -> None:
    """End a process started with ``start_new_session=True``, and every child in its group.

    SIGTERM to the whole group first, so that a service can save its state; after
    ``grace`` seconds, SIGKILL whatever of the group is left.
    """
    if process is None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(grace)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait(10)


class AutologServer:
    """``autolog server`` in a subprocess; :attr:`url` once started."""

    def __init__(
        self,
        store: str,
        artifacts: Path,
        token: str | None = None,
        port: int = 0,
        env: dict[str, str] | None = None,
    ) -> None:
        self.store, self.artifacts, self.token, self.port = store, artifacts, token, port
        self.env = {**os.environ, **(env or {})}
        self.process: subprocess.Popen | None = None
        self.url = ""
        self.lines: list[str] = []
        self._first_line = threading.Event()

    def start(self) -> AutologServer:
        command = [
            sys.executable, "-P", "-m", "autolog", "server", "--port", str(self.port),
            "--store", self.store, "--artifacts", str(self.artifacts),
        ]  # fmt: skip
        if self.token:
            command += ["--token", self.token]
        self.lines, self._first_line = [], threading.Event()
        self.process = subprocess.Popen(
            command,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env=self.env,
            start_new_session=True,
        )
        threading.Thread(target=self._drain, args=(self.process,), daemon=True).start()
        if not self._first_line.wait(READY_TIMEOUT) or not self.url:
            self.kill()
            raise RuntimeError("autolog server did not start:\n" + "".join(self.lines))
        self.port = int(self.url.rsplit(":", 1)[1])
        wait_healthy(self.url, READY_TIMEOUT, self.process)
        return self

    def _drain(self, process: subprocess.Popen) -> None:
        assert process.stdout is not None
        for line in process.stdout:
            self.lines.append(line)
            if "listening on" in line:
                self.url = line.split("listening on", 1)[1].split()[0]
            self._first_line.set()
        self._first_line.set()

    def kill(self) -> None:
        """SIGKILL, as a crash or the OOM killer would."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)

    def stop(self, sig: int = signal.SIGTERM) -> int:
        """Ask the server to stop; return its exit code."""
        assert self.process is not None
        if self.process.poll() is None:
            self.process.send_signal(sig)
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
        return self.process.returncode


class MlflowServer:
    """A real ``mlflow server`` (SQLite store, proxied artifacts) from the MLflow venv."""

    def __init__(
        self,
        mlflow: Path,
        folder: Path,
        artifact_args: list[str] | None = None,
        env: dict[str, str] | None = None,
    ) -> None:
        """``artifact_args`` replace the default (a proxied folder), e.g. a ``wasbs://``
        ``--default-artifact-root`` with ``--no-serve-artifacts``."""
        self.mlflow, self.folder = mlflow, folder
        self.artifact_args = artifact_args
        self.env = {**os.environ, **(env or {})}
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen | None = None

    def start(self, timeout: float = 180.0) -> MlflowServer:
        self.folder.mkdir(parents=True, exist_ok=True)
        log = open(self.folder / "server.log", "w")  # noqa: SIM115 - closed with the process
        self.process = subprocess.Popen(
            [
                str(self.mlflow),
                "server",
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--backend-store-uri",
                f"sqlite:///{self.folder / 'mlflow.db'}",
                *(
                    self.artifact_args
                    if self.artifact_args is not None
                    else ["--artifacts-destination", str(self.folder / "artifacts")]
                ),
                "--workers",
                "1",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=self.folder,
            env=self.env,
            start_new_session=True,
        )
        log.close()
        try:
            wait_healthy(self.url, timeout, self.process)
        except Exception:
            self.stop()
            raise RuntimeError(
                "mlflow server did not start:\n" + (self.folder / "server.log").read_text()[-3000:]
            ) from None
        return self

    def stop(self) -> None:
        """SIGTERM to the server's own process group (workers, job consumers), then SIGKILL."""
        end_process_group(self.process, grace=5)


def run_script(
    script: str,
    cwd: Path,
    env: dict[str, str] | None = None,
    python: str | None = None,
    timeout: float = 180.0,
    args: list[str] | None = None,
) -> subprocess.CompletedProcess:
    """Run ``script`` (Python source) in a fresh interpreter; fails the test on a non-zero exit."""
    path = cwd / f"script_{time.monotonic_ns()}.py"
    path.write_text(script)
    result = subprocess.run(
        [python or sys.executable, "-P", str(path), *(args or [])],
        cwd=cwd,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if result.returncode != 0:
        output = f"{result.stdout[-3000:]}\n{result.stderr[-5000:]}"
        raise AssertionError(f"script failed ({result.returncode}):\n{output}")
    return result


def run_autolog_cli(
    *args: str,
    cwd: Path,
    env: dict[str, str] | None = None,
    environ: dict[str, str] | None = None,
    timeout: float = 300,
) -> subprocess.CompletedProcess:
    """Run the ``autolog`` command as a user would; returns the completed process.

    It sees this process's environment updated with ``env``, or exactly ``environ``.
    """
    return subprocess.run(
        [sys.executable, "-P", "-m", "autolog", *args],
        cwd=cwd,
        env=environ if environ is not None else {**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=timeout,
    )
