"""Habits MLflow users bring: a link to each run, an access log, the UI's URL at start-up."""

from __future__ import annotations

import re
import time

from tests.support.processes import run_script

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

ACCESS_LINE = re.compile(
    r"^127\.0\.0\.1 - - \[\d\d/\w{3}/\d{4}:\d\d:\d\d:\d\d \+0000\] "
    r'"POST /api/2\.0/mlflow/runs/log-batch HTTP/1\.1" 200 \S+ "-" "[^"]*" \d+\.\d{3}$'
)


class TestHabits:
    def test_view_run_lines_access_log_and_ui_url(self, start_server, tmp_path) -> None:
        """One "View run" line per top-level run, an access-log line per request, the UI URL."""
        server = start_server()
        result = run_script(LOG_OUTSIDE_A_RUN, tmp_path, args=[server.url])
        views = [line for line in result.stderr.splitlines() if "View run" in line]
        assert len(views) == 2, result.stderr  # the implicit run and "explicit", not "child"
        assert all(f"at {server.url}/#/runs/" in line for line in views)
        assert "View run explicit at" in views[1]
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and not any(
            ACCESS_LINE.match(x.strip()) for x in server.lines
        ):
            time.sleep(0.1)
        assert any(ACCESS_LINE.match(line.strip()) for line in server.lines), server.lines[-5:]
        assert any(f"web UI: {server.url}/" in line for line in server.lines[:4])

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
