"""Saving a run's model and loading it back, safely.

Each integration owns its model *flavor* through the ``autolog_save_model`` /
``autolog_load_model`` hooks. The core writes a manifest beside the files
(``model/manifest.json``: flavor, framework version, and every file's sha256),
the journal records the manifest's own sha256, and loading verifies both
before any plugin reads a file, from the listed files only, so a model that
was altered in storage is refused instead of unpickled. Secrets that params
redact are kept out of the saved file (:mod:`autolog._model_secrets`).

This module is also the built-in plugin for the ``pickle`` flavor, the last
resort for any picklable object that no integration claims.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ._config import Config
from ._containment import contained
from ._mlmodel import load_mlflow_model, write_mlmodel
from ._model_files import Written, digest_and_size, recording, write_model_file
from ._model_secrets import secrets_hidden
from ._store import sha256_file
from ._version import __version__
from .errors import AutologError, ModelIntegrityError, ModelNotSavedError, UnsafePathError
from .hookspecs import hookimpl

MANIFEST = "manifest.json"


def save_model(
    model: Any, artifacts_dir: Path, name: str, config: Config, extra: dict[str, Any]
) -> dict[str, Any]:
    """Save ``model`` under ``artifacts_dir/name`` and return its manifest (with sizes)."""
    folder = contained(artifacts_dir, name, "model name")
    folder.mkdir(parents=True, exist_ok=True)
    with recording() as written:
        return _save_into(folder, model, name, config, extra, written)


def _save_into(
    folder: Path, model: Any, name: str, config: Config, extra: dict[str, Any], written: Written
) -> dict[str, Any]:
    from .plugins import call_each

    with secrets_hidden(model):
        manifest = call_each(
            "autolog_save_model", first_result=True, model=model, path=folder, config=config
        )
    if manifest is None:
        import shutil  # imports here and below: a built-in plugin loads at autolog(), cheaply

        shutil.rmtree(folder, ignore_errors=True)
        raise ModelNotSavedError(
            f"no plugin can save a model of type {type(model).__qualname__}: it cannot be "
            "pickled and no installed integration knows its type"
        )
    import platform

    from ._environment import describe_environment

    environment = describe_environment(folder, str(manifest["flavor"]), model)
    # Also an MLflow model: MLmodel beside our files (with the pinned requirements), checked
    # by the manifest like them.
    requirements = environment["environment"]["requirements"]
    described = {**manifest, "python_version": platform.python_version()}
    write_mlmodel(folder, described, name, requirements=requirements, written_requirements=True)
    files = sorted(p for p in folder.rglob("*") if p.is_file() and p.name != MANIFEST)
    on_disk = {p.relative_to(folder).as_posix(): digest_and_size(p, written) for p in files}
    manifest = {
        **environment,
        **manifest,
        **extra,
        "path": name,
        "model_class": f"{type(model).__module__}.{type(model).__qualname__}",
        "python_version": platform.python_version(),
        "autolog_version": __version__,
        "files": {path: sha256 for path, (sha256, _) in on_disk.items()},
    }
    write_model_file(folder / MANIFEST, json.dumps(manifest, indent=2, sort_keys=True))
    manifest_sha256, manifest_size = written[folder / MANIFEST]
    sizes = {path: size for path, (_, size) in on_disk.items()}
    sizes[MANIFEST] = manifest_size
    manifest["files"] = {**manifest["files"], MANIFEST: manifest_sha256}
    # The journal's model record (and the server's autolog.model tag, even when the file
    # list does not fit in it) keeps the manifest's own sha256: load_model checks it first.
    return {**manifest, "manifest_sha256": manifest_sha256, "sizes": sizes}


def load_model_from(folder: Path, manifest_sha256: str | None, registered: bool = False) -> Any:
    """Verify ``folder`` against its manifest and the manifest against ``manifest_sha256``,
    then load it with the flavor's plugin, from the files the manifest lists and no other.

    Every check happens before a byte is unpickled: a swapped manifest, a file that
    does not match, a listed name that leaves the folder, all raise
    :class:`ModelIntegrityError`. Files the manifest does not list are removed
    from ``folder`` (a private download) so that no plugin can open them.

    ``registered`` is for a model reached through a ``models:/`` or ``runs:/`` URI
    that no record vouches for (registered by MLflow's client from a run whose
    record is gone): its files are still checked against its manifest, only the
    manifest itself has nothing to be checked against.
    """
    from .plugins import call_each

    manifest_path = folder / MANIFEST
    if not manifest_path.is_file():
        if manifest_sha256 is None and (folder / "MLmodel").is_file():
            # MLflow's client logged it (no run record, no manifest): loaded as MLflow would.
            return load_mlflow_model(folder)
        raise AutologError(f"{folder} has no {MANIFEST}: it is not a model saved by autolog")
    if manifest_sha256 is None and not registered:
        raise ModelIntegrityError(
            f"the run's model record has no sha256 for {MANIFEST}, so the model in {folder} "
            "cannot be verified and is not loaded"
        )
    if manifest_sha256 is not None and sha256_file(manifest_path) != manifest_sha256:
        raise ModelIntegrityError(
            f"{MANIFEST} in {folder} does not match the sha256 the run recorded when the model "
            "was saved; it was replaced or damaged and the model is not loaded"
        )
    manifest = json.loads(manifest_path.read_text())
    listed = manifest.get("files", {})
    if not isinstance(listed, dict):
        raise ModelIntegrityError(f"{MANIFEST} in {folder} has no valid file list")
    wanted = {MANIFEST}
    for relative, expected in listed.items():
        try:
            path = contained(folder, relative, f"file in the model manifest of {folder}")
        except UnsafePathError as exc:
            raise ModelIntegrityError(str(exc)) from None
        if not path.is_file() or sha256_file(path) != expected:
            raise ModelIntegrityError(
                f"model file {relative!r} does not match the sha256 in its manifest; "
                "it was changed or damaged after saving and is not loaded"
            )
        wanted.add(path.relative_to(folder).as_posix())
    _remove_unlisted(folder, wanted)

    from ._environment import check_environment

    check_environment(manifest)
    model = call_each("autolog_load_model", first_result=True, path=folder, manifest=manifest)
    if model is None:
        raise AutologError(
            f"no installed plugin loads models of flavor {manifest.get('flavor')!r} from the "
            "files its manifest lists (a warning above says why, if one tried); install the "
            "integration that saved it"
        )
    return model


def _remove_unlisted(folder: Path, wanted: set[str]) -> None:
    for path in sorted(folder.rglob("*"), reverse=True):
        relative = path.relative_to(folder).as_posix()
        if path.is_symlink() or (path.is_file() and relative not in wanted):
            path.unlink()


def load_run_model(backend: Any, run_id: str) -> Any:
    """Fetch the model of ``run_id`` from ``backend`` into a temporary folder and load it.

    The manifest's sha256 comes from the run's model record (the journal, or the
    server's ``autolog.model`` tag), which was written when the model was saved.
    ``run_id`` may also be a model URI (``runs:/RUN/model``, ``models:/NAME/3``,
    ``models:/NAME@ALIAS``, ``models:/NAME/latest``, ``models:/m-ID``): a registered
    version keeps the sha256 too. A model MLflow's client logged has no manifest
    and loads as MLflow loads it.
    """
    import tempfile  # lazily: it imports random and hashlib, slow for autolog()'s start

    with tempfile.TemporaryDirectory(prefix="autolog-model-") as tmp:
        if run_id.startswith(("runs:/", "models:/")):
            folder, expected = backend.fetch_model(run_id, Path(tmp))
            return load_model_from(folder, expected, registered=expected is None)
        run = backend.get_run(run_id)
        if run.model is None and backend.remote:  # MLflow's client logged it, as a logged model
            folder, expected = backend.fetch_model(f"runs:/{run_id}/model", Path(tmp))
            return load_model_from(folder, expected)
        if run.model is None:
            raise AutologError(
                f"run {run_id} has no model; it was logged with log_models=False or by a "
                "framework autolog does not save models for"
            )
        record = run.model
        expected = record.get("manifest_sha256") or (record.get("files") or {}).get(MANIFEST)
        folder = backend.download_artifacts(run_id, str(record.get("path", "model")), Path(tmp))
        return load_model_from(folder, expected)


@hookimpl(trylast=True)
def autolog_save_model(model: Any, path: Path, config: Config) -> dict[str, Any] | None:
    import pickle

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
    import pickle

    with open(path / "model.pkl", "rb") as f:
        return pickle.load(f)
