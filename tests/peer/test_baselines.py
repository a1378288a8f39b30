"""The cached sides without autolog (frameworks.py) never decide a comparison wrongly.

A baseline is used only under the key of what it depends on, and a
difference against a cached baseline is checked against a fresh run without
autolog before it fails.
"""

from __future__ import annotations

import json
from importlib import metadata
from pathlib import Path
from typing import Any

import pytest

from .frameworks import Suite, baseline_key, compare, installed, save_baseline

#: A few of scikit-learn's shipped tests, quick to run on both sides.
TINY = Suite("tiny baseline check", "sklearn", ("tests/test_dummy.py",), "most_frequent_and_prior")
ENTRY = "autolog/peer/tiny_baseline_check"


class JsonCache:
    """A store with pytest's ``config.cache`` get/set, holding values as JSON as it does."""

    def __init__(self) -> None:
        self.values: dict[str, str] = {}

    def get(self, key: str, default: Any) -> Any:
        return json.loads(self.values[key]) if key in self.values else default

    def set(self, key: str, value: object) -> None:
        self.values[key] = json.dumps(value)


def test_the_key_changes_with_the_test_files_the_settings_and_the_package_versions(
    tmp_path: Path,
) -> None:
    test_file = tmp_path / "test_x.py"
    test_file.write_text("def test_x(): pass\n")
    key = baseline_key("suite", tmp_path, settings=1)
    assert baseline_key("suite", tmp_path, settings=1) == key
    assert baseline_key("suite", tmp_path, settings=2) != key
    assert baseline_key("other suite", tmp_path, settings=1) != key
    test_file.write_text("def test_x(): assert False\n")
    assert baseline_key("suite", tmp_path, settings=1) != key
    # A framework upgrade changes the key: every installed version is part of it.
    assert f"scikit-learn=={metadata.version('scikit-learn')}" in installed().splitlines()
    assert f"statsmodels=={metadata.version('statsmodels')}" in installed().splitlines()


@pytest.mark.slow
def test_a_stale_or_outdated_baseline_never_decides(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("PEER_FRESH_BASELINE", raising=False)
    cache = JsonCache()

    # An empty cache (a fresh clone): both sides run, the side without autolog is kept.
    off, _ = compare(TINY, tmp_path / "fresh", cache=cache)
    assert not off.cached and off.outcomes
    key = json.loads(cache.values[ENTRY])["key"]
    assert json.loads(cache.values[ENTRY])["value"]["outcomes"] == off.outcomes

    # A rerun takes it from the cache.
    again, _ = compare(TINY, tmp_path / "rerun", cache=cache)
    assert again.cached and again.outcomes == off.outcomes

    # A baseline kept under another key (another framework version) is not used.
    failing = {test: {"outcome": "failed", "detail": "old"} for test in off.outcomes}
    save_baseline(cache, TINY.name, "key of an older install", {"outcomes": failing, "seconds": 1})
    outdated, _ = compare(TINY, tmp_path / "outdated", cache=cache)
    assert not outdated.cached and outdated.outcomes == off.outcomes
    assert json.loads(cache.values[ENTRY])["key"] == key

    # A baseline under the right key that is wrong all the same (a change the key cannot
    # see) makes every test differ: it is run again fresh before anything fails, and replaced.
    save_baseline(cache, TINY.name, key, {"outcomes": failing, "seconds": 1})
    stale, _ = compare(TINY, tmp_path / "stale", cache=cache)
    assert not stale.cached and stale.outcomes == off.outcomes
    assert json.loads(cache.values[ENTRY])["value"]["outcomes"] == off.outcomes
