"""statsmodels' own tests pass the same with autolog on as without it (see frameworks.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from .frameworks import Cache, Suite, compare

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
#: The suite also compared with ``-W error`` on both sides.
WARNINGS_AS_ERRORS = SUITES[3]


@pytest.mark.slow
@pytest.mark.parametrize("suite", [s for s in SUITES if s.name not in FAST], ids=lambda s: s.name)
def test_outcomes_are_the_same_with_autolog_on(
    suite: Suite, tmp_path: Path, baselines: Cache | None
) -> None:
    """Every selected test of the suite has the same outcome with autolog on as off."""
    compare(suite, tmp_path, cache=baselines)


@pytest.mark.peer_fast
@pytest.mark.parametrize("suite", [s for s in SUITES if s.name in FAST], ids=lambda s: s.name)
def test_fast_subset_outcomes_are_the_same(
    suite: Suite, tmp_path: Path, baselines: Cache | None
) -> None:
    """The quick subset (for make check): OLS, whose lazily cached statistics must stay lazy."""
    compare(suite, tmp_path, cache=baselines)


@pytest.mark.slow
def test_outcomes_are_the_same_with_warnings_as_errors(
    tmp_path: Path, baselines: Cache | None
) -> None:
    """Under -W error on both sides, autolog's warnings never become the user's exceptions."""
    compare(WARNINGS_AS_ERRORS, tmp_path, warnings_as_errors=True, cache=baselines)
