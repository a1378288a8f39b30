"""The classic ARIMA tutorial, tracked by one line: ``autolog.autolog()``.

    python examples/arima_grid.py

Monthly international airline passengers, 1949-1960 (Box & Jenkins). A grid
of seasonal ARIMA models, (p, d, q) x (P, 1, Q, 12), is fitted inside one
parent run; autolog records every fit as a child run with its order, its
AIC and the fitted model. Nothing else in this script logs anything: the
best model is found by reading the runs back, and its saved model, loaded
from the run, forecasts the next twelve months.

Runs go to ./autolog-runs (the default local store); look at them with
``autolog runs ls`` and ``autolog runs show RUN_ID``.
"""

from __future__ import annotations

import itertools
import os
import sys
import warnings
from pathlib import Path

import pandas as pd
from statsmodels.tools.sm_exceptions import ConvergenceWarning
from statsmodels.tsa.statespace.sarimax import SARIMAX

import autolog

DATA = Path(__file__).resolve().parent / "data" / "international-airline-passengers.csv"


def load_passengers() -> pd.Series:
    """Passengers per month, in thousands, indexed by month start."""
    table = pd.read_csv(DATA, sep=";", index_col=0)
    passengers = table.iloc[:, 0].astype(float).rename("passengers")
    passengers.index = pd.DatetimeIndex(pd.to_datetime(passengers.index), freq="MS")
    return passengers


def main() -> None:
    autolog.autolog()
    passengers = load_passengers()

    # As in the tutorial: some corners of the grid do not converge, which is fine.
    warnings.simplefilter("ignore", ConvergenceWarning)
    warnings.filterwarnings("ignore", message="Non-(stationary|invertible) starting")

    orders = list(itertools.product(range(2), repeat=3))  # (p, d, q)
    seasonal_orders = [(P, 1, Q, 12) for P, Q in itertools.product(range(2), repeat=2)]
    with autolog.start_run(name="arima-grid") as grid:
        for order, seasonal_order in itertools.product(orders, seasonal_orders):
            SARIMAX(
                passengers,
                order=order,
                seasonal_order=seasonal_order,
                enforce_stationarity=False,
                enforce_invertibility=False,
            ).fit(disp=False)

    fits = autolog.search_runs(
        filter=f"tags.parent_run_id = '{grid.id}'", order_by=["metrics.aic ASC"]
    )
    best = fits[0]
    forecast = autolog.load_model(best.id).forecast(12)

    print(f"Grid run {grid.id}: {len(fits)} SARIMAX fits recorded as child runs.")
    print(
        f"Best by AIC: order {best.params['order']}, seasonal order "
        f"{best.params['seasonal_order']}, AIC {best.metrics['aic']:.1f} (run {best.id})."
    )
    print("\nForecast from the best run's saved model (thousands of passengers):")
    for month, value in forecast.items():
        print(f"  {month:%Y-%m}  {value:6.1f}")
    cli = Path(sys.executable).with_name("autolog")
    command = os.path.relpath(cli) if cli.exists() else "autolog"
    print(f"\nRecorded in ./autolog-runs. Look at the runs with:\n  {command} runs ls")
    print(f"  {command} runs show {best.id}")


if __name__ == "__main__":
    main()
