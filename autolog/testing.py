"""Test helpers for autolog and its plugins: a backend that fails on purpose.

This module is a plugin registered only for tests: automatically when
``AUTOLOG_TESTING=1`` is set (in the test process and every subprocess it
starts, which inherit the variable), or by hand with
``autolog.plugins.pm.register(autolog.testing)``. Ordinary use never sees the
``faulty://`` scheme.

The ``faulty://`` backend fails in chosen ways, to prove that training never notices.

``faulty://raise`` raises on every call, ``faulty://hang`` never returns,
``faulty://slow?delay=0.2&target=PATH`` waits ``delay`` seconds per batch and
then ships into the local store at PATH (so a test can check that everything
arrived exactly once). ``faulty://flaky?every=3&target=PATH`` fails every
third batch and ships the others. ``faulty://reject?name=NAME&target=PATH``
refuses runs named NAME for good (like an HTTP 400) and ships the others;
``faulty://refuse`` refuses everything (like a wrong token). Use it in your
own tests the same way.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path
from urllib.parse import parse_qs, urlparse

from ._config import Config
from .backend import Backend, Batch
from .backends.local import LocalBackend
from .errors import BackendError, ConfigurationError
from .hookspecs import hookimpl

MODES = ("raise", "hang", "slow", "flaky", "reject", "refuse")


class Rejected(BackendError):
    """A refusal of one run's records, as a server answering 400 would."""

    permanent = True


class Refused(BackendError):
    """A refusal of everything, as a server answering 401 would."""

    permanent = True
    refuses_everything = True


class FaultyBackend(Backend):
    """Misbehaves as its URI says; see the module docstring."""

    def __init__(self, uri: str) -> None:
        parsed = urlparse(uri)
        query = {k: v[-1] for k, v in parse_qs(parsed.query).items()}
        self.uri = uri
        self.mode = parsed.netloc
        if self.mode not in MODES:
            raise ConfigurationError(
                f"faulty backend mode {self.mode!r}: use one of {', '.join(MODES)}"
            )
        self.reject_name = query.get("name")
        self.delay = float(query.get("delay", 0.2))
        self.every = int(query.get("every", 3))
        target = query.get("target")
        self.target = LocalBackend(Path(target), target, remote=True) if target else None
        self.calls = 0
        self._hang = threading.Event()

    def _misbehave(self, batch: Batch | None = None) -> None:
        self.calls += 1
        if self.mode == "refuse":
            raise Refused(f"{self.uri} refuses everything on purpose")
        if (
            self.mode == "reject"
            and batch is not None
            and batch.header.get("name") == (self.reject_name)
        ):
            raise Rejected(f"{self.uri} refuses run {batch.header.get('name')!r} on purpose")
        if self.mode == "raise":
            raise BackendError(f"{self.uri} fails on purpose (call {self.calls})")
        if self.mode == "hang":
            self._hang.wait()
        if self.mode == "slow":
            time.sleep(self.delay)
        if self.mode == "flaky" and self.calls % self.every == 0:
            raise BackendError(f"{self.uri} fails on purpose (call {self.calls})")

    def ship(self, batch: Batch) -> None:
        self._misbehave(batch)
        if self.target is not None:
            self.target.ship(batch)

    def search_runs(self, experiment=None, filter=None):
        self._misbehave()
        return self.target.search_runs(experiment, filter) if self.target else []

    def get_run(self, run_id):
        self._misbehave()
        return self._require_target().get_run(run_id)

    def get_metric_history(self, run_id, key):
        self._misbehave()
        return self._require_target().get_metric_history(run_id, key)

    def download_artifacts(self, run_id, path, dest):
        self._misbehave()
        return self._require_target().download_artifacts(run_id, path, dest)

    def _require_target(self) -> LocalBackend:
        if self.target is None:
            raise BackendError(f"{self.uri} has no target=PATH to read from")
        return self.target


@hookimpl
def autolog_backend(uri: str, config: Config) -> Backend | None:
    return FaultyBackend(uri) if uri.startswith("faulty://") else None
