"""scikit-learn's own tests pass the same with autolog on as without it (see frameworks.py)."""

from __future__ import annotations

from .frameworks import Suite
from .suite_tests import comparison_tests

SUITES = [
    Suite(
        "metadata routing",
        "sklearn",
        ("tests/test_metaestimators_metadata_routing.py",),
        "test_setting_request_on_sub_estimator_removes_error or routed_correctly_to_scorer",
    ),
    Suite(
        "linear models and their CV variants",
        "sklearn",
        ("linear_model/tests/test_logistic.py", "linear_model/tests/test_ridge.py"),
        "(logistic_cv or LogisticRegressionCV or scor) and not sample_weight_consistency",
    ),
    Suite(
        "ensembles",
        "sklearn",
        (
            "ensemble/tests/test_stacking.py",
            "ensemble/tests/test_bagging.py",
            "ensemble/tests/test_iforest.py",
        ),
        "metadata or sample_weight or parallel or n_jobs or iforest_works"
        " or stacking_classifier_iris",
    ),
    Suite(
        "forests",
        "sklearn",
        ("ensemble/tests/test_forest.py",),
        "iris or oob_score_classification or random_trees_dense",
    ),
    Suite("calibration", "sklearn", ("tests/test_calibration.py",), "not plot and not display"),
    Suite("dummy estimators and the global RNG", "sklearn", ("tests/test_dummy.py",), rng=True),
    Suite("pipelines", "sklearn", ("tests/test_pipeline.py",), "not memory and not verbose"),
    Suite(
        "model selection",
        "sklearn",
        ("model_selection/tests/test_search.py",),
        "callable or multimetric or refit_callable or return_train_score",
    ),
    Suite(
        "check_estimator over all estimators",
        "sklearn",
        ("tests/test_common.py",),
        "test_estimators and check_fit_idempotent",
    ),
]
#: In make check (under two minutes): the global-RNG suite, 5 s. Metadata routing (about 30 s
#: on the autolog side alone, even with the baseline cached) runs in make test.
FAST = {"dummy estimators and the global RNG"}
#: The suite also compared with ``-W error`` on both sides.
WARNINGS_AS_ERRORS = SUITES[4]


(
    test_outcomes_are_the_same_with_autolog_on,
    test_fast_subset_outcomes_are_the_same,
    test_outcomes_are_the_same_with_warnings_as_errors,
) = comparison_tests(SUITES, FAST, WARNINGS_AS_ERRORS, "the global RNG.")
