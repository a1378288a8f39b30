"""A RUNNING run's charts and status update in the open page, without a reload."""

from __future__ import annotations

from pathlib import Path

import autolog
from tests.support.ui_browser import Site, open_page
from tests.support.ui_processes import start_ui

GROWS = 20_000  # ms: the chart polls every 3 s, the run summary every 4 s


def log_points(run: autolog.Run, steps: range) -> None:
    for step in steps:
        run.log_metric("loss", 1.0 / (step + 1), step=step)


def wait_for_note(page, text: str) -> None:
    page.wait_for_function(
        "(text) => document.querySelector('#main .chart-note')?.textContent === text",
        arg=text,
        timeout=GROWS,
    )


class TestLiveRun:
    def test_local_store_chart_grows_while_the_run_logs(self, page, tmp_path: Path, shoot):
        """Points appended to a running run's journal appear in its chart; its end shows too."""
        store = tmp_path / "live-runs"
        autolog.autolog(backend=str(store), silent=True)
        run = autolog.start_run(name="training", experiment="live")
        log_points(run, range(5))
        ui = start_ui(store, tmp_path)
        try:
            site = Site("local", ui.url)
            open_page(page, site, f"/runs/{run.id}", "run")
            wait_for_note(page, "5 points")
            assert page.locator(".run-title .status").inner_text() == "Running"
            page.evaluate("() => { window.notReloaded = true; }")
            log_points(run, range(5, 15))
            wait_for_note(page, "15 points")
            shoot(page, "run-live-local")
            autolog.end_run()
            page.wait_for_function(
                "() => document.querySelector('.run-title .status')?.textContent === 'Finished'",
                timeout=GROWS,
            )
            assert page.evaluate("() => window.notReloaded") is True
        finally:
            ui.stop()

    def test_server_chart_follows_a_run_shipped_over_http(self, page, server_site: Site):
        """A run logged to the tracking server updates its open chart as batches arrive."""
        autolog.autolog(backend=server_site.url, silent=True)
        run = autolog.start_run(name="training-http", experiment="live-server")
        log_points(run, range(5))
        assert autolog.flush(30)
        run_id = server_site.run_id("training-http", experiment="live-server")
        open_page(page, server_site, f"/runs/{run_id}", "run")
        wait_for_note(page, "5 points")
        log_points(run, range(5, 40))
        assert autolog.flush(30)
        wait_for_note(page, "40 points")
        autolog.end_run()
        assert autolog.flush(30)
        page.wait_for_function(
            "() => document.querySelector('.run-title .status')?.textContent === 'Finished'",
            timeout=GROWS,
        )
