"""What autolog adds to the wall time of small Keras and Lightning fits, per epoch (CPU).

    python -m bench.bench_deep [--repeats 15] [--only keras|lightning]

Each repetition times the same fit twice, without autolog and with it, in
alternating order so that drift (other processes, CPU clocks) hits both arms
alike. The figure is ``(with - without) / epochs`` for the whole fit, so the
fixed costs of a run (its folder, params, model summary, saving the model) are
included, spread over the epochs. The median and the spread (quartiles, min and
max) of the repetitions are printed, with two figures that stay readable on a
busy machine: the fastest fit with autolog against the fastest without, and the
added CPU time of this process. The cost of the per-epoch hook alone, the part
that grows with the number of epochs, is measured separately.

Keras runs on its torch backend unless KERAS_BACKEND says otherwise. Both
frameworks use one thread, which makes the timings steadier.
"""

from __future__ import annotations

import argparse
import gc
import os
import statistics
import sys
import tempfile
import time
import warnings
from collections.abc import Callable
from typing import Any

os.environ.setdefault("KERAS_BACKEND", "torch")

from bench.workloads import KERAS_EPOCHS, LIGHTNING_EPOCHS, keras_fit, lightning_fit


def measure_keras(repeats: int = 15, epochs: int = KERAS_EPOCHS) -> dict[str, Any]:
    """Added ms per epoch of a ``epochs``-epoch Keras fit of a small dense model."""
    result = _measure("keras", keras_fit(epochs), repeats, epochs)
    result["hook_us_per_epoch"] = _keras_hook_us()
    return result


def measure_lightning(repeats: int = 15, epochs: int = LIGHTNING_EPOCHS) -> dict[str, Any]:
    """Added ms per epoch of a ``epochs``-epoch Lightning fit of a small dense model."""
    result = _measure("lightning", lightning_fit(epochs), repeats, epochs)
    result["hook_us_per_epoch"] = _lightning_hook_us()
    return result


def _measure(framework: str, fit: Callable[[], Any], repeats: int, epochs: int) -> dict[str, Any]:
    import autolog

    wall: dict[bool, list[float]] = {False: [], True: []}
    cpu: dict[bool, list[float]] = {False: [], True: []}
    with tempfile.TemporaryDirectory(prefix="autolog-bench-") as store:
        for repetition in range(repeats + 1):  # the first round warms both arms up
            order = (False, True) if repetition % 2 else (True, False)
            for enabled in order:
                autolog.autolog(backend=store, silent=True, disable=not enabled)
                gc.collect()
                start, start_cpu = time.perf_counter(), time.process_time()
                fit()
                if repetition:
                    wall[enabled].append(time.perf_counter() - start)
                    cpu[enabled].append(time.process_time() - start_cpu)
        autolog.autolog(disable=True)
    added = _added_ms_per_epoch(wall, epochs)
    quartiles = statistics.quantiles(added, n=4) if len(added) >= 2 else [added[0]] * 3
    return {
        "framework": framework,
        "epochs": epochs,
        "repeats": repeats,
        "fit_s_without": statistics.median(wall[False]),
        "fit_s_with": statistics.median(wall[True]),
        "added_ms_per_epoch": statistics.median(added),
        "added_ms_per_epoch_q1": quartiles[0],
        "added_ms_per_epoch_q3": quartiles[2],
        "added_ms_per_epoch_min": added[0],
        "added_ms_per_epoch_max": added[-1],
        # The fastest fit of each arm is the one least disturbed by other processes.
        "added_ms_per_epoch_of_minimums": (min(wall[True]) - min(wall[False])) / epochs * 1e3,
        # CPU time of this process: blind to waiting, but steadier on a busy machine.
        "added_cpu_ms_per_epoch": statistics.median(_added_ms_per_epoch(cpu, epochs)),
    }


def _added_ms_per_epoch(timings: dict[bool, list[float]], epochs: int) -> list[float]:
    pairs = zip(timings[True], timings[False], strict=True)
    return sorted((with_ - without) / epochs * 1e3 for with_, without in pairs)


def _keras_hook_us(calls: int = 2000) -> float:
    """Microseconds per call of our Keras ``on_epoch_end`` with four metrics."""
    from autolog.integrations import keras as integration

    logs = {"loss": 0.5, "mae": 0.4, "val_loss": 0.6, "val_mae": 0.5}
    return _hook_us(lambda cb: lambda i: cb.on_epoch_end(i, logs), integration, calls)


def _lightning_hook_us(calls: int = 2000) -> float:
    """Microseconds per call of our Lightning ``on_train_epoch_end`` with four tensor metrics."""
    from types import SimpleNamespace

    import torch

    from autolog.integrations import lightning as integration

    metrics = {k: torch.tensor(0.5) for k in ("train_loss", "val_loss", "val_acc", "lr")}
    trainer = SimpleNamespace(
        is_global_zero=True, sanity_checking=False, current_epoch=0, callback_metrics=metrics
    )
    return _hook_us(lambda cb: lambda i: cb.on_train_epoch_end(trainer, None), integration, calls)


def _hook_us(bind: Callable[[Any], Callable[[int], None]], integration: Any, calls: int) -> float:
    import autolog

    with tempfile.TemporaryDirectory(prefix="autolog-bench-") as store:
        autolog.autolog(backend=store, silent=True)
        with autolog.start_run() as run:
            if integration.__name__.endswith("keras"):
                callback = integration._callback_class(False)(run, {}, None, None)
            else:
                callback = integration._callback_class("lightning.pytorch")(run, None, {})
            hook = bind(callback)
            start = time.perf_counter()
            for i in range(calls):
                hook(i)
            elapsed = time.perf_counter() - start
        autolog.autolog(disable=True)
    return elapsed / calls * 1e6


def report(result: dict[str, Any]) -> str:
    """One paragraph of a measurement, for people."""
    return (
        f"{result['framework']:<10} {result['epochs']}-epoch fit: "
        f"{result['fit_s_without']:.2f} s without autolog, {result['fit_s_with']:.2f} s with.\n"
        f"{'':<11}added per epoch: {result['added_ms_per_epoch']:.3f} ms median of "
        f"{result['repeats']} (quartiles {result['added_ms_per_epoch_q1']:.3f} to "
        f"{result['added_ms_per_epoch_q3']:.3f}, min {result['added_ms_per_epoch_min']:.3f}, "
        f"max {result['added_ms_per_epoch_max']:.3f}); "
        f"fastest with vs fastest without: {result['added_ms_per_epoch_of_minimums']:.3f} ms; "
        f"CPU time: {result['added_cpu_ms_per_epoch']:.3f} ms.\n"
        f"{'':<11}the epoch hook alone: {result['hook_us_per_epoch']:.1f} us per epoch"
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=15, help="paired fits per framework")
    parser.add_argument("--only", choices=("keras", "lightning"), help="measure one framework")
    args = parser.parse_args(argv)
    import torch

    torch.set_num_threads(1)
    warnings.filterwarnings("ignore")  # framework deprecation chatter, not ours
    if args.only != "lightning":
        print(report(measure_keras(args.repeats)), flush=True)
    if args.only != "keras":
        print(report(measure_lightning(args.repeats)), flush=True)


if __name__ == "__main__":
    sys.exit(main())
