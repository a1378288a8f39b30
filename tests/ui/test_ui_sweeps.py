"""Sweeps, single values, compare bars and curation in the browser, over the ARIMA demo's grid.

The 32-run grid is made by the real demo (``examples/arima_grid.py``: statsmodels
fits of SARIMAX orders under one parent), shown by ``autolog ui`` over its local
store and by ``autolog server`` after ``autolog sync``. Edits go through the page's
own forms and are read back with ``autolog runs show``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.ui_browser import Site, open_page
from tests.support.ui_processes import Service, run_autolog, start_server, start_ui

REPO = Path(__file__).resolve().parents[2]
EXPERIMENT = "Default"


@pytest.fixture(scope="module")
def grid_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo's 32 ARIMA runs and their parent, in a fresh local store."""
    folder = tmp_path_factory.mktemp("arima-grid")
    store = folder / "runs"
    result = subprocess.run(
        [sys.executable, "-P", str(REPO / "examples" / "arima_grid.py")],
        cwd=folder,
        env={**os.environ, "AUTOLOG_DIR": str(store), "AUTOLOG_BACKEND": str(store)},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return store


@pytest.fixture(scope="module", params=["local", "server"])
def grid_site(request, grid_store: Path, tmp_path_factory) -> Iterator[Site]:
    """``autolog ui`` over a copy of the grid (editable), then ``autolog server`` holding it."""
    folder = tmp_path_factory.mktemp(f"grid-{request.param}")
    journals = folder / "runs"
    shutil.copytree(grid_store, journals)
    service: Service
    if request.param == "local":
        service = start_ui(journals, folder)
    else:
        service = start_server(folder / "server")
        synced = run_autolog(
            "sync", "--dir", str(journals), "--backend", service.url, "-q", cwd=folder
        )
        assert synced.returncode == 0, synced.stderr
    site = Site(request.param, service.url)
    site.store = str(journals) if request.param == "local" else service.url  # type: ignore[attr-defined]
    site.folder = folder  # type: ignore[attr-defined]
    try:
        yield site
    finally:
        service.stop()


def _children(site: Site) -> list[dict]:
    body = site.api("runs", experiment=EXPERIMENT).json()
    keys = body["metric_keys"]
    runs = []
    for run in body["runs"]:
        if run["parent"]:
            runs.append({**run, "metrics": dict(zip(keys, run["m"], strict=True))})
    return runs


def _best(site: Site, key: str, lowest: bool = True) -> dict:
    children = [c for c in _children(site) if isinstance(c["metrics"].get(key), float | int)]
    pick = min if lowest else max
    return pick(children, key=lambda c: c["metrics"][key])


class TestSweeps:
    def test_experiment_page_shows_parallel_coordinates_scatter_and_best(
        self, page, grid_site: Site, shoot
    ) -> None:
        """32 lines over the varying orders, 32 dots, the lowest AIC marked in charts and table."""
        open_page(page, grid_site, f"/experiments/{EXPERIMENT}", "runs")
        page.wait_for_selector("section.sweep svg.parallel")
        sweep = page.locator("section.sweep")
        assert sweep.locator("svg.parallel polyline").count() == 32
        assert sweep.locator("svg.scatter circle").count() == 32
        titles = sweep.locator("svg.parallel .axis-title").evaluate_all(
            "nodes => nodes.map((n) => n.dataset.axis)"
        )
        assert titles[:2] == ["order", "seasonal_order"] and titles[-1] == "aic"
        best = _best(grid_site, "aic")
        assert page.locator(".sweep-best").get_attribute("data-best") == best["id"]
        assert best["name"] in page.locator(".sweep-best").inner_text()
        assert (
            sweep.locator(f"svg.parallel polyline.best-line[data-run='{best['id']}']").count() == 1
        )
        assert sweep.locator(f"svg.scatter circle.best-dot[data-run='{best['id']}']").count() == 1
        assert page.locator("tr.row .best-inside").count() == 1  # on the folded parent
        page.get_by_role("button", name="Unfold 32 child runs of arima-grid").click()
        page.wait_for_selector("tr.row.best")
        assert page.locator("tr.row.best").filter(has_text=best["name"]).count() == 1
        shoot(page, f"sweep-experiment-{grid_site.kind}", full_page=True)

    def test_parallel_tick_labels_stay_clear_of_the_lines(self, page, grid_site: Site) -> None:
        """Outer axes' labels lie outside the lines' span; middle ones sit on an opaque plate."""
        open_page(page, grid_site, f"/experiments/{EXPERIMENT}", "runs")
        page.wait_for_selector("section.sweep svg.parallel")
        axes = page.locator("svg.parallel g.axis").evaluate_all(
            """groups => groups.map((g) => {
                const axisX = Number(g.querySelector("line").getAttribute("x1"));
                return {axisX, labels: [...g.querySelectorAll("text.tick")].map((t) => {
                    const box = t.getBBox();
                    const plate = t.previousElementSibling;
                    const p = plate && plate.matches("rect.tick-plate") ? plate.getBBox() : null;
                    return {
                        left: box.x, right: box.x + box.width,
                        top: box.y, bottom: box.y + box.height,
                        plate: p && {left: p.x, right: p.x + p.width, top: p.y,
                                     bottom: p.y + p.height,
                                     opacity: Number(getComputedStyle(plate).fillOpacity)},
                    };
                })};
            })"""
        )
        assert len(axes) == 3 and all(axis["labels"] for axis in axes)
        first, *middle, last = axes
        assert all(label["right"] <= first["axisX"] for label in first["labels"]), first
        assert all(label["left"] >= last["axisX"] for label in last["labels"]), last
        for axis in middle:
            for label in axis["labels"]:
                plate = label["plate"]
                assert plate is not None and plate["opacity"] >= 0.9, label
                assert plate["left"] <= label["left"] and label["right"] <= plate["right"], label
                assert plate["top"] <= label["top"] and label["bottom"] <= plate["bottom"], label
                assert label["left"] > axis["axisX"], label  # where lines meet the axis stays seen
        stray = page.locator(".sweep-body").evaluate(
            "body => [...body.childNodes].filter((n) => n.nodeType === Node.TEXT_NODE).length"
        )
        assert stray == 0  # no "null" text beside the charts

    def test_direction_follows_the_metric_and_can_be_changed(self, page, grid_site: Site) -> None:
        """llf (a likelihood) is best highest; switching to lowest picks the other end."""
        open_page(page, grid_site, f"/experiments/{EXPERIMENT}", "runs")
        page.wait_for_selector("section.sweep svg.parallel")
        page.select_option("select[name=sweep-metric]", "llf")
        assert page.locator("select[name=sweep-direction]").input_value() == "max"
        highest = _best(grid_site, "llf", lowest=False)
        assert page.locator(".sweep-best").get_attribute("data-best") == highest["id"]
        page.select_option("select[name=sweep-direction]", "min")
        lowest = _best(grid_site, "llf", lowest=True)
        assert page.locator(".sweep-best").get_attribute("data-best") == lowest["id"]

    def test_scatter_of_a_param_or_a_metric(self, page, grid_site: Site) -> None:
        """The scatter's x axis takes any param or metric."""
        open_page(page, grid_site, f"/experiments/{EXPERIMENT}", "runs")
        page.wait_for_selector("section.sweep svg.parallel")
        page.select_option("select[name=sweep-x]", "m:bic")
        assert page.locator("svg.scatter .axis-title").first.text_content() == "bic"
        assert page.locator("svg.scatter circle").count() == 32

    def test_parent_page_lists_children_with_params_metrics_and_compare(
        self, page, grid_site: Site, shoot
    ) -> None:
        """The parent shows the sweep and a table of its 32 children; compare opens from there."""
        parent = next(
            r
            for r in grid_site.api("runs", experiment=EXPERIMENT).json()["runs"]
            if not r["parent"]
        )
        open_page(page, grid_site, f"/runs/{parent['id']}", "run")
        table = page.locator(".children-table")
        assert table.locator("tbody tr").count() == 32
        header = table.locator("thead").inner_text()
        assert "order" in header and "seasonal_order" in header and "aic" in header
        best = _best(grid_site, "aic")
        assert table.locator("tbody tr").first.get_attribute("data-run") == best["id"]
        assert page.locator("section.sweep svg.parallel").count() == 1
        shoot(page, f"sweep-parent-{grid_site.kind}", full_page=True)
        page.get_by_role("link", name="Compare the 12 best children").click()
        page.wait_for_selector("body[data-rendered='compare']")
        assert page.locator(".run-chip").count() == 12


class TestValues:
    def test_single_valued_metrics_are_values_not_charts(
        self, page, grid_site: Site, shoot
    ) -> None:
        """A grid run's AIC, BIC... are tiles; infinities read as ∞; no one-dot chart."""
        best = _best(grid_site, "aic")
        open_page(page, grid_site, f"/runs/{best['id']}", "run")
        tiles = page.locator("#values .value-tile")
        assert tiles.count() >= 10
        assert page.locator(".chart-card[data-metric='aic']").count() == 0
        aic = page.locator(".value-tile[data-metric='aic'] .value").inner_text()
        assert aic.replace(",", "").startswith(str(best["metrics"]["aic"])[:5])
        if page.locator(".value-tile[data-metric='df_resid']").count():
            assert page.locator(".value-tile[data-metric='df_resid'] .value").inner_text() == "∞"
        shoot(page, f"run-values-{grid_site.kind}", full_page=True)

    def test_compare_of_three_grid_runs_is_bars(self, page, grid_site: Site, shoot) -> None:
        """Three runs' single values show as bar groups, one per metric, and no line charts."""
        ids = [c["id"] for c in _children(grid_site)[:3]]
        open_page(page, grid_site, f"/compare?runs={','.join(ids)}", "compare")
        assert page.locator(".chart-card").count() == 0
        assert page.locator(".bar-card[data-metric='aic'] .bar").count() == 3
        shoot(page, f"compare-bars-{grid_site.kind}", full_page=True)


class TestCuration:
    def test_edits_in_the_page_show_in_runs_show(self, page, grid_site: Site, shoot) -> None:
        """Rename, note and a tag made with the page's forms are what `autolog runs show` reads."""
        run = _children(grid_site)[5]
        open_page(page, grid_site, f"/runs/{run['id']}", "run")
        page.fill("input[name=run-name]", "edited in the browser")
        page.get_by_role("button", name="Rename").click()
        page.wait_for_selector("h1:has-text('edited in the browser')")
        page.fill("textarea[name=run-note]", "checked the residuals")
        page.get_by_role("button", name="Save note").click()
        page.wait_for_selector(".note-text:has-text('checked the residuals')")
        page.fill("input[name=tag-key]", "stage")
        page.fill("input[name=tag-value]", "candidate")
        page.get_by_role("button", name="Add tag").click()
        page.wait_for_selector("#tags tr[data-tag='stage']")
        shoot(page, f"run-curated-{grid_site.kind}", full_page=True)
        shown = run_autolog(
            "runs", "show", run["id"], "--backend", grid_site.store, cwd=grid_site.folder
        )
        assert shown.returncode == 0, shown.stderr
        assert "name        edited in the browser" in shown.stdout
        assert "note        checked the residuals" in shown.stdout
        assert "stage" in shown.stdout and "candidate" in shown.stdout

    def test_deleted_runs_disappear_and_come_back(self, page, grid_site: Site, shoot) -> None:
        """Delete hides the run from the table; Show deleted lists it; Restore brings it back."""
        run = _children(grid_site)[7]
        open_page(page, grid_site, f"/runs/{run['id']}", "run")
        page.once("dialog", lambda dialog: dialog.accept())
        page.get_by_role("button", name="Delete run").click()
        page.wait_for_selector(".deleted-banner")
        assert run["id"] not in {
            r["id"] for r in grid_site.api("runs", experiment=EXPERIMENT).json()["runs"]
        }
        open_page(page, grid_site, f"/experiments/{EXPERIMENT}", "runs")
        page.wait_for_selector("section.sweep svg.parallel")
        assert page.locator("tr.row", has_text=run["name"]).count() == 0
        page.get_by_label("Show deleted").check()
        # The hash changes at once, but the page without deleted runs stays until the new one
        # has its data, and the new table moves down when the sweep is drawn above it: wait for
        # the new page laid out (its run count includes the deleted run) before clicking in it.
        shown = len(grid_site.api("runs", experiment=EXPERIMENT, deleted="1").json()["runs"])
        page.wait_for_function(
            """(n) => location.hash.includes('deleted=1') && document.body.dataset.sweep === 'drawn'
                && document.querySelector('.page-head .meta span')?.textContent === `${n} runs`""",
            arg=shown,
        )
        # The 32nd child is back (deleted, marked): unfolding waits for the new table.
        page.get_by_role("button", name="Unfold 32 child runs of arima-grid").click()
        # The grid draws only the rows near its viewport (33 rows: not all), and which child
        # is the 8th of the local store's listing varies (directory order): scroll, as a
        # user would, until the deleted row is drawn.
        page.wait_for_function(
            """() => {
                if (document.querySelector('tr.row.deleted')) return true;
                const wrap = document.querySelector('.grid-card .grid-wrap');
                wrap.scrollTop += wrap.clientHeight / 2;
                return false;
            }""",
            polling=200,
        )
        assert page.locator("tr.row.deleted", has_text=run["name"]).count() == 1
        # Into view for the screenshot. Scrolling makes the grid draw its rows again, so the
        # row is looked up afresh at each try (an element handle may be detached meanwhile).
        page.wait_for_function(
            """() => {
                const row = document.querySelector('tr.row.deleted');
                if (!row) return false;
                row.scrollIntoView({block: 'center'});
                const box = row.getBoundingClientRect();
                const wrap = document.querySelector('.grid-card .grid-wrap');
                const view = wrap.getBoundingClientRect();
                return box.top >= view.top && box.bottom <= view.bottom;
            }""",
            polling=200,
        )
        shoot(page, f"runs-show-deleted-{grid_site.kind}")
        open_page(page, grid_site, f"/runs/{run['id']}", "run")
        page.get_by_role("button", name="Restore run").click()
        page.wait_for_selector(".deleted-banner", state="detached")
        assert run["id"] in {
            r["id"] for r in grid_site.api("runs", experiment=EXPERIMENT).json()["runs"]
        }
