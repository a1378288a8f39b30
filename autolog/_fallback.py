"""Reads from a remote backend that fall back to the local journal when it cannot be reached.

The journal beside the training holds every record of its own runs, so a dead
server is no reason for ``get_run`` or ``autolog runs ls`` to fail: for the runs
the journal holds (those headed for that backend), the answer comes from it,
with one warning saying so. A run the journal does not hold still raises, as
does every error that is not "unreachable" (a refusal, a bad filter).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from ._delivery import destination_uri, headed_for, read_header
from ._records import MetricPoint, RunRecord
from ._registry import ModelVersion, RegisteredModel
from ._store import LocalStore
from ._validation import strip_credentials
from ._warnings import warn
from .backend import Backend, Batch
from .errors import BackendError, RunNotFoundError

T = TypeVar("T")
_warned: set[str] = set()


def unreachable(exc: BaseException) -> bool:
    """True when ``exc`` says the backend could not be reached (or is down).

    Not for what it answered: a refusal, or bytes that fail their sha256 check,
    must reach the caller rather than be papered over with the local copy.
    """
    return isinstance(exc, BackendError) and bool(getattr(exc, "unreachable", False))


class JournalFallback(Backend):
    """``remote`` for reads, or the local journals of its runs while ``remote`` is unreachable."""

    def __init__(self, remote: Backend, store: LocalStore) -> None:
        self.inner, self.store = remote, store
        self.uri = remote.uri
        self.key = destination_uri(strip_credentials(remote.uri))

    @property
    def reachable(self) -> bool | None:
        return self.inner.reachable

    def ship(self, batch: Batch) -> None:
        self.inner.ship(batch)

    def _fallback(self, read: Callable[[], T], local: Callable[[], T]) -> T:
        try:
            return read()
        except Exception as exc:
            if not unreachable(exc):
                raise
            shown = strip_credentials(self.inner.uri)
            if shown not in _warned:
                _warned.add(shown)
                warn(
                    f"autolog: {shown} is unreachable ({strip_credentials(str(exc))}); "
                    f"answering from the local journal {self.store.root} for the runs it holds"
                )
            return local()

    def _local_runs(self, experiment: str | None, filter: str | None) -> list[RunRecord]:
        headed = set(self._headed_ids())
        return [r for r in self.store.search_runs(experiment, filter) if r.id in headed]

    def _headed_ids(self) -> list[str]:
        """The local runs whose header names this backend among their destinations."""
        return [
            run_id
            for run_id in self.store.run_ids()
            if self.key in headed_for(read_header(self.store.journal_path(run_id)))
        ]

    def _local_run(self, run_id: str) -> str:
        full = [r for r in self._headed_ids() if r == run_id]
        if not full:
            raise RunNotFoundError(
                f"{strip_credentials(self.inner.uri)} is unreachable and the local journal "
                f"{self.store.root} holds no run {run_id!r} headed there"
            )
        return full[0]

    def search_runs(
        self, experiment: str | None = None, filter: str | None = None
    ) -> list[RunRecord]:
        return self._fallback(
            lambda: self.inner.search_runs(experiment, filter),
            lambda: self._local_runs(experiment, filter),
        )

    def get_run(self, run_id: str) -> RunRecord:
        return self._fallback(
            lambda: self.inner.get_run(run_id),
            lambda: self.store.get_run(self._local_run(run_id)),
        )

    def get_metric_history(self, run_id: str, key: str) -> list[MetricPoint]:
        return self._fallback(
            lambda: self.inner.get_metric_history(run_id, key),
            lambda: self.store.get_metric_history(self._local_run(run_id), key),
        )

    def download_artifacts(self, run_id: str, path: str, dest: Path) -> Path:
        return self._fallback(
            lambda: self.inner.download_artifacts(run_id, path, dest),
            lambda: self.store.download_artifacts(self._local_run(run_id), path, dest),
        )

    def run_ids_starting_with(self, prefix: str) -> list[str]:
        return self._fallback(
            lambda: self.inner.run_ids_starting_with(prefix),
            lambda: [r for r in self._headed_ids() if r.startswith(prefix)],
        )

    # The registry lives on the backend only: its calls go straight through (an
    # unreachable server is said so by the error, the journal has no registry of it).

    def register_model(self, name: str, run_id: str, path: str | None) -> ModelVersion:
        return self.inner.register_model(name, run_id, path)

    def set_model_alias(self, name: str, alias: str, version: int) -> None:
        self.inner.set_model_alias(name, alias, version)

    def delete_model_alias(self, name: str, alias: str) -> None:
        self.inner.delete_model_alias(name, alias)

    def search_registered_models(self) -> list[RegisteredModel]:
        return self.inner.search_registered_models()

    def get_registered_model(self, name: str) -> RegisteredModel:
        return self.inner.get_registered_model(name)

    def fetch_model(self, uri: str, dest: Path) -> tuple[Path, str | None]:
        return self.inner.fetch_model(uri, dest)

    def close(self) -> None:
        self.inner.close()

    def __repr__(self) -> str:
        return f"<JournalFallback {self.inner!r} -> {self.store.root}>"
