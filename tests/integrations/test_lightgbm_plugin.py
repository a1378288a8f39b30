"""The example third-party plugin, examples/plugins/autolog-lightgbm, installed for real.

It is pip-installed into a temporary folder (never into the shared environment)
and used from a subprocess that has the folder on PYTHONPATH: autolog finds
it through its ``autolog`` entry point, exactly as after ``pip install``.
"""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

from tests.support.plugins import install_plugin, run_with_plugin

#: Installs the example plugin and trains in subprocesses: slow for make check.
pytestmark = pytest.mark.slow

SCRIPT = textwrap.dedent(
    """
    import json
    import numpy as np
    import autolog

    autolog.autolog(backend="runs")
    import lightgbm

    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 4))
    y = (X[:, 0] + 0.3 * rng.normal(size=200) > 0).astype(int)
    train = lightgbm.Dataset(X[:150], y[:150])
    valid = lightgbm.Dataset(X[150:], y[150:], reference=train)
    booster = lightgbm.train(
        {"objective": "binary", "num_leaves": 7, "verbose": -1},
        train,
        num_boost_round=8,
        valid_sets=[valid],
    )
    classifier = lightgbm.LGBMClassifier(n_estimators=5, verbose=-1).fit(X, y)

    runs = []
    for run in autolog.search_runs():
        same = None
        if run.model is not None:
            model = autolog.load_model(run.id)
            expected = booster if run.name == "lightgbm.train" else classifier
            same = bool(np.allclose(model.predict(X), expected.predict(X)))
        history = [p.value for p in autolog.get_metric_history(run.id, "valid_0-binary_logloss")]
        runs.append({
            "name": run.name, "params": run.params, "tags": run.tags,
            "flavor": run.model and run.model["flavor"], "same_predictions": same,
            "logloss_history": history,
        })
    print(json.dumps(runs))
    """
)


@pytest.fixture(scope="module")
def plugin_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The example plugin installed into a temporary folder."""
    return install_plugin("autolog-lightgbm", tmp_path_factory.mktemp("plugin"))


def recorded_runs(folder: Path, plugin: Path | None) -> list[dict]:
    """Run SCRIPT in a fresh interpreter, with or without the plugin, and return its runs."""
    done = run_with_plugin(SCRIPT, folder, plugin, timeout=120)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


class TestLightGBMPlugin:
    def test_installed_plugin_records_lightgbm_without_changing_autolog(
        self, plugin_path: Path, tmp_path: Path
    ) -> None:
        """With the plugin installed, lightgbm.train and LGBMClassifier.fit are one run each."""
        runs = {run["name"]: run for run in recorded_runs(tmp_path, plugin_path)}
        assert sorted(runs) == ["LGBMClassifier", "lightgbm.train"]

        train = runs["lightgbm.train"]
        assert train["tags"]["autolog.integration"] == "lightgbm"
        assert train["params"]["num_leaves"] == "7" and train["params"]["num_boost_round"] == "8"
        assert len(train["logloss_history"]) == 8  # one point per boosting round
        assert train["flavor"] == "lightgbm" and train["same_predictions"] is True

        classifier = runs["LGBMClassifier"]
        assert classifier["tags"]["autolog.integration"] == "lightgbm"  # not sklearn's too
        assert classifier["params"]["n_estimators"] == "5"
        assert classifier["flavor"] == "sklearn" and classifier["same_predictions"] is True

    def test_without_the_plugin_lightgbm_train_is_not_recorded(self, tmp_path: Path) -> None:
        """The same script without the plugin records no lightgbm.train run."""
        runs = recorded_runs(tmp_path, plugin=None)
        assert "lightgbm.train" not in {run["name"] for run in runs}
