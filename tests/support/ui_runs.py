"""Fixture runs for the UI tests, logged with autolog's real API into a local store.

    python -P tests/support/ui_runs.py STORE_DIR

Run in a fresh interpreter by the tests (so the test process's own autolog
session is untouched); the server tests then ship the same runs to an
``autolog server`` with ``autolog sync``. The values are chosen so a test can
assert them: latest, min and max differ, params differ between runs, one
history is long with a single spike, one run failed with NaN and inf.
"""

from __future__ import annotations

import math
import sys
import time
from pathlib import Path

import autolog

EXPERIMENT = "image-classifier"
OTHER_EXPERIMENT = "churn-model"
LONG_POINTS = 30_000
SPIKE_STEP, SPIKE_VALUE = 22_222, 50.0
CHILD_LRS = (0.1, 0.01, 0.001)


def loss_curve(lr: float, epoch: int) -> float:
    """A loss that falls faster for larger learning rates, with a little bump at epoch 5."""
    return round(2.0 * math.exp(-epoch * lr * 3) + (0.05 if epoch == 5 else 0.0), 6)


def log_epochs(run: autolog.Run, lr: float, epochs: int = 20) -> None:
    for epoch in range(epochs):
        loss = loss_curve(lr, epoch)
        run.log_metrics(
            {"loss": loss, "accuracy": round(1 - loss / 2.5, 6), "val_loss": round(loss * 1.1, 6)},
            step=epoch,
        )


def make_runs(folder: Path) -> None:
    autolog.autolog(backend=str(folder), silent=True)
    work = folder.parent / "fixture-files"
    work.mkdir(exist_ok=True)
    report = work / "report.txt"
    report.write_text("best lr: 0.01\n")

    with autolog.start_run(name="sweep", experiment=EXPERIMENT) as sweep:
        sweep.log_params({"optimizer": "adam", "epochs": 20})
        for lr in CHILD_LRS:
            time.sleep(0.005)  # distinct start times, so "oldest first" has one answer
            with autolog.start_run(name=f"lr-{lr}") as child:
                child.log_params(
                    {"lr": lr, "batch_size": 64, "optimizer": "sgd" if lr == 0.1 else "adam"}
                )
                log_epochs(child, lr)
                if lr == 0.01:
                    child.log_text("epoch,accuracy\n19,0.97\n", "confusion.csv")
                    child.log_model({"weights": [1.0, 2.0, 3.0], "lr": lr})
        sweep.log_metrics({"best_accuracy": 0.9712})
        sweep.log_artifact(str(report))

    with autolog.start_run(name="baseline", experiment=EXPERIMENT) as run:
        run.log_params({"lr": 0.05, "batch_size": 32, "optimizer": "sgd"})
        log_epochs(run, 0.05)
        run.set_tags({"team": "vision"})

    try:
        with autolog.start_run(name="diverged", experiment=EXPERIMENT) as run:
            run.log_params({"lr": 10.0, "batch_size": 64, "optimizer": "sgd"})
            for epoch, value in enumerate([1.0, 4.0, 80.0, float("inf"), float("nan")]):
                run.log_metrics({"loss": value}, step=epoch)
            raise FloatingPointError("loss diverged")
    except FloatingPointError:
        pass

    with autolog.start_run(name="long-run", experiment=EXPERIMENT) as run:
        run.log_params({"lr": 0.02, "batch_size": 128, "optimizer": "adam"})
        for step in range(LONG_POINTS):
            value = SPIKE_VALUE if step == SPIKE_STEP else 1.0 / (1 + step / 1000)
            run.log_metric("train/loss", value, step=step)

    with autolog.start_run(name="interrupted", experiment=EXPERIMENT) as run:
        run.log_params({"lr": 0.03, "batch_size": 64, "optimizer": "adam"})
        log_epochs(run, 0.03, epochs=4)
        autolog.end_run(status="KILLED")

    for name, auc, depth in (("gbm", 0.91, 6), ("logreg", 0.84, None)):
        with autolog.start_run(name=name, experiment=OTHER_EXPERIMENT) as run:
            run.log_params({"model": name, "max_depth": depth if depth else "none"})
            run.log_metrics({"auc": auc})


if __name__ == "__main__":
    make_runs(Path(sys.argv[1]))
