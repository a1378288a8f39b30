"""``autolog ui`` as a command, the UI on a token-protected server, and over a blob container."""

from __future__ import annotations

import shutil
import socket
from pathlib import Path

import httpx

from tests.support import azurite as helper
from tests.support.ui_browser import DESKTOP, Site, open_page
from tests.support.ui_processes import Service, run_autolog, start_server

REPO = Path(__file__).resolve().parents[2]


class TestUiCommand:
    def test_prints_the_url_and_says_read_only(self, local_ui: Service, fixture_store: Path):
        """The first line names the store, says read-only and gives the URL to open."""
        assert (
            local_ui.lines[0].strip()
            == f"autolog ui: {fixture_store} (read-only) at {local_ui.url}"
        )

    def test_default_store_is_the_configured_one(self, fixture_store: Path, tmp_path: Path):
        """Without STORE it serves the configured store (AUTOLOG_DIR, else ./autolog-runs)."""
        service = Service(
            ["ui", "--port", "0"], tmp_path, "autolog ui:", env={"AUTOLOG_DIR": str(fixture_store)}
        ).start()
        try:
            names = {
                e["name"]
                for e in Site("local", service.url).api("experiments").json()["experiments"]
            }
            assert names == {"image-classifier", "churn-model"}
        finally:
            service.stop()

    def test_missing_store_fails_with_what_to_do(self, tmp_path: Path):
        """A folder that does not exist exits 1 saying so and how to point at the store."""
        result = run_autolog("ui", str(tmp_path / "nowhere"), "--port", "0", cwd=tmp_path)
        assert result.returncode == 1
        assert "no local store at" in result.stderr and "autolog ui PATH" in result.stderr

    def test_a_tracking_server_url_is_pointed_to_its_own_ui(self, tmp_path: Path):
        """Given a tracking server's URL, it says that server serves the UI itself."""
        result = run_autolog("ui", "http://127.0.0.1:5000", cwd=tmp_path)
        assert result.returncode == 1
        assert "serves this UI itself" in result.stderr

    def test_a_port_in_use_says_how_to_pick_another(self, fixture_store: Path, tmp_path: Path):
        """A busy port exits 1 and suggests --port 0."""
        with socket.socket() as busy:
            busy.bind(("127.0.0.1", 0))
            busy.listen()
            port = str(busy.getsockname()[1])
            result = run_autolog("ui", str(fixture_store), "--port", port, cwd=tmp_path)
        assert result.returncode == 1
        assert "cannot listen on" in result.stderr and "--port 0" in result.stderr

    def test_help_lists_the_ui_command(self, tmp_path: Path):
        """``autolog --help`` lists ``ui``, and ``autolog ui --help`` explains STORE."""
        assert " ui " in run_autolog("--help", cwd=tmp_path).stdout
        assert "blob URI" in run_autolog("ui", "--help", cwd=tmp_path).stdout


class TestServerUi:
    def test_token_protected_server_asks_browsers_for_the_token(self, tmp_path: Path, browser):
        """With a token the UI answers 401, a Basic challenge; the token as password opens it."""
        token = "correct-horse-battery"
        server = start_server(tmp_path / "server", token=token)
        try:
            page_answer = httpx.get(server.url + "/", timeout=10)
            assert page_answer.status_code == 401
            assert page_answer.headers["www-authenticate"].startswith("Basic")
            api_answer = httpx.get(server.url + "/api/2.0/mlflow/experiments/search", timeout=10)
            assert api_answer.headers["www-authenticate"].startswith("Bearer")
            assert httpx.get(server.url + "/", auth=("me", token), timeout=10).status_code == 200
            context = browser.new_context(
                viewport=DESKTOP, http_credentials={"username": "me", "password": token}
            )
            try:
                tab = context.new_page()
                open_page(tab, Site("server", server.url), "/", "experiments")
                assert "Default" in tab.locator("table.experiments").inner_text()
            finally:
                context.close()
        finally:
            server.stop()


class TestBlobStore:
    def test_ui_reads_runs_from_a_blob_container(
        self, fixture_store: Path, tmp_path: Path, page, shoot
    ):
        """Runs synced to a blob container (Azurite) show in ``autolog ui wasbs://...``."""
        azurite = helper.Azurite(tmp_path / "azurite").start()
        env = {**helper.clean_azure_environment(), **azurite.env()}
        uri = azurite.uri(helper.unique_container())
        journals = tmp_path / "journals"
        shutil.copytree(fixture_store, journals)
        ui = None
        try:
            synced = run_autolog(
                "sync", "--dir", str(journals), "--backend", uri, "-q", cwd=tmp_path, env=env
            )
            assert synced.returncode == 0, synced.stderr
            ui = Service(["ui", uri, "--port", "0"], tmp_path, "autolog ui:", env=env).start()
            site = Site("blob", ui.url)
            run = site.api("runs/" + site.run_id("lr-0.01")).json()
            assert run["params"]["lr"] == "0.01" and run["model"]["flavor"] == "pickle"
            download = site.api(f"runs/{run['id']}/artifacts/confusion.csv")
            assert download.text == "epoch,accuracy\n19,0.97\n"
            open_page(page, site, "/experiments/image-classifier", "runs")
            assert page.locator("tbody tr.row").count() == 5
            shoot(page, "runs-blob")
        finally:
            if ui is not None:
                ui.stop()
            azurite.stop()
