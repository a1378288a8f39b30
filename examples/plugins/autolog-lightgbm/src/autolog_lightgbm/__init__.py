"""autolog-lightgbm: LightGBM training recorded by autolog, as a third-party plugin.

Installed, this module is found through the ``autolog`` entry-point group and
implements three hooks: one registers :class:`LightGBMIntegration`, two save
and load the ``lightgbm`` model flavor. Nothing here runs until the user
imports ``lightgbm`` after ``autolog.autolog()``: then ``lightgbm.train`` and
the sklearn-API ``fit`` methods are wrapped with autolog's ``safe_patch``.

The sklearn-API estimators subclass scikit-learn's ``BaseEstimator``, so
autolog's sklearn integration patches them too. Ours are applied after it
(plugins register after the built-ins) and are therefore the outer wrappers:
a fit is recorded once, by this plugin; the sklearn integration sees a fit
already in progress and stays out.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from autolog import hookimpl
from autolog.integration import Integration, safe_patch, start_fit_run, status_for

#: The sklearn-API classes that define their own ``fit``.
ESTIMATORS = ("LGBMModel", "LGBMClassifier", "LGBMRegressor", "LGBMRanker")


class LightGBMIntegration(Integration):
    """Records ``lightgbm.train`` and the sklearn-API estimators' ``fit``."""

    name = "lightgbm"
    module = "lightgbm"
    supported_versions = "lightgbm>=4.0"

    def patch(self, config: Any) -> None:
        import wrapt

        wrapt.wrap_function_wrapper("lightgbm", "train", safe_patch("lightgbm", self._record_train))
        for estimator in ESTIMATORS:
            wrapt.wrap_function_wrapper(
                "lightgbm.sklearn", f"{estimator}.fit", safe_patch("lightgbm", self._record_fit)
            )

    def unpatch(self) -> None:
        import lightgbm
        import lightgbm.sklearn

        lightgbm.train = lightgbm.train.__wrapped__
        for estimator in ESTIMATORS:
            cls = getattr(lightgbm.sklearn, estimator)
            cls.fit = cls.__dict__["fit"].__wrapped__

    def _record_train(self, instance: Any, args: tuple, kwargs: dict):
        """``lightgbm.train``: params before, per-round evaluation and the Booster after."""
        import inspect

        import lightgbm
        import lightgbm.engine

        call = inspect.signature(lightgbm.engine.train).bind(*args, **kwargs)
        call.apply_defaults()
        history: dict[str, dict[str, list[float]]] = {}
        # Our callback goes into a copy of the user's list; their list is left alone.
        call.arguments["callbacks"] = [
            *(call.arguments["callbacks"] or []),
            lightgbm.record_evaluation(history),
        ]
        run = start_fit_run("lightgbm", "lightgbm.train", {"model_class": "lightgbm.Booster"})
        try:
            params = dict(call.arguments["params"] or {})
            run.log_params({**params, "num_boost_round": call.arguments["num_boost_round"]})
            try:
                booster = yield call.args, call.kwargs
            except BaseException as exc:
                run.end(status_for(exc))
                raise
            _log_history(run, history, booster.best_iteration)
            if self.config is not None and self.config.log_models:
                run.log_model(booster)
        finally:
            run.end()

    def _record_fit(self, estimator: Any, args: tuple, kwargs: dict):
        """``LGBMClassifier.fit`` and friends: ``get_params()``, ``evals_result_``, the model."""
        cls = type(estimator)
        model_class = f"{cls.__module__}.{cls.__qualname__}"
        run = start_fit_run("lightgbm", cls.__name__, {"model_class": model_class})
        try:
            run.log_params(estimator.get_params())
            try:
                yield
            except BaseException as exc:
                run.end(status_for(exc))
                raise
            _log_history(run, estimator.evals_result_ or {}, estimator.best_iteration_)
            if self.config is not None and self.config.log_models:
                run.log_model(estimator)
        finally:
            run.end()


def _log_history(run: Any, history: dict, best_iteration: int | None) -> None:
    """Every evaluation metric per round, as ``<dataset>-<metric>`` at step = round."""
    for dataset, metrics in history.items():
        for metric, values in metrics.items():
            for step, value in enumerate(values):
                run.log_metric(f"{dataset}-{metric}", value, step=step)
    if best_iteration:
        run.log_metrics({"best_iteration": best_iteration})


@hookimpl
def autolog_register_integrations(register: Any) -> None:
    register(LightGBMIntegration)


@hookimpl
def autolog_save_model(model: Any, path: Path, config: Any) -> dict[str, Any] | None:
    """Save a ``Booster`` in LightGBM's text format; other objects are not ours."""
    import sys

    lightgbm = sys.modules.get("lightgbm")
    if lightgbm is None or not isinstance(model, lightgbm.Booster):
        return None
    model.save_model(str(path / "model.txt"))
    return {"flavor": "lightgbm", "framework_version": lightgbm.__version__}


@hookimpl
def autolog_load_model(path: Path, manifest: dict[str, Any]) -> Any:
    """Load a ``Booster`` saved by :func:`autolog_save_model`."""
    if manifest.get("flavor") != "lightgbm":
        return None
    import lightgbm

    return lightgbm.Booster(model_file=str(path / "model.txt"))
