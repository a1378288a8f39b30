"""statsmodels' own tests pass the same with autolog on as without it (see frameworks.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from .frameworks import Suite, compare

SUITES = [
    Suite(
        "regression",
        "statsmodels",
        ("regression/tests/test_regression.py",),
        "TestOLS or condition or TestWLS",
    ),
    Suite("ARIMA", "statsmodels", ("tsa/arima/tests/test_model.py",)),
    Suite(
        "SARIMAX",
        "statsmodels",
        ("tsa/statespace/tests/test_sarimax.py",),
        "Airline or TestFriedmanMLERegression",
    ),
    Suite(
        "Holt-Winters",
        "statsmodels",
        ("tsa/holtwinters/tests/test_holtwinters.py",),
        "not brute and not basin and not equivalence",
    ),
    Suite("GLM", "statsmodels", ("genmod/tests/test_glm.py",), "Gaussian or Binomial or Poisson"),
    Suite("discrete models", "statsmodels", ("discrete/tests/test_discrete.py",), "Logit"),
]
FAST = {"regression"}


@pytest.mark.slow
@pytest.mark.parametrize("suite", [s for s in SUITES if s.name not in FAST], ids=lambda s: s.name)
def test_outcomes_are_the_same_with_autolog_on(suite: Suite, tmp_path: Path) -> None:
    """Every selected test of the suite has the same outcome with autolog on as off."""
    compare(suite, tmp_path)


@pytest.mark.slow  # two runs of the framework's suite in subprocesses: minutes
@pytest.mark.peer_fast
@pytest.mark.parametrize("suite", [s for s in SUITES if s.name in FAST], ids=lambda s: s.name)
def test_fast_subset_outcomes_are_the_same(suite: Suite, tmp_path: Path) -> None:
    """The quick subset (-m peer_fast): OLS, whose lazily cached statistics must stay lazy."""
    compare(suite, tmp_path)


@pytest.mark.slow
def test_outcomes_are_the_same_with_warnings_as_errors(tmp_path: Path) -> None:
    """Under -W error on both sides, autolog's warnings never become the user's exceptions."""
    compare(SUITES[3], tmp_path, warnings_as_errors=True)
