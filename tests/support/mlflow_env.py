"""Real MLflow for the tests, in its own virtual environment beside ours.

MLflow pins versions that clash with ours and is heavy, so it never goes into
the project's venv. :func:`mlflow_env` returns the python and ``mlflow``
executables of ``<repo>/.venv-mlflow``, creating it first if it is missing (a
fresh CI clone): that takes a few minutes once, then nothing.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
VENV = REPO / ".venv-mlflow"
#: The MLflow the tests were written against (its client and its server), and the
#: frameworks its flavors load in the model tests (the CPU build of torch).
PACKAGES = (
    "mlflow==3.17.2",
    "torch==2.13.0",
    "keras==3.15.1",
    "statsmodels==0.15.0",
    "lightning==2.6.6",
    "azure-storage-blob",  # wasbs:// artifact roots
)
_lock = threading.Lock()


@dataclass(frozen=True)
class MlflowEnv:
    python: Path
    mlflow: Path


def mlflow_env(venv: Path = VENV) -> MlflowEnv:
    """The executables of the MLflow venv, created (python -m venv, pip install) if absent."""
    env = MlflowEnv(venv / "bin" / "python", venv / "bin" / "mlflow")
    with _lock:
        if env.mlflow.exists() and _imports_mlflow(env.python):
            return env
        pip = [str(env.python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
        if not env.mlflow.exists():
            base = os.environ.get("AUTOLOG_MLFLOW_BASE_PYTHON") or _base_python()
            subprocess.run([base, "-m", "venv", str(venv)], check=True)
            subprocess.run([*pip, "--upgrade", "pip"], check=True)
        subprocess.run([*pip, *PACKAGES], check=True)
    if not _imports_mlflow(env.python):
        raise RuntimeError(f"{venv} was created but cannot import mlflow")
    return env


def _imports_mlflow(python: Path) -> bool:
    if not python.exists():
        return False
    check = "import mlflow, keras, torch, statsmodels, lightning, sklearn, azure.storage.blob"
    env = {**os.environ, "KERAS_BACKEND": "torch"}  # no TensorFlow in that venv
    result = subprocess.run([str(python), "-c", check], capture_output=True, env=env)
    return result.returncode == 0


def _base_python() -> str:
    """The interpreter our venv was made from, so MLflow gets the same Python version."""
    return getattr(sys, "_base_executable", None) or sys.executable


if __name__ == "__main__":
    print(mlflow_env())
