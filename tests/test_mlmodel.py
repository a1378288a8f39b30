"""MLmodel files: every model autolog saves with a known flavor is also an MLflow model."""

from __future__ import annotations

import json
from pathlib import Path

from sklearn.linear_model import LinearRegression

import autolog
from autolog._mlmodel import read_mlmodel, write_mlmodel


class TestMlmodel:
    def test_sklearn_model_gets_an_mlmodel_under_the_manifest(self, store: Path) -> None:
        """A logged estimator has an MLmodel with sklearn and python_function, sha256-checked."""
        with autolog.start_run() as run:
            run.log_model(LinearRegression().fit([[0.0], [1.0]], [0.0, 1.0]))
        folder = store / run.id / "artifacts" / "model"
        mlmodel = read_mlmodel(folder)
        assert mlmodel is not None and mlmodel["artifact_path"] == "model"
        assert mlmodel["flavors"]["sklearn"]["pickled_model"] == "model.pkl"
        assert mlmodel["flavors"]["sklearn"]["serialization_format"] == "pickle"
        assert mlmodel["flavors"]["python_function"]["loader_module"] == "mlflow.sklearn"
        manifest = json.loads((folder / "manifest.json").read_text())
        # the manifest's sha256 covers everything MLflow reads too, the environment included
        expected = {"model.pkl", "MLmodel", "requirements.txt", "python_env.yaml"}
        assert set(manifest["files"]) == expected

    def test_generic_pickle_gets_no_mlmodel(self, store: Path) -> None:
        """A plain object saved by the pickle fallback has no MLflow flavor, so no MLmodel."""
        with autolog.start_run() as run:
            run.log_model({"weights": [1, 2]})
        assert read_mlmodel(store / run.id / "artifacts" / "model") is None

    def test_requirements_become_requirements_txt_and_the_env(self, tmp_path: Path) -> None:
        """Pinned requirements are written where MLflow looks for them."""
        manifest = {"flavor": "statsmodels", "framework_version": "0.15.0"}
        assert write_mlmodel(tmp_path, manifest, "model", requirements=["statsmodels==0.15.0"])
        assert (tmp_path / "requirements.txt").read_text() == "statsmodels==0.15.0\n"
        mlmodel = read_mlmodel(tmp_path)
        assert mlmodel is not None
        assert mlmodel["flavors"]["python_function"]["env"] == {"virtualenv": "python_env.yaml"}
        assert mlmodel["flavors"]["statsmodels"]["data"] == "results.pickle"

    def test_lightning_manifest_with_torch_version_object(self, tmp_path: Path) -> None:
        """torch.__version__ is a TorchVersion, not a str: the MLmodel still writes."""
        import torch

        manifest = {"flavor": "lightning", "torch_version": torch.__version__}
        assert write_mlmodel(tmp_path, manifest, "model")
        mlmodel = read_mlmodel(tmp_path)
        assert mlmodel is not None
        assert mlmodel["flavors"]["pytorch"]["pytorch_version"] == str(torch.__version__)
        assert mlmodel["flavors"]["python_function"]["loader_module"] == "mlflow.pytorch"
