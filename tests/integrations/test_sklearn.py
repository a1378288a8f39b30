"""The scikit-learn integration: runs per fit, training metrics, models, nesting, searches."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from joblib import parallel_config
from sklearn import metrics
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.cluster import KMeans
from sklearn.decomposition import PCA
from sklearn.linear_model import LinearRegression, LogisticRegression, Ridge
from sklearn.model_selection import (
    GridSearchCV,
    RandomizedSearchCV,
    cross_val_predict,
    cross_val_score,
    cross_validate,
    learning_curve,
    permutation_test_score,
    validation_curve,
)
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC

import autolog
from autolog.errors import AutologWarning, ConfigurationError, ModelIntegrityError
from autolog.integrations.sklearn_metrics import _classifier_metrics, training_metrics

from .recorded import only_run

ORIGINAL_LOGISTIC_FIT = LogisticRegression.__dict__["fit"]


def classification_data(n_classes: int = 2, n: int = 120) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    X = rng.normal(size=(n, 4))
    y = np.digitize(X[:, 0] + 0.5 * rng.normal(size=n), np.linspace(-1, 1, n_classes - 1))
    return X, y


def regression_data(n: int = 100) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(1)
    X = rng.normal(size=(n, 3))
    return X, X @ [1.0, -2.0, 0.5] + 0.1 * rng.normal(size=n)


def runs(**kwargs) -> list[autolog.RunRecord]:
    return autolog.search_runs(**kwargs)


def children_of(parent_id: str) -> list[autolog.RunRecord]:
    return [run for run in runs() if run.parent_id == parent_id]


class Thresholder(ClassifierMixin, BaseEstimator):
    """A user estimator defined before autolog() is enabled: predicts x0 > threshold."""

    def __init__(self, threshold: float = 0.0) -> None:
        self.threshold = threshold

    def fit(self, X, y):
        if self.threshold == "bad":
            raise ValueError("threshold must be a number")
        self.classes_ = np.unique(y)
        return self

    def predict(self, X):
        return (np.asarray(X)[:, 0] > self.threshold).astype(int)


class TestRunPerFit:
    def test_fit_records_params_tags_and_training_metrics(self, store: Path) -> None:
        """A LogisticRegression fit is one FINISHED run with its params, class tags and metrics."""
        X, y = classification_data()
        LogisticRegression(C=0.5).fit(X, y)
        run = only_run()
        assert run.status == "FINISHED" and run.name == "LogisticRegression"
        assert run.params["C"] == "0.5" and run.params["max_iter"] == "100"
        assert run.tags["estimator_class"] == "LogisticRegression"
        assert run.tags["estimator_module"] == "sklearn.linear_model._logistic"
        assert run.tags["autolog.integration"] == "sklearn"
        assert {"training_score", "training_accuracy_score", "training_f1_score"} <= set(
            run.metrics
        )
        assert {"training_log_loss", "training_roc_auc"} <= set(run.metrics)

    def test_fit_transform_and_fit_predict_are_one_run_each(self, store: Path) -> None:
        """fit_transform and fit_predict, inherited or defined by the class, are one run each."""
        X, _ = classification_data()
        StandardScaler().fit_transform(X)  # TransformerMixin.fit_transform calling fit
        PCA(n_components=2).fit_transform(X)  # its own fit_transform
        KMeans(n_clusters=2, n_init=1, random_state=0).fit_predict(X)
        assert sorted(run.name for run in runs()) == ["KMeans", "PCA", "StandardScaler"]
        kmeans = next(run for run in runs() if run.name == "KMeans")
        assert "training_score" in kmeans.metrics  # KMeans.score(X): minus the inertia

    def test_estimator_defined_before_autolog_is_recorded(self, store: Path) -> None:
        """A user's BaseEstimator subclass that existed before autolog() is patched too.

        Its predict is the user's code, so no training metrics call it again.
        """
        X, y = classification_data()
        Thresholder(threshold=0.25).fit(X, y)
        run = only_run()
        assert run.name == "Thresholder" and run.params == {"threshold": "0.25"}
        assert run.metrics == {}

    def test_estimator_defined_after_autolog_is_recorded_once(self, store: Path) -> None:
        """A class defined while autolog is on is patched, and its super().fit() logs no extra run.

        Defined inside this function, it cannot be pickled: the run says so with a
        warning and has no model, and the fit is otherwise recorded.
        """

        class CountingThresholder(Thresholder):
            def fit(self, X, y):
                self.fit_calls_ = getattr(self, "fit_calls_", 0) + 1
                return super().fit(X, y)

        X, y = classification_data()
        with pytest.warns(AutologWarning, match="CountingThresholder cannot be saved.*inside a"):
            model = CountingThresholder().fit(X, y)
        assert model.fit_calls_ == 1
        run = only_run()
        assert run.name == "CountingThresholder" and run.model is None
        assert run.status == "FINISHED" and run.metrics == {}  # its predict is user code

    def test_fit_inside_user_run_is_a_child_run(self, store: Path) -> None:
        """A fit inside autolog.start_run() becomes a child of that run."""
        X, y = regression_data()
        with autolog.start_run(name="experiment") as parent:
            Ridge().fit(X, y)
        child = next(run for run in runs() if run.name == "Ridge")
        assert child.parent_id == parent.id and child.tags["parent_run_id"] == parent.id

    def test_failing_fit_leaves_failed_run_and_the_users_exception(self, store: Path) -> None:
        """A fit that raises ends its run FAILED and the user gets their own exception object."""
        X, y = classification_data()
        with pytest.raises(ValueError, match="threshold must be a number") as raised:
            Thresholder(threshold="bad").fit(X, y)
        assert raised.value.__traceback__ is not None
        frames = [frame.name for frame in raised.traceback]
        assert frames[-1] == "fit"  # raised where the user's code raised it
        run = only_run()
        assert run.status == "FAILED" and run.params == {"threshold": "bad"}

    def test_disable_restores_every_method(self, store: Path) -> None:
        """autolog(disable=True) puts back the original fit methods and the subclass hook."""
        assert LogisticRegression.__dict__["fit"] is not ORIGINAL_LOGISTIC_FIT
        autolog.autolog(disable=True)
        assert LogisticRegression.__dict__["fit"] is ORIGINAL_LOGISTIC_FIT
        assert "__init_subclass__" not in BaseEstimator.__dict__
        LogisticRegression().fit(*classification_data())
        assert runs(backend=str(store)) == []

    @pytest.mark.slow  # two subprocesses importing sklearn
    def test_autolog_before_import_patches_lazily(self, tmp_path: Path) -> None:
        """autolog() before importing sklearn works, and imports no sklearn module of its own."""
        script = textwrap.dedent(
            """
            import json, sys, autolog
            if sys.argv[1] == "on":
                autolog.autolog(backend="runs")
            assert "sklearn" not in sys.modules
            from sklearn.linear_model import LinearRegression
            modules = sorted(m for m in sys.modules if m.startswith("sklearn"))
            LinearRegression().fit([[0.0], [1.0], [2.0]], [0.0, 1.0, 2.0])
            runs = len(autolog.search_runs()) if sys.argv[1] == "on" else 0
            print(json.dumps({"runs": runs, "modules": modules}))
            """
        )

        def run(state: str) -> dict:
            out = subprocess.run(
                [sys.executable, "-P", "-c", script, state],
                cwd=tmp_path,
                capture_output=True,
                text=True,
                check=True,
            ).stdout
            return json.loads(out)

        enabled, disabled = run("on"), run("off")
        assert enabled["runs"] == 1
        assert enabled["modules"] == disabled["modules"]


class TestTrainingMetrics:
    @pytest.mark.parametrize("n_classes", [2, 3])
    @pytest.mark.parametrize("weighted", [False, True])
    def test_classifier_metrics_equal_sklearn_metrics(self, n_classes: int, weighted: bool) -> None:
        """Accuracy, weighted precision/recall/F1, log loss and ROC AUC equal sklearn.metrics'."""
        X, y = classification_data(n_classes)
        labels = np.array(["ant", "bee", "cat"])[y]  # string labels
        weights = np.linspace(0.5, 2.0, len(y)) if weighted else None
        model = LogisticRegression(C=0.05).fit(X, labels)
        predicted, probabilities = model.predict(X), model.predict_proba(X)
        sw = {"sample_weight": weights}
        prf = metrics.precision_recall_fscore_support(
            labels, predicted, average="weighted", zero_division=0, **sw
        )
        if n_classes == 2:
            auc = metrics.roc_auc_score(labels, probabilities[:, 1], **sw)
        else:
            auc = metrics.roc_auc_score(
                labels, probabilities, multi_class="ovr", average="weighted", **sw
            )
        expected = {
            "training_score": model.score(X, labels, **sw),
            "training_accuracy_score": metrics.accuracy_score(labels, predicted, **sw),
            "training_precision_score": prf[0],
            "training_recall_score": prf[1],
            "training_f1_score": prf[2],
            "training_log_loss": metrics.log_loss(labels, probabilities, **sw),
            "training_roc_auc": auc,
        }
        computed = training_metrics(model, X, labels, weights)
        assert computed == pytest.approx(expected, rel=1e-9)

    def test_roc_auc_with_tied_scores_equals_sklearn(self) -> None:
        """Ties in the scores count half, as in sklearn's trapezoidal ROC area."""
        X, y = classification_data()
        model = Thresholder().fit(X, y)
        model.predict_proba = lambda X: np.column_stack(  # coarse, heavily tied scores
            [1 - np.round(X[:, 0] > 0) * 0.5, np.round(X[:, 0] > 0) * 0.5 + 0.25]
        )
        scores = model.predict_proba(X)[:, 1]
        computed = _classifier_metrics(model, X, y, None)
        assert computed["training_roc_auc"] == pytest.approx(metrics.roc_auc_score(y, scores))

    @pytest.mark.parametrize("outputs", [1, 2])
    def test_regressor_metrics_equal_sklearn_metrics(self, outputs: int) -> None:
        """MSE, RMSE, MAE and R2 (averaged over outputs) equal sklearn.metrics', with weights."""
        X, y = regression_data()
        if outputs == 2:
            y = np.column_stack([y, X[:, 0] ** 2])
        weights = np.linspace(1.0, 3.0, len(X))
        model = LinearRegression().fit(X, y)
        predicted = model.predict(X)
        sw = {"sample_weight": weights}
        expected = {
            "training_score": model.score(X, y, **sw),
            "training_mean_squared_error": metrics.mean_squared_error(y, predicted, **sw),
            "training_root_mean_squared_error": metrics.root_mean_squared_error(y, predicted, **sw),
            "training_mean_absolute_error": metrics.mean_absolute_error(y, predicted, **sw),
            "training_r2_score": metrics.r2_score(y, predicted, **sw),
        }
        assert training_metrics(model, X, y, weights) == pytest.approx(expected, rel=1e-9)

    def test_metric_that_cannot_be_computed_is_skipped_alone(self, store: Path) -> None:
        """An SVC without probabilities gets its label metrics but no log loss or ROC AUC."""
        X, y = classification_data()
        SVC().fit(X, y)
        run = only_run()
        assert {"training_score", "training_accuracy_score", "training_recall_score"} <= set(
            run.metrics
        )
        assert "training_log_loss" not in run.metrics and "training_roc_auc" not in run.metrics

    def test_training_metrics_can_be_turned_off(self, tmp_path: Path) -> None:
        """log_training_metrics=False records the fit without computing metrics."""
        autolog.autolog(backend=str(tmp_path / "runs"), log_training_metrics=False)
        LogisticRegression().fit(*classification_data())
        run = only_run()
        assert run.metrics == {} and run.params["C"] == "1.0"


class TestModel:
    def test_load_model_predicts_like_the_original(self, store: Path) -> None:
        """The saved estimator loads back and predicts exactly what the fitted one predicts."""
        X, y = classification_data(3)
        model = LogisticRegression().fit(X, y)
        run = only_run()
        assert run.model["flavor"] == "sklearn"
        assert run.model["framework_version"] == __import__("sklearn").__version__
        assert len(run.model["files"]["model.pkl"]) == 64  # its sha256
        loaded = autolog.load_model(run.id)
        assert np.array_equal(loaded.predict(X), model.predict(X))
        assert np.array_equal(loaded.predict_proba(X), model.predict_proba(X))

    def test_altered_model_file_is_refused(self, store: Path) -> None:
        """A model.pkl changed after saving fails the sha256 check and is never unpickled."""
        LogisticRegression().fit(*classification_data())
        run = only_run()
        pickled = store / run.id / "artifacts" / "model" / "model.pkl"
        pickled.write_bytes(pickled.read_bytes() + b"\x00")
        with pytest.raises(ModelIntegrityError):
            autolog.load_model(run.id)

    def test_log_models_false_saves_no_model(self, tmp_path: Path) -> None:
        """With log_models=False the run has params and metrics but no model."""
        autolog.autolog(backend=str(tmp_path / "runs"), log_models=False)
        LogisticRegression().fit(*classification_data())
        run = only_run()
        assert run.model is None and run.metrics


class TestNesting:
    def test_pipeline_is_one_run_with_every_step_param(self, store: Path) -> None:
        """A Pipeline fit is one run holding the params of all its steps, clf__C style."""
        X, y = classification_data()
        pipeline = Pipeline([("scale", StandardScaler()), ("clf", LogisticRegression(C=2.0))])
        pipeline.fit(X, y)
        run = only_run()
        assert run.name == "Pipeline"
        assert run.params["clf__C"] == "2.0" and run.params["scale__with_mean"] == "True"
        assert run.metrics["training_accuracy_score"] == pytest.approx(pipeline.score(X, y))
        assert np.array_equal(autolog.load_model(run.id).predict(X), pipeline.predict(X))

    def test_cross_validation_helpers_make_no_runs(self, store: Path) -> None:
        """cross_val_score and friends record no run per fold (nor for themselves)."""
        X, y = classification_data()
        model = LogisticRegression()
        cross_val_score(model, X, y, cv=3)
        cross_validate(model, X, y, cv=3)
        cross_val_predict(model, X, y, cv=3)
        learning_curve(model, X, y, cv=3, train_sizes=[0.5, 1.0])
        validation_curve(model, X, y, param_name="C", param_range=[0.1, 1.0], cv=3)
        permutation_test_score(model, X, y, cv=3, n_permutations=2)
        assert runs() == []

    def test_cross_validation_on_worker_threads_makes_no_runs(self, store: Path) -> None:
        """Folds fitted on joblib worker threads are not recorded either."""
        X, y = classification_data()
        with parallel_config(backend="threading", n_jobs=2):
            cross_validate(LogisticRegression(), X, y, cv=4)
        assert runs() == []

    def test_metric_functions_make_no_runs(self, store: Path) -> None:
        """The label encoders that sklearn.metrics fits internally are not recorded."""
        y = np.array([0, 1, 2, 1])
        metrics.log_loss(y, np.full((4, 3), 1 / 3))
        metrics.roc_auc_score(y, np.full((4, 3), 1 / 3), multi_class="ovr")
        assert runs() == []


class TestSearch:
    def test_grid_search_is_a_parent_with_the_best_candidates_as_children(
        self, store: Path
    ) -> None:
        """GridSearchCV: best_* params, best_cv_score, cv_results.csv, best model, 5 children."""
        X, y = classification_data()
        search = GridSearchCV(LogisticRegression(), {"C": [0.01, 0.1, 1.0, 10.0, 100.0, 1000.0]})
        search.fit(X, y)
        parent = next(run for run in runs() if run.name == "GridSearchCV")
        assert parent.params["best_C"] == str(search.best_params_["C"])
        assert parent.params["estimator__C"] == "1.0"  # the search's own params, deep
        assert parent.metrics["best_cv_score"] == pytest.approx(search.best_score_)
        rows = list(csv.DictReader((store / parent.id / "artifacts" / "cv_results.csv").open()))
        assert len(rows) == 6 and "mean_test_score" in rows[0]
        best = autolog.load_model(parent.id)
        assert type(best) is LogisticRegression
        assert np.array_equal(best.predict(X), search.best_estimator_.predict(X))

        children = children_of(parent.id)
        assert len(children) == 5 and len(runs()) == 6
        rank_of = {
            str(params["C"]): rank
            for params, rank in zip(
                search.cv_results_["params"], search.cv_results_["rank_test_score"], strict=True
            )
        }
        chosen = {run.params["C"] for run in children}
        assert max(rank_of[c] for c in chosen) <= min(
            (rank for c, rank in rank_of.items() if c not in chosen), default=99
        )
        best_child = min(children, key=lambda run: run.metrics["rank_test_score"])
        assert best_child.metrics["rank_test_score"] == 1
        assert best_child.metrics["mean_test_score"] == pytest.approx(search.best_score_)
        assert "std_test_score" in best_child.metrics
        # Made best first in one burst: listed in the order they started, they stay best first.
        started = sorted(children, key=lambda run: (run.start_time, run.id))
        ranks = [run.metrics["rank_test_score"] for run in started]
        assert ranks == sorted(ranks), ranks

    def test_pipeline_in_grid_search_logs_a_parent_and_max_tuning_runs_children(
        self, tmp_path: Path
    ) -> None:
        """A Pipeline inside GridSearchCV: one parent, max_tuning_runs children, no run per fit."""
        autolog.autolog(backend=str(tmp_path / "runs"), max_tuning_runs=3)
        X, y = classification_data()
        pipeline = Pipeline([("scale", StandardScaler()), ("clf", LogisticRegression())])
        grid = {"clf__C": [0.1, 1.0, 10.0], "scale__with_mean": [True, False]}
        GridSearchCV(pipeline, grid, cv=3).fit(X, y)
        recorded = runs()
        parents = [run for run in recorded if run.parent_id is None]
        assert [run.name for run in parents] == ["GridSearchCV"]
        children = children_of(parents[0].id)
        assert len(recorded) == 4 and len(children) == 3
        assert all({"clf__C", "scale__with_mean"} <= set(run.params) for run in children)

    def test_randomized_search_and_max_tuning_runs_zero(self, tmp_path: Path) -> None:
        """RandomizedSearchCV is recorded the same way; max_tuning_runs=0 leaves only the parent."""
        autolog.autolog(backend=str(tmp_path / "runs"), max_tuning_runs=0)
        X, y = regression_data()
        RandomizedSearchCV(Ridge(), {"alpha": [0.1, 1.0, 10.0]}, n_iter=2, cv=3).fit(X, y)
        run = only_run()
        assert run.name == "RandomizedSearchCV" and "best_alpha" in run.params
        assert "training_r2_score" in run.metrics

    def test_max_tuning_runs_none_logs_every_candidate(self, tmp_path: Path) -> None:
        """max_tuning_runs=None makes a child run for every candidate."""
        autolog.autolog(backend=str(tmp_path / "runs"), max_tuning_runs=None)
        X, y = classification_data()
        search = GridSearchCV(LogisticRegression(), {"C": [0.01, 0.1, 1.0, 10.0, 100.0, 1000.0]})
        search.fit(X, y)
        assert len(runs()) == 7

    def test_invalid_max_tuning_runs_is_refused(self, tmp_path: Path) -> None:
        """A max_tuning_runs that is not a count is reported, naming the value."""
        with pytest.raises(ConfigurationError, match="max_tuning_runs must be .* got 'many'"):
            autolog.autolog(backend=str(tmp_path / "runs"), max_tuning_runs="many")

    def test_search_refit_is_not_a_separate_run(self, store: Path) -> None:
        """The search's refit of the best estimator belongs to the parent run."""
        X, y = classification_data()
        search = GridSearchCV(clone(LogisticRegression()), {"C": [0.1, 1.0]}, cv=3).fit(X, y)
        assert hasattr(search, "best_estimator_")
        assert sorted(run.name for run in runs() if run.parent_id is None) == ["GridSearchCV"]
