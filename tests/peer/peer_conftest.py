"""conftest.py of a peer run: the framework's own fixtures, autolog on or off, outcomes saved.

Copied to the root of the folder holding the copied test modules (see
``tests/peer/frameworks.py``). ``PEER_FIXTURES`` names the framework's own
conftest module, loaded as a plugin so its fixtures (``global_random_seed``...)
exist; with ``PEER_AUTOLOG=1`` autolog is on for the whole session, recording
into ``PEER_STORE``. Each test's outcome is written to ``PEER_OUTCOMES``.
With ``PEER_RNG=1`` the global random generators (Python's, NumPy's) are
seeded before each test and a digest of their state after it is kept with its
outcome, so a draw autolog makes from them shows as a difference.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
from collections.abc import Iterator

import numpy as np
import pytest

pytest_plugins = [os.environ["PEER_FIXTURES"]]

_outcomes: dict[str, dict[str, str]] = {}


def pytest_configure(config: pytest.Config) -> None:
    if os.environ.get("PEER_AUTOLOG") == "1":
        import autolog

        autolog.autolog(backend=os.environ["PEER_STORE"])


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    if os.environ.get("PEER_RNG") == "1":
        random.seed(0)
        np.random.seed(0)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Iterator[None]:
    yield
    if os.environ.get("PEER_RNG") == "1":
        state = np.random.get_state()
        sha = hashlib.sha256(repr(random.getstate()).encode())
        sha.update(state[1].tobytes() + repr(state[2:]).encode())
        entry = _outcomes.setdefault(item.nodeid, {"outcome": "passed", "detail": ""})
        entry["rng"] = sha.hexdigest()[:16]


@pytest.hookimpl(trylast=True)
def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    entry = _outcomes.setdefault(report.nodeid, {"outcome": "passed", "detail": ""})
    if report.passed and report.when == "call" and hasattr(report, "wasxfail"):
        entry["outcome"] = "xpassed"
    elif report.skipped:
        entry["outcome"] = "xfailed" if hasattr(report, "wasxfail") else "skipped"
    elif report.failed and entry["outcome"] != "failed":
        entry["outcome"] = "failed" if report.when == "call" else f"error in {report.when}"
        crash = getattr(report.longrepr, "reprcrash", None)
        entry["detail"] = crash.message.splitlines()[0][:300] if crash and crash.message else ""


def pytest_sessionfinish(session: pytest.Session) -> None:
    with open(os.environ["PEER_OUTCOMES"], "w") as f:
        json.dump(_outcomes, f)
