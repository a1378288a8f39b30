"""scikit-learn training metrics: computed only where it cannot change what the user observes.

The metrics of a fitted estimator on its training data cost a prediction
pass, and a prediction pass runs code. autolog makes it only when that code
is the estimator library's own and pure:

* never under metadata routing (``set_config(enable_metadata_routing=True)``):
  our ``predict`` would reach the consuming sub-estimators without the
  metadata the user routes to them;
* never when the estimator, or any estimator or object among its parameters,
  is user code: a class defined outside an installed library (the user's
  script, a test module), a function or callable object given as a parameter
  that is not scikit-learn's, NumPy's or SciPy's (a ``FunctionTransformer``'s
  ``func``, a ``make_scorer`` scorer, a custom ``metric``), or any scorer
  object: calling them again would run the user's code once more;
* ``predict`` and ``predict_proba`` run once each, and ``score`` is never
  called on top of them: ``training_score`` is the accuracy or R2 just computed
  when the estimator keeps the default ``score``, or ``score`` itself for an
  estimator that is neither a classifier nor a regressor (a clusterer, a
  density model), where it is the only pass;
* random generators are left as they were: the global ones by
  :func:`autolog._patch.own_code`, and a ``RandomState``/``Generator`` given as
  ``random_state`` here (``DummyClassifier(strategy="stratified")`` draws from
  it in ``predict``).

The formulas are sklearn.metrics' (weighted averages, zero_division=0, log
loss clipped to eps) written out in NumPy: sklearn's input validation costs
~3 ms per fit on small data, more than everything else autolog does for a fit.
tests/integrations/test_sklearn.py checks them against sklearn.metrics.
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from ..integration import is_metric_value

#: Libraries whose functions, given as parameters, are pure: calling them again is harmless.
PURE_LIBRARIES = ("sklearn", "numpy", "scipy", "builtins", "math", "operator")


def training_metrics(estimator: Any, X: Any, y: Any, sample_weight: Any = None) -> dict[str, float]:
    """``training_score`` and, for classifiers and regressors, the usual metrics on ``X, y``.

    Named as MLflow names them, so runs compare across both tools. Empty when
    :func:`reason_not_scored` gives a reason. A metric the estimator or the data
    does not support (multi-output classes, no ``predict_proba``, a single
    class...) is left out; the others still count.
    """
    from sklearn.base import ClassifierMixin, RegressorMixin, is_classifier, is_regressor

    if X is None or reason_not_scored(estimator) is not None:
        return {}
    metrics: dict[str, Any] = {}
    with _random_params_kept(estimator):
        predicted = False  # whether predict() ran: then score() would be a second pass
        if y is not None and _try(lambda: is_classifier(estimator)):
            predicted = True
            metrics.update(_try(lambda: _classifier_metrics(estimator, X, y, sample_weight)) or {})
        elif y is not None and _try(lambda: is_regressor(estimator)):
            predicted = True
            metrics.update(_try(lambda: _regressor_metrics(estimator, X, y, sample_weight)) or {})
        score = getattr(type(estimator), "score", None)
        if score is ClassifierMixin.score and "training_accuracy_score" in metrics:
            metrics["training_score"] = metrics["training_accuracy_score"]
        elif score is RegressorMixin.score and "training_r2_score" in metrics:
            metrics["training_score"] = metrics["training_r2_score"]
        elif score is not None and not predicted:
            weights = {} if sample_weight is None else {"sample_weight": sample_weight}
            metrics["training_score"] = _try(lambda: estimator.score(X, y, **weights))
    return {name: value for name, value in metrics.items() if is_metric_value(value)}


def reason_not_scored(estimator: Any) -> str | None:
    """Why training metrics are skipped for ``estimator`` (see the module doc), or None."""
    import sklearn

    if sklearn.get_config().get("enable_metadata_routing"):
        return "metadata routing is enabled"
    for value in _parameter_values(estimator):
        reason = _user_code(value)
        if reason is not None:
            return reason
    return None


def _parameter_values(estimator: Any) -> Iterator[Any]:
    yield estimator
    params = _try(lambda: estimator.get_params(deep=True))
    if params is None:
        yield _Unknown()
        return
    pending = list(params.values())
    while pending:
        value = pending.pop()
        if isinstance(value, (list, tuple)):
            pending.extend(value)
        elif isinstance(value, dict):
            pending.extend(value.values())
        else:
            yield value


class _Unknown:
    """Stands for parameters that could not be read: treated as user code."""


def _user_code(value: Any) -> str | None:
    if value is None or isinstance(value, (str, bytes, bool, int, float, complex)):
        return None
    cls = type(value)
    if isinstance(value, _Unknown):
        return "its parameters cannot be read"
    if cls.__module__.startswith("sklearn.metrics._scorer"):
        return f"it holds a scorer ({cls.__name__})"
    if isinstance(value, type) or callable(value):
        owner = getattr(value, "__module__", None) or cls.__module__
        if not _from_pure_library(owner):
            return f"it holds user code ({getattr(value, '__qualname__', cls.__qualname__)})"
        return None
    if not _library_class(cls):
        return f"it is or holds an object of a user class ({cls.__qualname__})"
    return None


def _from_pure_library(module: str) -> bool:
    return module.partition(".")[0] in PURE_LIBRARIES


@functools.lru_cache(maxsize=1024)
def _library_class(cls: type) -> bool:
    """True for classes of an installed library (site-packages) or the standard library."""
    if _from_pure_library(cls.__module__):
        return True
    module = sys.modules.get(cls.__module__)
    path = getattr(module, "__file__", None) or ""
    return "site-packages" in path or "dist-packages" in path


@contextmanager
def _random_params_kept(estimator: Any) -> Iterator[None]:
    """Restore the state of any RandomState or Generator among the estimator's parameters."""
    import numpy as np

    restores: list[Callable[[], None]] = []
    for value in _parameter_values(estimator):
        if isinstance(value, np.random.RandomState):
            restores.append(functools.partial(value.set_state, value.get_state()))
        elif isinstance(value, np.random.Generator):
            generator = value.bit_generator
            restores.append(functools.partial(setattr, generator, "state", generator.state))
    try:
        yield
    finally:
        for restore in restores:
            restore()


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
