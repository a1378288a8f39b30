"""scikit-learn: one run per ``fit``, ``fit_transform`` or ``fit_predict`` of any estimator.

Every class deriving from ``sklearn.base.BaseEstimator`` is patched, sklearn's
own and those of third-party libraries or the user, without importing a
single estimator module: see :class:`~autolog.integrations._common.SubclassPatcher`.

A run holds the estimator's ``get_params(deep=True)`` (``clf__C`` style), its
class and module as tags, training metrics computed on the data it was fitted
on, and the fitted estimator as the model. Nested fits are one run: a
Pipeline's steps and a meta-estimator's inner estimators are not recorded on
their own. Fits that sklearn's helper functions make on the user's behalf
are not runs at all: the folds of ``cross_val_score``, ``cross_validate``,
``learning_curve`` and the rest of ``sklearn.model_selection`` (even on joblib
worker threads, where no outer patched call marks them), and the label
encoders that ``sklearn.metrics`` fits to score predictions. A search
(``GridSearchCV``, ``RandomizedSearchCV``, ...) is a parent run with child runs
for its best ``max_tuning_runs`` candidates, made from ``cv_results_`` after
the search.
"""

from __future__ import annotations

import functools
import inspect
import io
import json
import sys
from pathlib import Path
from types import FrameType
from typing import Any

from .._config import Config
from .._datasets import record_inputs
from .._model_files import write_model_file
from ..errors import ConfigurationError
from ..hookspecs import hookimpl
from ..integration import Integration, fit_run, is_metric_value, start_fit_run
from ..run import Run
from ._common import (
    SubclassPatcher,
    caller_module,
    log_model_if_picklable,
    warn_not_picklable,
)
from ._saving import NOT_IMPORTABLE, not_importable
from .sklearn_metrics import _try, training_metrics

FIT_METHODS = ("fit", "fit_transform", "fit_predict")
#: Fits called from these modules are helpers' work (folds, label encoding), not the user's.
HELPER_MODULES = ("sklearn.model_selection.", "sklearn.metrics.", "sklearn.utils.class_weight")
#: A fit that sklearn makes while serving one of these calls is prediction-time work, not a run
#: (``CalibratedClassifierCV.predict_proba`` fitting a ``LabelEncoder``).
PREDICTION_METHODS = frozenset(
    ("predict", "predict_proba", "predict_log_proba", "decision_function", "transform",
     "inverse_transform", "score", "score_samples", "staged_predict", "staged_predict_proba")
)  # fmt: skip


class SklearnIntegration(Integration):
    """Records scikit-learn fits.

    Options: ``max_tuning_runs`` (child runs per search, default 5, None for
    all) and ``log_training_metrics`` (default True; False skips the predict
    pass on the training data, for very large data sets).
    """

    name = "sklearn"
    module = "sklearn"
    supported_versions = "scikit-learn>=1.3"
    options = {"max_tuning_runs": 5, "log_training_metrics": True}

    @classmethod
    def check_options(cls, config: Config) -> None:
        max_tuning_runs = config.option("max_tuning_runs", 5)
        if max_tuning_runs is not None and (
            isinstance(max_tuning_runs, bool)
            or not isinstance(max_tuning_runs, int)
            or max_tuning_runs < 0
        ):
            raise ConfigurationError(
                f"max_tuning_runs must be a whole number >= 0 or None, got {max_tuning_runs!r}"
            )

    def patch(self, config: Config) -> None:
        import sklearn.base

        self.estimators = SubclassPatcher(
            sklearn.base.BaseEstimator, FIT_METHODS, "sklearn", self._hook
        )
        self.estimators.patch()

    def unpatch(self) -> None:
        self.estimators.unpatch()

    def _hook(self, cls: type, method: str, original: Any) -> Any:
        return functools.partial(self._record_fit, original)

    def _record_fit(self, original: Any, estimator: Any, args: tuple, kwargs: dict):
        if caller_module().startswith(HELPER_MODULES) or _inside_prediction():
            return  # a cross-validation fold or a metric's label encoder: not the user's fit
        config = self.config
        assert config is not None
        cls = type(estimator)
        with fit_run(
            "sklearn",
            cls.__name__,
            {"estimator_class": cls.__qualname__, "estimator_module": cls.__module__},
        ) as run:
            run.log_params(_try(lambda: estimator.get_params(deep=True)) or {})
            record_inputs(run, *_fit_data(original, args, kwargs)[:2])
            yield
            X, y, sample_weight = _fit_data(original, args, kwargs)
            search = _as_search(estimator)
            if search is not None:
                _log_search(run, search, config.option("max_tuning_runs", 5))
            if config.option("log_training_metrics", True):
                run.log_metrics(training_metrics(estimator, X, y, sample_weight))
            model = estimator if search is None else getattr(search, "best_estimator_", None)
            if config.log_models and model is not None:
                log_model_if_picklable(run, model)


def _inside_prediction() -> bool:
    """True when sklearn's own code serving a predict/transform/score call made this fit.

    Walks up from the patched call through sklearn's frames only: the first
    frame of other code (the user's) ends the search.
    """
    frame: FrameType | None = sys._getframe(1)
    while frame is not None:
        module = frame.f_globals.get("__name__", "")
        if not module.startswith(("autolog.", "wrapt.")):
            if not module.startswith("sklearn."):
                return False
            if frame.f_code.co_name in PREDICTION_METHODS:
                return True
        frame = frame.f_back
    return False


@functools.lru_cache(maxsize=1024)
def _data_parameters(function: Any) -> tuple[str, ...]:
    """Names of a fit method's parameters after ``self`` (``X``, ``y``, ``sample_weight``...)."""
    function = getattr(function, "fn", function)  # sklearn's available_if descriptor
    try:
        parameters = list(inspect.signature(function).parameters.values())
    except (TypeError, ValueError):
        return ("X", "y")
    return tuple(
        p.name for p in parameters[1:] if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
    )


def _fit_data(original: Any, args: tuple, kwargs: dict) -> tuple[Any, Any, Any]:
    """The training data of one call: ``X``, ``y`` and ``sample_weight`` (None when absent)."""
    names = _data_parameters(original)
    given = dict(zip(names, args, strict=False))
    given.update(kwargs)
    first, second = (*names, "X", "y")[:2]
    return given.get(first), given.get(second), given.get("sample_weight")


# -- hyperparameter searches ------------------------------------------------


def _as_search(estimator: Any) -> Any:
    """``estimator`` if it is a fitted ``BaseSearchCV`` (without importing model_selection)."""
    search_module = sys.modules.get("sklearn.model_selection._search")
    if search_module is None or not isinstance(estimator, search_module.BaseSearchCV):
        return None
    return estimator if hasattr(estimator, "cv_results_") else None


def _log_search(run: Run, search: Any, max_tuning_runs: int | None) -> None:
    """The parent run's best params, best score and ``cv_results.csv``, then the child runs."""
    best_params = getattr(search, "best_params_", None) or {}
    run.log_params({f"best_{name}": value for name, value in best_params.items()})
    best_score = getattr(search, "best_score_", None)
    if is_metric_value(best_score):
        run.log_metrics({"best_cv_score": best_score})
    results = search.cv_results_
    run.log_text(_as_csv(results), "cv_results.csv")
    rank = _rank_column(search, results)
    if rank is None or max_tuning_runs == 0:
        return
    order = sorted(range(len(results["params"])), key=lambda i: (results[rank][i], i))
    for index in order[:max_tuning_runs]:
        with start_fit_run("sklearn", f"{run.name}-candidate-{index}") as child:
            child.log_params(results["params"][index])
            child.log_metrics(
                {
                    column: values[index]
                    for column, values in results.items()
                    if column.startswith(("mean_", "std_", "rank_"))
                    and is_metric_value(values[index])
                }
            )


def _rank_column(search: Any, results: dict) -> str | None:
    """The rank column of the metric the search optimised (its ``refit`` metric when several)."""
    if isinstance(search.refit, str) and f"rank_test_{search.refit}" in results:
        return f"rank_test_{search.refit}"
    if "rank_test_score" in results:
        return "rank_test_score"
    return next((column for column in results if column.startswith("rank_test_")), None)


def _as_csv(results: dict) -> str:
    """``cv_results_`` as CSV text, one row per candidate (masked params left empty)."""
    import csv  # imports in functions: this plugin loads at every autolog(), so cheaply

    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    columns = list(results)
    writer.writerow(columns)
    for row in zip(*(results[column] for column in columns), strict=True):
        writer.writerow([_csv_cell(value) for value in row])
    return buffer.getvalue()


def _csv_cell(value: Any) -> Any:
    import numpy as np

    if value is np.ma.masked:
        return ""
    if isinstance(value, dict):
        return json.dumps({k: _csv_cell(v) for k, v in value.items()}, default=str)
    item = getattr(value, "item", None)
    return item() if callable(item) and getattr(value, "ndim", 0) == 0 else value


# -- model flavor -------------------------------------------------------------


@hookimpl
def autolog_register_integrations(register: Any) -> None:
    register(SklearnIntegration)


@hookimpl
def autolog_save_model(model: Any, path: Path, config: Config) -> dict[str, Any] | None:
    """Pickle estimators (``BaseEstimator`` instances); the core adds every file's sha256."""
    base = sys.modules.get("sklearn.base")
    if base is None or not isinstance(model, base.BaseEstimator):
        return None
    import pickle

    import sklearn

    try:
        data = pickle.dumps(model, protocol=pickle.HIGHEST_PROTOCOL)
    except Exception as exc:  # a class defined inside a function, a lambda in a param...
        warn_not_picklable(model, exc)
        return None
    write_model_file(path / "model.pkl", data)
    return {
        "flavor": "sklearn",
        "framework_version": sklearn.__version__,
        "serialization": "pickle",
        "pickle_protocol": pickle.HIGHEST_PROTOCOL,
    }


@hookimpl
def autolog_load_model(path: Path, manifest: dict[str, Any]) -> Any:
    """Unpickle an estimator saved by :func:`autolog_save_model` (checksums already verified).

    scikit-learn itself warns (``InconsistentVersionWarning``) when the model
    was saved with another version; the manifest's ``framework_version`` says which.
    """
    if manifest.get("flavor") != "sklearn":
        return None
    import pickle

    with open(path / "model.pkl", "rb") as f:
        try:
            return pickle.load(f)
        except NOT_IMPORTABLE as exc:
            raise not_importable(exc, manifest) from exc
