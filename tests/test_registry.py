"""The model registry on the local store: autolog's API and ``autolog models ls|show``.

The same calls run against autolog server, PostgreSQL and a real MLflow server in
tests/server/test_server_autolog_registry.py; here the registry is the journal in
the store folder, so it must survive the process that wrote it and refuse a
model whose files changed, like a model loaded by run id.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from sklearn.linear_model import Ridge

import autolog
from autolog.errors import AutologError, ModelIntegrityError
from tests.support.processes import run_autolog_cli, run_script

X = np.random.default_rng(0).normal(size=(30, 3))
Y = X @ np.array([1.0, 2.0, 3.0])


@pytest.fixture
def two_models(store: Path) -> tuple[str, str]:
    """Two runs in the local store, each with a saved Ridge (alpha 0.5, then 5.0)."""
    ids = []
    for alpha in (0.5, 5.0):
        with autolog.start_run() as run:
            run.log_model(Ridge(alpha=alpha).fit(X, Y))
        ids.append(run.id)
    return ids[0], ids[1]


class TestLocalRegistry:
    def test_register_alias_and_load_by_name(self, store: Path, two_models) -> None:
        """Versions number from 1, an alias moves, models:/ URIs load the right model."""
        first, second = two_models
        assert autolog.register_model(first[:12], "ridge") == 1
        assert autolog.register_model(f"runs:/{second}/model", "ridge") == 2
        autolog.set_model_alias("ridge", "champion", 1)
        assert autolog.load_model("models:/ridge@champion").alpha == 0.5
        assert autolog.load_model("models:/ridge/2").alpha == 5.0
        assert autolog.load_model("models:/ridge/latest").alpha == 5.0
        autolog.set_model_alias("ridge", "champion", "2")
        assert autolog.load_model("models:/ridge@champion").alpha == 5.0
        model = autolog.get_registered_model("ridge")
        assert [v.version for v in model.versions] == [1, 2]
        assert [v.run_id for v in model.versions] == [first, second]
        assert model.aliases == {"champion": 2} and model.versions[1].aliases == ["champion"]
        assert all(v.manifest_sha256 for v in model.versions)
        assert autolog.get_model_version("models:/ridge@champion").version == 2
        autolog.delete_model_alias("ridge", "champion")
        assert autolog.get_registered_model("ridge").aliases == {}
        assert [m.name for m in autolog.search_registered_models()] == ["ridge"]

    def test_a_changed_file_is_refused_by_name_too(self, store: Path, two_models) -> None:
        """models:/NAME/N checks the manifest's sha256 recorded at registration."""
        first, _ = two_models
        autolog.register_model(first, "ridge")
        (store / first / "artifacts" / "model" / "model.pkl").write_bytes(b"not a model")
        with pytest.raises(ModelIntegrityError, match="model.pkl"):
            autolog.load_model("models:/ridge/1")

    def test_refusals_name_the_problem(self, store: Path, two_models) -> None:
        """Unknown names and versions, bad aliases and a run without a model say what is wrong."""
        first, _ = two_models
        autolog.register_model(first, "ridge")
        with pytest.raises(AutologError, match=r"no registered model 'nope'.*ridge"):
            autolog.load_model("models:/nope/1")
        with pytest.raises(AutologError, match="no version 7"):
            autolog.set_model_alias("ridge", "champion", 7)
        with pytest.raises(AutologError, match="not 'latest'"):
            autolog.set_model_alias("ridge", "latest", 1)
        with autolog.start_run() as bare:
            autolog.log_metric("x", 1.0)
        with pytest.raises(AutologError, match="no model"):
            autolog.register_model(bare.id, "ridge")
        assert autolog.get_registered_model("ridge").latest == 1

    def test_registrations_are_durable_and_shared_between_processes(
        self, store: Path, two_models, tmp_path: Path
    ) -> None:
        """Another process sees the versions, and two processes never share a number."""
        first, second = two_models
        autolog.register_model(first, "ridge")
        script = """
import sys, autolog
autolog.autolog(backend=sys.argv[1])
print(autolog.register_model(sys.argv[2], "ridge"))
print(autolog.load_model("models:/ridge/1").alpha)
"""
        done = run_script(script, tmp_path, args=[str(store), second])
        assert done.stdout.split() == ["2", "0.5"]
        assert [v.run_id for v in autolog.get_registered_model("ridge").versions] == [
            first,
            second,
        ]


def _cli(tmp_path: Path, *args: str) -> str:
    done = run_autolog_cli("models", *args, cwd=tmp_path, timeout=60)
    assert done.returncode == 0, done.stderr
    return done.stdout


class TestModelsCommand:
    @pytest.fixture
    def registered(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[str, str]:
        """Two versions of 'churn' (champion -> 1) and one of 'other', in ./autolog-runs."""
        monkeypatch.chdir(tmp_path)
        autolog.autolog(backend=str(tmp_path / "autolog-runs"))
        ids = []
        for alpha in (0.5, 5.0):
            with autolog.start_run() as run:
                run.log_model(Ridge(alpha=alpha).fit(X, Y))
            ids.append(run.id)
        autolog.register_model(ids[0], "churn")
        autolog.register_model(ids[1], "churn")
        autolog.set_model_alias("churn", "champion", 1)
        autolog.register_model(ids[1], "other")
        return ids[0], ids[1]

    def test_ls_lists_names_latest_versions_and_aliases(self, tmp_path: Path, registered) -> None:
        """A table, most recently updated first; json and csv carry the same fields."""
        header, _rule, *rows = _cli(tmp_path, "ls").splitlines()
        assert header.split() == ["model", "latest", "aliases", "updated"]
        assert len(rows) == 2
        assert rows[0].split()[:2] == ["other", "1"] and len(rows[0].split()) == 4  # no alias
        assert rows[1].split()[:3] == ["churn", "2", "champion=1"]
        listed = json.loads(_cli(tmp_path, "ls", "--format", "json"))
        assert [(m["name"], m["latest_version"], m["aliases"]) for m in listed] == [
            ("other", 1, {}),
            ("churn", 2, {"champion": 1}),
        ]
        csv = _cli(tmp_path, "ls", "--format", "csv").splitlines()
        assert csv[0] == "name,latest_version,aliases,updated"
        assert csv[2].startswith("churn,2,champion=1,")

    def test_show_lists_versions_newest_first_with_their_runs(
        self, tmp_path: Path, registered
    ) -> None:
        """Each version with its aliases and the short run id `runs show` accepts."""
        first, second = registered
        title, header, _rule, *rows = _cli(tmp_path, "show", "churn").splitlines()
        assert title == "churn  (2 versions)"
        assert header.split() == ["version", "aliases", "run", "created", "source"]
        assert rows[0].split()[:2] == ["2", second[:12]]
        assert rows[1].split()[:3] == ["1", "champion", first[:12]]
        assert rows[-1] == "load one with: autolog.load_model('models:/churn/VERSION')"
        shown = json.loads(_cli(tmp_path, "show", "churn", "--format", "json"))
        assert [(v["version"], v["run_id"]) for v in shown["versions"]] == [(1, first), (2, second)]
        assert shown["aliases"] == {"champion": 1}

    def test_show_of_an_unknown_name_lists_the_known_ones(self, tmp_path: Path, registered) -> None:
        """Exit status 1 and a message naming the store and the registered models."""
        done = run_autolog_cli("models", "show", "nope", cwd=tmp_path, timeout=60)
        assert done.returncode == 1 and done.stdout == ""
        assert "no registered model 'nope'" in done.stderr
        assert "churn, other" in done.stderr

    def test_an_empty_registry_says_how_to_fill_it(self, tmp_path: Path) -> None:
        """No registry yet: one line saying how to register a model."""
        out = _cli(tmp_path, "ls")
        assert out.strip() == "no registered models; register one with " + (
            "autolog.register_model(RUN_ID, NAME)"
        )
