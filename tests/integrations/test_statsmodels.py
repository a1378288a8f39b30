"""The statsmodels integration: a run per user fit, its specification, statistics and model."""

from __future__ import annotations

import itertools
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import statsmodels
import statsmodels.api as sm
import statsmodels.formula.api as smf
from statsmodels.regression.linear_model import RegressionResults
from statsmodels.tsa.arima.model import ARIMA
from statsmodels.tsa.holtwinters import ExponentialSmoothing
from statsmodels.tsa.statespace.sarimax import SARIMAX
from statsmodels.tsa.stattools import adfuller, grangercausalitytests

import autolog
from autolog.errors import AutologWarning

from .recorded import only_run

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def quiet_statsmodels():
    """Tiny series make statsmodels warn about convergence; that is not what we test."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield


def regression_frame() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"x": rng.normal(size=80), "z": rng.normal(size=80)})
    frame["y"] = 1.5 * frame.x - frame.z + rng.normal(size=80)
    frame["up"] = (frame.y + rng.normal(size=80) > 0).astype(int)
    return frame


def monthly_series(n: int = 72) -> pd.Series:
    rng = np.random.default_rng(2)
    t = np.arange(n)
    values = 100 + 0.8 * t + 10 * np.sin(2 * np.pi * t / 12) + rng.normal(scale=2, size=n)
    return pd.Series(values, index=pd.date_range("2001-01", periods=n, freq="MS"), name="sales")


class OLSWithBrokenAic(sm.OLS):
    """A user's model whose results raise when asked for their AIC."""

    def fit(self):
        fitted = super().fit()
        return ResultsWithBrokenAic(
            self, fitted.params, fitted.normalized_cov_params, scale=fitted.scale
        )


class ResultsWithBrokenAic(RegressionResults):
    @property
    def aic(self):
        raise np.linalg.LinAlgError("singular matrix")


class ResultsSavedTheirOwnWay(RegressionResults):
    """A user's results class with its own save(): autolog must call it, not pickle around it."""

    saves: list[str] = []

    def save(self, fname, remove_data=False):
        type(self).saves.append(str(fname))
        super().save(fname, remove_data)


class OLSSavedTheirOwnWay(sm.OLS):
    def fit(self):
        fitted = super().fit()
        return ResultsSavedTheirOwnWay(
            self, fitted.params, fitted.normalized_cov_params, scale=fitted.scale
        )


class TestRunPerFit:
    def test_formula_regression_records_formula_and_statistics(self, store: Path) -> None:
        """An OLS fit from a formula: the formula, R2 and F statistics; no summary is made."""
        results = smf.ols("y ~ x + z", regression_frame()).fit()
        run = only_run()
        assert run.name == "OLS" and run.status == "FINISHED"
        assert run.params["formula"] == "y ~ x + z" and run.params["endog_name"] == "y"
        assert run.tags["model_class"] == "OLS" and run.tags["autolog.integration"] == "statsmodels"
        for name in ("rsquared", "rsquared_adj", "aic", "bic", "llf", "fvalue", "f_pvalue"):
            assert run.metrics[name] == pytest.approx(getattr(results, name)), name
        assert run.metrics["mse_resid"] == pytest.approx(results.mse_resid)
        assert not [name for name in run.artifacts if not name.startswith("model/")]

    def test_array_regression_records_exog_names(self, store: Path) -> None:
        """Without a formula, a regression is described by its exog column names."""
        frame = regression_frame()
        sm.OLS(frame.y, sm.add_constant(frame[["x", "z"]])).fit()
        assert only_run().params["exog_names"] == '["const", "x", "z"]'

    def test_glm_and_logit_record_family_and_likelihood_statistics(self, store: Path) -> None:
        """A GLM logs its family; a Logit its likelihood, but no statistic of the null model."""
        frame = regression_frame()
        sm.GLM(frame.up, sm.add_constant(frame.x), family=sm.families.Binomial()).fit()
        logit = smf.logit("up ~ x", frame).fit(disp=False)
        runs = {run.name: run for run in autolog.search_runs()}
        assert runs["GLM"].params["family"] == "Binomial" and "deviance" in runs["GLM"].metrics
        assert runs["Logit"].metrics["llf"] == pytest.approx(logit.llf)
        assert not {"llnull", "llr", "llr_pvalue", "prsquared"} & set(runs["Logit"].metrics)
        assert runs["Logit"].params["fit.disp"] == "False"

    def test_arima_is_one_run_although_it_fits_through_sarimax(self, store: Path) -> None:
        """ARIMA.fit runs SARIMAX's fit inside; that is one run with ARIMA's specification."""
        results = ARIMA(monthly_series(), order=(1, 1, 1), trend="t").fit()
        run = only_run()
        assert run.name == "ARIMA(1,1,1)"  # no seasonal part: (0, 0, 0, 0) is left out
        assert run.params["order"] == "[1, 1, 1]" and run.params["trend"] == "t"
        assert run.params["seasonal_order"] == "[0, 0, 0, 0]"
        assert run.metrics["aic"] == pytest.approx(results.aic)
        assert {"bic", "hqic", "llf"} <= set(run.metrics)

    def test_sarimax_records_the_arguments_given_to_fit(self, store: Path) -> None:
        """Arguments the user passed to fit() are params named fit.<name>; defaults are not."""
        model = SARIMAX(monthly_series(), order=(1, 0, 0), seasonal_order=(0, 1, 1, 12))
        model.fit(disp=False, maxiter=15, method="nm")
        params = only_run().params
        assert params["fit.disp"] == "False" and params["fit.maxiter"] == "15"
        assert params["fit.method"] == "nm" and "fit.cov_type" not in params
        assert params["enforce_stationarity"] == "True"

    def test_exponential_smoothing_is_recorded_with_its_specification(self, store: Path) -> None:
        """Holt-Winters (not fitted by likelihood) is recorded, with trend and seasonality."""
        model = ExponentialSmoothing(
            monthly_series(), trend="add", seasonal="mul", seasonal_periods=12
        )
        results = model.fit(optimized=True)
        run = only_run()
        assert run.name == "ExponentialSmoothing"
        assert run.params["trend"] == "add" and run.params["seasonal"] == "mul"
        assert run.params["seasonal_periods"] == "12" and run.params["fit.optimized"] == "True"
        assert run.metrics["sse"] == pytest.approx(results.sse)
        assert run.metrics["aic"] == pytest.approx(results.aic)

    def test_statistic_that_raises_is_skipped_alone(self, store: Path) -> None:
        """A results attribute that raises is left out; the other statistics are logged."""
        frame = regression_frame()
        OLSWithBrokenAic(frame.y, sm.add_constant(frame.x)).fit()
        run = only_run()
        assert run.name == "OLSWithBrokenAic" and run.status == "FINISHED"
        assert "aic" not in run.metrics and {"bic", "rsquared"} <= set(run.metrics)

    def test_failing_fit_leaves_failed_run_and_the_users_exception(self, store: Path) -> None:
        """statsmodels' own error propagates unchanged and the run ends FAILED."""
        model = SARIMAX(monthly_series(), order=(1, 0, 0))
        with pytest.raises(ValueError, match="method must be one of") as raised:
            model.fit(method="no-such-optimizer", disp=False)
        assert "statsmodels" in raised.traceback[-1].path.as_posix()
        run = only_run()
        assert run.status == "FAILED" and run.params["fit.method"] == "no-such-optimizer"

    def test_auxiliary_fits_of_statistical_tests_make_no_runs(self, store: Path) -> None:
        """adfuller and grangercausalitytests fit OLS models internally; none is a run."""
        series = monthly_series()
        adfuller(series, autolag="AIC")
        grangercausalitytests(np.column_stack([series.diff().dropna(), series[1:]]), maxlag=2)
        assert autolog.search_runs() == []


class TestNesting:
    @pytest.mark.slow  # 32 SARIMAX fits
    def test_32_sarimax_fits_in_a_user_run_are_32_children_with_distinct_params(
        self, store: Path
    ) -> None:
        """A grid of 32 SARIMAX fits inside start_run() makes 32 child runs, one per order."""
        series = monthly_series(24)
        orders = list(itertools.product(range(2), repeat=3))
        seasonal_orders = [(P, 1, Q, 4) for P, Q in itertools.product(range(2), repeat=2)]
        with autolog.start_run(name="grid") as grid:
            for order, seasonal_order in itertools.product(orders, seasonal_orders):
                model = SARIMAX(series, order=order, seasonal_order=seasonal_order)
                model.fit(disp=False, method="nm", maxiter=5)
        children = [run for run in autolog.search_runs() if run.parent_id == grid.id]
        assert len(children) == 32 and len(autolog.search_runs()) == 33
        specifications = {(run.params["order"], run.params["seasonal_order"]) for run in children}
        assert len(specifications) == 32
        assert all("aic" in run.metrics for run in children)
        best = autolog.search_runs(
            filter=f"tags.parent_run_id = '{grid.id}'", order_by=["metrics.aic ASC"]
        )[0]
        assert best.metrics["aic"] == min(run.metrics["aic"] for run in children)


class TestModel:
    @pytest.mark.slow  # fits, saves and reloads SARIMAX in a subprocess
    def test_loaded_sarimax_forecasts_identically(self, store: Path) -> None:
        """The saved results load back through load_model and forecast the same values."""
        results = SARIMAX(monthly_series(), order=(1, 1, 0), seasonal_order=(0, 1, 1, 12)).fit(
            disp=False
        )
        run = only_run()
        assert run.model["flavor"] == "statsmodels"
        assert run.model["framework_version"] == statsmodels.__version__
        loaded = autolog.load_model(run.id)
        pd.testing.assert_series_equal(loaded.forecast(12), results.forecast(12))

    def test_loaded_regression_and_smoothing_predict_identically(self, store: Path) -> None:
        """OLS predictions and Holt-Winters forecasts are the same after loading."""
        frame = regression_frame()
        ols = smf.ols("y ~ x + z", frame).fit()
        smoothing = ExponentialSmoothing(monthly_series(), trend="add").fit()
        runs = {run.name: run for run in autolog.search_runs()}
        loaded_ols = autolog.load_model(runs["OLS"].id)
        pd.testing.assert_series_equal(loaded_ols.predict(frame), ols.predict(frame))
        loaded_smoothing = autolog.load_model(runs["ExponentialSmoothing"].id)
        pd.testing.assert_series_equal(loaded_smoothing.forecast(6), smoothing.forecast(6))

    def test_saved_file_is_byte_for_byte_what_results_save_writes(
        self, store: Path, tmp_path: Path
    ) -> None:
        """autolog pickles statsmodels' results itself (to hash them in memory): the file is
        exactly what their own save() writes, so statsmodels and MLflow load it alike."""
        results = ARIMA(monthly_series(), order=(2, 1, 1)).fit()
        run = only_run()
        results.save(str(tmp_path / "own.pickle"))
        saved = store / run.id / "artifacts" / "model" / "results.pickle"
        assert saved.read_bytes() == (tmp_path / "own.pickle").read_bytes()

    def test_a_save_method_of_the_users_is_called(self, store: Path) -> None:
        """A results class of the user's that overrides save() is saved through it."""
        frame = regression_frame()
        ResultsSavedTheirOwnWay.saves.clear()
        results = OLSSavedTheirOwnWay(frame.y, sm.add_constant(frame[["x", "z"]])).fit()
        run = only_run()
        assert len(ResultsSavedTheirOwnWay.saves) == 1
        assert ResultsSavedTheirOwnWay.saves[0].endswith("results.pickle")
        loaded = autolog.load_model(run.id)
        np.testing.assert_allclose(loaded.params, results.params)

    def test_results_that_cannot_be_pickled_leave_a_run_without_model(self, store: Path) -> None:
        """A lambda given to fit() makes results unpicklable: a warning, no model, rest kept."""
        model = SARIMAX(monthly_series(), order=(1, 0, 0))
        with pytest.warns(AutologWarning, match="cannot be saved.*lambda") as caught:
            model.fit(disp=False, callback=lambda params: None)
        ours = [w for w in caught if issubclass(w.category, AutologWarning)]
        assert len(ours) == 1 and "report" not in str(ours[0].message), [
            str(w.message) for w in caught
        ]
        run = only_run()
        assert run.model is None and run.status == "FINISHED"
        assert "aic" in run.metrics and run.artifacts == []

    def test_log_models_false_keeps_the_statistics(self, tmp_path: Path) -> None:
        """With log_models=False there is no model, but the statistics remain."""
        autolog.autolog(backend=str(tmp_path / "runs"), log_models=False)
        smf.ols("y ~ x", regression_frame()).fit()
        run = only_run()
        assert run.model is None and run.artifacts == [] and run.metrics


class TestDemo:
    @pytest.mark.slow
    def test_arima_grid_example_runs_and_reports_the_best_model(self, tmp_path: Path) -> None:
        """examples/arima_grid.py: 32 child runs, the best by AIC and its 12-month forecast."""
        done = subprocess.run(
            [sys.executable, "-P", str(REPO / "examples" / "arima_grid.py")],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 0, done.stderr
        assert "32 SARIMAX fits recorded as child runs" in done.stdout
        assert "Best by AIC: order [" in done.stdout and "1961-12" in done.stdout
        assert "autolog runs show" in done.stdout
        assert done.stderr == ""  # no warning leaks into the tutorial's output
        runs = autolog.search_runs(backend=str(tmp_path / "autolog-runs"))
        names = {run.name for run in runs}
        assert len(runs) == 33 and "arima-grid" in names and "SARIMAX(1,1,1)x(1,1,1,12)" in names
        assert len(names) == 33  # each child is named by its orders
