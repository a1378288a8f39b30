"""The registry pages, and the links MLflow prints (#/experiments/ID/runs/RUN), in Chromium."""

from __future__ import annotations

import uuid

import httpx

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

    def test_local_store_says_the_registry_is_on_the_server(self, page, local_site: Site):
        """Over a local store the models page explains where the registry lives."""
        page.goto(f"{local_site.url}/#/models")
        page.wait_for_selector(".page h1")
        assert "autolog server" in page.locator("#main").inner_text()
