"""A configuration mistake is one clear error at autolog() time, naming setting, value, source."""

from __future__ import annotations

import traceback
from pathlib import Path

import pytest

import autolog
from autolog.errors import ConfigurationError


def _error(monkeypatch, tmp_path: Path, **kwargs) -> ConfigurationError:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ConfigurationError) as caught:
        autolog.autolog(**kwargs)
    return caught.value


class TestConfigErrors:
    def test_bad_port(self, monkeypatch, tmp_path: Path) -> None:
        """http://localhost:99999 names the setting, the port and autolog() as source."""
        error = _error(monkeypatch, tmp_path, backend="http://localhost:99999")
        assert "setting 'backend' from autolog()" in str(error) and "'99999'" in str(error)

    def test_bad_port_from_the_environment(self, monkeypatch, tmp_path: Path) -> None:
        """The same from AUTOLOG_BACKEND names the variable."""
        monkeypatch.setenv("AUTOLOG_BACKEND", "http://localhost:99999")
        assert "from AUTOLOG_BACKEND" in str(_error(monkeypatch, tmp_path))

    def test_text_for_a_boolean_in_autolog_toml(self, monkeypatch, tmp_path: Path) -> None:
        """log_models = "yes" in autolog.toml is refused, naming that file."""
        (tmp_path / "autolog.toml").write_text('log_models = "yes"\n')
        error = str(_error(monkeypatch, tmp_path))
        assert "'log_models'" in error and str(tmp_path / "autolog.toml") in error
        assert "[tool.autolog]" not in error and "'yes'" in error

    def test_wrong_type_in_pyproject(self, monkeypatch, tmp_path: Path) -> None:
        """A wrong type under [tool.autolog] names pyproject.toml's table."""
        (tmp_path / "pyproject.toml").write_text('[tool.autolog]\nexit_timeout = "soon"\n')
        error = str(_error(monkeypatch, tmp_path))
        assert "[tool.autolog] in" in error and "'soon'" in error

    def test_log_models_argument_must_be_a_boolean(self, monkeypatch, tmp_path: Path) -> None:
        """autolog(log_models="yes") is refused, not taken as True."""
        assert "'log_models'" in str(_error(monkeypatch, tmp_path, log_models="yes"))

    def test_unwritable_dir(self, monkeypatch, tmp_path: Path) -> None:
        """A store folder that cannot be created is refused at autolog() time."""
        (tmp_path / "file").write_text("")
        monkeypatch.setenv("AUTOLOG_DIR", str(tmp_path / "file" / "runs"))
        error = str(_error(monkeypatch, tmp_path))
        assert "setting 'dir' from AUTOLOG_DIR" in error and "cannot write" in error

    def test_the_traceback_stops_at_autolog(self, monkeypatch, tmp_path: Path) -> None:
        """The error carries no frames from inside autolog's configuration code."""
        error = _error(monkeypatch, tmp_path, backend="http://localhost:99999")
        frames = traceback.extract_tb(error.__traceback__)
        assert not any(f.filename.endswith(("_config.py", "_config_checks.py")) for f in frames)
