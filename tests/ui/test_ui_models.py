"""The registry pages, and the links MLflow prints (#/experiments/ID/runs/RUN), in Chromium.

The registry pages are tested over both registries: the server's (versions made with
MLflow's REST calls) and the local store's (versions made with autolog's API).
"""

from __future__ import annotations

import uuid
from pathlib import Path

import httpx

import autolog
from tests.support.ui_browser import Site, open_page

API = "/api/2.0/mlflow/"


def _post(site: Site, endpoint: str, body: dict) -> dict:
    response = httpx.post(site.url + API + endpoint, json=body, timeout=30)
    assert response.status_code == 200, response.text
    return response.json()


def _experiment_id(site: Site, name: str) -> str:
    response = httpx.get(
        site.url + API + "experiments/get-by-name", params={"experiment_name": name}
    )
    return response.json()["experiment"]["experiment_id"]


class TestMlflowLinks:
    def test_mlflow_run_and_experiment_links_open_our_pages(self, page, server_site: Site):
        """MLflow's 'View run' and 'View experiment' links open the run and the runs table."""
        run_id = server_site.run_id("baseline")
        experiment_id = _experiment_id(server_site, "image-classifier")
        open_page(page, server_site, f"/experiments/{experiment_id}/runs/{run_id}", "run")
        assert page.locator(".run-title h1").inner_text() == "baseline"
        assert page.evaluate("location.hash") == f"#/runs/{run_id}"
        open_page(page, server_site, f"/experiments/{experiment_id}", "runs")
        assert page.evaluate("location.hash") == "#/experiments/image-classifier"


class TestModelPages:
    def test_models_versions_aliases_and_the_source_run(self, page, server_site: Site):
        """A registered model lists its versions, aliases and a link to the run each came from."""
        run_id = server_site.run_id("baseline")
        name = f"classifier-{uuid.uuid4().hex[:6]}"
        _post(server_site, "registered-models/create", {"name": name})
        source = {"name": name, "source": f"runs:/{run_id}/model", "run_id": run_id}
        _post(server_site, "model-versions/create", source)
        _post(server_site, "model-versions/create", source)
        _post(
            server_site,
            "registered-models/alias",
            {"name": name, "alias": "champion", "version": "1"},
        )
        open_page(page, server_site, "/models", "models")
        page.locator(f"a[href='#/models/{name}']").click()
        page.wait_for_selector("body[data-rendered='model']")
        first = page.locator("tr[data-version='1']")
        assert "@champion" in first.inner_text()
        assert first.locator("a[href^='#/runs/']").get_attribute("href") == f"#/runs/{run_id}"
        assert page.locator("tbody tr").count() == 2
        open_page(page, server_site, f"/models/{name}/versions/1", "model-version")
        assert f"models:/{name}/1" in page.locator(".details").inner_text()
        first_link = page.locator(".details a[href^='#/runs/']")
        first_link.click()
        page.wait_for_selector("body[data-rendered='run']")

    def test_the_local_registry_on_the_same_pages(
        self, page, local_site: Site, fixture_store: Path, shoot
    ):
        """Over a local store (autolog ui) the pages show the registry journaled in the store:
        versions registered with autolog's API, their aliases and the run each came from."""
        run_id = local_site.run_id("lr-0.01")
        name = f"local-{uuid.uuid4().hex[:6]}"
        backend = str(fixture_store)
        assert autolog.register_model(run_id, name, backend=backend) == 1
        assert autolog.register_model(f"runs:/{run_id}/model", name, backend=backend) == 2
        autolog.set_model_alias(name, "champion", 1, backend=backend)
        autolog.set_model_alias(name, "challenger", 2, backend=backend)

        open_page(page, local_site, "/models", "models")
        row = page.locator("tbody tr", has=page.locator(f"a[href='#/models/{name}']"))
        assert "v2" in row.inner_text()
        assert "@champion → v1" in row.inner_text()
        shoot(page, "models-local")
        row.locator(f"a[href='#/models/{name}']").click()
        page.wait_for_selector("body[data-rendered='model']")
        assert page.locator("tbody tr").count() == 2
        first, second = page.locator("tr[data-version='1']"), page.locator("tr[data-version='2']")
        assert "@champion" in first.inner_text() and "@challenger" not in first.inner_text()
        assert "@challenger" in second.inner_text()
        assert page.locator("tbody tr").first.get_attribute("data-version") == "2"
        assert first.locator("a[href^='#/runs/']").get_attribute("href") == f"#/runs/{run_id}"
        shoot(page, "model-local")
        open_page(page, local_site, f"/models/{name}/versions/1", "model-version")
        details = page.locator(".details").inner_text()
        assert f"runs:/{run_id}/model" in details
        assert f"models:/{name}/1" in details
        shoot(page, "model-version-local")
        page.locator(".details a[href^='#/runs/']").click()
        page.wait_for_selector("body[data-rendered='run']")
        assert page.locator(".run-title h1").inner_text() == "lr-0.01"

    def test_a_missing_model_or_version_is_a_404_with_a_message(
        self, local_site: Site, server_site: Site, fixture_store: Path
    ):
        """An unknown name or version answers 404 and says what is missing, never a 500."""
        for site in (local_site, server_site):
            missing = site.api("models/no-such-model")
            assert missing.status_code == 404, (site.kind, missing.text)
            assert "'no-such-model'" in missing.json()["error"]
        run_id = local_site.run_id("lr-0.01")
        name = f"local-{uuid.uuid4().hex[:6]}"
        autolog.register_model(run_id, name, backend=str(fixture_store))
        assert local_site.api(f"models/{name}/versions/1").status_code == 200
        for version, says in (("2", "has no version 2"), ("nine", "'nine' is not a version")):
            refused = local_site.api(f"models/{name}/versions/{version}")
            assert refused.status_code == 404, refused.text
            assert says in refused.json()["error"]
