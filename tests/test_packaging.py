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
    # autolog/backends and autolog/integrations are symlinks in the source tree: each file
    # must still be in the wheel once, and no test helper or example may come along.
    assert len(names) == len(set(names))
    assert not [n for n in names if "/tests/" in n or "examples/" in n or "/bench/" in n]
    backends = {Path(n).name for n in names if n.startswith("autolog/backends/")}
    assert backends == {p.name for p in Path(__file__).parents[1].joinpath("backends").glob("*.py")}
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
    # Test-only dependencies are a dependency group (PEP 735), never a published extra.
    requires = [line for line in text.splitlines() if line.startswith("Requires-Dist:")]
    assert "Provides-Extra: dev" not in text
    assert not [line for line in requires if "pytest" in line or "playwright" in line]
    assert "Requires-Python: >=3.10" in text
    entry_points = next(n for n in names if n.endswith(".dist-info/entry_points.txt"))
    assert "autolog = autolog.cli:main" in zipfile.ZipFile(wheel).read(entry_points).decode()
