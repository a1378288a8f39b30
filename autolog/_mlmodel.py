"""The ``MLmodel`` file that makes every model autolog saves a valid MLflow model too.

A team that serves models with MLflow's tooling (``mlflow.pyfunc.load_model``,
``mlflow models serve``, the flavor loaders) can use what autolog recorded,
from ``autolog server`` or any MLflow server, without converting anything.
The MLmodel file points at the files the integration already wrote, in the
layout each MLflow flavor's loader reads (checked against MLflow 3.17's
loaders), so nothing is stored twice:

==============  ====================  ==========================================
autolog flavor  MLflow flavor         files MLflow reads
==============  ====================  ==========================================
sklearn         ``sklearn``           ``model.pkl`` (``serialization_format: pickle``)
statsmodels     ``statsmodels``       ``results.pickle``
keras           ``keras`` (Keras 3)   ``model.keras``
lightning       ``pytorch``           ``model.pt`` (a whole pickled module)
==============  ====================  ==========================================

Each also gets ``python_function`` with the flavor's loader module. The
written MLmodel is one more file under the manifest's sha256, so autolog's own
integrity check covers it. ``requirements`` (``package==version`` lines, from
the environment capture) become ``requirements.txt`` and the python_function
``env``, which is where MLflow looks for them.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from ._model_files import write_model_file

MLMODEL = "MLmodel"
REQUIREMENTS = "requirements.txt"


def _sklearn(manifest: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    flavor = {
        "pickled_model": "model.pkl",
        "serialization_format": "pickle",
        "sklearn_version": str(manifest.get("framework_version", "")),
        "code": None,
    }
    pyfunc = {"loader_module": "mlflow.sklearn", "model_path": "model.pkl", "predict_fn": "predict"}
    return flavor, pyfunc


def _statsmodels(manifest: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    flavor = {
        "statsmodels_version": str(manifest.get("framework_version", "")),
        "data": "results.pickle",
        "code": None,
    }
    return flavor, {"loader_module": "mlflow.statsmodels", "data": "results.pickle"}


def _keras(manifest: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    # mlflow.keras reads <data>.keras: "model" names model.keras beside the MLmodel file.
    flavor = {
        "keras_version": str(manifest.get("framework_version", "")),
        "keras_backend": str(manifest.get("keras_backend", "")),
        "save_exported_model": False,
        "data": "model",
    }
    return flavor, {"loader_module": "mlflow.keras"}


def _pytorch(manifest: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    flavor = {
        "model_data": "model.pt",
        # str(): torch.__version__ is a TorchVersion, which yaml.safe_dump refuses
        "pytorch_version": str(manifest.get("torch_version", "")),
        "code": None,
    }
    return flavor, {"loader_module": "mlflow.pytorch", "data": "model.pt"}


#: autolog flavor -> (MLflow flavor name, the MLmodel entries for it).
FLAVORS = {
    "sklearn": ("sklearn", _sklearn),
    "statsmodels": ("statsmodels", _statsmodels),
    "keras": ("keras", _keras),
    "lightning": ("pytorch", _pytorch),
}


def write_mlmodel(
    folder: Path,
    manifest: dict[str, Any],
    artifact_path: str,
    run_id: str | None = None,
    requirements: Sequence[str] | None = None,
    written_requirements: bool = False,
) -> bool:
    """Write ``folder/MLmodel`` for a model saved with ``manifest``'s flavor.

    Returns False (and writes nothing) for a flavor MLflow has no loader for,
    such as autolog's generic ``pickle``. ``requirements`` are pip lines, written
    as ``requirements.txt`` unless ``written_requirements`` says it is there already.
    """
    known = FLAVORS.get(str(manifest.get("flavor")))
    if known is None:
        return False
    name, entries = known
    flavor, pyfunc = entries(manifest)
    # Imported here, not when autolog() starts (issue 11: start-up imports only what it needs).
    import platform
    import uuid

    python = manifest.get("python_version") or platform.python_version()
    pyfunc = {**pyfunc, "python_version": python}
    if requirements:
        if not written_requirements:
            write_model_file(folder / REQUIREMENTS, "".join(f"{line}\n" for line in requirements))
        pyfunc["env"] = {"virtualenv": "python_env.yaml"}
        write_model_file(folder / "python_env.yaml", _python_env(python))
    # The flavors and metadata are the same for every model of a flavor and version: their
    # YAML is made once (PyYAML's representer costs a fit a fraction of a millisecond); the
    # lines that differ per model are JSON strings, which YAML reads as they are.
    created = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M:%S.%f")
    text = (
        f"artifact_path: {json.dumps(artifact_path)}\n"
        + _static_part(json.dumps({"python_function": pyfunc, name: flavor}, sort_keys=True))
        + f"model_uuid: {uuid.uuid4().hex}\nutc_time_created: {json.dumps(created)}\n"
        + (f"run_id: {json.dumps(run_id)}\n" if run_id else "")
    )
    write_model_file(folder / MLMODEL, text)
    return True


@functools.lru_cache(maxsize=64)
def _static_part(flavors_json: str) -> str:
    """The MLmodel's ``flavors`` and ``metadata`` as YAML, per distinct flavors."""
    return _dump(
        {
            "flavors": json.loads(flavors_json),
            "metadata": {"saved_by": "autolog", "autolog_manifest": "manifest.json"},
        }
    )


@functools.lru_cache(maxsize=8)
def _python_env(python: str) -> str:
    """``python_env.yaml``: the Python version and the requirements file, as MLflow writes it."""
    return _dump(
        {"python": python, "build_dependencies": ["pip"], "dependencies": [f"-r {REQUIREMENTS}"]}
    )


def read_mlmodel(folder: Path) -> dict[str, Any] | None:
    """The parsed MLmodel of a folder (one MLflow wrote, or ours), or None without one."""
    path = folder / MLMODEL
    if not path.is_file():
        return None
    text = path.read_text()
    try:
        import yaml  # type: ignore[import-untyped]
    except ImportError:  # our own MLmodel files are JSON, which is YAML too
        return dict(json.loads(text))
    loaded = yaml.safe_load(text)
    return loaded if isinstance(loaded, dict) else None


def _dump(data: dict[str, Any]) -> str:
    try:
        import yaml  # type: ignore[import-untyped]
    except ImportError:
        return json.dumps(data, indent=2) + "\n"
    # libyaml's emitter when PyYAML has it (its wheels do): the pure-Python one took
    # 2 ms of each fit's model saving for these two small files.
    dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
    return str(yaml.dump(data, Dumper=dumper, default_flow_style=False, sort_keys=False))


def load_mlflow_model(folder: Path) -> Any:
    """Load a model MLflow's client logged (no autolog manifest) with its flavor's files.

    Such a folder has no sha256 manifest, so it is trusted as MLflow itself would
    trust it: load only models from a server you trust. Supported: the sklearn
    (skops, MLflow 3's default, with the flavor's trusted types; pickle, cloudpickle),
    statsmodels, keras (Keras 3 ``.keras``) and pytorch
    (whole pickled module) flavors.
    """
    from .errors import AutologError

    mlmodel = read_mlmodel(folder)
    if mlmodel is None:
        raise AutologError(f"{folder} has neither an autolog manifest nor an MLmodel file")
    flavors = mlmodel.get("flavors") or {}
    if "sklearn" in flavors:
        return _load_sklearn(folder, flavors["sklearn"])
    if "statsmodels" in flavors:
        from statsmodels.iolib.smpickle import load_pickle

        return load_pickle(str(folder / flavors["statsmodels"].get("data", "model.statsmodels")))
    if "keras" in flavors:
        import keras

        path = folder / flavors["keras"].get("data", "data")
        path = path / "model" if path.is_dir() else path
        return keras.saving.load_model(f"{path}.keras")
    if "pytorch" in flavors:
        import torch

        path = folder / flavors["pytorch"].get("model_data", "data")
        if (path / "model.pt2").is_file():  # MLflow 3's torch.export format
            return torch.export.load(path / "model.pt2").module()
        path = path / "model.pth" if path.is_dir() else path
        return torch.load(path, map_location="cpu", weights_only=False)
    raise AutologError(
        f"the MLflow model in {folder} has flavors {', '.join(flavors) or 'none'}; autolog "
        "loads sklearn, statsmodels, keras and pytorch models (use mlflow.pyfunc for others)"
    )


def _load_sklearn(folder: Path, flavor: dict[str, Any]) -> Any:
    path = folder / str(flavor.get("pickled_model") or "model.pkl")
    if flavor.get("serialization_format") != "skops":
        return _unpickle(path)
    from .errors import AutologError

    try:
        import skops.io
    except ImportError:
        raise AutologError(
            f"{folder} holds a scikit-learn model MLflow saved in the skops format (MLflow 3's "
            "default); install skops to load it: pip install skops"
        ) from None
    # skops refuses types outside its safe defaults unless MLflow's client listed them
    # (log_model(skops_trusted_types=...)), which is MLflow's own rule when it loads.
    return skops.io.load(path, trusted=flavor.get("skops_trusted_types"))


def _unpickle(path: Path) -> Any:
    import pickle

    with open(path, "rb") as f:
        return pickle.load(f)
