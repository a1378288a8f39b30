"""A Keras regression, tracked by one line: ``autolog.autolog()``.

    python examples/keras_regression.py

A small dense network predicts house prices from four features (synthetic
data, so the script needs no download). It trains with early stopping and is
evaluated on held-out houses. autolog records the fit as a run: its params
(epochs, batch size, optimizer and learning rate, loss, ...), loss and MAE per
epoch for training and validation, the test scores of ``evaluate`` (as
``eval_*``), the model summary and the trained model, which is loaded back
from the run at the end. Nothing else in this script logs anything.

Keras uses the backend named by KERAS_BACKEND; this example picks torch when
none is set. Runs go to ./autolog-runs; look at them with ``autolog runs ls``
and ``autolog runs show RUN_ID``.
"""

from __future__ import annotations

import os

os.environ.setdefault("KERAS_BACKEND", "torch")

import keras
import numpy as np

import autolog


def make_houses(count: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Features (rooms, area in 100 m2, age in decades, km to centre) and price in k-euro."""
    rng = np.random.default_rng(seed)
    rooms = rng.integers(1, 7, count)
    area = rooms * rng.uniform(0.2, 0.35, count)
    age = rng.uniform(0, 10, count)
    distance = rng.gamma(2.0, 3.0, count)
    price = 80 + 220 * area + 15 * rooms - 6 * age - 40 * np.log1p(distance)
    price += rng.normal(0, 20, count)
    features = np.column_stack([rooms, area, age, distance]).astype("float32")
    return features, price.astype("float32")[:, None]


def build_model(features: np.ndarray) -> keras.Model:
    normalize = keras.layers.Normalization()
    normalize.adapt(features)
    model = keras.Sequential(
        [
            keras.Input((features.shape[1],)),
            normalize,
            keras.layers.Dense(32, activation="relu"),
            keras.layers.Dense(16, activation="relu"),
            keras.layers.Dense(1),
        ],
        name="house_prices",
    )
    model.compile(optimizer=keras.optimizers.Adam(3e-3), loss="mse", metrics=["mae"])
    return model


def main() -> None:
    autolog.autolog()
    x_train, y_train = make_houses(1500, seed=0)
    x_test, y_test = make_houses(500, seed=1)

    model = build_model(x_train)
    stop = keras.callbacks.EarlyStopping(monitor="val_loss", patience=5, restore_best_weights=True)
    model.fit(
        x_train,
        y_train,
        validation_split=0.2,
        epochs=40,
        batch_size=64,
        callbacks=[stop],
        verbose=0,
    )
    _, test_mae = model.evaluate(x_test, y_test, verbose=0)

    run = autolog.search_runs()[0]  # the newest run: this fit
    print(f"Run {run.id} ({run.name}): {run.status}, {len(run.params)} params.")
    for key in ("epochs", "batch_size", "optimizer", "optimizer.learning_rate", "loss"):
        print(f"  {key:<24} {run.params[key]}")
    epochs = len(autolog.get_metric_history(run.id, "val_loss"))
    print(f"Metrics for {epochs} epochs; the last values:")
    for key in ("loss", "val_loss", "mae", "val_mae", "stopped_epoch", "eval_mae"):
        if key in run.metrics:
            print(f"  {key:<24} {run.metrics[key]:.4g}")
    print(f"Artifacts: {', '.join(run.artifacts)}")

    reloaded = autolog.load_model(run.id)
    same = np.allclose(reloaded.predict(x_test, verbose=0), model.predict(x_test, verbose=0))
    print(f"Model loaded back from the run predicts the same: {same} (test MAE {test_mae:.1f} k)")
    print(f"\nLook at the run with:\n  autolog runs show {run.id}")


if __name__ == "__main__":
    main()
