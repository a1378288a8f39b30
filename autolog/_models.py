"""Saving a run's model and loading it back, safely.

Each integration owns its model *flavor* through the ``autolog_save_model`` /
``autolog_load_model`` hooks. The core writes a manifest beside the files
(``model/manifest.json``: flavor, framework version, and every file's sha256)
and verifies those checksums before any plugin loads the files, so a model
that was altered in storage is refused instead of unpickled.

This module is also the built-in plugin for the ``pickle`` flavor, the last
resort for any picklable object that no integration claims.
"""

from __future__ import annotations

import json
import pickle
import platform
import shutil
import tempfile
from pathlib import Path
from typing import Any

from ._config import Config
from ._mlmodel import load_mlflow_model, write_mlmodel
from ._store import sha256_file
from ._version import __version__
from .errors import AutologError, ModelIntegrityError, ModelNotSavedError
from .hookspecs import hookimpl

MANIFEST = "manifest.json"


def save_model(
    model: Any, artifacts_dir: Path, name: str, config: Config, extra: dict[str, Any]
) -> dict[str, Any]:
    """Save ``model`` under ``artifacts_dir/name`` and return its manifest (with sizes)."""
    from .plugins import call_each

    folder = artifacts_dir / name
    folder.mkdir(parents=True, exist_ok=True)
    manifest = call_each(
        "autolog_save_model", first_result=True, model=model, path=folder, config=config
    )
    if manifest is None:
        shutil.rmtree(folder, ignore_errors=True)
        raise ModelNotSavedError(
            f"no plugin can save a model of type {type(model).__qualname__}: it cannot be "
            "pickled and no installed integration knows its type"
        )
    # Also an MLflow model: MLmodel beside our files, checked by the manifest like them.
    write_mlmodel(folder, {**manifest, "python_version": platform.python_version()}, name)
    files = sorted(p for p in folder.rglob("*") if p.is_file() and p.name != MANIFEST)
    manifest = {
        **manifest,
        **extra,
        "path": name,
        "model_class": f"{type(model).__module__}.{type(model).__qualname__}",
        "python_version": platform.python_version(),
        "autolog_version": __version__,
        "files": {p.relative_to(folder).as_posix(): sha256_file(p) for p in files},
    }
    (folder / MANIFEST).write_text(json.dumps(manifest, indent=2, sort_keys=True))
    sizes = {p.relative_to(folder).as_posix(): p.stat().st_size for p in files}
    sizes[MANIFEST] = (folder / MANIFEST).stat().st_size
    manifest["files"] = {**manifest["files"], MANIFEST: sha256_file(folder / MANIFEST)}
    return {**manifest, "sizes": sizes}


def load_model_from(folder: Path) -> Any:
    """Verify the files in ``folder`` against its manifest, then load with the flavor's plugin."""
    from .plugins import call_each

    manifest_path = folder / MANIFEST
    if not manifest_path.is_file():
        return load_mlflow_model(folder)  # MLflow logged it: no manifest to check against
    manifest = json.loads(manifest_path.read_text())
    for relative, expected in manifest.get("files", {}).items():
        path = folder / relative
        if not path.is_file() or sha256_file(path) != expected:
            raise ModelIntegrityError(
                f"model file {relative!r} does not match the sha256 in its manifest; "
                "it was changed or damaged after saving and is not loaded"
            )
    model = call_each("autolog_load_model", first_result=True, path=folder, manifest=manifest)
    if model is None:
        raise AutologError(
            f"no installed plugin loads models of flavor {manifest.get('flavor')!r}; "
            "install the integration that saved it"
        )
    return model


def load_run_model(backend: Any, run_id: str) -> Any:
    """Fetch the model of ``run_id`` from ``backend`` into a temporary folder and load it.

    ``run_id`` may also be a model URI (``runs:/RUN/model``, ``models:/NAME/3``,
    ``models:/NAME@ALIAS``, ``models:/m-ID``) for a backend that resolves them.
    """
    resolves_uris = hasattr(backend, "download_model")  # the HTTP backend (mlflow_models.py)
    with tempfile.TemporaryDirectory(prefix="autolog-model-") as tmp:
        if run_id.startswith(("runs:/", "models:/")) and resolves_uris:
            return load_model_from(backend.download_model(run_id, Path(tmp)))
        run = backend.get_run(run_id)
        if run.model is None and resolves_uris:  # MLflow's client logged it, as a logged model
            return load_model_from(backend.download_model(f"runs:/{run_id}/model", Path(tmp)))
        if run.model is None:
            raise AutologError(
                f"run {run_id} has no model; it was logged with log_models=False or by a "
                "framework autolog does not save models for"
            )
        folder = backend.download_artifacts(run_id, run.model.get("path", "model"), Path(tmp))
        return load_model_from(folder)


@hookimpl(trylast=True)
def autolog_save_model(model: Any, path: Path, config: Config) -> dict[str, Any] | None:
    try:
        data = pickle.dumps(model, protocol=pickle.HIGHEST_PROTOCOL)
    except Exception:
        return None
    (path / "model.pkl").write_bytes(data)
    return {"flavor": "pickle", "pickle_protocol": pickle.HIGHEST_PROTOCOL}


@hookimpl(trylast=True)
def autolog_load_model(path: Path, manifest: dict[str, Any]) -> Any:
    if manifest.get("flavor") != "pickle":
        return None
    with open(path / "model.pkl", "rb") as f:
        return pickle.load(f)
