"""The built wheel carries the UI: its page, styles, scripts, chart library and licence."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
STATIC = REPO / "autolog" / "ui" / "static"


class TestWheel:
    @pytest.mark.slow
    def test_wheel_ships_every_static_file(self, wheel: Path) -> None:
        """Every file under autolog/ui/static is in the wheel: the installed UI needs no network."""
        names = set(zipfile.ZipFile(wheel).namelist())
        expected = {
            f"autolog/ui/static/{path.relative_to(STATIC).as_posix()}"
            for path in STATIC.rglob("*")
            if path.is_file()
        }
        assert expected <= names, sorted(expected - names)
        assert "autolog/ui/static/vendor/LICENSE" in names
