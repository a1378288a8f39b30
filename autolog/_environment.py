"""The environment a saved model needs: Python, pinned packages, its input signature.

MLflow infers a model's pip requirements by loading it in a subprocess and
watching its imports, about two seconds per model. Here they come from what
this process already has loaded: the framework's distribution, every installed
distribution it requires (recursively), and the distributions of the modules
the model's own objects come from (a LightGBM estimator inside a scikit-learn
pipeline pins ``lightgbm``). Module -> distribution comes from
``importlib.metadata.packages_distributions()``, which reads every installed
distribution's file list once: it is computed on a background thread when the
first run starts and cached for the process, so a save costs dictionary
look-ups (``bench/bench_sklearn.py`` measures it).

:func:`model_requirements` is the public entry point (the MLmodel writer calls
it for ``requirements.txt``/``conda.yaml``/``python_env.yaml``);
:func:`check_environment` is what ``load_model`` calls to warn, once per
package, about installed versions that differ from the pinned ones.
"""

from __future__ import annotations

import contextlib
import functools
import re
import sys
import threading
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ._model_files import write_model_file
from .errors import AutologWarning
from .hookspecs import hookimpl

REQUIREMENTS_FILE = "requirements.txt"
_NAME = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)")
_warm_up: threading.Thread | None = None
_warned: set[tuple[str, str, str]] = set()


@hookimpl
def autolog_run_started(run: Any) -> None:
    config = run.config
    if config is not None and config.log_models:
        warm_up()


def warm_up() -> None:
    """Start computing the module -> distribution map on a background thread (once)."""
    global _warm_up
    if _warm_up is None:
        _warm_up = threading.Thread(
            target=_module_distributions, name="autolog-environment", daemon=True
        )
        _warm_up.start()


@functools.lru_cache(maxsize=1)
def _module_distributions() -> Mapping[str, list[str]]:
    from importlib.metadata import packages_distributions

    return packages_distributions()


@functools.lru_cache(maxsize=512)
def _version(distribution: str) -> str | None:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(distribution)
    except PackageNotFoundError:
        return None


@functools.lru_cache(maxsize=512)
def _requires(distribution: str) -> tuple[str, ...]:
    """Installed distributions ``distribution`` needs, outside extras."""
    from importlib.metadata import PackageNotFoundError, requires

    try:
        declared = requires(distribution) or []
    except PackageNotFoundError:
        return ()
    names = []
    for line in declared:
        if "extra ==" in line.replace('"', "").replace("'", ""):
            continue
        match = _NAME.match(line)
        if match and _version(match.group(1)) is not None:
            names.append(match.group(1))
    return tuple(names)


def distributions_of(modules: set[str]) -> set[str]:
    """The installed distributions that provide the top-level ``modules``."""
    if _warm_up is not None:
        _warm_up.join()
    mapping = _module_distributions()
    return {dist for module in modules for dist in mapping.get(module, ())}


@functools.lru_cache(maxsize=256)
def _requirements(top_level_modules: frozenset[str]) -> tuple[str, ...]:
    pending = sorted(distributions_of(set(top_level_modules)))
    seen: dict[str, str] = {}
    while pending:
        name = pending.pop()
        key = name.lower().replace("_", "-")
        version = _version(name)
        if key in seen or version is None:
            continue
        seen[key] = f"{name}=={version}"
        pending.extend(_requires(name))
    return tuple(sorted(seen.values(), key=str.lower))


def model_requirements(flavor_module: str, model: Any = None) -> list[str]:
    """``package==version`` lines for a model of the framework ``flavor_module`` (``"sklearn"``).

    Cached per set of top-level modules, so repeated saves cost microseconds.
    """
    modules = {flavor_module.split(".", 1)[0], *_model_modules(model)}
    modules = {m for m in modules if m in sys.modules and m not in sys.stdlib_module_names}
    return list(_requirements(frozenset(modules)))


def _model_modules(model: Any) -> set[str]:
    """Top-level modules of the model's class and of the objects it holds (one level down)."""
    if model is None:
        return set()
    values: list[Any] = [model]
    with contextlib.suppress(TypeError):  # no __dict__ (slots, builtins)
        values.extend(vars(model).values())
    get_params = getattr(model, "get_params", None)
    if callable(get_params):
        with contextlib.suppress(Exception):  # a third-party estimator's broken get_params
            values.extend(get_params(deep=True).values())
    modules = set()
    for value in values:
        for item in value if isinstance(value, (list, tuple)) else (value,):
            modules.add(type(item).__module__.split(".", 1)[0])
    return modules


def describe_environment(folder: Path, flavor_module: str, model: Any) -> dict[str, Any]:
    """Write ``requirements.txt`` into ``folder``; return the manifest's environment entries."""
    import platform  # here: platform costs milliseconds of autolog()'s start-up

    requirements = model_requirements(flavor_module, model)
    write_model_file(folder / REQUIREMENTS_FILE, "".join(f"{line}\n" for line in requirements))
    entries: dict[str, Any] = {
        "environment": {"python": platform.python_version(), "requirements": requirements}
    }
    signature = input_signature(model)
    if signature:
        entries["signature"] = signature
    return entries


def input_signature(model: Any) -> dict[str, Any] | None:
    """What the model takes, where the framework says: column names, feature count or shape."""
    names = getattr(model, "feature_names_in_", None)  # scikit-learn, fitted on a DataFrame
    if names is not None:
        return {"inputs": [{"name": str(n)} for n in names], "n_features": len(names)}
    n_features = getattr(model, "n_features_in_", None)
    if isinstance(n_features, int):
        return {"n_features": n_features}
    exog = getattr(getattr(model, "model", None), "exog_names", None)  # statsmodels results
    if isinstance(exog, list):
        return {"inputs": [{"name": str(n)} for n in exog]}
    example = getattr(model, "example_input_array", None)  # Lightning
    if example is not None and hasattr(example, "shape"):
        return {"inputs": [{"shape": [-1, *example.shape[1:]], "dtype": str(example.dtype)}]}
    inputs = getattr(model, "inputs", None)  # Keras functional and built sequential models
    if isinstance(inputs, list) and inputs and all(hasattr(i, "shape") for i in inputs):
        return {
            "inputs": [
                {
                    "name": getattr(i, "name", ""),
                    "shape": [_dim(d) for d in i.shape],
                    "dtype": str(getattr(i, "dtype", "")),
                }
                for i in inputs
            ]
        }
    return None


def _dim(size: Any) -> int:
    return -1 if size is None else int(size)


def check_environment(manifest: dict[str, Any]) -> list[str]:
    """Warn once per package whose installed version differs from the manifest's pin.

    Returns the mismatches (``"numpy==1.26.4 (installed: 2.0.1)"``), for the caller's use.
    """
    pinned = manifest.get("environment", {}).get("requirements", [])
    mismatches = []
    for line in pinned:
        name, _, wanted = str(line).partition("==")
        installed = _installed_version(name)
        if not wanted or installed == wanted:
            continue
        mismatches.append(f"{name}=={wanted} (installed: {installed or 'not installed'})")
        key = (name, wanted, installed or "")
        if key not in _warned:
            _warned.add(key)
            here = f"{name}=={installed} is installed" if installed else f"{name} is not installed"
            warnings.warn(
                f"autolog: the model was saved with {name}=={wanted}, but {here}; it may load "
                f"or predict differently (pip install {name}=={wanted})",
                AutologWarning,
                stacklevel=3,
            )
    return mismatches


def _installed_version(name: str) -> str | None:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(name)  # not the cached _version: the installed set may have changed
    except PackageNotFoundError:
        return None
