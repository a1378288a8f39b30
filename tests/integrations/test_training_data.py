"""Every integration records what a fit trained on (and was validated on) as dataset inputs."""

from __future__ import annotations

import os

os.environ.setdefault("KERAS_BACKEND", "torch")  # before anything imports Keras

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import autolog

from .recorded import only_run


def contexts(run: autolog.RunRecord) -> dict[str, dict]:
    return {item["tags"]["mlflow.data.context"]: item["dataset"] for item in run.inputs}


class TestSklearn:
    def test_fit_on_a_dataframe_records_columns_and_digest(self, store: Path) -> None:
        """A DataFrame and its target: one train input with column names, dtypes and rows."""
        from sklearn.linear_model import LogisticRegression

        X = pd.DataFrame({"a": np.arange(40.0), "b": np.arange(40) % 3})
        y = (X["a"] > 20).astype(int)
        LogisticRegression().fit(X, y)
        dataset = contexts(only_run())["train"]
        schema = json.loads(dataset["schema"])["autolog"]
        assert [c["name"] for c in schema["features"]["columns"]] == ["a", "b"]
        assert [c["dtype"] for c in schema["features"]["columns"]] == ["float64", "int64"]
        assert json.loads(dataset["profile"])["features_num_rows"] == 40

    def test_runs_on_the_same_data_share_a_digest(self, store: Path) -> None:
        """Two models on the same arrays: same digest; a third on other data: another one."""
        from sklearn.linear_model import Ridge

        X, y = np.random.default_rng(0).random((50, 4)), np.arange(50.0)
        Ridge(alpha=1).fit(X, y)
        Ridge(alpha=2).fit(X.copy(), y.copy())
        Ridge(alpha=3).fit(X[::-1].copy(), y)
        runs = sorted(autolog.search_runs(), key=lambda r: r.params["alpha"])
        digests = [contexts(r)["train"]["digest"] for r in runs]
        assert digests[0] == digests[1] != digests[2]


class TestStatsmodels:
    def test_arima_records_its_series(self, store: Path) -> None:
        """An ARIMA records its series (endog) and the constant statsmodels adds (exog)."""
        from statsmodels.tsa.arima.model import ARIMA

        series = np.cumsum(np.random.default_rng(0).normal(size=80))
        ARIMA(series, order=(1, 0, 0)).fit()
        profile = json.loads(contexts(only_run())["train"]["profile"])
        assert profile["features_endog"]["shape"] == [80]
        assert profile["features_exog"]["shape"] == [80, 1]


class TestKeras:
    def test_train_and_validation_data(self, store: Path) -> None:
        """x/y is the train input, validation_data the eval input; neither is consumed."""
        import keras

        model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
        model.compile(optimizer="sgd", loss="mse")
        x, y = np.ones((16, 3), "float32"), np.zeros((16, 1), "float32")
        model.fit(x, y, validation_data=(x[:4], y[:4]), epochs=1, verbose=0)
        found = contexts(only_run())
        assert json.loads(found["train"]["profile"])["features_shape"] == [16, 3]
        assert json.loads(found["eval"]["profile"])["features_shape"] == [4, 3]


class TestLightning:
    def test_dataloaders_are_fingerprinted_without_drawing_a_batch(self, store: Path) -> None:
        """Train and val DataLoaders over tensors: digests of their tensors, batch size noted."""
        import lightning.pytorch as lp

        from .lightning_models import Regressor, loaders

        train, val = loaders()
        trainer = lp.Trainer(
            max_epochs=1, logger=False, enable_checkpointing=False, enable_progress_bar=False
        )
        trainer.fit(Regressor(), train, val)
        found = contexts(only_run())
        assert json.loads(found["train"]["profile"])["features_batch_size"] == 8
        assert json.loads(found["train"]["profile"])["features_num_rows"] == 36
        assert "eval" in found and found["eval"]["digest"] != found["train"]["digest"]


@pytest.mark.parametrize("backend_kind", ["local"])
def test_inputs_survive_the_journal_round_trip(store: Path, backend_kind: str) -> None:
    """run.log_dataset by hand: read back once per (name, digest, context), as MLflow keeps it."""
    with autolog.start_run() as run:
        run.log_dataset(np.arange(10), context="eval", name="holdout")
        run.log_dataset(np.arange(10), context="eval", name="holdout")
    [item] = autolog.get_run(run.id).inputs
    assert item["dataset"]["name"] == "holdout" and item["tags"]["mlflow.data.context"] == "eval"
