"""A throwaway PostgreSQL cluster for the tests: initdb, pg_ctl on a free port, then gone.

The server binaries are the system's or pip's, as :mod:`tests.support.tools`
finds them. PostgreSQL refuses to run as root, so when the tests run as root
the cluster belongs to the ``postgres`` user (``nobody`` where there is none,
as with PostgreSQL from PyPI) and every command runs through ``runuser``.
Connections are over TCP on 127.0.0.1 with ``trust`` authentication: nothing
but this machine can reach it, and it is deleted at the end.
"""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import tempfile
import uuid
from pathlib import Path

from tests.support.network import free_port
from tests.support.tools import postgres_bin


class PostgresCluster:
    """One cluster in a temporary folder; :meth:`create_database` gives each test its own."""

    def __init__(self) -> None:
        self.bin = postgres_bin()
        self.port = free_port()
        self.root = Path(tempfile.mkdtemp(prefix="autolog-pg-"))
        self.data = self.root / "data"
        self.owner = _unprivileged_owner() if os.geteuid() == 0 else None

    def _run(self, *command: str) -> subprocess.CompletedProcess:
        prefix = ["runuser", "-u", self.owner, "--"] if self.owner else []
        return subprocess.run(
            [*prefix, *command], check=True, capture_output=True, text=True, timeout=120
        )

    def start(self) -> PostgresCluster:
        if self.owner:
            shutil.chown(self.root, self.owner)
            self.bin = self._runnable_by_owner(self.bin)
        self._run(
            str(self.bin / "initdb"), "-D", str(self.data), "-A", "trust", "-U", "postgres",
            "--no-sync", "-E", "UTF8",
        )  # fmt: skip
        options = (
            f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.root} "
            "-c max_connections=200 -c fsync=on"
        )
        self._run(
            str(self.bin / "pg_ctl"), "-D", str(self.data), "-o", options,
            "-l", str(self.root / "server.log"), "-w", "-t", "60", "start",
        )  # fmt: skip
        return self

    def _runnable_by_owner(self, bin: Path) -> Path:
        """``bin``, or a copy of its installation in the cluster's folder if the owner cannot
        reach it (PostgreSQL pip-installed into a virtual environment under /root)."""
        probe = ["runuser", "-u", str(self.owner), "--", "test", "-x", str(bin / "initdb")]
        if subprocess.run(probe, capture_output=True).returncode == 0:
            return bin
        copy = self.root / "pginstall"
        shutil.copytree(bin.parent, copy, symlinks=True)
        return copy / bin.name

    def stop(self, mode: str = "fast") -> None:
        if (self.data / "postmaster.pid").exists():
            self._run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "stop")

    def restart(self) -> None:
        self.stop()
        self.start_again()

    def start_again(self) -> None:
        options = f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.root}"
        self._run(
            str(self.bin / "pg_ctl"), "-D", str(self.data), "-o", options,
            "-l", str(self.root / "server.log"), "-w", "-t", "60", "start",
        )  # fmt: skip

    def remove(self) -> None:
        try:
            self.stop("immediate")
        finally:
            shutil.rmtree(self.root, ignore_errors=True)

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def create_database(self) -> str:
        """A new empty database; returns its URL."""
        import psycopg

        name = f"autolog_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)


def _unprivileged_owner() -> str:
    """The account a root test run starts PostgreSQL as: ``postgres`` if it exists, else nobody."""
    try:
        pwd.getpwnam("postgres")
    except KeyError:
        return "nobody"
    return "postgres"
