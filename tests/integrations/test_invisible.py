"""Regression tests for what the peer suites found: autolog must change nothing user code sees."""

from __future__ import annotations

import pickle
import random
import warnings
from pathlib import Path

import numpy as np
import pytest
import statsmodels.api as sm
from sklearn import config_context
from sklearn.calibration import CalibratedClassifierCV
from sklearn.dummy import DummyClassifier
from sklearn.ensemble import IsolationForest
from sklearn.linear_model import LogisticRegression, LogisticRegressionCV
from sklearn.metrics import make_scorer
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer
from statsmodels.tsa.holtwinters import ExponentialSmoothing

import autolog
from autolog.errors import AutologWarning, ModelNotLoadableError

from .recorded import only_run

RNG = np.random.default_rng(0)
X = RNG.normal(size=(60, 3))
y = (X[:, 0] + 0.3 * RNG.normal(size=60) > 0).astype(int)

calls: list[int] = []


def counted(values: np.ndarray) -> np.ndarray:
    calls.append(1)
    return values


def counting_accuracy(truth: np.ndarray, predicted: np.ndarray) -> float:
    calls.append(1)
    return float(np.mean(truth == predicted))


class TestUserCodeRunsOnce:
    def test_function_transformer_in_a_pipeline_runs_once_per_fit(self, store: Path) -> None:
        """Training metrics would call the user's func again: they are skipped, func runs once."""
        calls.clear()
        make_pipeline(FunctionTransformer(counted), LogisticRegression()).fit(X, y)
        assert len(calls) == 1
        assert only_run().metrics == {}

    def test_user_scorer_is_called_as_often_as_without_autolog(self, store: Path) -> None:
        """LogisticRegressionCV(scoring=<user scorer>): no extra call for training_score."""
        scorer = make_scorer(counting_accuracy)
        autolog.autolog(disable=True)
        calls.clear()
        LogisticRegressionCV(Cs=2, cv=2, scoring=scorer).fit(X, y)
        without = len(calls)
        autolog.autolog(backend=str(store))
        calls.clear()
        LogisticRegressionCV(Cs=2, cv=2, scoring=scorer).fit(X, y)
        assert len(calls) == without
        assert only_run().metrics == {}

    def test_no_training_metrics_under_metadata_routing(self, store: Path) -> None:
        """With metadata routing on, no predict is made for metrics (it would lack the metadata)."""
        with config_context(enable_metadata_routing=True):
            LogisticRegression().fit(X, y)
        assert only_run().metrics == {}

    def test_sklearn_own_estimators_still_get_training_metrics(self, store: Path) -> None:
        """A pure sklearn estimator keeps its metrics, with training_score from the same pass."""
        LogisticRegression().fit(X, y)
        metrics = only_run().metrics
        assert metrics["training_score"] == metrics["training_accuracy_score"]


class TestRandomGenerators:
    def test_stratified_dummy_leaves_the_global_rngs_as_they_were(self, store: Path) -> None:
        """DummyClassifier(strategy="stratified").predict draws: our metrics must not show it."""
        np.random.seed(1)
        random.seed(1)
        DummyClassifier(strategy="stratified").fit(X, y)
        after = (np.random.random(), random.random())
        np.random.seed(1)
        random.seed(1)
        assert after == (np.random.random(), random.random())
        assert "training_accuracy_score" in only_run().metrics

    def test_a_random_state_parameter_is_left_as_it_was(self, store: Path) -> None:
        """A RandomState given as random_state is restored after predict drew from it."""
        state = np.random.RandomState(3)
        DummyClassifier(strategy="stratified", random_state=state).fit(X, y)
        assert state.random() == np.random.RandomState(3).random()


class TestRunsThatAreNotRuns:
    def test_isolation_forest_on_threads_is_one_run(self, store: Path) -> None:
        """The trees fitted on joblib's worker threads belong to the forest's run."""
        IsolationForest(n_estimators=8, n_jobs=2, random_state=0).fit(X)
        assert only_run().name == "IsolationForest"

    def test_predict_proba_that_fits_a_label_encoder_makes_no_run(self, store: Path) -> None:
        """CalibratedClassifierCV.predict_proba fits a LabelEncoder: not a run."""
        model = CalibratedClassifierCV(LogisticRegression(), cv=2).fit(X, y)
        model.predict_proba(X)
        assert only_run().name == "CalibratedClassifierCV"


class TestStatsmodelsResults:
    def test_lazy_statistics_are_not_left_computed(self, store: Path) -> None:
        """After the fit, the results' cache holds what it would without autolog."""
        exog = sm.add_constant(X)
        autolog.autolog(disable=True)
        without = set(sm.OLS(y, exog).fit()._results._cache)
        autolog.autolog(backend=str(store))
        results = sm.OLS(y, exog).fit()
        assert set(results._results._cache) == without
        assert {"aic", "rsquared"} <= set(only_run().metrics)

    def test_no_null_model_is_fitted_for_llnull(self, store: Path) -> None:
        """Logit's llnull needs a second fit: it is neither computed nor recorded."""
        results = sm.Logit(y, sm.add_constant(X)).fit(disp=False)
        assert "llnull" not in results._results._cache
        assert "llnull" not in only_run().metrics

    def test_holt_winters_unknown_keyword_is_the_users_type_error(self, store: Path) -> None:
        """A misspelled fit keyword raises statsmodels' TypeError, not an error of ours."""
        series = np.arange(1.0, 25.0)
        with pytest.raises(TypeError, match="smoothing_levle"):
            ExponentialSmoothing(series).fit(smoothing_levle=0.5)


class TestWarningsAsErrors:
    def test_unsaveable_model_under_simplefilter_error_still_fits(self, store: Path) -> None:
        """Our warning about a model we cannot save is shown, never raised into the fit."""
        pipeline = make_pipeline(FunctionTransformer(lambda v: v), LogisticRegression())
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            pipeline.fit(X, y)
        run = only_run()
        assert run.status == "FINISHED" and run.model is None

    def test_the_users_own_error_is_not_replaced_by_our_warning(self, store: Path) -> None:
        """Under simplefilter("error"), a failing fit raises the user's error unchanged."""
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            with pytest.raises(ValueError, match="Unknown label type|continuous"):
                LogisticRegression().fit(X, X[:, 0])

    def test_unsaveable_warning_names_the_reason(self, store: Path) -> None:
        """One warning, naming the lambda, and no request to report a bug."""
        with pytest.warns(AutologWarning, match="lambda") as caught:
            make_pipeline(FunctionTransformer(lambda v: v), LogisticRegression()).fit(X, y)
        messages = [str(w.message) for w in caught if issubclass(w.category, AutologWarning)]
        assert len(messages) == 1 and "report" not in messages[0]


class Removable(LogisticRegression):
    """Deleted from the module after saving, to stand for a class that is gone."""


def test_load_model_names_a_class_that_is_no_longer_importable(store: Path) -> None:
    """load_model says which class could not be imported, not that a plugin is missing."""
    Removable().fit(X, y)
    run_id = only_run().id
    del globals()["Removable"]
    try:
        with pytest.raises(ModelNotLoadableError, match=r"Removable.*importable"):
            autolog.load_model(run_id)
    finally:
        globals()["Removable"] = pickle.loads  # anything: the module only needs the name back


def test_lightning_hparams_holding_functions_have_no_memory_address() -> None:
    """A function in hparams is stored by its importable name, other objects without 0x..."""
    from autolog.integrations.lightning import _without_address

    assert _without_address(np.mean) == "numpy.mean"
    assert "0x" not in _without_address(lambda v: v)
    assert "0x" not in _without_address(object())
    assert _without_address(0.5) == 0.5 and _without_address("relu") == "relu"
