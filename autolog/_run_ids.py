"""Run ids as people type them: the 12-character prefixes ``autolog runs ls`` prints."""

from __future__ import annotations


def expand_run_id(prefix: str, backend: str | None) -> str:
    """Accept the 12-character ids ``runs ls`` prints, as long as they are unambiguous."""
    from ._api import search_runs
    from .errors import RunNotFoundError

    if len(prefix) == 32:
        return prefix
    found = search_runs(backend=backend, deleted=True)
    matches = [run.id for run in found if run.id.startswith(prefix)]
    if len(matches) == 1:
        return matches[0]
    if not matches:
        raise RunNotFoundError(f"no run id starts with {prefix!r}; see: autolog runs ls")
    raise RunNotFoundError(f"{len(matches)} runs start with {prefix!r}; give more characters")
