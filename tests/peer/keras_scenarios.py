"""Realistic Keras 3 training scripts, tiny: each returns (final weights, losses).

Run by scenario_runner.py with autolog off and on; the results must match.
"""

from __future__ import annotations

from typing import Any

import keras
import numpy as np
import torch

RNG = np.random.default_rng(0)
X = RNG.normal(size=(32, 4)).astype("float32")
Y = (X @ np.array([[1.0], [-2.0], [0.5], [0.0]], dtype="float32")).astype("float32")


def _regressor() -> keras.Model:
    keras.utils.set_random_seed(0)
    model = keras.Sequential(
        [keras.Input((4,)), keras.layers.Dense(4, "relu"), keras.layers.Dense(1)]
    )
    model.compile(optimizer=keras.optimizers.SGD(0.05), loss="mse")
    return model


def _result(model: keras.Model, history: Any) -> tuple[list, list]:
    losses = [value for values in history.history.values() for value in values]
    return [w.numpy() for w in model.weights], losses


class CustomStep(keras.Model):
    """A subclassed model with its own train_step (torch backend) and no get_config."""

    def __init__(self) -> None:
        super().__init__()
        self.hidden = keras.layers.Dense(4, activation="relu")
        self.out = keras.layers.Dense(1)

    def call(self, x: Any) -> Any:
        return self.out(self.hidden(x))

    def train_step(self, data: Any) -> dict:
        x, y = data
        self.zero_grad()
        loss = self.compute_loss(x=x, y=y, y_pred=self(x, training=True))
        loss.backward()
        trainable = self.trainable_weights
        self.optimizer.apply([v.value.grad for v in trainable], trainable)
        return {"loss": loss}


def custom_train_step() -> tuple[list, list]:
    keras.utils.set_random_seed(0)
    model = CustomStep()
    model.compile(optimizer="sgd", loss="mse")
    history = model.fit(X, Y, epochs=2, batch_size=8, verbose=0)
    return _result(model, history)


class Subclassed(keras.Model):
    def __init__(self, units: int) -> None:
        super().__init__()
        self.units = units
        self.dense = keras.layers.Dense(units)
        self.head = keras.layers.Dense(1)

    def call(self, x: Any) -> Any:
        return self.head(keras.ops.tanh(self.dense(x)))


def subclassing() -> tuple[list, list]:
    keras.utils.set_random_seed(0)
    model = Subclassed(3)
    model.compile(optimizer="adam", loss="mae", metrics=["mse"])
    history = model.fit(X, Y, epochs=2, batch_size=16, validation_split=0.25, verbose=0)
    return _result(model, history)


def dict_losses_multiple_outputs() -> tuple[list, list]:
    keras.utils.set_random_seed(0)
    inputs = keras.Input((4,), name="x")
    hidden = keras.layers.Dense(4, activation="relu")(inputs)
    value = keras.layers.Dense(1, name="value")(hidden)
    label = keras.layers.Dense(2, activation="softmax", name="label")(hidden)
    model = keras.Model(inputs, {"value": value, "label": label})
    model.compile(
        optimizer="adam",
        loss={"value": "mse", "label": "sparse_categorical_crossentropy"},
        loss_weights={"value": 1.0, "label": 0.5},
        metrics={"label": ["accuracy"]},
    )
    labels = (Y[:, 0] > 0).astype("int32")
    history = model.fit(X, {"value": Y, "label": labels}, epochs=2, batch_size=8, verbose=0)
    return _result(model, history)


class EditsLogs(keras.callbacks.Callback):
    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        assert logs is not None
        logs["doubled_loss"] = 2 * logs["loss"]
        logs.pop("mse", None)


def callbacks_that_edit_logs() -> tuple[list, list]:
    model = _regressor()
    model.compile(optimizer="sgd", loss="mse", metrics=["mse"])
    history = model.fit(X, Y, epochs=2, batch_size=8, verbose=0, callbacks=[EditsLogs()])
    return _result(model, history)


def fit_twice() -> tuple[list, list]:
    model = _regressor()
    first = model.fit(X, Y, epochs=1, batch_size=8, verbose=0)
    second = model.fit(X, Y, epochs=3, initial_epoch=1, batch_size=8, verbose=0)
    weights, losses = _result(model, second)
    return weights, _result(model, first)[1] + losses


class TrainsAnother(keras.callbacks.Callback):
    def __init__(self) -> None:
        super().__init__()
        self.other = _regressor()
        self.losses: list[float] = []

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        history = self.other.fit(X, Y, epochs=1, batch_size=16, verbose=0)
        self.losses += history.history["loss"]


def fit_inside_a_callback() -> tuple[list, list]:
    model = _regressor()
    trainer = TrainsAnother()
    history = model.fit(X, Y, epochs=2, batch_size=8, verbose=0, callbacks=[trainer])
    weights, losses = _result(model, history)
    return weights + [w.numpy() for w in trainer.other.weights], losses + trainer.losses


def generator() -> tuple[list, list]:
    def batches():
        while True:
            index = np.random.randint(0, len(X), size=8)  # draws from the global RNG
            yield X[index], Y[index]

    model = _regressor()
    history = model.fit(batches(), steps_per_epoch=3, epochs=2, verbose=0)
    return _result(model, history)


class RandomBatches(keras.utils.PyDataset):
    """No batch_size attribute; every batch drawn from the global RNG."""

    def __len__(self) -> int:
        return 3

    def __getitem__(self, index: int) -> tuple:
        rows = np.random.randint(0, len(X), size=6)
        return X[rows], Y[rows]


def pydataset_with_random_batches() -> tuple[list, list]:
    model = _regressor()
    history = model.fit(RandomBatches(), epochs=2, verbose=0)
    return _result(model, history)


def torch_dataloader() -> tuple[list, list]:
    dataset = torch.utils.data.TensorDataset(torch.from_numpy(X), torch.from_numpy(Y))
    loader = torch.utils.data.DataLoader(dataset, batch_size=8, shuffle=True)
    model = _regressor()
    history = model.fit(loader, epochs=2, verbose=0)
    return _result(model, history)


class Fails(keras.callbacks.Callback):
    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        raise ValueError(f"stop at epoch {epoch}")


def exception_in_a_callback() -> tuple[list, list]:
    model = _regressor()
    model.fit(X, Y, epochs=2, batch_size=8, verbose=0, callbacks=[Fails()])
    return [], []


def bad_argument() -> tuple[list, list]:
    model = _regressor()
    model.fit(X, Y, epochs=1, batch_size=8, verbose=0, no_such_argument=1)
    return [], []


def evaluate_after_fit() -> tuple[list, list]:
    model = _regressor()
    history = model.fit(X, Y, epochs=1, batch_size=8, verbose=0, validation_data=(X, Y))
    weights, losses = _result(model, history)
    return weights, [*losses, model.evaluate(X, Y, verbose=0)]


SCENARIOS = [
    "custom_train_step",
    "subclassing",
    "dict_losses_multiple_outputs",
    "callbacks_that_edit_logs",
    "fit_twice",
    "fit_inside_a_callback",
    "generator",
    "pydataset_with_random_batches",
    "torch_dataloader",
    "exception_in_a_callback",
    "bad_argument",
    "evaluate_after_fit",
]
