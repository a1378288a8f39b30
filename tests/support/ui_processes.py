"""Real processes for the UI tests: ``autolog ui`` and ``autolog server``, on free ports.

Each is started in its own session, found ready when ``/health`` answers, and
stopped by its own process id.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx

from tests.support.processes import end_process_group

READY_TIMEOUT = 30.0
FIXTURE_SCRIPT = Path(__file__).with_name("ui_runs.py")


class Service:
    """An ``autolog`` subcommand serving HTTP; :attr:`url` is read from its first line."""

    def __init__(self, args: list[str], cwd: Path, marker: str, env: dict | None = None) -> None:
        self.args, self.cwd, self.marker = args, cwd, marker
        self.env = {**os.environ, **(env or {})}
        self.process: subprocess.Popen | None = None
        self.url = ""
        self.lines: list[str] = []
        self._found = threading.Event()

    def start(self) -> Service:
        self.process = subprocess.Popen(
            [sys.executable, "-P", "-m", "autolog", *self.args],
            cwd=self.cwd,
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        threading.Thread(target=self._drain, daemon=True).start()
        if not self._found.wait(READY_TIMEOUT) or not self.url:
            self.stop()
            raise RuntimeError(f"autolog {self.args[0]} did not start:\n" + "".join(self.lines))
        deadline = time.monotonic() + READY_TIMEOUT
        while time.monotonic() < deadline:
            try:
                if httpx.get(self.url + "/health", timeout=2).status_code in (200, 401):
                    return self
            except httpx.TransportError:
                time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"{self.url} never answered /health:\n" + "".join(self.lines))

    def _drain(self) -> None:
        assert self.process is not None and self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.append(line)
            if self.marker in line and not self.url:
                self.url = line.split(" at " if " at " in line else "listening on ")[-1].split()[0]
                self._found.set()
        self._found.set()

    def stop(self) -> None:
        end_process_group(self.process)


def start_ui(store: Path | str, cwd: Path) -> Service:
    """``autolog ui STORE --port 0``: the UI over a local store."""
    return Service(["ui", str(store), "--port", "0"], cwd, "autolog ui:").start()


def start_server(folder: Path, token: str | None = None) -> Service:
    """``autolog server`` on SQLite in ``folder``, with its artifacts beside it."""
    folder.mkdir(parents=True, exist_ok=True)
    args = ["server", "--port", "0", "--store", f"sqlite:///{folder / 'server.db'}"]
    args += ["--artifacts", str(folder / "artifacts")]
    env = {"AUTOLOG_SERVER_TOKEN": token} if token else None
    return Service(args, folder, "listening on", env).start()


def run_autolog(
    *args: str, cwd: Path, env: dict | None = None, timeout: float = 300
) -> subprocess.CompletedProcess:
    """The ``autolog`` command as a user runs it."""
    return subprocess.run(
        [sys.executable, "-P", "-m", "autolog", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def make_fixture_store(folder: Path) -> Path:
    """Log the fixture runs with autolog's real API in a fresh interpreter; returns the store."""
    store = folder / "runs"
    result = subprocess.run(
        [sys.executable, "-P", str(FIXTURE_SCRIPT), str(store)],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=300,
    )
    if result.returncode:
        raise RuntimeError(f"fixture runs failed:\n{result.stdout}\n{result.stderr}")
    return store
