"""The HTTP backend against a real ``autolog server``: limits, ordering, errors, credentials."""

from __future__ import annotations

import subprocess
import sys

import pytest

import autolog
from autolog._shipper import Shipper
from autolog._store import LocalStore
from autolog.backends.http import HttpBackend, ServerRejectedError, ServerUnavailableError
from autolog.errors import RunNotFoundError
from tests.support.network import free_port
from tests.support.restapi import Api


class TestShipping:
    def test_large_run_is_split_within_protocol_limits(self, shared_server, tmp_path):
        """250 long params, 250 tags and 3500 points arrive whole, over several limited requests."""
        autolog.autolog(backend=shared_server.url, dir=str(tmp_path / "runs"), experiment="big")
        params = {f"param_{i}": "v" * 5000 for i in range(250)}
        tags = {f"tag_{i}": str(i) for i in range(250)}
        with autolog.start_run(name="big") as run:
            autolog.log_params(params)
            autolog.set_tags(tags)
            for step in range(3500):
                autolog.log_metric("loss", step / 10, step=step)
        assert autolog.flush(60)
        got = autolog.get_run(run.id, backend=shared_server.url)
        assert got.params == params
        assert {k: v for k, v in got.tags.items() if k.startswith("tag_")} == tags
        history = autolog.get_metric_history(run.id, "loss", backend=shared_server.url)
        assert [p.step for p in history] == list(range(3500))

    def test_child_shipped_before_its_parent_links_up(self, shared_server, tmp_path):
        """A child shipped first creates its parent early; the parent's records then fill it in."""
        autolog.autolog(backend=str(tmp_path / "runs"))  # journals only: we ship them by hand
        with autolog.start_run(name="parent", experiment="family") as parent:
            autolog.log_param("p", 1)
            with autolog.start_run(name="child") as child:
                autolog.log_metric("acc", 0.5)
        shipper = Shipper(HttpBackend(shared_server.url), LocalStore(tmp_path / "runs"))
        shipper.ship_run(child.id)
        Shipper(HttpBackend(shared_server.url), LocalStore(tmp_path / "runs")).ship_run(parent.id)
        api = Api(shared_server.url)
        parent_run, child_run = api.find_run(parent.id), api.find_run(child.id)
        assert parent_run["info"]["run_name"] == "parent"
        assert parent_run["info"]["status"] == "FINISHED"
        child_tags = {t["key"]: t["value"] for t in child_run["data"]["tags"]}
        assert child_tags["mlflow.parentRunId"] == parent_run["info"]["run_id"]
        assert autolog.get_run(child.id, backend=shared_server.url).parent_id == parent.id
        api.close()

    def test_native_mlflow_run_reads_by_its_server_id(self, shared_server):
        """A run logged without autolog reads back by the server's id; an unknown id raises."""
        api = Api(shared_server.url)
        run_id = api.new_run("native", run_name="plain")
        api.ok(
            api.post("runs/log-metric", {"run_id": run_id, "key": "m", "value": 1, "timestamp": 1})
        )
        run = autolog.get_run(run_id, backend=shared_server.url)
        assert (run.id, run.name, run.experiment, run.metrics) == (
            run_id,
            "plain",
            "native",
            {"m": 1.0},
        )
        with pytest.raises(RunNotFoundError):
            autolog.get_run("f" * 32, backend=shared_server.url)
        api.close()


class TestErrors:
    def test_unreachable_server_is_a_transient_error(self, tmp_path):
        """Connection refused, after the retries, raises ServerUnavailableError (not permanent)."""
        backend = HttpBackend(f"http://127.0.0.1:{free_port()}")
        with pytest.raises(ServerUnavailableError) as caught:
            backend.search_runs()
        assert caught.value.permanent is False

    def test_wrong_token_is_permanent_and_credentials_never_shown(
        self, start_server, tmp_path, monkeypatch
    ):
        """A refused token is a permanent error; tokens and URI passwords appear in no message."""
        server = start_server(token="right-token")
        monkeypatch.setenv("AUTOLOG_TRACKING_TOKEN", "wrong-token")
        with pytest.raises(ServerRejectedError) as caught:
            HttpBackend(server.url).search_runs()
        assert caught.value.permanent is True and caught.value.status == 401
        assert "wrong-token" not in str(caught.value)
        monkeypatch.delenv("AUTOLOG_TRACKING_TOKEN")
        monkeypatch.setenv("MLFLOW_TRACKING_TOKEN", "right-token")
        assert HttpBackend(server.url).search_runs() == []
        monkeypatch.delenv("MLFLOW_TRACKING_TOKEN")
        with_password = server.url.replace("http://", "http://someone:right-token@")
        backend = HttpBackend(with_password)
        assert backend.search_runs() == []
        assert "right-token" not in backend.uri + repr(backend)

    def test_importing_autolog_does_not_import_httpx(self):
        """httpx is imported on the first request, not by ``import autolog`` or configuring."""
        code = (
            "import sys, autolog; autolog.autolog(backend='http://127.0.0.1:1', dir='runs'); "
            "print('httpx' in sys.modules)"
        )
        result = subprocess.run(
            [sys.executable, "-P", "-c", code], capture_output=True, text=True, check=True
        )
        assert result.stdout.strip() == "False"
