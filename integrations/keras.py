"""Keras 3: every ``Model.fit`` is a run, on whichever backend Keras runs.

What a fit records:

* params: ``epochs``, ``batch_size`` (Keras's default 32 for arrays, the
  loader's or dataset's ``batch_size``, else the size of the first batch a
  generator yields to Keras; a ``PyDataset`` that declares no ``batch_size``
  gets none: no batch is read ahead of the fit to find out),
  ``initial_epoch``, ``validation_split``, ``steps_per_epoch`` (given, or as
  Keras computed it), ``optimizer`` (class name) with ``optimizer.<key>`` for
  its config, ``loss``, ``metrics``, ``trainable_params`` and, with an
  EarlyStopping callback, ``early_stopping.*``.
* metrics: every key of the epoch ``logs`` (``loss``, ``val_loss``, ...),
  ``step`` = epoch, which continues from ``initial_epoch`` on resume; with
  ``autolog(log_every_n_steps=N)``, the batch ``logs`` every N batches as
  ``step/<key>``, ``step`` = batches since epoch 0; ``stopped_epoch`` and
  ``best_score`` when EarlyStopping stopped the fit. ``model.evaluate`` after
  the fit logs into the fit's run as ``eval_<key>``.
* artifacts: ``model_summary.txt``, and the model as a ``.keras`` file, which
  ``autolog.load_model`` loads with ``keras.saving.load_model``.

A fit made inside another fit (a callback that trains a second model) is
recorded as a child run of the outer fit's run.

Our callback is added to a copy of the user's ``callbacks`` list. A
``CallbackList`` object is passed through untouched (Keras uses it as is), so
such a fit gets params and the model but no per-epoch metrics.
"""

from __future__ import annotations

import functools
import inspect
import math
import sys
import weakref
from pathlib import Path
from typing import Any

from .._config import Config
from ..hookspecs import hookimpl
from ..integration import (
    Integration,
    fit_run,
    guarded,
    report_failure,
    safe_patch,
    scalars,
    steps_option,
    unwrap,
)
from ._common import log_model_if_picklable
from ._saving import NOT_IMPORTABLE, not_importable, warn_unsaveable

MODEL_FILE = "model.keras"
STEP_PREFIX = "step/"
EVAL_PREFIX = "eval_"
DEFAULT_BATCH_SIZE = 32  # what Keras uses for arrays when batch_size is not given
FIT_PARAMS = ("epochs", "initial_epoch", "validation_split")

#: Model -> the run of its last recorded fit, for evaluate() afterwards.
_fit_runs: weakref.WeakKeyDictionary[Any, Any] = weakref.WeakKeyDictionary()


class KerasIntegration(Integration):
    """Records ``keras.Model.fit`` and, after it, ``evaluate``; see the module docstring."""

    name = "keras"
    module = "keras"
    supported_versions = "keras>=3.0"
    #: ``log_every_n_steps``: also log the batch logs every N batches (default: off).
    options = {"log_every_n_steps": None}

    @classmethod
    def check_options(cls, config: Config) -> None:
        steps_option(config)

    def patch(self, config: Config) -> None:
        import keras
        import wrapt

        record = _record_fit(config.log_models, steps_option(config))
        # A fit inside a fit is the user's (a callback training another model): its own run.
        wrapt.wrap_function_wrapper(
            keras, "Model.fit", safe_patch(self.name, record, record_nested=True)
        )
        wrapt.wrap_function_wrapper(
            keras, "Model.evaluate", safe_patch(self.name, _record_evaluate)
        )

    def unpatch(self) -> None:
        keras = sys.modules["keras"]
        unwrap(keras, "Model.fit")
        unwrap(keras, "Model.evaluate")


@hookimpl
def autolog_register_integrations(register: Any) -> None:
    register(KerasIntegration)


# -- the patched calls --------------------------------------------------------


def _record_fit(log_models: bool, every: int | None):
    def record_fit(model: Any, args: tuple, kwargs: dict):
        try:
            call = _fit_signature().bind(model, *args, **kwargs)
        except TypeError:
            return  # not a valid call: let Keras say what is wrong, unrecorded
        given = call.arguments
        user_callbacks = _as_list(given.get("callbacks"))
        batch_size = given.get("batch_size") or _batch_size(given.get("x"))
        observed: list[int] | None = None
        if batch_size is None and inspect.isgenerator(given.get("x")):
            observed = []
            given["x"] = _observed(given["x"], observed)
        params = {name: _argument(given, name) for name in FIT_PARAMS}
        if batch_size is not None:
            params["batch_size"] = batch_size
        with fit_run("keras", model.name) as run:
            run.log_params(params)
            if user_callbacks is not None:
                callback = _callback_class(every is not None)(run, given, observed, every)
                given["callbacks"] = [*user_callbacks, callback]
            _fit_runs[model] = run
            yield call.args[1:], call.kwargs
            if log_models:
                log_model_if_picklable(run, model)

    return record_fit


def _record_evaluate(model: Any, args: tuple, kwargs: dict):
    """evaluate() after a fit: its results go into that fit's run as ``eval_<key>``."""
    run = _fit_runs.get(model)
    if run is None:
        return
    yield
    run.log_metrics(scalars(model.get_metrics_result(), EVAL_PREFIX))


@functools.cache
def _fit_signature() -> inspect.Signature:
    import keras

    return inspect.signature(keras.Model.fit)  # follows the wrapper to Keras's own fit


def _argument(given: dict[str, Any], name: str) -> Any:
    return given[name] if name in given else _fit_signature().parameters[name].default


def _as_list(callbacks: Any) -> list | None:
    """The user's callbacks as a new list; None for a CallbackList, which Keras takes as is."""
    import keras

    if isinstance(callbacks, keras.callbacks.CallbackList):
        return None
    if callbacks is None:
        return []
    return list(callbacks) if isinstance(callbacks, (list, tuple)) else [callbacks]


def _batch_size(x: Any) -> int | None:
    """The batch size Keras will use for ``x`` when the user did not give one.

    Only what ``x`` declares: a ``PyDataset`` without a ``batch_size`` gets none
    rather than a batch read ahead of the fit (which would draw from the
    user's random generators, or consume a stream).
    """
    if hasattr(x, "shape") or isinstance(x, (list, tuple, dict)):
        return DEFAULT_BATCH_SIZE
    size = getattr(x, "batch_size", None)  # torch DataLoader, most PyDatasets
    return size if isinstance(size, int) and not isinstance(size, bool) else None


def _first_dimension(batch: Any) -> int | None:
    import keras

    leaves = keras.tree.flatten(batch)
    shape = getattr(leaves[0], "shape", None) if leaves else None
    return int(shape[0]) if shape else None


def _observed(generator: Any, batch_sizes: list[int]):
    """Pass ``generator``'s batches through unchanged, noting the size of the first."""
    for batch in generator:
        try:
            size = _first_dimension(batch)
        except Exception as exc:
            report_failure("keras (batch size)", exc)
            size = None
        if size is not None:
            batch_sizes.append(size)
        yield batch
        break
    yield from generator


# -- the callback ---------------------------------------------------------------


@functools.cache
def _callback_class(per_step: bool) -> type:
    """The callback class, built on ``keras.callbacks.Callback`` once Keras is in use."""
    import keras

    class AutologCallback(keras.callbacks.Callback):
        """Logs one fit's params at train begin and its epoch logs into its run."""

        def __init__(self, run: Any, call: dict, batch_sizes: list | None, every: int | None):
            super().__init__()
            self._run = run
            self._call = call
            self._batch_sizes = batch_sizes  # filled by _observed() for a generator
            self._every = every
            self._step = 0

        @guarded("keras")
        def on_train_begin(self, logs: dict | None = None) -> None:
            model, run = self.model, self._run
            steps = self._call.get("steps_per_epoch") or self.params.get("steps")
            self._step = (self._call.get("initial_epoch") or 0) * (steps or 0)
            params: dict[str, Any] = {
                "steps_per_epoch": steps,
                **_optimizer_params(model.optimizer),
            }
            params["loss"] = _names(model.loss)
            compiled = model.get_compile_config() or {}
            params["metrics"] = _names(compiled.get("metrics"))
            params["trainable_params"] = sum(math.prod(w.shape) for w in model.trainable_weights)
            stopping = _early_stopping(self._call.get("callbacks"))
            if stopping is not None:
                params["early_stopping"] = {
                    "monitor": stopping.monitor,
                    "patience": stopping.patience,
                    "min_delta": abs(stopping.min_delta),
                    "mode": stopping.mode,
                    "restore_best_weights": stopping.restore_best_weights,
                }
            run.log_params(params)
            lines: list[str] = []
            model.summary(print_fn=lambda text, *args, **kwargs: lines.append(text))
            run.log_text("\n".join(lines), "model_summary.txt")

        @guarded("keras")
        def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
            if self._batch_sizes:
                self._run.log_params({"batch_size": self._batch_sizes[0]})
                self._batch_sizes = None
            self._run.log_metrics(scalars(logs or {}), step=epoch)

        @guarded("keras")
        def on_train_end(self, logs: dict | None = None) -> None:
            stopping = _early_stopping(self._call.get("callbacks"))
            if stopping is not None and stopping.stopped_epoch:
                best = {"stopped_epoch": stopping.stopped_epoch, "best_score": stopping.best}
                self._run.log_metrics(scalars(best))

    if not per_step:
        return AutologCallback

    class AutologStepCallback(AutologCallback):
        """Also logs the batch logs every ``log_every_n_steps`` batches."""

        @guarded("keras")
        def on_train_batch_end(self, batch: int, logs: dict | None = None) -> None:
            self._step += 1
            if self._step % self._every == 0:  # type: ignore[operator]  # set when on
                self._run.log_metrics(scalars(logs or {}, STEP_PREFIX), step=self._step)

    return AutologStepCallback


def _early_stopping(callbacks: Any) -> Any:
    import keras

    return next((c for c in callbacks or () if isinstance(c, keras.callbacks.EarlyStopping)), None)


def _optimizer_params(optimizer: Any) -> dict[str, Any]:
    import numpy

    params = {"optimizer": type(optimizer).__name__}
    for key, value in optimizer.get_config().items():
        # Keras keeps hyperparameters in float32: show 0.001, not 0.0010000000474974513.
        params[f"optimizer.{key}"] = (
            str(numpy.float32(value)) if isinstance(value, float) else value
        )
    return params


def _names(value: Any) -> Any:
    """Readable names of losses and metrics, as given to compile() or serialized by Keras."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, dict):
        if "class_name" in value:
            return (value.get("config") or {}).get("name") or value["class_name"]
        return {key: _names(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_names(item) for item in value]
    return getattr(value, "__name__", None) or type(value).__name__


# -- the model flavor -----------------------------------------------------------


@hookimpl
def autolog_save_model(model: Any, path: Path, config: Config) -> dict[str, Any] | None:
    keras = sys.modules.get("keras")
    if keras is None or not isinstance(model, keras.Model):
        return None
    try:
        model.save(path / MODEL_FILE)
    except Exception as exc:  # no get_config() on a subclassed model, an unserialisable layer...
        (path / MODEL_FILE).unlink(missing_ok=True)
        warn_unsaveable(model, exc)
        return None
    return {
        "flavor": "keras",
        "framework_version": keras.__version__,
        "keras_backend": keras.backend.backend(),
    }


@hookimpl
def autolog_load_model(path: Path, manifest: dict[str, Any]) -> Any:
    if manifest.get("flavor") != "keras":
        return None
    import keras

    try:
        return keras.saving.load_model(path / MODEL_FILE)
    except NOT_IMPORTABLE as exc:
        raise not_importable(exc, manifest) from exc
