"""The process-wide state behind the public API: configuration, runs, shippers.

There is one :class:`Session` per process. It is created lazily, so a script
that only calls ``start_run()`` works without ``autolog()``, and it is what
``atexit`` asks to end open runs and flush what remote backends have not yet
acknowledged.
"""

from __future__ import annotations

import atexit
import os
import sys
import threading
import uuid
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ._config import Config, resolve
from ._journal import Journal, NullJournal
from ._records import FINISHED
from ._store import LocalStore
from .backend import Backend

if TYPE_CHECKING:
    from ._shipper import Shipper
from ._patch import report_failure
from .errors import AutologWarning, ConfigurationError
from .run import Run, now_ms


class Session:
    """Holds the configuration, the stack of active runs and the shippers."""

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self.config: Config | None = None
        self.store: LocalStore | None = None
        self.readers: list[Backend] = []
        self.shippers: list[Shipper] = []  # one per remote backend
        self.stack: list[Run] = []
        self.journals: dict[str, Journal] = {}
        self._named_readers: dict[str, Backend] = {}
        self._exit_registered = False

    # -- configuration -----------------------------------------------------

    def configure(self, config: Config) -> None:
        """Apply ``config``: the local store, the backends and a shipper per remote one."""
        from .plugins import load_plugins

        with self._lock:
            self._stop_shippers(timeout=0)
            self._close_readers()
            self.config = config
            if config.disable:
                self.store, self.readers, self.shippers = None, [], []
                return
            load_plugins()
            self.store = LocalStore(config.dir)
            self.readers = [backend_for(uri, config) for uri in config.backends]
            remotes = [backend for backend in self.readers if backend.remote]
            self.shippers = []
            if remotes:
                from ._shipper import Shipper

                self.shippers = [Shipper(b, self.store, self.pending_journals) for b in remotes]
            if config.silent and not _testing():
                warnings.filterwarnings("ignore", category=AutologWarning)
            if not self._exit_registered:
                atexit.register(self.close)
                self._exit_registered = True

    def ensure_configured(self) -> Config:
        if self.config is None:
            self.configure(resolve({}))
        assert self.config is not None
        return self.config

    def reader(self, backend: str | None = None) -> Backend:
        """The backend to read from: ``backend`` if given, else the first configured one."""
        config = self.ensure_configured()
        if backend is not None:
            # One per URI for the process: an HTTP backend keeps its connections
            # and its run-id lookups from one call to the next.
            if backend not in self._named_readers:
                from .plugins import load_plugins

                load_plugins()
                self._named_readers[backend] = backend_for(backend, config)
            return self._named_readers[backend]
        if not self.readers:
            return backend_for(config.backends[0], config)
        return self.readers[0]

    # -- runs --------------------------------------------------------------

    def active_run(self) -> Run | None:
        return self.stack[-1] if self.stack else None

    def start_run(
        self,
        name: str | None = None,
        experiment: str | None = None,
        tags: Mapping[str, Any] | None = None,
    ) -> Run:
        """Create a run, a child of the active run if there is one, and make it active."""
        config = self.ensure_configured()
        parent = self.active_run()
        run_id = uuid.uuid4().hex
        if experiment is None:
            experiment = parent.experiment if parent is not None else config.experiment
        elif not isinstance(experiment, str) or not experiment.strip():
            raise ConfigurationError(
                f"experiment name must be a non-empty string, got {experiment!r}"
            )
        if name is not None and not isinstance(name, str):
            raise ConfigurationError(f"run name must be a string, got {name!r}")
        name = name or f"run-{run_id[:8]}"
        start_time = now_ms()
        if self.store is None:
            journal: Any = NullJournal()
            artifacts = None
        else:
            run_dir = self.store.create_run_dir(run_id)
            journal = Journal(run_dir / "journal.jsonl")
            artifacts = run_dir / "artifacts"
        run = Run(
            self,
            journal,
            run_id=run_id,
            name=name,
            experiment=experiment,
            parent_id=parent.id if parent else None,
            start_time=start_time,
            artifacts_dir=artifacts,
        )
        journal.append(
            [
                "run",
                {
                    "id": run_id,
                    "name": name,
                    "experiment": experiment,
                    "parent_id": run.parent_id,
                    "start_time": start_time,
                },
            ]
        )
        with self._lock:
            self.stack.append(run)
            if isinstance(journal, Journal):
                self.journals[run_id] = journal
        if parent is not None:
            run.set_tags({"parent_run_id": parent.id})
        if tags:
            run.set_tags(tags)
        if self.store is not None:
            from .plugins import call_each

            call_each("autolog_run_started", run=run)
        for shipper in self.shippers:
            shipper.start()
        return run

    def attach_run(self, run_id: str, journal_path: str | os.PathLike[str]) -> Run:
        """A handle appending to a run that another process started and will end.

        For worker processes that train on behalf of the process that owns the
        run (Lightning's ``ddp_spawn``): the handle is not made active, fires no
        hooks and writes no end record; call ``run.detach()`` when done. The
        owner is blocked in ``fit`` meanwhile, so the journal still has one
        writer at a time.
        """
        from ._journal import read_journal
        from ._records import header_of

        path = Path(journal_path)
        records = read_journal(path, warn=False).records
        header = header_of(records) or {}
        return Run(
            self,
            Journal(path),
            run_id=run_id,
            name=header.get("name", ""),
            experiment=header.get("experiment", ""),
            parent_id=header.get("parent_id"),
            start_time=header.get("start_time", 0),
            artifacts_dir=path.parent / "artifacts",
        )

    def end_run(self, run: Run, status: str = FINISHED) -> None:
        """End ``run`` (and any runs still open above it on the stack)."""
        with self._lock:
            if run in self.stack:
                while self.stack and self.stack[-1] is not run:
                    self.stack[-1].end(status)
                self.stack.remove(run)
        if self.store is not None:
            from .plugins import call_each

            call_each("autolog_run_ended", run=run, status=status)
        run.status = status
        run.end_time = now_ms()
        run._journal.append(["end", {"status": status, "end_time": run.end_time}])
        run._journal.close()
        for shipper in self.shippers:
            shipper.wake()

    def pending_journals(self) -> dict[str, Journal]:
        """This process's journals, for the shippers to compare with what they acknowledged."""
        with self._lock:
            return dict(self.journals)

    # -- flushing and exit -------------------------------------------------

    def flush(self, timeout: float | None = None) -> bool:
        """Wait until every remote backend acknowledged every record; False on timeout."""
        config = self.ensure_configured()
        if timeout is None:
            timeout = config.exit_timeout
        delivered = True
        for shipper in self.shippers:
            delivered = shipper.ship_until_done(timeout) and delivered
        return delivered

    def close(self) -> None:
        """At exit: end open runs (FAILED/KILLED after an uncaught exception), then flush."""
        from ._journal import sync_all_journals
        from .run import status_for

        exc = getattr(sys, "last_value", None)
        while self.stack:
            self.stack[-1].end(status_for(exc) if exc is not None else FINISHED)
        sync_all_journals()
        if not self.shippers or self.config is None:
            return
        delivered = self.flush(self.config.exit_timeout)
        if not delivered and not self.config.silent:
            for shipper in self.shippers:
                message = shipper.unsent_message()
                if message:
                    print(message, file=sys.stderr)
        self._stop_shippers(timeout=0)

    def _close_readers(self) -> None:
        for reader in [*self.readers, *self._named_readers.values()]:
            try:
                reader.close()
            except Exception as exc:
                report_failure(f"closing {reader!r}", exc)
        self.readers, self._named_readers = [], {}

    def _stop_shippers(self, timeout: float) -> None:
        for shipper in self.shippers:
            shipper.stop(timeout)

    def reset(self) -> None:
        """End open runs, stop shippers and forget the configuration (used between tests)."""
        while self.stack:
            self.stack[-1].end(FINISHED)
        self._stop_shippers(timeout=1)
        self._close_readers()
        self.config, self.store, self.shippers = None, None, []
        self.journals = {}

    def reset_after_fork(self) -> None:
        """In a forked child: no shipper threads survived; keep config, forget the parent's runs."""
        self._lock = threading.RLock()
        self.journals = {}
        from ._shipper import Shipper

        self.shippers = [Shipper(s.backend, s.store, self.pending_journals) for s in self.shippers]


def backend_for(uri: str, config: Config) -> Backend:
    """The backend a plugin provides for ``uri``; a clear error when none does."""
    from .plugins import call_each

    backend = call_each("autolog_backend", first_result=True, uri=uri, config=config)
    if backend is None:
        scheme = uri.split("://", 1)[0] if "://" in uri else uri
        raise ConfigurationError(
            f"no backend handles {uri!r} (scheme {scheme!r}); use a folder path or file: URI, "
            "http(s)://host:port for a tracking server, wasbs:// or azure:// for Azure blob "
            "storage (pip install 'autolog-tracking[azure]'), or install the plugin for it"
        )
    return backend


def _testing() -> bool:
    return os.environ.get("AUTOLOG_TESTING", "").lower() in ("1", "true", "yes")


session = Session()
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=lambda: session.reset_after_fork())
