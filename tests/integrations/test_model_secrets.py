"""Secrets that params redact stay out of the saved model files too, on real frameworks."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.linear_model import LinearRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

import autolog

from .recorded import only_run

HF_TOKEN = "hf_" + "S3cr3tT0kenValue" * 2 + "xy"
API_KEY = "k-very-secret-api-key-123"


class KeyedRegressor(BaseEstimator, RegressorMixin):
    """An estimator that takes a credential as a hyperparameter, as some API-backed ones do."""

    def __init__(self, api_key: str = "", max_tokens: int = 16, credentials: tuple = ()) -> None:
        self.api_key = api_key
        self.max_tokens = max_tokens
        self.credentials = credentials

    def fit(self, X, y):
        self.inner_ = LinearRegression().fit(X, y)
        return self

    def predict(self, X):
        return self.inner_.predict(X)


def _model_bytes(store: Path, run_id: str) -> bytes:
    folder = store / run_id / "artifacts" / "model"
    return b"".join(p.read_bytes() for p in folder.rglob("*") if p.is_file())


X = np.arange(12, dtype=float).reshape(6, 2)
Y = X @ np.array([1.0, -1.0])


def test_sklearn_attribute_secret_is_not_in_the_model_file(store: Path) -> None:
    """api_key reads *** in the params and the pickle; the user's estimator keeps its key."""
    estimator = KeyedRegressor(api_key=API_KEY, max_tokens=32).fit(X, Y)
    run = only_run()
    assert run.params["api_key"] == "***" and run.params["max_tokens"] == "32"
    assert API_KEY.encode() not in _model_bytes(store, run.id)
    assert estimator.api_key == API_KEY
    loaded = autolog.load_model(run.id)
    assert loaded.api_key == "***" and loaded.max_tokens == 32
    assert loaded.predict(X[:1]) == pytest.approx(estimator.predict(X[:1]))


def test_a_secret_inside_a_pipeline_step_is_hidden(store: Path) -> None:
    """Nested estimators are walked: the step's key is hidden, the user's pipeline untouched."""
    pipeline = Pipeline([("scale", StandardScaler()), ("fit", KeyedRegressor(api_key=API_KEY))])
    pipeline.fit(X, Y)
    run = only_run()
    assert API_KEY.encode() not in _model_bytes(store, run.id)
    assert pipeline.named_steps["fit"].api_key == API_KEY


def test_a_secret_that_cannot_be_replaced_is_named_in_a_warning(store: Path) -> None:
    """A credential in a tuple stays in the file, and one warning names the attribute."""
    with pytest.warns(UserWarning, match=r"KeyedRegressor\.credentials"):
        KeyedRegressor(credentials=("user", "pw-in-a-tuple")).fit(X, Y)


def test_statsmodels_results_lose_the_secret(store: Path) -> None:
    """An attribute of a statsmodels model holding a password is hidden in results.pickle."""
    import statsmodels.api as sm

    with autolog.start_run() as run:
        results = sm.OLS(Y, sm.add_constant(X[:, :1])).fit()
        results.model.db_password = "hunter2-statsmodels"
        run.log_model(results)
    assert b"hunter2-statsmodels" not in _model_bytes(store, run.id)
    assert results.model.db_password == "hunter2-statsmodels"


def test_lightning_hparams_token_is_not_in_the_model_file(store: Path) -> None:
    """save_hyperparameters(hf_token=...): *** in params, model file and the loaded hparams."""
    from .lightning_models import Regressor, loaders, make_trainer

    model = Regressor(hf_token=HF_TOKEN, max_tokens=2048)
    trainer = make_trainer(max_epochs=1)
    trainer.fit(model, *loaders())
    run = only_run()
    assert run.params["hf_token"] == "***" and run.params["max_tokens"] == "2048"
    assert HF_TOKEN.encode() not in _model_bytes(store, run.id)
    assert model.hparams.hf_token == HF_TOKEN  # the user's module is unchanged
    loaded = autolog.load_model(run.id)
    assert loaded.hparams.hf_token == "***" and loaded.hparams.max_tokens == 2048
