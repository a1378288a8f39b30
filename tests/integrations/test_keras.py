"""The Keras 3 integration, on tiny real models trained on the CPU with the torch backend."""

from __future__ import annotations

import os

os.environ["KERAS_BACKEND"] = "torch"  # before anything imports Keras

from pathlib import Path
from typing import Any

import keras
import numpy as np
import pytest
import torch

import autolog

from .recorded import only_run, steps

torch.set_num_threads(1)

RNG = np.random.default_rng(0)
X = RNG.normal(size=(40, 4)).astype("float32")
Y = (X @ np.array([[1.0], [-2.0], [0.5], [0.0]]) + 0.1 * RNG.normal(size=(40, 1))).astype("float32")


def make_model() -> keras.Model:
    """A compiled two-layer regressor with 49 trainable weights."""
    keras.utils.set_random_seed(0)
    model = keras.Sequential(
        [keras.Input((4,)), keras.layers.Dense(8, activation="relu"), keras.layers.Dense(1)],
        name="regressor",
    )
    model.compile(optimizer=keras.optimizers.Adam(0.01), loss="mse", metrics=["mae"])
    return model


def batches(size: int = 10):
    """An endless generator of (x, y) batches."""
    while True:
        for start in range(0, len(X), size):
            yield X[start : start + size], Y[start : start + size]


class Batches(keras.utils.PyDataset):
    """A PyDataset of 8 batches of 5, without a ``batch_size`` attribute."""

    def __len__(self) -> int:
        return 8

    def __getitem__(self, index: int) -> tuple[np.ndarray, np.ndarray]:
        return X[index * 5 : (index + 1) * 5], Y[index * 5 : (index + 1) * 5]


class CountedBatches(Batches):
    """Batches that count how many times one is read."""

    reads = 0

    def __getitem__(self, index: int) -> tuple[np.ndarray, np.ndarray]:
        self.reads += 1
        return super().__getitem__(index)


class RaiseAt(keras.callbacks.Callback):
    """A user callback that raises ``error`` at the end of epoch ``epoch``."""

    def __init__(self, epoch: int, error: BaseException) -> None:
        super().__init__()
        self.epoch, self.error = epoch, error

    def on_epoch_end(self, epoch: int, logs: Any = None) -> None:
        if epoch == self.epoch:
            raise self.error


class TestFitRun:
    def test_fit_on_arrays_records_params_and_epoch_metrics(self, store: Path) -> None:
        """A fit on arrays records its params and every epoch log key at steps 0, 1, 2."""
        make_model().fit(X, Y, epochs=3, batch_size=8, validation_split=0.25, verbose=0)
        run = only_run()
        assert run.status == "FINISHED"
        assert run.tags["autolog.integration"] == "keras"
        expected = {
            "epochs": "3",
            "batch_size": "8",
            "initial_epoch": "0",
            "validation_split": "0.25",
            "steps_per_epoch": "4",
            "optimizer": "Adam",
            "optimizer.learning_rate": "0.01",
            "loss": "mse",
            "metrics": '["mae"]',
            "trainable_params": "49",
        }
        assert {key: run.params.get(key) for key in expected} == expected
        for key in ("loss", "mae", "val_loss", "val_mae"):
            assert steps(run.id, key) == [0, 1, 2]
        assert not [key for key in run.metrics if key.startswith("eval_")]

    def test_batch_size_of_arrays_defaults_to_keras_default(self, store: Path) -> None:
        """Without ``batch_size`` an array fit records Keras's default of 32."""
        make_model().fit(X, Y, epochs=1, verbose=0)
        assert only_run().params["batch_size"] == "32"

    def test_generator_batch_size_is_inferred_from_its_first_batch(self, store: Path) -> None:
        """A generator fit works and records the size of the batches it yields."""
        make_model().fit(batches(10), steps_per_epoch=4, epochs=2, verbose=0)
        run = only_run()
        assert (run.params["batch_size"], run.params["steps_per_epoch"]) == ("10", "4")
        assert steps(run.id, "loss") == [0, 1]

    def test_pydataset_steps_are_inferred_and_no_batch_is_read_ahead(self, store: Path) -> None:
        """A PyDataset fit records its number of batches; without a batch_size attribute it
        gets no batch_size param, because finding it out would read a batch before Keras."""
        autolog.autolog(disable=True)
        unrecorded = CountedBatches()
        make_model().fit(unrecorded, epochs=2, verbose=0)
        autolog.autolog(backend=str(store))
        dataset = CountedBatches()
        make_model().fit(dataset, epochs=2, verbose=0)
        run = only_run()
        assert run.params["steps_per_epoch"] == "8" and "batch_size" not in run.params
        assert dataset.reads == unrecorded.reads  # what Keras reads itself, nothing more
        assert steps(run.id, "loss") == [0, 1]

    def test_user_callbacks_are_untouched_and_refits_log_once(self, store: Path) -> None:
        """The user's list is not changed, and a second fit logs each epoch exactly once."""
        model = make_model()
        user_callbacks = [keras.callbacks.EarlyStopping(monitor="loss", patience=10)]
        model.fit(X, Y, epochs=2, verbose=0, callbacks=user_callbacks)
        model.fit(X, Y, epochs=2, verbose=0, callbacks=user_callbacks)
        assert len(user_callbacks) == 1
        runs = autolog.search_runs()
        assert [steps(run.id, "loss") for run in runs] == [[0, 1], [0, 1]]

    def test_resumed_fit_continues_from_initial_epoch(self, store: Path) -> None:
        """With ``initial_epoch=2`` the epochs are logged at steps 2 and 3."""
        make_model().fit(X, Y, epochs=4, initial_epoch=2, verbose=0)
        run = only_run()
        assert run.params["initial_epoch"] == "2"
        assert steps(run.id, "loss") == [2, 3]

    def test_fit_inside_a_user_run_is_its_child(self, store: Path) -> None:
        """A fit inside ``autolog.start_run()`` is recorded as a child run of it."""
        with autolog.start_run(name="sweep") as parent:
            make_model().fit(X, Y, epochs=1, verbose=0)
        child = next(r for r in autolog.search_runs() if r.id != parent.id)
        assert child.parent_id == parent.id


class TestMetrics:
    def test_per_batch_metrics_every_n_steps_when_asked(self, tmp_path: Path) -> None:
        """``log_every_n_steps=2`` adds ``step/`` metrics at batches 2, 4, 6, 8."""
        autolog.autolog(backend=str(tmp_path / "runs"), log_every_n_steps=2)
        make_model().fit(X, Y, epochs=2, batch_size=10, verbose=0)
        run = only_run()
        assert steps(run.id, "step/loss") == [2, 4, 6, 8]
        assert steps(run.id, "loss") == [0, 1]

    def test_early_stopping_records_its_settings_and_stopped_epoch(self, store: Path) -> None:
        """An early-stopped fit records EarlyStopping's settings and the epoch it stopped at."""
        stop = keras.callbacks.EarlyStopping(monitor="loss", patience=0, min_delta=100.0)
        make_model().fit(X, Y, epochs=5, verbose=0, callbacks=[stop])
        run = only_run()
        assert run.params["early_stopping.patience"] == "0"
        assert steps(run.id, "loss") == [0, 1]
        assert run.metrics["stopped_epoch"] == 1

    def test_evaluate_after_fit_logs_eval_metrics_into_the_fit_run(self, store: Path) -> None:
        """``model.evaluate`` after the fit adds ``eval_loss`` and ``eval_mae`` to its run."""
        model = make_model()
        model.fit(X, Y, epochs=1, verbose=0)
        results = model.evaluate(X, Y, verbose=0, return_dict=True)
        run = only_run()
        assert run.metrics["eval_loss"] == pytest.approx(results["loss"])
        assert run.metrics["eval_mae"] == pytest.approx(results["mae"])

    def test_evaluate_without_a_fit_records_nothing(self, store: Path) -> None:
        """``evaluate`` of a model never fit under autolog creates no run."""
        make_model().evaluate(X, Y, verbose=0)
        assert autolog.search_runs() == []


class TestArtifacts:
    def test_summary_and_model_load_back_with_equal_predictions(self, store: Path) -> None:
        """The run has the model summary and a ``.keras`` model that predicts the same."""
        model = make_model()
        model.fit(X, Y, epochs=2, verbose=0)
        run = only_run()
        assert {"model_summary.txt", "model/model.keras"} <= set(run.artifacts)
        summary = store / run.id / "artifacts" / "model_summary.txt"
        assert "Trainable params: 49" in summary.read_text()
        assert (run.model["flavor"], run.model["keras_backend"]) == ("keras", "torch")
        loaded = autolog.load_model(run.id)
        np.testing.assert_array_equal(loaded.predict(X, verbose=0), model.predict(X, verbose=0))

    def test_no_model_with_log_models_false(self, tmp_path: Path) -> None:
        """``log_models=False`` records the fit without a model."""
        autolog.autolog(backend=str(tmp_path / "runs"), log_models=False)
        make_model().fit(X, Y, epochs=1, verbose=0)
        assert only_run().model is None


class TestFailures:
    def test_a_failing_fit_leaves_a_failed_run_with_its_epochs(self, store: Path) -> None:
        """The user's exception propagates as the same object; the run is FAILED with 2 epochs."""
        error = ValueError("boom")
        with pytest.raises(ValueError) as raised:
            make_model().fit(X, Y, epochs=5, verbose=0, callbacks=[RaiseAt(2, error)])
        assert raised.value is error
        run = only_run()
        assert run.status == "FAILED"
        assert steps(run.id, "loss") == [0, 1]

    def test_an_interrupted_fit_leaves_a_killed_run_with_its_epochs(self, store: Path) -> None:
        """A KeyboardInterrupt in epoch 1 propagates and leaves a KILLED run with epoch 0."""
        with pytest.raises(KeyboardInterrupt):
            make_model().fit(X, Y, epochs=5, verbose=0, callbacks=[RaiseAt(1, KeyboardInterrupt())])
        run = only_run()
        assert run.status == "KILLED"
        assert steps(run.id, "loss") == [0]


class TestPatching:
    def test_disable_removes_the_patches(self, store: Path) -> None:
        """``autolog(disable=True)`` gives Model back its inherited fit; fits go unrecorded."""
        autolog.autolog(disable=True)
        assert "fit" not in vars(keras.Model) and "evaluate" not in vars(keras.Model)
        make_model().fit(X, Y, epochs=1, verbose=0)
        assert autolog.search_runs(backend=str(store)) == []

    def test_other_objects_are_left_to_other_flavors(self, store: Path) -> None:
        """An object that is not a Keras model is not claimed by the keras flavor."""
        with autolog.start_run() as run:
            manifest = run.log_model({"weights": [1, 2]})
        assert manifest["flavor"] != "keras"
