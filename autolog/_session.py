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

from ._config import Config, is_plain_folder, resolve
from ._entry_points import plugins_beyond_built_in
from .errors import ConfigurationError

TYPE_CHECKING = False  # not typing's: importing typing costs milliseconds of autolog()
if TYPE_CHECKING:
    from collections.abc import Mapping
    from pathlib import Path
    from typing import Any

    from ._journal import Journal
    from ._shipper import Shipper
    from ._store import LocalStore
    from .backend import Backend
    from .run import Run

#: Run statuses, as autolog._records has them (not imported here: see configure()).
FINISHED = "FINISHED"


class Session:
    """Holds the configuration, the stack of active runs and the shippers."""

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self.config: Config | None = None
        self._ready = True  # store, readers and shippers are set up for self.config
        self._store: LocalStore | None = None
        self._readers: list[Backend] = []
        self._shippers: list[Shipper] = []  # one per remote backend
        self._stacks: dict[int, list[Run]] = {}  # thread id -> its active runs
        self.journals: dict[str, Journal] = {}
        self._named_readers: dict[str, Backend] = {}
        self._exit_registered = False
        self._redacting = False
        self._started_runs = False  # ever, in this process: close() has runs to end and sync

    # -- configuration -----------------------------------------------------

    def configure(self, config: Config) -> None:
        """Apply ``config``: the local store, the backends and a shipper per remote one.

        When every backend is a local folder (the default) and only the
        built-in plugins exist, the store and its reader are set up at the
        first run or read instead (:meth:`_prepare`), so ``autolog()`` imports
        none of the run machinery and no plugin: a folder cannot be refused by
        a built-in plugin, and check_config() has already made sure it can be
        written. A remote backend is set up here, so that a URI no plugin
        understands is the user's error at ``autolog()``; so is any backend
        when other plugins are installed, whose ``autolog_backend`` may want it.
        """
        with self._lock:
            self._stop_shippers(timeout=0)
            self._close_readers()
            self.config = config
            self._store, self._readers, self._shippers = None, [], []
            self._ready = bool(config.disable)
            self._redacting = False  # redaction is set up by the first run (_start_redacting)
            if plugins_beyond_built_in() or not all(map(is_plain_folder, config.backends)):
                self._prepare()
            if config.silent and not _testing():
                import warnings

                from .errors import AutologWarning

                warnings.filterwarnings("ignore", category=AutologWarning)
            if not self._exit_registered:
                atexit.register(self.close)
                self._exit_registered = True

    def _prepare(self) -> None:
        """Set up the store, the backends and their shippers for ``self.config``."""
        from ._store import LocalStore

        with self._lock:
            if self._ready or self.config is None:
                return
            config = self.config
            store = LocalStore(config.dir)
            readers = [_backend_for(uri, config) for uri in config.backends]
            remotes = [backend for backend in readers if backend.remote]
            shippers = []
            if remotes:
                from ._shipper import Shipper

                shippers = [
                    Shipper(b, store, self.pending_journals, self._announce) for b in remotes
                ]
            self._store, self._readers, self._shippers = store, readers, shippers
            self._ready = True

    @property
    def store(self) -> LocalStore | None:
        """The local store runs are journaled in (None when autolog is disabled)."""
        if not self._ready:
            self._prepare()
        return self._store

    @property
    def readers(self) -> list[Backend]:
        """The configured backends, the first one answering reads."""
        if not self._ready:
            self._prepare()
        return self._readers

    @property
    def shippers(self) -> list[Shipper]:
        """One shipper per remote backend."""
        if not self._ready:
            self._prepare()
        return self._shippers

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
                self._named_readers[backend] = _backend_for(backend, config)
            return self._with_fallback(self._named_readers[backend])
        if not self.readers:
            return _backend_for(config.backends[0], config)
        return self._with_fallback(self.readers[0])

    def _with_fallback(self, reader: Backend) -> Backend:
        """A remote reader answers from the local journal while it cannot be reached."""
        if not reader.remote or self.config is None or self.config.disable:
            return reader
        from ._fallback import JournalFallback
        from ._store import LocalStore

        return JournalFallback(reader, LocalStore(self.config.dir))

    # -- runs --------------------------------------------------------------
    #
    # Each thread has its own stack of active runs. A fit on a worker thread
    # (a joblib thread, a data-loading thread) therefore never becomes the
    # child of whatever run another thread has open, and nesting on one thread
    # (a fit inside ``with start_run():``) works as it always did.

    def _stack(self) -> list[Run]:
        """This thread's stack of active runs, innermost last."""
        return self._stacks.setdefault(threading.get_ident(), [])

    def open_runs(self) -> list[Run]:
        """Every run still open, on every thread, innermost of each thread last."""
        with self._lock:
            return [run for stack in list(self._stacks.values()) for run in stack]

    def active_run(self) -> Run | None:
        """The innermost run open on this thread, or None."""
        stack = self._stacks.get(threading.get_ident())
        return stack[-1] if stack else None

    def start_run(
        self,
        name: str | None = None,
        experiment: str | None = None,
        tags: Mapping[str, Any] | None = None,
    ) -> Run:
        """Create a run, a child of this thread's active run if there is one, and make it active."""
        import uuid  # here: uuid (with platform) costs milliseconds of autolog()'s start-up

        from . import _redaction
        from . import _validation as v
        from ._journal import JOURNAL_NAME, Journal, NullJournal
        from .run import Run

        config = self.ensure_configured()
        store = self.store  # sets up the store and backends at the first run
        self._start_redacting(config)
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
        # Names are shown everywhere: no user:pw@ or token in them.
        name = _redaction.active().scrub(name or f"run-{run_id[:8]}")
        experiment = _redaction.active().scrub(experiment)
        v.check_name(name, "run name", v.MAX_RUN_NAME_LENGTH)
        v.check_name(experiment, "experiment name", v.MAX_EXPERIMENT_NAME_LENGTH)
        journal: Journal | NullJournal
        if store is None:
            journal, artifacts = NullJournal(), None
        else:
            run_dir = store.create_run_dir(run_id)
            journal, artifacts = Journal(run_dir / JOURNAL_NAME), run_dir / "artifacts"
        run = Run.start(
            journal,
            run_id=run_id,
            name=name,
            experiment=experiment,
            parent_id=parent.id if parent else None,
            artifacts_dir=artifacts,
            config=config,
            owner=self,
            tags=tags,
            destinations=self._destinations(),
        )
        with self._lock:
            self._stack().append(run)
            if isinstance(journal, Journal):
                self.journals[run_id] = journal
        if store is not None:
            from .plugins import call_each

            call_each("autolog_run_started", run=run)
        for shipper in self.shippers:
            shipper.start()
        return run

    def _destinations(self) -> list[str]:
        """Where a new run is headed (remote backends, no credentials), for its header."""
        if not self.shippers:
            return []
        from ._delivery import destination_uri

        return [destination_uri(s.backend.uri) for s in self.shippers]

    def attach_run(self, run_id: str, journal_path: str | os.PathLike[str]) -> Run:
        """A handle appending to a run that another process started and will end.

        For worker processes that train on behalf of the process that owns the
        run (Lightning's ``ddp_spawn``): the handle is not made active, fires no
        hooks and writes no end record; call ``run.detach()`` when done. The
        owner is blocked in ``fit`` meanwhile, so the journal still has one
        writer at a time.
        """
        from pathlib import Path

        from .run import Run

        self._start_redacting(self.ensure_configured())
        return Run.attach(run_id, Path(journal_path), self.config)

    def _start_redacting(self, config: Config) -> None:
        """Apply the configuration's redaction keys, once per configuration, before a run writes.

        Not in configure(): compiling the redaction patterns costs milliseconds that
        ``autolog()`` and a read (``autolog runs ls``) have no use for.
        """
        self._started_runs = True
        if not self._redacting:
            from . import _redaction

            _redaction.configure(config.redact_keys, config.keep_keys)
            self._redacting = True

    def run_ending(self, run: Run, status: str) -> None:
        """End the runs still open inside ``run`` on its thread, then call the plugins' hook."""
        with self._lock:
            stack = next((s for s in self._stacks.values() if run in s), None)
        if stack is not None:
            while stack and stack[-1] is not run:
                stack[-1].end(status)
            with self._lock:
                if run in stack:
                    stack.remove(run)
                if not stack:
                    self._stacks = {k: s for k, s in self._stacks.items() if s}
        if self.store is not None:
            from .plugins import call_each

            call_each("autolog_run_ended", run=run, status=status)

    def _announce(self, backend: Backend, run_id: str, header: dict) -> None:
        """A run's end reached ``backend``: print where to see it ("View run ... at URL")."""
        if self.config is not None:
            from ._run_links import announce_run

            announce_run(backend, run_id, header, self.config)

    def run_ended(self, run: Run) -> None:
        """The end record is written: the shippers can send it (without any, forget the run)."""
        if not self.shippers:
            with self._lock:
                self.journals.pop(run.id, None)
        for shipper in self.shippers:
            shipper.wake()

    def pending_journals(self) -> dict[str, Journal]:
        """This process's journals the shippers may still have to send, by run id.

        An ended run is forgotten once every shipper has acknowledged its whole
        journal, so the bookkeeping does not grow with the number of runs ended.
        """
        with self._lock:
            open_ids = {run.id for run in self.open_runs()}
            for run_id, journal in list(self.journals.items()):
                if run_id not in open_ids and all(
                    s.acked(run_id) >= _file_size(journal.path) for s in self.shippers
                ):
                    del self.journals[run_id]
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
        if not self._started_runs and not self._shippers:
            return  # this process started no run: nothing to end, sync or send
        from ._journal import sync_all_journals
        from ._notebook import exit_is_clean, shutdown_stream
        from .run import status_for

        exc = None if exit_is_clean() else getattr(sys, "last_value", None)
        self._end_open_runs(status_for(exc) if exc is not None else FINISHED)
        sync_all_journals()
        if not self._shippers or self.config is None:
            return
        delivered = self.flush(self.config.exit_timeout)
        if not delivered and not self.config.silent:
            for shipper in self._shippers:
                message = shipper.unsent_message()
                if message:
                    print(message, file=shutdown_stream())
        self._stop_shippers(timeout=0)

    def _end_open_runs(self, status: str) -> None:
        """End every open run, innermost first, on whichever thread opened it."""
        for run in reversed(self.open_runs()):
            run.end(status)

    def _close_readers(self) -> None:
        readers: list[Backend | LocalStore] = [*self._readers, *self._named_readers.values()]
        if self._store is not None:  # its index, opened when a run was read from it
            readers.append(self._store)
        for reader in readers:
            try:
                reader.close()
            except Exception as exc:
                from ._patch import report_failure

                report_failure(f"closing {reader!r}", exc)
        self._readers, self._named_readers = [], {}

    def _stop_shippers(self, timeout: float) -> None:
        for shipper in self._shippers:
            shipper.stop(timeout)

    def reset(self) -> None:
        """End open runs, stop shippers and forget the configuration (used between tests)."""
        self._end_open_runs(FINISHED)
        self._stop_shippers(timeout=1)
        self._close_readers()
        self.config, self._store, self._shippers, self._ready = None, None, [], True
        self.journals = {}

    def reset_after_fork(self) -> None:
        """In a forked child: no shipper threads survived; keep config, forget the parent's runs."""
        self._lock = threading.RLock()
        self.journals = {}
        # Only the forking thread lives on in the child, and its runs are the parent's.
        self._stacks = {}
        from ._shipper import Shipper

        self._shippers = [
            Shipper(s.backend, s.store, self.pending_journals, self._announce)
            for s in self._shippers
        ]


def _file_size(path: Path) -> int:
    try:
        return os.path.getsize(path)
    except OSError:
        return 0


def _backend_for(uri: str, config: Config) -> Backend:
    """:func:`autolog.backend.backend_for`, but a plain folder with only the built-in plugins
    installed is the local plugin's: built directly, without loading the plugin manager (so
    that ``autolog runs ls`` reads a local store without importing pluggy)."""
    if is_plain_folder(uri) and not plugins_beyond_built_in():
        from .backends.local_backend import local_backend

        local = local_backend(uri, config)
        if local is not None:
            return local
    from .backend import backend_for

    return backend_for(uri, config)


def _testing() -> bool:
    return os.environ.get("AUTOLOG_TESTING", "").lower() in ("1", "true", "yes")


session = Session()
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=lambda: session.reset_after_fork())
