"""The built wheel installs one top-level package, autolog, with everything inside it."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest


@pytest.mark.slow
def test_wheel_has_only_the_autolog_package(wheel: Path) -> None:
    """backends/ and integrations/ land inside autolog/, nothing else at the top."""
    names = zipfile.ZipFile(wheel).namelist()
    top_level = {
        name.split("/")[0] for name in names if not name.split("/")[0].endswith(".dist-info")
    }
    assert top_level == {"autolog"}
    for module in (
        "autolog/backends/local.py",
        "autolog/integrations/sklearn.py",
        "autolog/_journal.py",
        "autolog/cli.py",
    ):
        assert module in names
    metadata = next(n for n in names if n.endswith(".dist-info/METADATA"))
    text = zipfile.ZipFile(wheel).read(metadata).decode()
    assert "Name: autolog-tracking" in text
    assert "Requires-Python: >=3.10" in text
    entry_points = next(n for n in names if n.endswith(".dist-info/entry_points.txt"))
    assert "autolog = autolog.cli:main" in zipfile.ZipFile(wheel).read(entry_points).decode()
