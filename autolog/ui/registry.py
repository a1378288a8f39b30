"""The local store's model registry as the models pages read it (``autolog ui``).

The pages are the same over a local store and over ``autolog server``, so the
local registry (:mod:`autolog._local_registry`, a journal in the store folder)
is answered in the JSON shape of MLflow's registry API, which is what the
server's reader passes on. A local version has no stage ("None"), is always
"READY", and carries the manifest's sha256 as the tag the server gives the
versions autolog registers there (``autolog.manifest_sha256``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .._local_registry import LocalRegistry
from .._registry import MANIFEST_TAG, ModelVersion, RegisteredModel, check_version
from ..errors import AutologError
from .readers import NotFound


class LocalModels:
    """Read-only views of the registry of the local store at ``root``."""

    def __init__(self, root: Path) -> None:
        self.registry = LocalRegistry(root)

    def registered_models(self) -> list[dict[str, Any]]:
        return [model_json(model) for model in self.registry.models()]

    def registered_model(self, name: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        model = self._model(name)
        return model_json(model), [version_json(v) for v in reversed(model.versions)]

    def model_version(self, name: str, version: str) -> dict[str, Any]:
        model = self._model(name)
        try:
            number = check_version(version)
        except AutologError as exc:
            raise NotFound(str(exc)) from None
        for found in model.versions:
            if found.version == number:
                return version_json(found)
        raise NotFound(f"registered model {name!r} has no version {number}")

    def _model(self, name: str) -> RegisteredModel:
        try:
            return self.registry.model(name)
        except AutologError as exc:
            raise NotFound(str(exc)) from None


def version_json(version: ModelVersion) -> dict[str, Any]:
    """A local version as MLflow's ``model_version`` object."""
    found: dict[str, Any] = {
        "name": version.name,
        "version": str(version.version),
        "creation_timestamp": version.created,
        "last_updated_timestamp": version.created,
        "current_stage": "None",
        "source": version.source,
        "status": "READY",
        "tags": (
            [{"key": MANIFEST_TAG, "value": version.manifest_sha256}]
            if version.manifest_sha256
            else []
        ),
        "aliases": sorted(version.aliases),
    }
    if version.run_id:
        found["run_id"] = version.run_id
    return found


def model_json(model: RegisteredModel) -> dict[str, Any]:
    """A local registered model as MLflow's ``registered_model`` object."""
    found: dict[str, Any] = {
        "name": model.name,
        "creation_timestamp": model.created,
        "last_updated_timestamp": model.updated,
        "tags": [],
        "aliases": [
            {"alias": alias, "version": str(number)}
            for alias, number in sorted(model.aliases.items())
        ],
    }
    if model.description:
        found["description"] = model.description
    if model.versions:
        found["latest_versions"] = [version_json(model.versions[-1])]
    return found
