"""The local store's model registry: one journal of registrations in the store folder.

Layout, beside the run folders (whose names are run ids, so nothing mistakes
this folder for a run)::

    autolog-runs/
      registry/
        journal.jsonl   ["version", {...}] and ["alias", {...}] records
        lock            held while a version number is chosen

The records are checksummed lines in the journal format (:mod:`autolog._journal`),
appended with one ``write`` and fsynced before the call returns: a registration
is rare and the user waits for its version number, so it is made durable at
once. Several processes may register at the same time: the number is chosen
under an exclusive ``flock`` on the lock file, so no two versions share one.
A torn or damaged line is skipped on reading, like in a run's journal.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Iterator
from pathlib import Path

from ._journal import encode, read_journal
from ._registry import ModelVersion, RegisteredModel, check_alias, check_name, check_version
from .errors import AutologError

REGISTRY_DIR = "registry"


class LocalRegistry:
    """Registered models of one local store, replayed from its registry journal."""

    def __init__(self, root: Path) -> None:
        self.folder = Path(root) / REGISTRY_DIR
        self.path = self.folder / "journal.jsonl"

    # -- writing -------------------------------------------------------------

    def register(
        self, name: str, run_id: str, path: str, manifest_sha256: str | None, source: str
    ) -> ModelVersion:
        """Add the next version of ``name`` (created on first use) for the model at ``path``."""
        check_name(name)
        with self._locked():
            model = self._models().get(name)
            number = (model.latest or 0) + 1 if model else 1
            record = {
                "name": name,
                "version": number,
                "run_id": run_id,
                "path": path,
                "source": source,
                "manifest_sha256": manifest_sha256,
                "time": _now(),
            }
            self._append(["version", record])
        return next(v for v in self.model(name).versions if v.version == number)

    def set_alias(self, name: str, alias: str, version: int | str) -> None:
        """Point ``alias`` of ``name`` at ``version`` (moving it if it pointed elsewhere)."""
        check_alias(alias)
        number = check_version(version)
        with self._locked():
            model = self._models().get(name)
            if model is None:
                raise AutologError(f"no registered model {name!r} in {self.folder.parent}")
            if all(v.version != number for v in model.versions):
                raise AutologError(f"registered model {name!r} has no version {number}")
            self._append(["alias", {"name": name, "alias": alias, "version": number}])

    def delete_alias(self, name: str, alias: str) -> None:
        """Remove ``alias`` from ``name``; nothing happens if it was not set."""
        with self._locked():
            if name not in self._models():
                raise AutologError(f"no registered model {name!r} in {self.folder.parent}")
            self._append(["alias", {"name": name, "alias": alias, "version": None}])

    def _append(self, record: list) -> None:
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(fd, encode(record))
            os.fsync(fd)
        finally:
            os.close(fd)

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        self.folder.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.folder / "lock", os.O_RDWR | os.O_CREAT, 0o644)
        try:
            try:
                import fcntl
            except ImportError:  # Windows: one process at a time is the user's to keep
                yield
                return
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)  # closing releases the lock

    # -- reading -------------------------------------------------------------

    def models(self) -> list[RegisteredModel]:
        """Every registered model, most recently updated first."""
        # _models() keeps the models in the order of their latest version record, so the
        # stable sort puts the later of two updated in the same millisecond first.
        return sorted(reversed(self._models().values()), key=lambda m: -m.updated)

    def model(self, name: str) -> RegisteredModel:
        found = self._models().get(name)
        if found is None:
            known = ", ".join(sorted(self._models())) or "none yet"
            raise AutologError(
                f"no registered model {name!r} in {self.folder.parent} (registered: {known})"
            )
        return found

    def _models(self) -> dict[str, RegisteredModel]:
        if not self.path.is_file():
            return {}
        models: dict[str, RegisteredModel] = {}
        for kind, body in _records(self.path):
            name = body.get("name")
            if not isinstance(name, str):
                continue
            if kind == "version" and isinstance(body.get("version"), int):
                moment = int(body.get("time") or 0)
                if name in models:
                    model = models.pop(name)
                else:
                    model = RegisteredModel(name, moment, moment)
                models[name] = model  # moved last: the order of latest version records
                model.updated = max(model.updated, moment)
                model.versions.append(
                    ModelVersion(
                        name=name,
                        version=body["version"],
                        run_id=body.get("run_id"),
                        source=str(body.get("source") or ""),
                        created=moment,
                        manifest_sha256=body.get("manifest_sha256"),
                        path=str(body.get("path") or "model"),
                    )
                )
            elif kind == "alias" and name in models and isinstance(body.get("alias"), str):
                aliases = models[name].aliases
                if isinstance(body.get("version"), int):
                    aliases[body["alias"]] = body["version"]
                else:
                    aliases.pop(body["alias"], None)
        for model in models.values():
            model.versions.sort(key=lambda v: v.version)
            for alias, number in model.aliases.items():
                for version in model.versions:
                    if version.version == number:
                        version.aliases.append(alias)
        return models


def _records(path: Path) -> Iterator[tuple[str, dict]]:
    for record in read_journal(path).records:
        if len(record) == 2 and isinstance(record[0], str) and isinstance(record[1], dict):
            yield record[0], record[1]


def _now() -> int:
    return int(time.time() * 1000)
