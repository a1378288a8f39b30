"""Models: manifest with sha256, verified before loading."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import autolog
from autolog.errors import AutologError, ModelIntegrityError


class TestModels:
    def test_manifest_lists_every_file_with_its_sha256(self, store: Path) -> None:
        """The manifest records flavor, versions and each file's sha256."""
        import hashlib

        with autolog.start_run() as run:
            run.log_model([1, 2, 3])
        folder = store / run.id / "artifacts" / "model"
        manifest = json.loads((folder / "manifest.json").read_text())
        assert manifest["flavor"] == "pickle" and manifest["python_version"]
        digests = {
            name: hashlib.sha256((folder / name).read_bytes()).hexdigest()
            for name in ("model.pkl", "requirements.txt")
        }
        assert manifest["files"] == digests
        assert autolog.get_run(run.id).model["flavor"] == "pickle"

    def test_tampered_model_is_refused_before_unpickling(self, store: Path) -> None:
        """A model file changed after saving is refused, never unpickled."""
        with autolog.start_run() as run:
            run.log_model({"a": 1})
        path = store / run.id / "artifacts" / "model" / "model.pkl"
        path.write_bytes(b"cos\nsystem\n(S'echo pwned'\ntR.")
        with pytest.raises(ModelIntegrityError, match="model.pkl"):
            autolog.load_model(run.id)

    def test_run_without_model_says_so(self, store: Path) -> None:
        """load_model of a run with no model explains why."""
        with autolog.start_run() as run:
            pass
        with pytest.raises(AutologError, match="has no model"):
            autolog.load_model(run.id)

    def test_unpicklable_object_without_plugin_is_a_clear_error(self, store: Path) -> None:
        """An object no plugin can save raises naming its type."""
        with autolog.start_run() as run, pytest.raises(AutologError, match="generator"):
            run.log_model(x for x in range(3))
