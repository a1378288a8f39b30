"""The workloads autolog and MLflow are measured on, the same data for both tools.

    python -P bench/workloads.py --tool autolog|mlflow [--pairs 2] [--only sklearn,keras]

Run it with the interpreter of the tool's own virtual environment (``.venv`` for
autolog, ``.venv-mlflow`` for MLflow, which must not share one), in an empty
working directory: each tool then records into its default store there
(``./autolog-runs``; MLflow's ``sqlite:///mlflow.db``). It prints one JSON
object of raw samples on its last line; ``bench/run_all.py`` pools the samples
of several such processes and computes medians and spreads.

Workloads, each timed with the tool's ``autolog()`` on and off, alternating:

``sklearn``    ``LogisticRegression(max_iter=200).fit`` on 2000x20 data
``arima``      ``ARIMA(series, order=(2, 1, 1)).fit()`` on a 300-point series
``keras``      a small dense Keras model, 50 epochs (torch backend)
``lightning``  a small dense LightningModule, 30 epochs
``metrics``    metric points per second from the training thread, through the
               tool's module-level ``log_metric`` (single points) and
               ``log_metrics`` (batches of 10 keys), inside a run

This module imports neither autolog nor MLflow at import time, so either
virtual environment can run it, and ``bench_sklearn.py`` and ``bench_deep.py``
share its data and models.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import importlib
import json
import logging
import os
import sys
import time
import warnings
from collections.abc import Callable, Iterator
from typing import Any

os.environ.setdefault("KERAS_BACKEND", "torch")

KERAS_EPOCHS = 50
LIGHTNING_EPOCHS = 30
SAMPLES, FEATURES, BATCH = 256, 8, 32  # 8 batches per epoch for the deep models
WORKLOADS = ("sklearn", "arima", "keras", "lightning", "metrics")


# -- the two tools -------------------------------------------------------------


class Tool:
    """One tracking library driven through the calls both share; ``name`` is its module."""

    name = ""

    def __init__(self) -> None:
        self.module: Any = importlib.import_module(self.name)

    def enable(self) -> None:
        self.module.autolog()

    def disable(self) -> None:
        self.module.autolog(disable=True)

    def start_run(self) -> Any:
        return self.module.start_run()

    def log_metric(self, key: str, value: float, step: int) -> None:
        self.module.log_metric(key, value, step=step)

    def log_metrics(self, metrics: dict[str, float], step: int) -> None:
        self.module.log_metrics(metrics, step=step)


class Autolog(Tool):
    """autolog with its defaults: every integration, the local store in the working directory."""

    name = "autolog"


class Mlflow(Tool):
    """MLflow with its defaults: ``mlflow.autolog()``, ``sqlite:///mlflow.db`` in the cwd."""

    name = "mlflow"


TOOLS = {"autolog": Autolog, "mlflow": Mlflow}


# -- data and fits ---------------------------------------------------------------


def logistic_data() -> tuple[Any, Any]:
    """2000x20 features and binary labels of a noisy linear rule (seed 0)."""
    import numpy as np

    rng = np.random.default_rng(0)
    X = rng.normal(size=(2000, 20))
    y = (X @ rng.normal(size=20) + rng.normal(size=2000) > 0).astype(int)
    return X, y


def sklearn_fit() -> Callable[[], Any]:
    """A function fitting ``LogisticRegression(max_iter=200)`` on :func:`logistic_data`."""
    from sklearn.linear_model import LogisticRegression

    X, y = logistic_data()
    return lambda: LogisticRegression(max_iter=200).fit(X, y)


def arima_series(points: int = 300) -> Any:
    """A random walk with AR(1) steps and drift, ``points`` long (seed 0)."""
    import numpy as np

    rng = np.random.default_rng(0)
    steps = np.zeros(points)
    for i in range(1, points):
        steps[i] = 0.6 * steps[i - 1] + rng.normal()
    return 100 + np.cumsum(steps + 0.1)


def arima_fit() -> Callable[[], Any]:
    """A function fitting ``ARIMA(order=(2, 1, 1))`` on :func:`arima_series`."""
    from statsmodels.tsa.arima.model import ARIMA

    series = arima_series()
    return lambda: ARIMA(series, order=(2, 1, 1)).fit()


def keras_fit(epochs: int = KERAS_EPOCHS) -> Callable[[], Any]:
    """A function fitting a fresh small dense Keras model for ``epochs`` epochs."""
    import keras
    import numpy as np

    rng = np.random.default_rng(0)
    x = rng.normal(size=(SAMPLES, FEATURES)).astype("float32")
    y = x.sum(axis=1, keepdims=True)

    def fit() -> Any:
        model = keras.Sequential(
            [
                keras.Input((FEATURES,)),
                keras.layers.Dense(16, activation="relu"),
                keras.layers.Dense(1),
            ]
        )
        model.compile(optimizer="adam", loss="mse", metrics=["mae"])
        return model.fit(x, y, epochs=epochs, batch_size=BATCH, validation_split=0.25, verbose=0)

    return fit


def lightning_fit(epochs: int = LIGHTNING_EPOCHS) -> Callable[[], Any]:
    """A function fitting a fresh small dense LightningModule for ``epochs`` epochs."""
    import lightning.pytorch as lp
    import torch
    from torch.utils.data import DataLoader, TensorDataset

    logging.getLogger("lightning.pytorch").setLevel(logging.ERROR)  # "GPU available: ..."
    logging.getLogger("pytorch_lightning").setLevel(logging.ERROR)
    torch.manual_seed(0)
    x = torch.randn(SAMPLES, FEATURES)
    y = x.sum(dim=1, keepdim=True)
    split = SAMPLES * 3 // 4
    train = DataLoader(TensorDataset(x[:split], y[:split]), batch_size=BATCH)
    val = DataLoader(TensorDataset(x[split:], y[split:]), batch_size=BATCH)

    class Small(lp.LightningModule):
        def __init__(self, lr: float = 1e-3) -> None:
            super().__init__()
            self.save_hyperparameters()
            self.net = torch.nn.Sequential(
                torch.nn.Linear(FEATURES, 16), torch.nn.ReLU(), torch.nn.Linear(16, 1)
            )

        def training_step(self, batch: Any, batch_idx: int) -> torch.Tensor:
            loss = torch.nn.functional.mse_loss(self.net(batch[0]), batch[1])
            self.log("train_loss", loss, on_epoch=True)
            return loss

        def validation_step(self, batch: Any, batch_idx: int) -> None:
            self.log("val_loss", torch.nn.functional.mse_loss(self.net(batch[0]), batch[1]))

        def configure_optimizers(self) -> torch.optim.Optimizer:
            return torch.optim.Adam(self.parameters(), lr=self.hparams.lr)

    def fit() -> Any:
        trainer = lp.Trainer(
            max_epochs=epochs,
            accelerator="cpu",
            enable_progress_bar=False,
            enable_model_summary=False,
            enable_checkpointing=False,
            logger=False,
        )
        trainer.fit(Small(), train, val)
        return trainer

    return fit


FITS: dict[str, Callable[[], Callable[[], Any]]] = {
    "sklearn": sklearn_fit,
    "arima": arima_fit,
    "keras": keras_fit,
    "lightning": lightning_fit,
}


def _logistic_regression() -> type:
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression


def _arima() -> type:
    from statsmodels.tsa.arima.model import ARIMA

    return ARIMA


#: The classes whose own ``fit`` an :class:`InnerClock` times, by workload.
CLOCKED: dict[str, Callable[[], type]] = {"sklearn": _logistic_regression, "arima": _arima}


# -- measuring -------------------------------------------------------------------


@contextlib.contextmanager
def quiet() -> Iterator[None]:
    """Hide framework warnings (ARIMA start parameters, deprecations) during a timed fit."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield


class InnerClock:
    """Times the framework's own ``fit``, under the tool's patch.

    Installed on the fitted class before the tool is imported, so the tool wraps
    it: a patched call's time minus this clock's is what the tool itself spent
    in that call (recording, saving the model), measured within the call. The
    fit's own variation (a 45 ms ARIMA fit varies by milliseconds from one call
    to the next) then no longer hides a few milliseconds of the tool's, as it
    does in ``added_s``, the difference between two separate fits.
    """

    def __init__(self) -> None:
        self.seconds = 0.0
        self._depth = 0

    def install(self, cls: type, name: str = "fit") -> None:
        import functools

        original = cls.__dict__[name]
        clock = self

        @functools.wraps(original)
        def timed(*args: Any, **kwargs: Any) -> Any:
            clock._depth += 1
            start = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                clock._depth -= 1
                if clock._depth == 0:  # the outermost call only
                    clock.seconds += time.perf_counter() - start

        setattr(cls, name, timed)


def paired(
    tool: Any, fit: Callable[[], Any], pairs: int, clock: InnerClock | None = None
) -> dict[str, list[float]]:
    """Seconds of ``pairs`` fits with the tool's autolog on and as many with it off.

    One untimed warm-up fit in each state first (first-call imports, database
    creation). Within a pair the order alternates, so drift hits both states
    alike; ``added`` is with minus without, pair by pair. With a ``clock`` on the
    fitted class, ``inside_s`` is the tool's own time within each call (the
    call's time minus the framework's fit), with minus without. Leaves autolog off.
    """
    wall: dict[bool, list[float]] = {False: [], True: []}
    cpu: dict[bool, list[float]] = {False: [], True: []}
    outside: dict[bool, list[float]] = {False: [], True: []}
    for repetition in range(pairs + 1):  # repetition 0 warms both states up
        for enabled in (True, False) if repetition % 2 == 0 else (False, True):
            tool.enable() if enabled else tool.disable()
            gc.collect()
            if clock is not None:
                clock.seconds = 0.0
            start, start_cpu = time.perf_counter(), time.process_time()
            with quiet():
                fit()
            if repetition:
                wall[enabled].append(time.perf_counter() - start)
                cpu[enabled].append(time.process_time() - start_cpu)
                if clock is not None:
                    outside[enabled].append(wall[enabled][-1] - clock.seconds)
    tool.disable()
    found = {
        "without_s": wall[False],
        "with_s": wall[True],
        "added_s": [w - b for w, b in zip(wall[True], wall[False], strict=True)],
        "added_cpu_s": [w - b for w, b in zip(cpu[True], cpu[False], strict=True)],
    }
    if clock is not None:
        found["inside_s"] = [w - b for w, b in zip(outside[True], outside[False], strict=True)]
    return found


def metric_rates(tool: Any, repeats: int, seconds: float = 0.5) -> dict[str, list[float]]:
    """Metric points per second logged from this thread: single calls, and 10-key batches.

    Each repetition logs for about ``seconds`` into a run of its own (the
    clock is read every 10 calls), so a fast and a slow tool both get a
    readable count.
    """
    single, batched = [], []
    batch = {f"m{i}": 0.5 for i in range(10)}
    tool.enable()
    for _ in range(repeats):
        with tool.start_run():
            single.append(_rate(lambda step: tool.log_metric("loss", 0.5, step), 1, seconds))
            batched.append(_rate(lambda step: tool.log_metrics(batch, step), 10, seconds))
    return {"single_points_per_s": single, "batch10_points_per_s": batched}


def _rate(call: Callable[[int], None], points_per_call: int, seconds: float) -> float:
    step = 0
    start = time.perf_counter()
    while True:
        for _ in range(10):
            call(step)
            step += 1
        elapsed = time.perf_counter() - start
        if elapsed >= seconds:
            return step * points_per_call / elapsed


def measure(tool_name: str, workloads: list[str], pairs: int) -> dict[str, Any]:
    """Run the workloads with one tool in this process; raw samples by workload."""
    # Frameworks are imported before the tool, as a training script usually does;
    # one thread each keeps the timings of the deep models steadier.
    fits = {name: FITS[name]() for name in workloads if name in FITS}
    clocks = {name: InnerClock() for name in CLOCKED if name in fits}
    for name, clock in clocks.items():
        clock.install(CLOCKED[name]())
    if "keras" in workloads or "lightning" in workloads:
        import torch

        torch.set_num_threads(1)
    tool = TOOLS[tool_name]()
    results: dict[str, Any] = {"tool": tool_name, "pid": os.getpid()}
    for name in workloads:
        print(f"  {tool_name}: {name}", file=sys.stderr, flush=True)
        if name == "metrics":
            results[name] = metric_rates(tool, repeats=max(pairs, 1))
        else:
            results[name] = paired(tool, fits[name], pairs, clocks.get(name))
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tool", choices=sorted(TOOLS), required=True)
    parser.add_argument("--pairs", type=int, default=2, help="timed pairs per workload")
    parser.add_argument("--only", help=f"comma-separated subset of {','.join(WORKLOADS)}")
    args = parser.parse_args(argv)
    workloads = args.only.split(",") if args.only else list(WORKLOADS)
    unknown = set(workloads) - set(WORKLOADS)
    if unknown:
        parser.error(f"unknown workload(s) {', '.join(sorted(unknown))}")
    results = measure(args.tool, workloads, args.pairs)
    sys.stdout.flush()
    print(json.dumps(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
