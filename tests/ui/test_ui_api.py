"""The UI's JSON API, answered the same way by ``autolog ui`` and ``autolog server``."""

from __future__ import annotations

import httpx
import pytest

from tests.support.ui_browser import Site
from tests.support.ui_runs import CHILD_LRS, LONG_POINTS, SPIKE_STEP, SPIKE_VALUE, loss_curve


class TestExperimentsAndRuns:
    def test_experiments_count_runs(self, site: Site):
        """Each experiment is listed with its number of runs and a last-activity time."""
        found = {e["name"]: e for e in site.api("experiments").json()["experiments"]}
        assert found["image-classifier"]["runs"] == 8
        assert found["churn-model"]["runs"] == 2
        assert found["image-classifier"]["last_activity"] > 0

    def test_runs_table_has_params_metrics_and_parents(self, site: Site):
        """The runs table holds every run with its params, latest metrics and parent."""
        body = site.api("runs", experiment="image-classifier").json()
        runs = {r["name"]: r for r in body["runs"]}
        assert set(runs) == {"sweep", "baseline", "diverged", "long-run", "interrupted"} | {
            f"lr-{lr}" for lr in CHILD_LRS
        }
        lr = body["param_keys"].index("lr")
        loss = body["metric_keys"].index("loss")
        assert runs["baseline"]["p"][lr] == "0.05"
        assert runs["baseline"]["m"][loss] == loss_curve(0.05, 19)
        assert runs["diverged"]["m"][loss] == "NaN"
        assert runs["diverged"]["status"] == "FAILED"
        assert runs["interrupted"]["status"] == "KILLED"
        assert {runs[f"lr-{lr}"]["parent"] for lr in CHILD_LRS} == {runs["sweep"]["id"]}

    def test_filter_uses_search_runs_syntax(self, site: Site):
        """A filter in search_runs syntax narrows the runs; the total still counts them all."""
        body = site.api(
            "runs",
            experiment="image-classifier",
            filter="params.optimizer = 'sgd' and metrics.loss < 1",
        ).json()
        assert {r["name"] for r in body["runs"]} == {"baseline", "lr-0.1"}
        assert body["total"] == 8

    def test_bad_filter_is_a_400_with_the_parser_message(self, site: Site):
        """A filter that does not parse answers 400 saying where and what was expected."""
        response = site.api("runs", experiment="image-classifier", filter="metrics.loss <")
        assert response.status_code == 400
        assert "expected a number" in response.json()["error"]

    def test_unknown_experiment_and_run_are_404(self, site: Site):
        """Asking for an experiment or a run that does not exist answers 404 with a message."""
        assert site.api("runs", experiment="no-such-thing").status_code == 404
        response = site.api("runs/" + "0" * 32)
        assert response.status_code == 404
        assert "no run" in response.json()["error"]


class TestRunDetail:
    def test_run_has_metric_summaries_params_and_model(self, site: Site):
        """A run's page data: params, latest/min/max per metric, artifacts, model, parent."""
        run = site.api("runs/" + site.run_id("lr-0.01")).json()
        assert run["params"] == {"lr": "0.01", "batch_size": "64", "optimizer": "adam"}
        loss = next(m for m in run["metrics"] if m["key"] == "loss")
        assert (loss["latest"], loss["min"], loss["max"], loss["count"]) == (
            loss_curve(0.01, 19),
            loss_curve(0.01, 19),
            2.0,
            20,
        )
        paths = {a["path"] for a in run["artifacts"]}
        assert {"confusion.csv", "model/model.pkl", "model/manifest.json"} <= paths
        assert run["model"]["flavor"] == "pickle"
        assert run["parent"]["name"] == "sweep"
        assert "autolog.run_id" not in run["tags"]

    def test_parent_lists_children(self, site: Site):
        """A parent run lists its child runs, oldest first."""
        run = site.api("runs/" + site.run_id("sweep")).json()
        assert [c["name"] for c in run["children"]] == [f"lr-{lr}" for lr in CHILD_LRS]

    def test_nan_and_infinity_travel_as_strings(self, site: Site):
        """NaN and infinities in summaries are MLflow's strings; min/max ignore NaN."""
        loss = site.api("runs/" + site.run_id("diverged")).json()["metrics"][0]
        assert loss["latest"] == "NaN"
        assert loss["max"] == "Infinity"
        assert loss["min"] == 1.0

    def test_artifact_downloads_as_an_attachment(self, site: Site):
        """An artifact comes back byte for byte, as an attachment that is never rendered."""
        run_id = site.run_id("lr-0.01")
        response = site.api(f"runs/{run_id}/artifacts/confusion.csv")
        assert response.status_code == 200
        assert response.text == "epoch,accuracy\n19,0.97\n"
        assert response.headers["content-disposition"].startswith("attachment")
        assert response.headers["content-type"] == "application/octet-stream"

    @pytest.mark.parametrize("path", ["../../etc/passwd", "model/../../x", "nothing-here.txt"])
    def test_artifact_paths_cannot_escape_or_invent(self, site: Site, path: str):
        """Paths leaving the run's artifacts, or naming no artifact, are refused."""
        run_id = site.run_id("lr-0.01")
        url = f"{site.url}/ui-api/runs/{run_id}/artifacts/{path}"
        response = httpx.get(url, timeout=10)
        assert response.status_code in (400, 404)
        assert "root:" not in response.text


class TestMetricHistory:
    def test_long_history_is_downsampled_keeping_the_spike(self, site: Site):
        """A long history comes back as about `points` points, with its extremes and both ends."""
        run_id = site.run_id("long-run")
        body = site.api(f"runs/{run_id}/metric", key="train/loss", points="400").json()
        assert body["total"] == LONG_POINTS and body["sampled"]
        assert len(body["step"]) <= 402
        assert SPIKE_STEP in body["step"]
        assert max(body["value"]) == SPIKE_VALUE
        assert body["step"][0] == 0 and body["step"][-1] == LONG_POINTS - 1
        assert body["step"] == sorted(body["step"])

    def test_zoomed_range_returns_every_point(self, site: Site):
        """A narrow range returns all of its points, plus one neighbour on each side."""
        run_id = site.run_id("long-run")
        body = site.api(
            f"runs/{run_id}/metric", key="train/loss", points="400", start="1000", end="1099"
        ).json()
        assert not body["sampled"]
        assert body["step"] == list(range(999, 1101))
        assert body["value"][1] == 1.0 / (1 + 1000 / 1000)

    def test_after_returns_only_new_points(self, site: Site):
        """With ``after``, only points logged after the first ``after`` come back."""
        run_id = site.run_id("lr-0.01")
        body = site.api(f"runs/{run_id}/metric", key="loss", after="17").json()
        assert body["append"] is True
        assert body["step"] == [17, 18, 19]
        unchanged = site.api(f"runs/{run_id}/metric", key="loss", after="20").json()
        assert unchanged["step"] == [] and unchanged["total"] == 20

    def test_time_axis_and_non_finite_values(self, site: Site):
        """x=time orders by timestamp; NaN and infinity are null points, a gap in the chart."""
        run_id = site.run_id("diverged")
        body = site.api(f"runs/{run_id}/metric", key="loss", x="time").json()
        assert body["x"] == "time" and body["time"] == sorted(body["time"])
        assert body["value"] == [1.0, 4.0, 80.0, None, None]

    def test_bad_parameters_are_400(self, site: Site):
        """An unknown axis, a non-numeric bound or a missing key is refused clearly."""
        run_id = site.run_id("lr-0.01")
        assert site.api(f"runs/{run_id}/metric", key="loss", x="epoch").status_code == 400
        assert site.api(f"runs/{run_id}/metric", key="loss", start="soon").status_code == 400
        assert site.api(f"runs/{run_id}/metric").status_code == 400
        assert site.api(f"runs/{run_id}/metric", key="nope").status_code == 404


class TestReadOnly:
    def test_the_ui_api_has_no_write_method(self, site: Site):
        """POST, PUT and DELETE on the UI's API are not allowed: the UI never writes."""
        run_id = site.run_id("lr-0.01")
        for method in ("POST", "PUT", "DELETE"):
            response = httpx.request(method, f"{site.url}/ui-api/runs/{run_id}", timeout=10)
            assert response.status_code == 405, method

    def test_page_is_served_with_a_strict_content_security_policy(self, site: Site):
        """The page allows scripts, styles and requests from its own origin only."""
        response = httpx.get(site.url + "/", timeout=10)
        assert response.status_code == 200
        policy = response.headers["content-security-policy"]
        assert "script-src 'self'" in policy and "connect-src 'self'" in policy
        assert "uPlot.iife.min.js" in response.text
        script = httpx.get(site.url + "/static/js/app.js", timeout=10)
        assert script.status_code == 200 and script.headers["cache-control"] == "no-cache"
