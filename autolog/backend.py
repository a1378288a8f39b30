"""The interface every backend implements, built-in or from a plugin.

A backend is where records end up and where they are read back from. The
local store is the journal itself; every other backend is a replica that the
shipper feeds with :class:`Batch` es read from the journal. A plugin adds a
backend by implementing the ``autolog_backend(uri, config)`` hook and
returning an instance of a subclass.

``ship`` also runs from the exit handler, while the interpreter shuts down,
when a first import of some modules fails (``concurrent.futures.thread``
cannot register its own exit hook any more): import what shipping needs when
the backend is created, not lazily inside ``ship``.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from ._plain import Fields, field
from ._records import MetricPoint, RunRecord
from ._registry import ModelVersion, RegisteredModel
from .errors import AutologError, ConfigurationError

if TYPE_CHECKING:
    from ._config import Config


class Batch(Fields):
    """A slice of one run's journal, on its way to one backend.

    ``records`` are the parsed records whose bytes span ``[start, end)`` in the
    journal file, ``raw`` those bytes. ``header`` is the run's first record (its
    id, name, experiment, parent), always given so a backend can create the run
    on first sight whatever slice it receives. ``artifacts_dir`` is where the
    files named by ``artifact`` and ``model`` records are. Shipping must be
    idempotent: after a timeout the same batch may be sent again.
    """

    run_id: str
    header: dict[str, Any]
    records: list[list[Any]]
    start: int
    end: int
    raw: bytes
    artifacts_dir: Path
    #: The whole journal, for a backend that must refill a replica from the start.
    journal_path: Path | None = None
    #: Artifact paths the backend could not write now but stored everything else of the
    #: batch: the shipper keeps them and offers them again later (see autolog._delivery).
    deferred: list[str] = field(default_factory=list)


class Backend:
    """Base class of backends. Override what the backend supports.

    ``remote`` backends are fed by the shipper on a background thread; the local
    store that holds the journal is not. Read methods are used by
    ``search_runs``, ``get_run``, ``get_metric_history`` and ``load_model``.
    """

    uri: str = ""
    remote: bool = True
    #: Largest number of records the shipper puts in one batch.
    max_batch_records: int = 1000

    @property
    def reachable(self) -> bool | None:
        """False while every attempt to reach the backend failed to connect; None if unknown.

        The exit handler waits only briefly for a backend that was never reached.
        """
        return None

    def ship(self, batch: Batch) -> None:
        """Store the records of ``batch``; raise if they were not all stored."""
        raise NotImplementedError(f"{type(self).__name__} cannot receive records")

    def search_runs(
        self, experiment: str | None = None, filter: str | None = None
    ) -> list[RunRecord]:
        """Runs of ``experiment`` (all experiments if None) that match ``filter``."""
        raise NotImplementedError(f"{type(self).__name__} cannot search runs")

    def get_run(self, run_id: str) -> RunRecord:
        """The run with this id; raises :class:`~autolog.errors.RunNotFoundError`."""
        raise NotImplementedError(f"{type(self).__name__} cannot read runs")

    def get_metric_history(self, run_id: str, key: str) -> list[MetricPoint]:
        """Every point logged for metric ``key`` in the run, in logging order."""
        raise NotImplementedError(f"{type(self).__name__} cannot read metrics")

    def download_artifacts(self, run_id: str, path: str, dest: Path) -> Path:
        """Copy the artifact file or directory ``path`` of the run into ``dest``."""
        raise NotImplementedError(f"{type(self).__name__} cannot read artifacts")

    def run_url(self, run_id: str) -> str | None:
        """Where a person opens the run in the backend's web UI; None until the backend holds it.

        Asked for the "View run" line once the run's end was shipped, so a
        backend that assigns its own ids (MLflow does) can give the ones it assigned.
        """
        return None

    def run_ids_starting_with(self, prefix: str) -> list[str]:
        """Ids of the runs whose id starts with ``prefix`` (the short ids ``runs ls`` prints).

        A backend that knows runs under a second id (a server that assigned its
        own) also matches that one, and answers with autolog's id.
        """
        return [run.id for run in self.search_runs() if run.id.startswith(prefix)]

    # -- the model registry (autolog._registry) -----------------------------

    def register_model(self, name: str, run_id: str, path: str | None) -> ModelVersion:
        """Register the model of ``run_id`` (at artifact ``path``, or the run's model) as
        the next version of ``name``, creating the name on first use."""
        raise self._no_registry()

    def set_model_alias(self, name: str, alias: str, version: int) -> None:
        """Point ``alias`` of registered model ``name`` at ``version``."""
        raise self._no_registry()

    def delete_model_alias(self, name: str, alias: str) -> None:
        """Remove ``alias`` from registered model ``name``."""
        raise self._no_registry()

    def search_registered_models(self) -> list[RegisteredModel]:
        """Every registered model (without its versions' details where costly)."""
        raise self._no_registry()

    def get_registered_model(self, name: str) -> RegisteredModel:
        """One registered model with all its versions and aliases."""
        raise self._no_registry()

    def fetch_model(self, uri: str, dest: Path) -> tuple[Path, str | None]:
        """Download the model a ``runs:/`` or ``models:/`` URI names into ``dest``.

        Returns the folder and the manifest sha256 recorded for it (by the run, or
        by the registered version), or None when no record has one (a model MLflow
        logged, or a version whose run is gone).
        """
        from ._registry import parse_model_uri, pick_version

        if uri.startswith("models:/"):
            ref = parse_model_uri(uri)
            if ref.model_id:
                raise AutologError(
                    f"{uri!r} names an MLflow logged model, which only tracking servers keep"
                )
            version = pick_version(self.get_registered_model(ref.name), ref)
            if version.run_id is None:
                raise AutologError(f"{uri!r} has no run to load its files from")
            run_id, path, expected = version.run_id, version.path, version.manifest_sha256
        else:
            run_id, _, path = uri.removeprefix("runs:/").strip("/").partition("/")
            expected = None
        record = self.get_run(run_id).model
        path = path or str((record or {}).get("path", "model"))
        if record is not None and str(record.get("path", "model")) == path:
            files = record.get("files") or {}
            expected = expected or record.get("manifest_sha256") or files.get("manifest.json")
        return self.download_artifacts(run_id, path, dest), expected

    def _no_registry(self) -> AutologError:
        return AutologError(f"{self.uri or type(self).__name__} has no model registry")

    def close(self) -> None:
        """Release connections; called at exit and when the configuration changes."""

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.uri}>"


def backend_for(uri: str, config: Config) -> Backend:
    """The backend a plugin provides for ``uri``; a clear error when none does."""
    from .plugins import call_each

    backend: Backend | None = call_each(
        "autolog_backend", first_result=True, uri=uri, config=config
    )
    if backend is None:
        scheme = uri.split("://", 1)[0] if "://" in uri else uri
        raise ConfigurationError(
            f"no backend handles {uri!r} (scheme {scheme!r}); use a folder path or file: URI, "
            "http(s)://host:port for a tracking server, wasbs:// or azure:// for Azure blob "
            "storage (pip install 'autolog-tracking[azure]'), or install the plugin for it"
        )
    return backend
