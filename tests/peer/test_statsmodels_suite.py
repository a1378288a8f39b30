"""statsmodels' own tests pass the same with autolog on as without it (see frameworks.py)."""

from __future__ import annotations

from .frameworks import Suite
from .suite_tests import comparison_tests

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


(
    test_outcomes_are_the_same_with_autolog_on,
    test_fast_subset_outcomes_are_the_same,
    test_outcomes_are_the_same_with_warnings_as_errors,
) = comparison_tests(
    SUITES, FAST, WARNINGS_AS_ERRORS, "OLS, whose lazily cached statistics must stay lazy."
)
