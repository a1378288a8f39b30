"""The local store as a backend: folder paths and ``file:`` URIs (the plugin is backends/local.py).

The store named by the ``dir`` setting holds the journals themselves and needs
no shipping. Any other folder in the backend list is a replica: the shipper
writes each batch's journal bytes at the same offset (so a batch sent twice
changes nothing) and copies the artifacts it names.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path

from .._config import Config
from .._containment import contained
from .._local_registry import LocalRegistry
from .._registry import ModelVersion, RegisteredModel
from .._store import LocalStore, local_path
from ..backend import Backend, Batch
from ..errors import AutologError, AutologWarning, UnsafePathError


class LocalBackend(LocalStore, Backend):
    """Reads runs from a folder; as a replica, also receives shipped batches."""

    def __init__(self, root: Path, uri: str, remote: bool) -> None:
        super().__init__(root)
        self.uri = uri
        self.remote = remote
        self.max_batch_records = 10_000

    def ship(self, batch: Batch) -> None:
        run_dir = self.run_dir(batch.run_id)
        run_dir.mkdir(parents=True, exist_ok=True)
        for record in batch.records:
            if record[0] == "artifact":
                self._copy_artifact(batch, record[1]["path"])
        fd = os.open(self.journal_path(batch.run_id), os.O_WRONLY | os.O_CREAT, 0o644)
        try:
            os.pwrite(fd, batch.raw, batch.start)
            os.fsync(fd)
        finally:
            os.close(fd)

    # -- the model registry: a journal in the store folder (autolog._local_registry) --

    def register_model(self, name: str, run_id: str, path: str | None) -> ModelVersion:
        run = self.get_run(run_id)
        record = run.model or {}
        saved = str(record.get("path", "model"))
        path = path or saved
        if not run.model or path != saved:
            if not self.artifact_path(run.id, f"{path}/MLmodel").is_file():
                raise AutologError(
                    f"run {run.id} has no model at {path!r} to register; log one with "
                    "autolog.log_model(model) or name the artifact path that holds it"
                )
            record = {}
        files = record.get("files") or {}
        expected = record.get("manifest_sha256") or files.get("manifest.json")
        registry = LocalRegistry(self.root)
        return registry.register(name, run.id, path, expected, f"runs:/{run.id}/{path}")

    def set_model_alias(self, name: str, alias: str, version: int) -> None:
        LocalRegistry(self.root).set_alias(name, alias, version)

    def delete_model_alias(self, name: str, alias: str) -> None:
        LocalRegistry(self.root).delete_alias(name, alias)

    def search_registered_models(self) -> list[RegisteredModel]:
        return LocalRegistry(self.root).models()

    def get_registered_model(self, name: str) -> RegisteredModel:
        return LocalRegistry(self.root).model(name)

    def _copy_artifact(self, batch: Batch, path: str) -> None:
        try:  # a crafted journal can name a file anywhere: only the run's own are copied
            source = contained(batch.artifacts_dir, path, f"artifact of run {batch.run_id}")
            target = self.artifact_path(batch.run_id, path)
        except (UnsafePathError, ValueError) as exc:
            warnings.warn(f"{exc}; it is not copied to {self.uri}", AutologWarning, stacklevel=2)
            return
        import shutil  # here: shutil costs milliseconds of autolog()'s start-up

        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, target)


def local_backend(uri: str, config: Config) -> Backend | None:
    """The backend for a folder path or ``file:`` URI, None for any other URI.

    The store named by ``dir`` is the journal store itself; any other folder
    is a replica that the shipper feeds.
    """
    path = local_path(uri)
    if path is None:
        return None
    is_journal_store = os.path.abspath(path) == os.path.abspath(config.dir)
    return LocalBackend(path, uri, remote=not is_journal_store)
