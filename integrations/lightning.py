"""PyTorch Lightning: each ``Trainer.fit`` is a run (``lightning.pytorch``, ``pytorch_lightning``).

The two namespaces ship distinct classes, so each gets its own registered
integration (``lightning`` and ``pytorch_lightning``) sharing this code; either
or both may be imported in one process.

What a fit records:

* params: the module's (and datamodule's) ``hparams`` under their own names;
  trainer settings (``max_epochs``, ``precision``, ...); ``early_stopping.*`` and
  ``model_checkpoint.*`` settings; at train start, ``optimizer`` (class name)
  with ``optimizer.<default>`` for each of its defaults (``optimizer_1``, ... for
  further optimizers) and ``lr_scheduler``. A name the user's hparams already
  use is left to the user's value.
* metrics: every scalar of ``trainer.callback_metrics`` at the end of each
  training epoch (validation of that epoch included), ``step`` = epoch; with
  ``autolog(log_every_n_steps=N)``, the values logged on-step every N optimizer
  steps as ``step/<key>``, ``step`` = global step; ``stopped_epoch`` and
  ``best_score`` when EarlyStopping stopped the fit. After the fit,
  ``trainer.validate`` results go into the fit's run as ``eval_<key>`` and
  ``trainer.test`` results under their own keys (``test_*`` by convention).
* model: the best checkpoint's weights when a ModelCheckpoint monitors
  something, else the final weights, as the pickled LightningModule (its class
  must be importable to load it).

Distributed training: only global rank zero writes. The process that calls
``fit`` as rank zero owns the run: it starts it, logs params before and the
model after (Lightning hands the weights back to it). A process that calls
``fit`` as another rank (``ddp`` re-running the script, ``torchrun``) records
nothing. Under ``ddp_spawn`` the caller trains nothing itself: fresh worker
processes run the epochs. Our callback reaches them inside the pickled trainer
and is rebuilt there (``__reduce__``) holding only the run's id and journal
file; on global rank zero it reopens that journal and appends the epochs and
optimizer params to the *same* run. The caller is blocked in ``fit``
meanwhile, so the file still has one writer at a time. (``ddp_fork`` workers
inherit the callback with the run itself and write the same way.)
"""

from __future__ import annotations

import contextlib
import functools
import importlib
import re
import sys
import weakref
from pathlib import Path
from typing import Any

from .._config import Config
from .._datasets import record_inputs
from .._validation import flatten
from ..errors import ModelNotSavedError
from ..hookspecs import hookimpl
from ..integration import (
    Integration,
    attach_run,
    fit_run,
    guarded,
    safe_patch,
    scalars,
    steps_option,
    unwrap,
)
from ._saving import NOT_IMPORTABLE, not_importable, warn_unsaveable

NAMESPACES = ("lightning.pytorch", "pytorch_lightning")
MODEL_FILE = "model.pt"
STEP_PREFIX = "step/"
VALIDATE_PREFIX = "eval_"
# fmt: off
TRAINER_SETTINGS = (
    "max_epochs", "min_epochs", "max_steps", "precision", "accumulate_grad_batches",
    "gradient_clip_val", "gradient_clip_algorithm", "check_val_every_n_epoch",
    "val_check_interval", "limit_train_batches", "limit_val_batches", "num_nodes", "num_devices",
)
CHECKPOINT_SETTINGS = ("monitor", "mode", "save_top_k", "save_last", "save_weights_only")
# fmt: on

#: Trainer -> the run of its last recorded fit, for validate()/test() afterwards.
_fit_runs: weakref.WeakKeyDictionary[Any, Any] = weakref.WeakKeyDictionary()


class LightningIntegration(Integration):
    """Records ``lightning.pytorch.Trainer.fit``; see the module docstring."""

    name = "lightning"
    module = "lightning.pytorch"
    supported_versions = "lightning>=2.1"
    #: ``log_every_n_steps``: also log on-step values every N optimizer steps (default: off).
    options = {"log_every_n_steps": None}

    @classmethod
    def check_options(cls, config: Config) -> None:
        steps_option(config)

    def patch(self, config: Config) -> None:
        import wrapt

        every = steps_option(config)
        module = importlib.import_module(self.module)
        record = _record_fit(self.name, self.module, config.log_models, every)
        wrapt.wrap_function_wrapper(module, "Trainer.fit", safe_patch(self.name, record))
        wrapt.wrap_function_wrapper(
            module, "Trainer.validate", safe_patch(self.name, _record_results(VALIDATE_PREFIX))
        )
        wrapt.wrap_function_wrapper(
            module, "Trainer.test", safe_patch(self.name, _record_results(""))
        )

    def unpatch(self) -> None:
        module = sys.modules[self.module]
        unwrap(module, "Trainer.fit")
        unwrap(module, "Trainer.validate")
        unwrap(module, "Trainer.test")


class PytorchLightningIntegration(LightningIntegration):
    """The same for the standalone ``pytorch_lightning`` package and its own classes."""

    name = "pytorch_lightning"
    module = "pytorch_lightning"
    supported_versions = "pytorch-lightning>=2.1"


@hookimpl
def autolog_register_integrations(register: Any) -> None:
    register(LightningIntegration)
    register(PytorchLightningIntegration)


# -- the patched calls --------------------------------------------------------


def _record_fit(integration: str, namespace: str, log_models: bool, every: int | None):
    def record_fit(trainer: Any, args: tuple, kwargs: dict):
        if _secondary_rank(trainer):
            return
        model = args[0] if args else kwargs.get("model")
        params = _fit_params(trainer, model, namespace, (*args[1:], *kwargs.values()))
        with fit_run(integration, type(model).__name__) as run:
            callback = _callback_class(namespace)(run, every, params)
            try:
                run.log_params(params)
                trainer.callbacks = [*trainer.callbacks, callback]
                _fit_runs[trainer] = run
                yield
            finally:
                trainer.callbacks = [c for c in trainer.callbacks if c is not callback]
            record_inputs(run, getattr(trainer, "train_dataloader", None))
            record_inputs(run, getattr(trainer, "val_dataloaders", None), context="eval")
            if log_models:
                _log_model(run, trainer, model)

    return record_fit


def _record_results(prefix: str):
    """validate()/test() after a fit: their returned metrics go into that fit's run."""

    def record_results(trainer: Any, args: tuple, kwargs: dict):
        run = _fit_runs.get(trainer)
        if run is None or _secondary_rank(trainer):
            return
        results = yield
        metrics: dict[str, float] = {}
        for result in results or ():
            metrics.update(scalars(result, prefix))
        run.log_metrics(metrics)

    return record_results


def _secondary_rank(trainer: Any) -> bool:
    """True in a process of a distributed fit that is not global rank zero.

    Before ``fit`` the strategy may not know its rank yet, so Lightning's own
    rank-zero flag (read from ``RANK``/``LOCAL_RANK``/... at import) counts too.
    """
    from lightning_utilities.core.rank_zero import rank_zero_only

    return getattr(trainer, "global_rank", 0) != 0 or getattr(rank_zero_only, "rank", 0) != 0


# -- what is recorded -----------------------------------------------------------


def _fit_params(trainer: Any, model: Any, namespace: str, fit_args: tuple) -> dict[str, Any]:
    datamodule_class = importlib.import_module(namespace).LightningDataModule
    datamodule = next((a for a in fit_args if isinstance(a, datamodule_class)), None)
    params: dict[str, Any] = {}
    for source in (model, datamodule):
        hparams = _new_params(params, dict(getattr(source, "hparams", None) or {}))
        params.update({name: _without_address(value) for name, value in hparams.items()})
    settings = {name: getattr(trainer, name, None) for name in TRAINER_SETTINGS}
    settings["accelerator"] = type(trainer.accelerator).__name__
    settings["strategy"] = type(trainer.strategy).__name__
    stopping = trainer.early_stopping_callback
    if stopping is not None:
        settings["early_stopping"] = {
            "monitor": stopping.monitor,
            "mode": stopping.mode,
            "patience": stopping.patience,
            "min_delta": abs(stopping.min_delta),
        }
    checkpoint = trainer.checkpoint_callback
    if checkpoint is not None and hasattr(checkpoint, "save_top_k"):
        settings["model_checkpoint"] = {n: getattr(checkpoint, n) for n in CHECKPOINT_SETTINGS}
    params.update(_new_params(params, settings))
    return params


_ADDRESS = re.compile(r" at 0x[0-9a-fA-F]+")


def _without_address(value: Any) -> Any:
    """An hparam as a param that is the same from one run to the next.

    A function or class is its importable name (``torch.nn.functional.relu``);
    another object whose repr carries its memory address loses the address.
    """
    if value is None or isinstance(value, (str, bool, int, float)):
        return value
    if callable(value) and hasattr(value, "__qualname__"):  # a function or class, not an instance
        module = getattr(value, "__module__", None)
        name = getattr(value, "__qualname__", None) or getattr(value, "__name__", repr(value))
        return f"{module}.{name}" if module else name
    text = repr(value)
    return _ADDRESS.sub("", text) if _ADDRESS.search(text) else value


def _optimizer_params(trainer: Any) -> dict[str, Any]:
    params: dict[str, Any] = {}
    for index, optimizer in enumerate(trainer.optimizers):
        key = f"optimizer_{index}" if index else "optimizer"
        params[key] = type(optimizer).__name__
        params.update({f"{key}.{name}": value for name, value in optimizer.defaults.items()})
    for index, config in enumerate(trainer.lr_scheduler_configs):
        key = f"lr_scheduler_{index}" if index else "lr_scheduler"
        params[key] = type(config.scheduler).__name__
        params[f"{key}.interval"] = config.interval
        params[f"{key}.frequency"] = config.frequency
    return params


def _new_params(taken: Any, new: dict[str, Any]) -> dict[str, Any]:
    """The flattened ``new`` params whose names are not ``taken`` (the user's hparams win)."""
    return {k: v for k, v in flatten(new).items() if k not in taken}


def _step_metrics(trainer: Any) -> dict[str, float]:
    """The values logged on-step at this step, without the stale epoch-level ones.

    ``callback_metrics`` mixes both; the logger connector (private, but stable
    across 2.x) holds the step-level view that Lightning's own loggers receive.
    """
    try:
        metrics = trainer._logger_connector.metrics["callback"]
    except (AttributeError, KeyError, TypeError, AssertionError):
        metrics = trainer.callback_metrics
    return scalars(metrics, STEP_PREFIX)


def _log_model(run: Any, trainer: Any, model: Any) -> None:
    checkpoint = trainer.checkpoint_callback
    best = (
        getattr(checkpoint, "best_model_path", "") if getattr(checkpoint, "monitor", None) else ""
    )
    if not best or not Path(best).is_file():
        with contextlib.suppress(ModelNotSavedError):
            run.log_model(model, checkpoint="final")
        return
    import copy  # here: this plugin loads at every autolog(), so cheaply

    import torch

    # A checkpoint this trainer has just written; it holds more than tensors (hparams).
    saved = torch.load(best, map_location="cpu", weights_only=False)
    chosen = copy.deepcopy(model)  # the user's model keeps its final weights
    chosen.load_state_dict(saved["state_dict"])
    extras: dict[str, Any] = {"checkpoint": "best", "monitor": checkpoint.monitor}
    score = checkpoint.best_model_score
    if score is None:  # under ddp_spawn the caller gets the path back, not the score
        for state in saved.get("callbacks", {}).values():
            if isinstance(state, dict) and state.get("best_model_path") == best:
                score = state.get("best_model_score")
    if score is not None:
        extras["best_score"] = float(score)
    with contextlib.suppress(ModelNotSavedError):
        run.log_model(chosen, **extras)


# -- the callback ---------------------------------------------------------------


@functools.cache
def _callback_class(namespace: str) -> type:
    """The callback, subclassing the namespace's own ``Callback`` (imported only now)."""
    base = importlib.import_module(namespace).Callback
    integration = namespace.partition(".")[0]  # "lightning" or "pytorch_lightning"

    class AutologCallback(base):  # type: ignore[valid-type,misc]  # Lightning's own Callback
        """Logs one fit's epochs into its run, on global rank zero only.

        In the process that called ``fit`` it holds the run itself; pickled into
        a ``ddp_spawn`` worker it carries the run's identity and reopens the
        run's journal there on first use (see the module docstring).
        """

        def __init__(self, run: Any, every: int | None, params: dict[str, Any]) -> None:
            self._run = run
            self._every = every
            self._param_names = set(params)
            self._target: tuple[str, str] | None = None  # (run id, journal) in a worker
            self._attached = False
            self._last_step = -1

        def __reduce__(self) -> tuple:
            target = self._target
            if target is None:
                journal = self._run.journal_path.absolute()  # workers may chdir
                target = (self._run.id, str(journal))
            return (_rebuild_callback, (namespace, target, self._every, sorted(self._param_names)))

        def _writer(self, trainer: Any) -> Any:
            if not trainer.is_global_zero:
                return None
            if self._run is None and self._target is not None:
                self._run = attach_run(*self._target)
                self._attached = True
            return self._run

        @guarded(integration)
        def on_train_start(self, trainer: Any, pl_module: Any) -> None:
            run = self._writer(trainer)
            if run is not None:
                params = _new_params(self._param_names, _optimizer_params(trainer))
                self._param_names.update(params)
                run.log_params(params)

        @guarded(integration)
        def on_train_batch_end(self, trainer: Any, *args: Any) -> None:
            if self._every is None:
                return
            step = trainer.global_step  # optimizer steps: repeats while accumulating
            if step == 0 or step % self._every or step == self._last_step:
                return
            run = self._writer(trainer)
            if run is not None:
                self._last_step = step
                run.log_metrics(_step_metrics(trainer), step=step)

        @guarded(integration)
        def on_train_epoch_end(self, trainer: Any, pl_module: Any) -> None:
            run = self._writer(trainer)
            if run is not None and not trainer.sanity_checking:
                run.log_metrics(scalars(trainer.callback_metrics), step=trainer.current_epoch)

        @guarded(integration)
        def on_train_end(self, trainer: Any, pl_module: Any) -> None:
            run = self._writer(trainer)
            stopping = trainer.early_stopping_callback
            if run is not None and stopping is not None and stopping.stopped_epoch:
                stopped = {
                    "stopped_epoch": stopping.stopped_epoch,
                    "best_score": stopping.best_score,
                }
                run.log_metrics(scalars(stopped))

        @guarded(integration)
        def teardown(self, trainer: Any, pl_module: Any, stage: str) -> None:
            if self._attached:
                self._run.detach()

    return AutologCallback


def _rebuild_callback(namespace: str, target: tuple[str, str], every: int | None, names: list):
    """Unpickle the callback in a worker process, detached: it will reopen the run's journal."""
    callback = _callback_class(namespace)(None, every, dict.fromkeys(names))
    callback._target = target
    return callback


# -- the model flavor -----------------------------------------------------------


@hookimpl
def autolog_save_model(model: Any, path: Path, config: Config) -> dict[str, Any] | None:
    loaded = [sys.modules[n] for n in NAMESPACES if n in sys.modules]  # never import one here
    module = next((m for m in loaded if isinstance(model, m.LightningModule)), None)
    if module is None:
        return None
    import torch

    try:
        torch.save(model, path / MODEL_FILE)
    except Exception as exc:  # a lambda or a lock among its attributes, a local class...
        (path / MODEL_FILE).unlink(missing_ok=True)
        warn_unsaveable(model, exc)
        return None
    return {
        "flavor": "lightning",
        "namespace": module.__name__,
        "framework_version": module.__version__,
        "torch_version": torch.__version__,
    }


@hookimpl
def autolog_load_model(path: Path, manifest: dict[str, Any]) -> Any:
    if manifest.get("flavor") != "lightning":
        return None
    import torch

    # The core has checked every file against the manifest's sha256 before this.
    try:
        return torch.load(path / MODEL_FILE, map_location="cpu", weights_only=False)
    except NOT_IMPORTABLE as exc:
        raise not_importable(exc, manifest) from exc
