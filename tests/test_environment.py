"""A saved model pins its environment; loading it elsewhere names each package that differs."""

from __future__ import annotations

import json
import platform
import subprocess
import sys
from importlib.metadata import version
from pathlib import Path

import numpy as np
import pytest

import autolog
from autolog._environment import model_requirements


def manifest_of(store: Path) -> tuple[dict, Path]:
    [path] = store.rglob("model/manifest.json")
    return json.loads(path.read_text()), path.parent


class TestManifest:
    def test_sklearn_model_pins_python_framework_and_its_requirements(self, store: Path) -> None:
        """scikit-learn, numpy, scipy, joblib, threadpoolctl pinned at their installed versions,
        the same lines in requirements.txt (itself checksummed), and the feature names."""
        import pandas as pd
        from sklearn.linear_model import LogisticRegression

        X = pd.DataFrame({"height": np.arange(30.0), "width": np.arange(30.0) % 4})
        LogisticRegression().fit(X, np.arange(30) % 2)
        manifest, folder = manifest_of(store)
        pins = manifest["environment"]["requirements"]
        assert manifest["environment"]["python"] == platform.python_version()
        for name in ("scikit-learn", "numpy", "scipy", "joblib", "threadpoolctl"):
            assert f"{name}=={version(name)}" in pins
        assert not any(line.startswith(("pytest", "torch", "keras")) for line in pins)
        assert (folder / "requirements.txt").read_text().splitlines() == pins
        assert "requirements.txt" in manifest["files"]
        assert manifest["signature"] == {
            "inputs": [{"name": "height"}, {"name": "width"}],
            "n_features": 2,
        }

    def test_a_model_from_another_package_pins_that_package_too(self) -> None:
        """The distributions of the objects the model holds are pinned (a scipy object inside)."""
        import scipy.sparse
        from sklearn.linear_model import Ridge

        model = Ridge()
        model.extra = scipy.sparse.eye(2)
        assert f"scipy=={version('scipy')}" in model_requirements("sklearn", model)

    def test_requirements_are_cached_per_process(self) -> None:
        """The second call for the same framework costs microseconds, not a metadata scan."""
        import time

        model_requirements("sklearn")
        start = time.perf_counter()
        for _ in range(100):
            model_requirements("sklearn")
        assert (time.perf_counter() - start) / 100 < 0.001


LOAD = """
import sys, warnings
import autolog
warnings.simplefilter("always")
with warnings.catch_warnings(record=True) as caught:
    autolog.load_model(sys.argv[1], backend=sys.argv[2])
    autolog.load_model(sys.argv[1], backend=sys.argv[2])
for w in caught:
    if "was saved with" in str(w.message):
        print(w.message)
"""


@pytest.fixture(scope="module")
def older_threadpoolctl(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """threadpoolctl 3.5.0, a small pure-Python package, in a folder of its own."""
    target = tmp_path_factory.mktemp("older")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--no-deps",
            "--target",
            str(target),
            "threadpoolctl==3.5.0",
        ],
        check=True,
        capture_output=True,
    )
    return target


@pytest.mark.slow  # installs an older threadpoolctl, loads in subprocesses
class TestMismatch:
    def test_load_warns_once_naming_the_package_that_differs(
        self, store: Path, older_threadpoolctl: Path
    ) -> None:
        """Loading where threadpoolctl is 3.5.0 warns once, naming it and both versions."""
        from sklearn.linear_model import Ridge

        assert version("threadpoolctl") != "3.5.0"
        Ridge().fit(np.eye(3), np.arange(3.0))
        [run] = autolog.search_runs()
        same = subprocess.run(
            [sys.executable, "-P", "-c", LOAD, run.id, str(store)],
            capture_output=True,
            text=True,
            check=True,
        )
        assert same.stdout == ""
        elsewhere = subprocess.run(
            [sys.executable, "-P", "-c", LOAD, run.id, str(store)],
            capture_output=True,
            text=True,
            check=True,
            env={**__import__("os").environ, "PYTHONPATH": str(older_threadpoolctl)},
        )
        lines = elsewhere.stdout.splitlines()
        assert len(lines) == 1, elsewhere.stdout + elsewhere.stderr
        assert f"threadpoolctl=={version('threadpoolctl')}" in lines[0]
        assert "threadpoolctl==3.5.0 is installed" in lines[0]
