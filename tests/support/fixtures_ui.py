"""Fixtures for the UI tests: fixture runs, the two servers that show them, headless Chromium.

The same fixture runs are shown by ``autolog ui`` over the local store they
were logged to, and by ``autolog server`` after ``autolog sync`` shipped them
over HTTP; page tests run against both (``site``). Chromium is the one
:mod:`tests.support.tools` finds or installs, driven by Playwright; when it is
missing the tests fail, they do not skip. Screenshots of every page land in
``build/ui-screenshots/``. Loaded through ``pytest_plugins`` in tests/conftest.py.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.support.tools import ToolMissing, chromium
from tests.support.ui_browser import DESKTOP, Site
from tests.support.ui_processes import (
    Service,
    make_fixture_store,
    run_autolog,
    start_server,
    start_ui,
)

REPO = Path(__file__).resolve().parents[2]
SCREENSHOTS = REPO / "build" / "ui-screenshots"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="session")
def fixture_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A local store holding the fixture runs (see ui_runs.py)."""
    return make_fixture_store(tmp_path_factory.mktemp("ui-store"))


@pytest.fixture(scope="session")
def local_ui(fixture_store: Path) -> Iterator[Service]:
    """``autolog ui`` over the fixture store."""
    service = start_ui(fixture_store, fixture_store.parent)
    try:
        yield service
    finally:
        service.stop()


@pytest.fixture(scope="session")
def tracking_server(
    fixture_store: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Service]:
    """``autolog server`` holding the fixture runs, shipped to it by ``autolog sync``."""
    folder = tmp_path_factory.mktemp("ui-server")
    journals = folder / "journals"
    shutil.copytree(fixture_store, journals)
    service = start_server(folder / "server")
    try:
        synced = run_autolog(
            "sync", "--dir", str(journals), "--backend", service.url, "-q", cwd=folder
        )
        assert synced.returncode == 0, synced.stderr
        yield service
    finally:
        service.stop()


@pytest.fixture(scope="session", params=["local", "server"])
def site(request: pytest.FixtureRequest) -> Site:
    """Each UI in turn: ``autolog ui`` on the local store, then ``autolog server``."""
    service = request.getfixturevalue("local_ui" if request.param == "local" else "tracking_server")
    return Site(request.param, service.url)


@pytest.fixture(scope="session")
def local_site(local_ui: Service) -> Site:
    return Site("local", local_ui.url)


@pytest.fixture(scope="session")
def server_site(tracking_server: Service) -> Site:
    return Site("server", tracking_server.url)


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    """Headless Chromium through Playwright; a fresh empty profile per launch."""
    try:
        executable = chromium()
    except ToolMissing as missing:
        pytest.fail(str(missing))
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.fail("the UI tests need Playwright for Python: make setup (the dev group)")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(executable), args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture
def page(browser) -> Iterator[object]:
    """A new browser context and page at 1280x800; fails the test on any script error."""
    context = browser.new_context(viewport=DESKTOP, color_scheme="light", accept_downloads=True)
    context.set_default_timeout(15_000)
    tab = context.new_page()
    errors: list[str] = []
    tab.on("pageerror", lambda error: errors.append(f"uncaught: {error}"))
    tab.on(
        "console",
        lambda message: (
            errors.append(message.text)
            if message.type == "error" and "Failed to load resource" not in message.text
            else None
        ),
    )
    try:
        yield tab
    finally:
        context.close()
    assert not errors, f"the page reported errors: {errors}"


@pytest.fixture
def shoot() -> Callable[..., Path]:
    """Save a screenshot of the page under build/ui-screenshots/NAME.png."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    def save(tab, name: str, full_page: bool = False) -> Path:
        path = SCREENSHOTS / f"{name}.png"
        tab.wait_for_timeout(150)  # let charts finish their first frame
        tab.screenshot(path=str(path), full_page=full_page)
        return path

    return save
