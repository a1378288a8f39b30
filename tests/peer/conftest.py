"""The peer comparisons keep their sides without autolog in pytest's cache (see frameworks.py)."""

from __future__ import annotations

import pytest

from .frameworks import Cache


@pytest.fixture
def baselines(pytestconfig: pytest.Config) -> Cache | None:
    """pytest's cache (``.pytest_cache``), or None under ``-p no:cacheprovider``."""
    return getattr(pytestconfig, "cache", None)
