"""The three comparisons every framework's peer suite runs, written once.

A suite module lists its :class:`~tests.peer.frameworks.Suite` objects and
binds the tests this returns to module names, so pytest collects them there:
the whole selection (slow), the quick subset (``peer_fast``, in make check)
and one suite again under ``-W error`` on both sides (slow).
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from pathlib import Path

import pytest

from .frameworks import Cache, Suite, compare


def comparison_tests(
    suites: Sequence[Suite], fast: Collection[str], warnings_suite: Suite, fast_doc: str
) -> tuple[Callable[..., None], Callable[..., None], Callable[..., None]]:
    """The (all, quick subset, warnings-as-errors) tests over ``suites``."""

    def name(suite: Suite) -> str:
        return suite.name

    @pytest.mark.slow
    @pytest.mark.parametrize("suite", [s for s in suites if s.name not in fast], ids=name)
    def every_suite(suite: Suite, tmp_path: Path, baselines: Cache | None) -> None:
        """Every selected test of the suite has the same outcome with autolog on as off."""
        compare(suite, tmp_path, cache=baselines)

    @pytest.mark.peer_fast
    @pytest.mark.parametrize("suite", [s for s in suites if s.name in fast], ids=name)
    def fast_subset(suite: Suite, tmp_path: Path, baselines: Cache | None) -> None:
        compare(suite, tmp_path, cache=baselines)

    fast_subset.__doc__ = f"The quick subset (for make check): {fast_doc}"

    @pytest.mark.slow
    def warnings_as_errors(tmp_path: Path, baselines: Cache | None) -> None:
        """Under -W error on both sides, autolog's warnings never become the user's exceptions."""
        compare(warnings_suite, tmp_path, warnings_as_errors=True, cache=baselines)

    return every_suite, fast_subset, warnings_as_errors
