"""Configuration precedence: arguments > AUTOLOG_* > [tool.autolog] > defaults."""

from __future__ import annotations

from pathlib import Path

import pytest

import autolog
from autolog._config import resolve
from autolog._session import session
from autolog.errors import ConfigurationError


def write_pyproject(folder: Path, table: str) -> None:
    (folder / "pyproject.toml").write_text(f"[project]\nname = 'x'\n\n[tool.autolog]\n{table}\n")


class TestPrecedence:
    def test_defaults(self) -> None:
        """With nothing set: local store ./autolog-runs, experiment Default, 10 s at exit."""
        config = resolve({})
        assert config.backends == ("./autolog-runs",)
        assert (config.experiment, config.exit_timeout, config.log_models) == (
            "Default",
            10.0,
            True,
        )

    def test_file_then_environment_then_arguments(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """Each layer overrides the one below it, setting by setting."""
        write_pyproject(tmp_path, 'experiment = "from-file"\ndir = "file-dir"\nexit_timeout = 3')
        assert resolve({}).experiment == "from-file"
        monkeypatch.setenv("AUTOLOG_EXPERIMENT", "from-env")
        config = resolve({})
        assert (config.experiment, config.dir, config.exit_timeout) == ("from-env", "file-dir", 3.0)
        assert resolve({"experiment": "from-arg"}).experiment == "from-arg"

    def test_pyproject_found_in_a_parent_folder(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """A script started in a subfolder still gets the project's settings."""
        write_pyproject(tmp_path, 'experiment = "project"')
        (tmp_path / "src" / "deep").mkdir(parents=True)
        monkeypatch.chdir(tmp_path / "src" / "deep")
        assert resolve({}).experiment == "project"

    def test_autolog_toml(self, tmp_path: Path) -> None:
        """autolog.toml holds the same settings at its top level."""
        (tmp_path / "autolog.toml").write_text('experiment = "toml"\nbackend = ["a", "b"]\n')
        assert resolve({}).experiment == "toml"
        assert resolve({}).backends == ("a", "b")

    def test_backend_list_from_environment(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """AUTOLOG_BACKEND takes a comma-separated list."""
        monkeypatch.setenv("AUTOLOG_BACKEND", "./here, faulty://raise")
        assert resolve({}).backends == ("./here", "faulty://raise")

    def test_local_backend_becomes_the_journal_folder(self) -> None:
        """backend='/data/runs' keeps the journals there, with no extra copy."""
        assert resolve({"backend": "/data/runs"}).dir == "/data/runs"
        assert resolve({"backend": "faulty://raise"}).dir == "./autolog-runs"
        assert resolve({"backend": "file:///x/y"}).dir == "/x/y"

    def test_mlflow_tracking_uri_is_used_when_nothing_else_is_set(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """MLFLOW_TRACKING_URI is the backend only when no autolog setting names one."""
        monkeypatch.setenv("MLFLOW_TRACKING_URI", "faulty://raise")
        assert resolve({}).backends == ("faulty://raise",)
        monkeypatch.setenv("AUTOLOG_BACKEND", "./mine")
        assert resolve({}).backends == ("./mine",)

    def test_disable_from_environment_turns_autolog_off(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """AUTOLOG_DISABLE=1: autolog() does nothing and runs record nothing."""
        monkeypatch.setenv("AUTOLOG_DISABLE", "1")
        autolog.autolog()
        with autolog.start_run() as run:
            run.log_metric("x", 1.0)
        assert not (tmp_path / "autolog-runs").exists()
        assert session.store is None


class TestErrors:
    def test_unknown_option_names_it_and_lists_valid_ones(self) -> None:
        """A misspelt option raises naming it and the valid settings."""
        with pytest.raises(ConfigurationError, match="'exit_timout'.*exit_timeout"):
            autolog.autolog(exit_timout=3)

    def test_unknown_setting_in_pyproject_names_the_file(self, tmp_path: Path) -> None:
        """A misspelt key in [tool.autolog] names the file it came from."""
        write_pyproject(tmp_path, 'experimnet = "x"')
        with pytest.raises(ConfigurationError, match="pyproject.toml"):
            resolve({})

    @pytest.mark.parametrize(
        "variable, value", [("AUTOLOG_LOG_MODELS", "maybe"), ("AUTOLOG_EXIT_TIMEOUT", "-1")]
    )
    def test_bad_environment_values(
        self, monkeypatch: pytest.MonkeyPatch, variable: str, value: str
    ) -> None:
        """Unparseable environment values raise naming the setting and the value."""
        monkeypatch.setenv(variable, value)
        with pytest.raises(ConfigurationError, match=repr(value)):
            resolve({})

    def test_unknown_backend_scheme(self) -> None:
        """A backend URI no plugin owns raises naming it and the schemes that exist."""
        with pytest.raises(ConfigurationError, match="'s4://bucket'.*http"):
            autolog.autolog(backend="s4://bucket")

    def test_unknown_integration(self) -> None:
        """integrations=[...] with an unknown name lists the available ones."""
        with pytest.raises(ConfigurationError, match="'tensorflw'.*available"):
            autolog.autolog(integrations=["tensorflw"])

    def test_broken_toml_is_a_clear_error(self, tmp_path: Path) -> None:
        """An unparseable pyproject.toml is reported with its path."""
        (tmp_path / "pyproject.toml").write_text("[tool.autolog\n")
        with pytest.raises(ConfigurationError, match="cannot read autolog settings"):
            resolve({})


class TestIntegrationOptions:
    @pytest.mark.parametrize(
        "option, value, message",
        [
            ("log_every_n_steps", 0, "log_every_n_steps must be a positive whole number"),
            ("max_tuning_runs", -1, "max_tuning_runs must be a whole number >= 0"),
        ],
    )
    def test_bad_integration_option_is_refused_at_autolog_time(
        self, option: str, value: int, message: str
    ) -> None:
        """A bad integration option raises at autolog(), before any framework is imported."""
        with pytest.raises(ConfigurationError, match=message):
            autolog.autolog(**{option: value})

    def test_none_is_a_value_for_integration_options(self) -> None:
        """max_tuning_runs=None (all candidates) is kept, not taken as 'not given'."""
        autolog.autolog(max_tuning_runs=None)
        assert session.config.option("max_tuning_runs", 5) is None
