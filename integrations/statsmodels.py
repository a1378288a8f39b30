"""statsmodels: a run per model ``fit`` (OLS, GLM, Logit, ARIMA, SARIMAX, ExponentialSmoothing...).

Every subclass of ``statsmodels.base.model.Model`` is patched as it is
defined (see :class:`~autolog.integrations._common.SubclassPatcher`), so the
integration waits for ``statsmodels.base.model`` rather than ``statsmodels``,
which imports no model at all.

A run holds the model specification (ARIMA's ``order`` and
``seasonal_order``, a regression's ``formula`` or ``exog_names``, a GLM's
``family``...) and the arguments given to ``fit`` as ``fit.<name>``; the
numeric goodness-of-fit attributes of the results (``aic``, ``bic``,
``rsquared``...) as metrics; and the results as the model.

Reading the results leaves them as the user would find them. Most of their
statistics are lazily computed and cached on first access; a value computed
now would freeze what the user's later code (changing ``cov_type``, the data,
a tolerance) would have seen. So a statistic is recorded when it is already
computed or stored, or when it is cheap and pure (:data:`CHEAP_STATISTICS`):
then it is computed and the results' cache put back exactly as it was. Those
that need another model fitted (``llnull``, ``llr``, ``llr_pvalue``,
``prsquared``: the null model) or real work (``condition_number``, an eigen-decomposition) are
recorded only when the user's code has already asked for them. No
``summary()`` is made: it evaluates dozens of statistics and costs more than
the fit of a small model; ``run.log_text(str(results.summary()), "summary.txt")``
inside ``autolog.start_run()`` keeps one where it is wanted.

Only the user's own ``fit()`` calls are runs. A model that fits another one
internally (ARIMA fits through SARIMAX) is one run, and fits that statsmodels
makes on its own behalf, outside any fit, are not runs: the auxiliary
regressions of ``adfuller``, ``coint``, ``grangercausalitytests``,
``variance_inflation_factor`` and the diagnostic tests, or the null model
behind a result's ``llnull``. Without this an ``adfuller`` call would add a
dozen OLS runs, and their AIC would compete with the user's models. The
price: forecasters that are not ``Model`` subclasses and fit one internally
(``ThetaModel``, ``STLForecast``) are not recorded.
"""

from __future__ import annotations

import contextlib
import functools
import importlib
import inspect
import sys
from pathlib import Path
from typing import Any

from .._config import Config
from .._datasets import record_inputs, statsmodels_data
from .._model_files import write_model_file
from ..hookspecs import hookimpl
from ..integration import Integration, fit_run, is_metric_value
from ._common import SubclassPatcher, caller_module, log_model_if_picklable, warn_not_picklable
from ._saving import NOT_IMPORTABLE, not_importable

#: Goodness-of-fit attributes of statsmodels results, logged as metrics when present.
FIT_STATISTICS = (
    "aic", "aicc", "bic", "hqic", "llf", "llnull", "llr", "llr_pvalue", "prsquared",
    "rsquared", "rsquared_adj", "fvalue", "f_pvalue", "mse_model", "mse_resid", "mse_total",
    "ssr", "ess", "centered_tss", "uncentered_tss", "condition_number", "deviance",
    "pearson_chi2", "scale", "sse", "mse", "mae", "df_model", "df_resid", "nobs",
)  # fmt: skip

#: Statistics computed when not already there: arithmetic on what the fit produced.
CHEAP_STATISTICS = frozenset(FIT_STATISTICS) - {
    "llnull", "llr", "llr_pvalue", "prsquared", "condition_number",
}  # fmt: skip

#: Constructor arguments that are data, data handling or starting values, not specification.
NOT_SPECIFICATION = {
    "endog", "exog", "data", "dates", "freq", "missing", "missing_idx", "hasconst",
    "model_spec", "formula", "offset", "exposure", "freq_weights", "var_weights", "weights",
    "initial_level", "initial_trend", "initial_seasonal",
}  # fmt: skip


class StatsmodelsIntegration(Integration):
    """Records the ``fit`` of every statsmodels model class."""

    name = "statsmodels"
    module = "statsmodels.base.model"
    supported_versions = "statsmodels>=0.14"

    def patch(self, config: Config) -> None:
        # Not `import statsmodels.base.model`: this runs while that import finishes,
        # before the module is bound as an attribute of statsmodels.base.
        base_model = importlib.import_module("statsmodels.base.model")
        self.models = SubclassPatcher(base_model.Model, ("fit",), "statsmodels", self._hook)
        self.models.patch()

    def unpatch(self) -> None:
        self.models.unpatch()

    def _hook(self, cls: type, method: str, original: Any) -> Any:
        return functools.partial(self._record_fit, original)

    def _record_fit(self, original: Any, model: Any, args: tuple, kwargs: dict):
        if caller_module().startswith("statsmodels."):
            return  # statsmodels fitting an auxiliary model for a test or a statistic
        config = self.config
        assert config is not None
        cls = type(model)
        spec = specification(model)
        with fit_run(
            "statsmodels",
            run_name(cls.__name__, spec),
            {"model_class": cls.__qualname__, "model_module": cls.__module__},
        ) as run:
            run.log_params({**spec, **_fit_arguments(original, args, kwargs)})
            record_inputs(run, statsmodels_data(model))
            results = yield
            run.log_metrics(fit_statistics(results))
            if config.log_models and _is_results(results):
                log_model_if_picklable(run, results)


def run_name(class_name: str, spec: dict[str, Any]) -> str:
    """``SARIMAX(0,1,1)x(1,1,1,12)``: a grid's runs tell apart at a glance in ``runs ls``."""
    order, seasonal = spec.get("order"), spec.get("seasonal_order")
    orders = [order] if isinstance(order, list) else []
    if isinstance(seasonal, list) and any(seasonal):  # (0, 0, 0, 0) means "not seasonal"
        orders.append(seasonal)
    if not orders:
        return class_name
    return class_name + "x".join("(" + ",".join(map(str, o)) + ")" for o in orders)


def specification(model: Any) -> dict[str, Any]:
    """The model's constructor settings: ``order``, ``trend``, ``family``, ``formula``...

    Read from ``_get_init_kwds()`` (what statsmodels itself uses to clone a
    model), then from the attributes named after the remaining constructor
    arguments (``trend`` or ``_trend``). Data arguments are left out; a
    regression is described by its ``formula`` or its ``exog_names`` instead.
    """
    settings: dict[str, Any] = {}
    with contextlib.suppress(Exception):
        settings.update(model._get_init_kwds())
    for name in _constructor_arguments(type(model)):  # type: ignore[arg-type]  # classes hash
        for attribute in (name, f"_{name}"):
            if name not in settings:
                with contextlib.suppress(Exception):  # absent, or a property that raises
                    settings[name] = getattr(model, attribute)
    params = {}
    for name, value in settings.items():
        plain = _plain(value)
        if name not in NOT_SPECIFICATION and plain is not _SKIP:
            params[name] = plain
    formula = getattr(model, "formula", None)
    if isinstance(formula, str):
        params["formula"] = formula
    elif _plain(getattr(model, "exog_names", None)) not in (_SKIP, None):
        params["exog_names"] = _plain(model.exog_names)
    if isinstance(getattr(model, "endog_names", None), str):
        params["endog_name"] = model.endog_names
    return params


@functools.lru_cache(maxsize=512)
def _constructor_arguments(cls: type) -> tuple[str, ...]:
    try:
        parameters = inspect.signature(cls.__init__).parameters.values()  # type: ignore[misc]
    except (TypeError, ValueError):
        return ()
    return tuple(
        p.name for p in list(parameters)[1:] if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
    )


@functools.lru_cache(maxsize=512)
def _fit_signature(function: Any) -> inspect.Signature | None:
    try:
        signature = inspect.signature(function)
    except (TypeError, ValueError):
        return None
    return signature.replace(parameters=list(signature.parameters.values())[1:])


def _fit_arguments(original: Any, args: tuple, kwargs: dict) -> dict[str, Any]:
    """The arguments the user gave to ``fit`` (not the defaults), as ``fit.<name>`` params."""
    signature = _fit_signature(original)
    try:
        given = signature.bind_partial(*args, **kwargs).arguments if signature else dict(kwargs)
    except TypeError:
        given = dict(kwargs)  # fit() will raise the user's TypeError itself
    flat: dict[str, Any] = {}
    for name, value in given.items():
        parameter = signature.parameters.get(name) if signature is not None else None
        if parameter is not None and parameter.kind is inspect.Parameter.VAR_KEYWORD:
            flat.update(value)
        else:
            flat[name] = value
    plain = {f"fit.{name}": _plain(value) for name, value in flat.items()}
    return {name: value for name, value in plain.items() if value is not _SKIP}


_SKIP = object()


def _plain(value: Any) -> Any:
    """``value`` as a param: scalars, short lists and dicts of them, a statsmodels
    object by its class name (``Binomial``); anything else (data arrays) is ``_SKIP``."""
    if value is None or isinstance(value, (str, bool, int, float)):
        return value
    if getattr(value, "ndim", None) == 0 and callable(getattr(value, "item", None)):
        return value.item()
    if isinstance(value, (list, tuple)) and len(value) <= 100:
        items = [_plain(item) for item in value]
        return _SKIP if any(item is _SKIP for item in items) else items
    if isinstance(value, dict):
        entries = {str(key): _plain(item) for key, item in value.items()}
        return {key: item for key, item in entries.items() if item is not _SKIP}
    if type(value).__module__.startswith("statsmodels.") and not hasattr(value, "shape"):
        return type(value).__name__
    return _SKIP


def fit_statistics(results: Any) -> dict[str, float]:
    """The numeric goodness-of-fit statistics of ``results``, leaving it as it was.

    One already computed (in the results' cache or stored as an attribute) is
    read; one of :data:`CHEAP_STATISTICS` is computed, then the cache is put
    back as it was; any other is left out, as is one that raises.
    """
    inner = getattr(results, "_results", results)  # the ResultsWrapper's own results
    metrics: dict[str, float] = {}
    for name, kind, cachename in _statistic_kinds(type(inner)):  # type: ignore[arg-type]  # classes hash
        if kind == CACHED_ON_ACCESS:
            cache = getattr(inner, cachename, None) or {}
            if cache.get(name) is not None:
                value = cache[name]
            elif name in CHEAP_STATISTICS:
                value = _without_caching(inner, name, cachename)
            else:
                continue
        elif name in _instance_attributes(inner):
            value = _instance_attributes(inner)[name]
        elif kind == PROPERTY and name in CHEAP_STATISTICS:
            value = _without_caching(inner, name, cachename)
        else:
            continue
        if not callable(value) and is_metric_value(value):
            metrics[name] = value
    return metrics


CACHED_ON_ACCESS, PROPERTY, OTHER = "cached on access", "property", "other"


@functools.lru_cache(maxsize=256)
def _statistic_kinds(cls: type) -> tuple[tuple[str, str, str], ...]:
    """``(name, kind, cache attribute)`` of each of :data:`FIT_STATISTICS` on ``cls``.

    Per class, once: ``inspect.getattr_static`` costs ~13 us a name, 0.4 ms a fit.
    A statistic statsmodels caches on first access (its ``_decorators``) names
    the results' attribute it caches into.
    """
    kinds = []
    for name in FIT_STATISTICS:
        descriptor = inspect.getattr_static(cls, name, None)
        if type(descriptor).__module__ == "statsmodels.tools._decorators":
            kinds.append(
                (name, CACHED_ON_ACCESS, getattr(descriptor, "cachename", None) or "_cache")
            )
        elif isinstance(descriptor, property):
            kinds.append((name, PROPERTY, "_cache"))
        else:
            kinds.append((name, OTHER, ""))
    return tuple(kinds)


def _instance_attributes(inner: Any) -> dict[str, Any]:
    try:
        return vars(inner)
    except TypeError:
        return {}


def _without_caching(inner: Any, name: str, cachename: str) -> Any:
    """``getattr(inner, name)``, with the cache (which it may fill) put back as it was."""
    had_cache = cachename in _instance_attributes(inner)
    cache = getattr(inner, cachename, None)
    saved = dict(cache) if isinstance(cache, dict) else None
    try:
        return getattr(inner, name)
    except Exception:
        return None
    finally:
        now = getattr(inner, cachename, None)
        if saved is not None and isinstance(now, dict):
            now.clear()
            now.update(saved)
        elif not had_cache:
            with contextlib.suppress(Exception):
                delattr(inner, cachename)


def _is_results(value: Any) -> bool:
    """True for statsmodels results objects, which know how to save themselves."""
    wrapper = sys.modules.get("statsmodels.base.wrapper")
    base = sys.modules.get("statsmodels.base.model")
    kinds = tuple(
        kind
        for kind in (getattr(wrapper, "ResultsWrapper", None), getattr(base, "Results", None))
        if kind is not None
    )
    return bool(kinds) and isinstance(value, kinds) and callable(getattr(value, "save", None))


# -- plugin hooks ---------------------------------------------------------------


@hookimpl
def autolog_register_integrations(register: Any) -> None:
    register(StatsmodelsIntegration)


@hookimpl
def autolog_save_model(model: Any, path: Path, config: Config) -> dict[str, Any] | None:
    """Save results with their own ``save()`` (a pickle that keeps the data, so they forecast)."""
    if not _is_results(model):
        return None
    import statsmodels

    try:
        _save(model, path / "results.pickle")
    except Exception as exc:  # a lambda given to fit(callback=...) is kept in the results
        (path / "results.pickle").unlink(missing_ok=True)
        warn_not_picklable(model, exc)
        return None
    return {
        "flavor": "statsmodels",
        "framework_version": statsmodels.__version__,
        "serialization": "statsmodels.save",
    }


def _save(results: Any, path: Path) -> None:
    """What ``results.save(path)`` writes, from memory: statsmodels' own ``save`` methods
    are ``pickle.dump(results, file, protocol=-1)``, byte for byte the same as this, which
    lets the manifest hash the bytes instead of reading the file back. A ``save`` that is
    not statsmodels' own (a subclass of the user's) is called as it is."""
    import pickle

    save = getattr(type(results), "save", None)
    if not getattr(save, "__module__", "").startswith("statsmodels."):
        results.save(str(path))
        return
    write_model_file(path, pickle.dumps(results, protocol=pickle.HIGHEST_PROTOCOL))


@hookimpl
def autolog_load_model(path: Path, manifest: dict[str, Any]) -> Any:
    """Load results saved by :func:`autolog_save_model` (checksums already verified)."""
    if manifest.get("flavor") != "statsmodels":
        return None
    from statsmodels.iolib.smpickle import load_pickle

    try:
        return load_pickle(str(path / "results.pickle"))
    except NOT_IMPORTABLE as exc:
        raise not_importable(exc, manifest) from exc
