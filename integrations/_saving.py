"""Why a model cannot be saved or loaded, said in words the user can act on.

A fitted model that pickle (or a framework's own format) cannot write is an
ordinary limitation, not a bug in autolog: the run keeps everything else and
one warning names the reason. A saved model whose class can no longer be
imported fails to load with an error naming that class, not a missing plugin.
"""

from __future__ import annotations

import re
from typing import Any

from .._patch import warn
from ..errors import ModelNotLoadableError

_LOCAL = re.compile(r"(?:local object|get local object) '([^']+)'")
_CANNOT_PICKLE = re.compile(r"cannot pickle '([^']+)' object")


def unsaveable_reason(exc: BaseException) -> str:
    """The cause of a failed save, from the exception pickle or the framework raised."""
    text = str(exc)
    local = _LOCAL.search(text)
    if local and "<lambda>" in local.group(1):
        return f"it refers to a lambda ({local.group(1)}), which pickle cannot save"
    if local:
        return (
            f"it refers to {local.group(1)}, a class or function defined inside a function, "
            "which pickle cannot find again; define it at module level"
        )
    if "<lambda>" in text:
        return "it refers to a lambda, which pickle cannot save; use a module-level function"
    unpicklable = _CANNOT_PICKLE.search(text)
    if unpicklable and "lock" in unpicklable.group(1).lower():
        return f"it holds a lock ({unpicklable.group(1)}), which cannot be pickled"
    if unpicklable:
        return f"it holds a {unpicklable.group(1)} object, which cannot be pickled"
    if isinstance(exc, NotImplementedError) and "get_config" in text:
        return "its class does not implement get_config(), which Keras needs to save it"
    return f"{type(exc).__name__}: {text}"


def warn_unsaveable(model: Any, exc: BaseException) -> None:
    """One warning: this run has no model, and why."""
    warn(
        f"autolog: the fitted {type(model).__qualname__} cannot be saved, so its run has no "
        f"model: {unsaveable_reason(exc)}. Pass autolog(log_models=False) to skip saving.",
        stacklevel=3,
    )


def not_importable(exc: BaseException, manifest: dict[str, Any]) -> ModelNotLoadableError:
    """The error for a saved model whose class (or a class it refers to) cannot be imported."""
    model_class = manifest.get("model_class", "the model's class")
    return ModelNotLoadableError(
        f"the model cannot be loaded: {exc} ({type(exc).__name__}). It was saved as an "
        f"instance of {model_class}; that class, and any it refers to, must be importable "
        "under the same module and name as when it was saved (run from the same project, "
        "or install the package that defines it)"
    )


#: What unpickling raises when a class recorded in the file cannot be found.
NOT_IMPORTABLE = (AttributeError, ImportError)
