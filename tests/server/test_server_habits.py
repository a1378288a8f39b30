"""Habits MLflow users bring: a link to each run, an access log, the UI's URL at start-up."""

from __future__ import annotations

import re
import time

from tests.support.processes import run_script
from tests.support.restapi import Api

LOG_OUTSIDE_A_RUN = """
import sys
import autolog
autolog.autolog(backend=sys.argv[1], dir="runs", experiment="habits")
autolog.log_param("alpha", 0.5)          # no run open: one is started, as in MLflow
autolog.log_metric("loss", 1.0)
if "--keep-open" not in sys.argv:
    autolog.end_run()
with autolog.start_run(name="explicit"):
    with autolog.start_run(name="child"):
        autolog.log_metric("loss", 2.0)
assert autolog.flush(60)
"""

VIEW_LINE = re.compile(
    r"^autolog: View run (?P<name>\S+) at (?P<base>http://\S+?)"
    r"/#/experiments/(?P<experiment_id>\w+)/runs/(?P<run_id>[0-9a-f]{32})$"
)

ACCESS_LINE = re.compile(
    r"^127\.0\.0\.1 - - \[\d\d/\w{3}/\d{4}:\d\d:\d\d:\d\d \+0000\] "
    r'"POST /api/2\.0/mlflow/runs/log-batch HTTP/1\.1" 200 \S+ "-" "[^"]*" \d+\.\d{3}$'
)


class TestHabits:
    def test_view_run_lines_access_log_and_ui_url(self, start_server, tmp_path) -> None:
        """One "View run" line per top-level run, an access-log line per request, the UI URL."""
        server = start_server()
        result = run_script(LOG_OUTSIDE_A_RUN, tmp_path, args=[server.url])
        views = view_links(result.stderr)
        assert len(views) == 2, result.stderr  # the implicit run and "explicit", not "child"
        assert views[1]["name"] == "explicit"
        assert_links_name_server_runs(views, server.url)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and not any(
            ACCESS_LINE.match(x.strip()) for x in server.lines
        ):
            time.sleep(0.1)
        assert any(ACCESS_LINE.match(line.strip()) for line in server.lines), server.lines[-5:]
        assert any(f"web UI: {server.url}/" in line for line in server.lines[:4])

    def test_view_run_link_opens_the_run_in_autolog_servers_ui(
        self, start_server, tmp_path, page
    ) -> None:
        """The printed URL, opened in Chromium, is the run's page of ``autolog server``'s UI."""
        server = start_server()
        result = run_script(LOG_OUTSIDE_A_RUN, tmp_path, args=[server.url])
        view = view_links(result.stderr)[1]
        page.goto(f"{view['base']}/#/experiments/{view['experiment_id']}/runs/{view['run_id']}")
        page.wait_for_selector("body[data-rendered='run']")
        assert page.locator(".page h1").inner_text().strip() == "explicit"
        assert page.evaluate("location.hash") == f"#/runs/{view['run_id']}"

    def test_view_run_links_have_a_real_mlflow_servers_ids(
        self, mlflow_server, tmp_path, page
    ) -> None:
        """Against ``mlflow server``, whose ids are its own: the URL has them, and opens the run."""
        result = run_script(LOG_OUTSIDE_A_RUN, tmp_path, args=[mlflow_server])
        views = view_links(result.stderr)
        assert [v["name"] for v in views][1:] == ["explicit"], result.stderr
        assert_links_name_server_runs(views, mlflow_server)
        view = views[1]
        client = Api(mlflow_server)
        try:
            run = client.get("runs/get", run_id=view["run_id"]).json()["run"]
        finally:
            client.close()
        tags = {t["key"]: t["value"] for t in run["data"]["tags"]}
        assert tags["autolog.run_id"] != view["run_id"]  # MLflow chose its own id
        page.goto(f"{mlflow_server}/#/experiments/{view['experiment_id']}/runs/{view['run_id']}")
        # MLflow's run page (not its experiment page, which lists run names too) shows the id.
        page.get_by_text(view["run_id"]).first.wait_for(timeout=90_000)
        assert page.get_by_text("explicit").count() >= 1

    def test_silent_prints_no_link(self, start_server, tmp_path) -> None:
        """silent=True: no "View run" line."""
        server = start_server()
        script = LOG_OUTSIDE_A_RUN.replace('experiment="habits"', 'experiment="h", silent=True')
        result = run_script(script, tmp_path, args=[server.url])
        assert "View run" not in result.stderr

    def test_implicit_run_ends_finished_at_exit(self, start_server, tmp_path) -> None:
        """The run log_metric started outside any run, left open, is FINISHED at exit."""
        import autolog

        server = start_server()
        run_script(LOG_OUTSIDE_A_RUN, tmp_path, args=[server.url, "--keep-open"])
        runs = autolog.search_runs(experiment="habits", backend=server.url)
        implicit = [r for r in runs if r.params.get("alpha") == "0.5"]
        assert len(implicit) == 1 and implicit[0].status == "FINISHED"
        assert implicit[0].metrics == {"loss": 1.0}
        explicit = next(r for r in runs if r.name == "explicit")
        assert explicit.parent_id == implicit[0].id  # opened inside it, as in MLflow


def view_links(stderr: str) -> list[dict[str, str]]:
    """The "View run" lines of ``stderr``, parsed; every one must have MLflow's route."""
    lines = [line.strip() for line in stderr.splitlines() if "View run" in line]
    parsed = [VIEW_LINE.match(line) for line in lines]
    assert all(parsed), lines
    return [m.groupdict() for m in parsed if m]


def assert_links_name_server_runs(views: list[dict[str, str]], url: str) -> None:
    """Each link's run and experiment ids are the ones the server at ``url`` has for that run."""
    client = Api(url)
    try:
        for view in views:
            assert view["base"] == url
            run = client.get("runs/get", run_id=view["run_id"]).json()["run"]
            assert run["info"]["experiment_id"] == view["experiment_id"]
            assert run["info"]["run_name"] == view["name"]
            assert run["info"]["status"] == "FINISHED"
            experiment = client.get("experiments/get", experiment_id=view["experiment_id"])
            assert experiment.json()["experiment"]["name"] == "habits"
    finally:
        client.close()
