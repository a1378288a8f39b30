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

import csv
import functools
import inspect
import io
import json
import pickle
import sys
import warnings
from pathlib import Path
from typing import Any

from .._config import Config
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

FIT_METHODS = ("fit", "fit_transform", "fit_predict")
#: Fits called from these modules are helpers' work (folds, label encoding), not the user's.
HELPER_MODULES = ("sklearn.model_selection.", "sklearn.metrics.", "sklearn.utils.class_weight")


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
        if caller_module().startswith(HELPER_MODULES):
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


def training_metrics(estimator: Any, X: Any, y: Any, sample_weight: Any = None) -> dict[str, float]:
    """``training_score`` and, for classifiers and regressors, the usual metrics on ``X, y``.

    Named as MLflow names them, so runs compare across both tools. A metric the
    estimator or the data does not support (multi-output classes, no
    ``predict_proba``, a single class...) is left out; the others still count.
    """
    from sklearn.base import ClassifierMixin, RegressorMixin, is_classifier, is_regressor

    metrics: dict[str, Any] = {}
    if X is None:
        return metrics
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if y is not None and _try(lambda: is_classifier(estimator)):
            metrics.update(_try(lambda: _classifier_metrics(estimator, X, y, sample_weight)) or {})
        elif y is not None and _try(lambda: is_regressor(estimator)):
            metrics.update(_try(lambda: _regressor_metrics(estimator, X, y, sample_weight)) or {})
        # The default score() is the accuracy or R2 just computed: do not predict twice.
        score = getattr(type(estimator), "score", None)
        if score is ClassifierMixin.score and "training_accuracy_score" in metrics:
            metrics["training_score"] = metrics["training_accuracy_score"]
        elif score is RegressorMixin.score and "training_r2_score" in metrics:
            metrics["training_score"] = metrics["training_r2_score"]
        elif score is not None:
            weights = {} if sample_weight is None else {"sample_weight": sample_weight}
            metrics["training_score"] = _try(lambda: estimator.score(X, y, **weights))
    return {name: value for name, value in metrics.items() if is_metric_value(value)}


# The metrics below are sklearn.metrics' formulas (weighted averages, zero_division=0,
# log loss clipped to eps), written out in numpy: sklearn's input validation costs
# ~3 ms per fit on small data, more than everything else autolog does for a fit.
# tests/integrations/test_sklearn.py checks them against sklearn.metrics.


def _classifier_metrics(estimator: Any, X: Any, y: Any, sample_weight: Any) -> dict[str, Any]:
    import numpy as np

    metrics: dict[str, Any] = {}
    y = np.asarray(y)
    predicted = _try(lambda: np.asarray(estimator.predict(X)))
    if y.ndim != 1 or predicted is None or predicted.shape != y.shape:
        return metrics
    weights = np.ones(len(y)) if sample_weight is None else np.asarray(sample_weight, float)
    labels = np.union1d(y, predicted)
    true_index, predicted_index = np.searchsorted(labels, y), np.searchsorted(labels, predicted)
    correct = true_index == predicted_index
    metrics["training_accuracy_score"] = np.average(correct, weights=weights)
    count = functools.partial(np.bincount, minlength=len(labels))
    true_positives = count(true_index[correct], weights=weights[correct])
    support = count(true_index, weights=weights)
    predicted_count = count(predicted_index, weights=weights)
    for name, numerator, denominator in (
        ("precision", true_positives, predicted_count),
        ("recall", true_positives, support),
        ("f1", 2 * true_positives, support + predicted_count),
    ):
        per_class = np.divide(
            numerator, denominator, out=np.zeros(len(labels)), where=denominator > 0
        )
        metrics[f"training_{name}_score"] = np.average(per_class, weights=support)
    probabilities = _try(lambda: np.asarray(estimator.predict_proba(X), dtype=float))
    classes = getattr(estimator, "classes_", None)
    if probabilities is None or classes is None or probabilities.shape != (len(y), len(classes)):
        return metrics
    class_index = np.searchsorted(classes, y)
    if np.any(class_index >= len(classes)) or np.any(classes[class_index] != y):
        return metrics  # labels the model does not know: sklearn refuses these too
    eps = np.finfo(probabilities.dtype).eps
    true_probability = np.clip(probabilities[np.arange(len(y)), class_index], eps, 1 - eps)
    metrics["training_log_loss"] = np.average(-np.log(true_probability), weights=weights)
    metrics["training_roc_auc"] = _try(lambda: _roc_auc(probabilities, class_index, weights))
    return metrics


def _roc_auc(probabilities: Any, class_index: Any, weights: Any) -> float:
    """ROC AUC: binary, or one-vs-rest averaged with class-frequency weights (as sklearn)."""
    import numpy as np

    n_classes = probabilities.shape[1]
    if n_classes == 2:
        return _binary_auc(probabilities[:, 1], class_index == 1, weights)
    if not np.allclose(probabilities.sum(axis=1), 1):
        raise ValueError("multiclass ROC AUC needs probabilities that sum to one")
    class_weights = np.bincount(class_index, weights=weights, minlength=n_classes)
    areas = [_binary_auc(probabilities[:, c], class_index == c, weights) for c in range(n_classes)]
    return float(np.average(areas, weights=class_weights))


def _binary_auc(scores: Any, positive: Any, weights: Any) -> float:
    """Probability that a positive scores above a negative, ties counting half (weighted)."""
    import numpy as np

    values, index = np.unique(scores, return_inverse=True)
    positives = np.bincount(index, weights=weights * positive, minlength=len(values))
    negatives = np.bincount(index, weights=weights * ~positive, minlength=len(values))
    if positives.sum() <= 0 or negatives.sum() <= 0:
        raise ValueError("ROC AUC needs both classes in y")
    negatives_below = np.cumsum(negatives) - negatives
    return float(
        positives @ (negatives_below + negatives / 2) / (positives.sum() * negatives.sum())
    )


def _regressor_metrics(estimator: Any, X: Any, y: Any, sample_weight: Any) -> dict[str, Any]:
    import numpy as np

    y = np.asarray(y, dtype=float)
    predicted = _try(lambda: np.asarray(estimator.predict(X), dtype=float))
    if predicted is None or len(predicted) != len(y):
        return {}
    y, predicted = y.reshape(len(y), -1), predicted.reshape(len(predicted), -1)
    if y.shape != predicted.shape:
        return {}
    weights = None if sample_weight is None else np.asarray(sample_weight, float)
    errors = predicted - y
    squared = np.average(errors**2, axis=0, weights=weights)  # per output, then averaged
    total = np.average((y - np.average(y, axis=0, weights=weights)) ** 2, axis=0, weights=weights)
    r2 = np.where(total > 0, 1 - squared / np.where(total > 0, total, 1), squared == 0)
    return {
        "training_mean_squared_error": squared.mean(),
        "training_root_mean_squared_error": np.sqrt(squared).mean(),
        "training_mean_absolute_error": np.average(np.abs(errors), axis=0, weights=weights).mean(),
        "training_r2_score": r2.mean(),
    }


def _try(compute: Any) -> Any:
    """The value of ``compute()``, or None when it raises: one failing metric skips only itself."""
    try:
        return compute()
    except Exception:
        return None


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
    import sklearn

    try:
        data = pickle.dumps(model, protocol=pickle.HIGHEST_PROTOCOL)
    except Exception as exc:  # a class defined inside a function, a lambda in a param...
        warn_not_picklable(model, exc)
        return None
    (path / "model.pkl").write_bytes(data)
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
    with open(path / "model.pkl", "rb") as f:
        return pickle.load(f)
