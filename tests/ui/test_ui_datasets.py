"""The run page's Datasets card, in headless Chromium over a store of real sklearn fits."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator

import httpx
import pytest

from tests.support.ui_browser import Site, open_page
from tests.support.ui_processes import start_ui

FITS = """
import numpy as np
import pandas as pd
import autolog
from sklearn.linear_model import Ridge
autolog.autolog(backend="runs", experiment="datasets")
X = pd.DataFrame(np.random.default_rng(0).random((30, 2)), columns=["size", "rooms"])
y = np.arange(30.0)
for alpha in (1.0, 2.0):
    Ridge(alpha=alpha).fit(X, y)
Ridge(alpha=3.0).fit(X.iloc[::-1], y)
"""


@pytest.fixture(scope="module")
def datasets_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    folder = tmp_path_factory.mktemp("datasets-ui")
    subprocess.run([sys.executable, "-P", "-c", FITS], cwd=folder, check=True)
    service = start_ui(folder / "runs", folder)
    try:
        yield Site("local", service.url)
    finally:
        service.stop()


def ids_by_alpha(site: Site) -> dict[str, str]:
    body = site.api("runs", experiment="datasets").json()
    index = body["param_keys"].index("alpha")
    return {row["p"][index]: row["id"] for row in body["runs"]}


class TestDatasets:
    def test_api_lists_the_runs_on_the_same_digest(self, datasets_site: Site) -> None:
        """The endpoint gives the run's train input and the one other run on the same data."""
        ids = ids_by_alpha(datasets_site)
        body = datasets_site.api(f"runs/{ids['1.0']}/datasets").json()
        [dataset] = body["datasets"]
        assert dataset["context"] == "train" and len(dataset["digest"]) == 32
        assert [c["name"] for c in dataset["schema"]["mlflow_colspec"]] == ["size", "rooms"]
        assert [r["id"] for r in dataset["same_digest"]] == [ids["2.0"]]
        other = datasets_site.api(f"runs/{ids['3.0']}/datasets").json()["datasets"][0]
        assert other["same_digest"] == [] and other["digest"] != dataset["digest"]
        missing = httpx.get(f"{datasets_site.url}/ui-api/runs/{'0' * 32}/datasets", timeout=30)
        assert missing.status_code == 404

    def test_run_page_shows_the_card_and_links_the_sibling(self, page, datasets_site: Site):
        """The card names the columns and links the other run; the link opens that run."""
        ids = ids_by_alpha(datasets_site)
        open_page(page, datasets_site, f"/runs/{ids['1.0']}", "run")
        card = page.locator("#datasets")
        card.wait_for()
        assert "2 columns: size (double), rooms (double)" in card.inner_text()
        assert "Same data in 1 other run" in card.inner_text()
        card.locator("a").first.click()
        page.wait_for_url(f"**/runs/{ids['2.0']}")
