"""scikit-learn's own tests pass the same with autolog on as without it (see frameworks.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from .frameworks import Cache, Suite, compare

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
    """The quick subset (for make check): the global RNG."""
    compare(suite, tmp_path, cache=baselines)


@pytest.mark.slow
def test_outcomes_are_the_same_with_warnings_as_errors(
    tmp_path: Path, baselines: Cache | None
) -> None:
    """Under -W error on both sides, autolog's warnings never become the user's exceptions."""
    compare(WARNINGS_AS_ERRORS, tmp_path, warnings_as_errors=True, cache=baselines)
