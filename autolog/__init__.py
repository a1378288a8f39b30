"""autolog: experiment tracking for machine learning code in one line.

    import autolog
    autolog.autolog()

From then on every fit of scikit-learn, statsmodels, PyTorch Lightning and
Keras is recorded (hyperparameters, metrics per epoch, the fitted model) into
the backend you configured, the local folder ``./autolog-runs`` by default.
See the README for the whole API.

The public names are resolved on first use (PEP 562): ``import autolog`` loads
only this file, and ``autolog.autolog()`` only what the call needs, so that a
script pays for a run's machinery when it makes one, not when it starts.
"""

from __future__ import annotations

import importlib

TYPE_CHECKING = False  # typing itself costs milliseconds of start-up; type checkers know the name
if TYPE_CHECKING:
    from typing import Any

    from ._api import (
        active_run,
        autolog,
        end_run,
        flush,
        get_metric_history,
        get_run,
        load_model,
        log_artifact,
        log_metric,
        log_metrics,
        log_model,
        log_param,
        log_params,
        search_runs,
        set_tag,
        set_tags,
        start_run,
    )
    from ._records import MetricPoint, RunRecord
    from ._registry import ModelVersion, RegisteredModel
    from ._registry_api import (
        delete_model_alias,
        get_model_version,
        get_registered_model,
        register_model,
        search_registered_models,
        set_model_alias,
    )
    from .backend import Backend, Batch
    from .errors import AutologError
    from .hookspecs import hookimpl
    from .integration import Integration
    from .run import Run

#: Where the public names that are not functions of ``autolog._api`` live.
_ELSEWHERE = {
    "AutologError": ".errors",
    "Backend": ".backend",
    "Batch": ".backend",
    "Integration": ".integration",
    "MetricPoint": "._records",
    "ModelVersion": "._registry",
    "RegisteredModel": "._registry",
    "Run": ".run",
    "RunRecord": "._records",
    "hookimpl": ".hookspecs",
    **dict.fromkeys(
        (
            "delete_model_alias",
            "get_model_version",
            "get_registered_model",
            "register_model",
            "search_registered_models",
            "set_model_alias",
        ),
        "._registry_api",
    ),
}

__all__ = [
    "AutologError",
    "Backend",
    "Batch",
    "Integration",
    "MetricPoint",
    "ModelVersion",
    "RegisteredModel",
    "Run",
    "RunRecord",
    "__version__",
    "active_run",
    "autolog",
    "delete_model_alias",
    "end_run",
    "flush",
    "get_metric_history",
    "get_model_version",
    "get_registered_model",
    "get_run",
    "hookimpl",
    "load_model",
    "log_artifact",
    "log_metric",
    "log_metrics",
    "log_model",
    "log_param",
    "log_params",
    "register_model",
    "search_registered_models",
    "search_runs",
    "set_model_alias",
    "set_tag",
    "set_tags",
    "start_run",
]


def __getattr__(name: str) -> Any:
    if name in __all__ and name != "__version__":
        module = _ELSEWHERE.get(name, "._api")
        value = getattr(importlib.import_module(module, __name__), name)
        globals()[name] = value  # once resolved, a plain attribute
        return value
    if name == "__version__":
        from importlib.metadata import PackageNotFoundError, version

        try:
            return version("autolog-tracking")
        except PackageNotFoundError:
            from ._version import __version__

            return __version__
    raise AttributeError(f"module 'autolog' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
