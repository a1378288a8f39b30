"""Every page in headless Chromium, against ``autolog ui`` and ``autolog server`` alike."""

from __future__ import annotations

import re

from tests.support.ui_browser import Site, open_page
from tests.support.ui_runs import CHILD_LRS, LONG_POINTS, loss_curve

TOP_LEVEL = {"sweep", "baseline", "diverged", "long-run", "interrupted"}


def shown_names(page) -> list[str]:
    return page.locator("tbody tr.row .run-name a").all_inner_texts()


def cell(page, run_name: str, column: str) -> str:
    """The text of ``column`` (its header label) in the row of ``run_name``."""
    headers = [h.strip().split("\n")[-1] for h in page.locator("thead th").all_inner_texts()]
    index = headers.index(column)
    row = page.locator("tbody tr.row", has=page.locator(f".run-name a:text-is('{run_name}')"))
    return row.locator("td").nth(index).inner_text()


def g6(value: float) -> str:
    return f"{value:.6g}"


class TestExperimentsPage:
    def test_lists_experiments_with_run_counts(self, page, site: Site, shoot):
        """The first page lists each experiment with its number of runs and links to it."""
        open_page(page, site, "/", "experiments")
        rows = {
            row.locator("td").nth(0).inner_text(): row.locator("td").nth(1).inner_text()
            for row in page.locator("table.experiments tbody tr").all()
        }
        assert rows["image-classifier"] == "8" and rows["churn-model"] == "2"
        shoot(page, f"experiments-{site.kind}")
        page.get_by_role("link", name="image-classifier").click()
        page.wait_for_selector("body[data-rendered='runs']")
        assert page.locator("h1").inner_text() == "image-classifier"


class TestRunsPage:
    def test_table_shows_runs_with_params_and_latest_metrics(self, page, site: Site, shoot):
        """Top-level runs are rows with status, params and latest metrics; children are folded."""
        open_page(page, site, "/experiments/image-classifier", "runs")
        assert set(shown_names(page)) == TOP_LEVEL
        assert cell(page, "baseline", "optimizer") == "sgd"
        assert cell(page, "baseline", "loss") == g6(loss_curve(0.05, 19))
        assert cell(page, "diverged", "Status") == "Failed"
        assert cell(page, "interrupted", "Status") == "Killed"
        assert cell(page, "diverged", "loss") == "NaN"
        shoot(page, f"runs-{site.kind}")

    def test_sorting_by_a_column_reorders_rows(self, page, site: Site):
        """Clicking a metric header sorts by it (missing and NaN last); again reverses it."""
        open_page(page, site, "/experiments/image-classifier", "runs")
        header = page.locator("thead th", has_text="loss").first
        header.get_by_role("button").click()
        assert header.get_attribute("aria-sort") == "ascending"
        assert shown_names(page)[:3] == ["baseline", "interrupted", "diverged"]
        header.get_by_role("button").click()
        assert header.get_attribute("aria-sort") == "descending"
        assert shown_names(page)[:3] == ["interrupted", "baseline", "diverged"]
        assert "sort=-m%3Aloss" in page.url or "sort=-m:loss" in page.url

    def test_filter_narrows_the_table_and_back_undoes_it(self, page, site: Site, shoot):
        """A search_runs filter shows only matching runs (children too); Back shows all again."""
        open_page(page, site, "/experiments/image-classifier", "runs")
        box = page.get_by_role("searchbox", name="Filter runs")
        box.fill("params.optimizer = 'sgd'")
        box.press("Enter")
        page.wait_for_function("() => document.querySelectorAll('tbody tr.row').length === 3")
        assert set(shown_names(page)) == {"baseline", "diverged", "lr-0.1"}
        assert "3 of 8 runs match" in page.locator(".grid-foot").inner_text()
        shoot(page, f"runs-filtered-{site.kind}")
        page.go_back()
        page.wait_for_function("() => document.querySelectorAll('tbody tr.row').length === 5")
        assert set(shown_names(page)) == TOP_LEVEL

    def test_bad_filter_says_what_is_wrong(self, page, site: Site, shoot):
        """A filter that does not parse shows the parser's message and keeps the table."""
        open_page(page, site, "/experiments/image-classifier", "runs")
        box = page.get_by_role("searchbox", name="Filter runs")
        box.fill("metrics.loss <")
        box.press("Enter")
        error = page.locator("#filter-error")
        error.wait_for()
        page.wait_for_function(
            "() => document.querySelector('#filter-error').textContent.length > 0"
        )
        assert "expected a number" in error.inner_text()
        assert box.get_attribute("aria-invalid") == "true"
        assert set(shown_names(page)) == TOP_LEVEL
        shoot(page, f"runs-bad-filter-{site.kind}")

    def test_child_runs_unfold_under_their_parent(self, page, site: Site):
        """The parent's disclosure button shows its children right below it, one level down."""
        open_page(page, site, "/experiments/image-classifier", "runs")
        page.get_by_role("button", name=re.compile("Unfold 3 child runs of sweep")).click()
        names = shown_names(page)
        at = names.index("sweep")
        assert set(names[at + 1 : at + 4]) == {f"lr-{lr}" for lr in CHILD_LRS}
        child = page.locator("tbody tr.row", has=page.locator(".run-name a:text-is('lr-0.1')"))
        assert child.get_attribute("aria-level") == "2"

    def test_columns_can_be_picked(self, page, site: Site, shoot):
        """The column picker adds a metric column and removes a param column."""
        open_page(page, site, "/experiments/image-classifier", "runs")
        page.get_by_role("button", name="Columns").click()
        dialog = page.get_by_role("dialog", name="Choose columns")
        dialog.get_by_label("val_loss").check()
        dialog.get_by_label("optimizer").uncheck()
        shoot(page, f"runs-columns-{site.kind}")
        dialog.get_by_role("button", name="Done").click()
        headers = " ".join(page.locator("thead th").all_inner_texts())
        assert "val_loss" in headers and "optimizer" not in headers
        assert cell(page, "baseline", "val_loss") == g6(round(loss_curve(0.05, 19) * 1.1, 6))

    def test_two_selected_runs_compare_in_one_chart(self, page, site: Site, shoot):
        """Selecting two runs and pressing Compare overlays both in each metric's chart."""
        open_page(page, site, "/experiments/image-classifier", "runs")
        compare = page.get_by_role("button", name=re.compile("Compare"))
        assert compare.is_disabled()
        for name in ("baseline", "interrupted"):
            page.get_by_role("checkbox", name=f"Select {name}").check()
        assert compare.inner_text().strip() == "Compare 2 runs"
        compare.click()
        page.wait_for_selector("body[data-rendered='compare']")
        chart = page.locator("article[data-metric='loss']")
        chart.locator("canvas").first.wait_for()
        assert chart.locator(".legend").inner_text().split("\n") == ["baseline", "interrupted"]
        assert (
            page.locator(".params-compare tr[data-key='batch_size']").get_attribute("class")
            == "differs"
        )
        shoot(page, f"compare-{site.kind}", full_page=True)


class TestRunPage:
    def test_run_shows_params_metrics_and_model(self, page, site: Site, shoot):
        """A run's page shows its params, latest/min/max of each metric and its model."""
        open_page(page, site, f"/runs/{site.run_id('lr-0.01')}", "run")
        assert page.locator("h1").inner_text() == "lr-0.01"
        params = page.locator("#params")
        assert "batch_size" in params.inner_text() and "0.01" in params.inner_text()
        loss_row = page.locator(".metrics-table tbody tr", has_text="loss").first
        cells = loss_row.locator("td").all_inner_texts()
        assert cells[:3] == [g6(loss_curve(0.01, 19)), g6(loss_curve(0.01, 19)), "2"]
        model = page.locator("#model").inner_text()
        assert "pickle" in model and "model.pkl" in model
        page.locator(".chart canvas").first.wait_for()
        shoot(page, f"run-{site.kind}", full_page=True)

    def test_artifact_downloads_from_its_link(self, page, site: Site):
        """Clicking an artifact downloads the file with its contents."""
        open_page(page, site, f"/runs/{site.run_id('lr-0.01')}", "run")
        with page.expect_download() as download:
            page.get_by_role("link", name="confusion.csv").click()
        assert download.value.suggested_filename == "confusion.csv"
        with open(download.value.path()) as f:
            assert f.read() == "epoch,accuracy\n19,0.97\n"

    def test_parent_links_to_children_and_back(self, page, site: Site):
        """A parent lists links to its children; a child links back to its parent."""
        open_page(page, site, f"/runs/{site.run_id('sweep')}", "run")
        children = page.locator("#relatives .run-links a").all_inner_texts()
        assert children == [f"lr-{lr}" for lr in CHILD_LRS]
        page.locator("#relatives").get_by_role("link", name="lr-0.1").click()
        page.wait_for_selector("body[data-rendered='run']")
        assert page.locator("h1").inner_text() == "lr-0.1"
        page.locator(".meta").get_by_role("link", name="sweep").click()
        page.wait_for_function("() => document.querySelector('h1')?.textContent === 'sweep'")

    def test_an_unknown_run_says_so(self, page, site: Site):
        """A link to a run that does not exist shows the server's message, not a blank page."""
        page.goto(f"{site.url}/#/runs/{'0' * 32}")
        alert = page.get_by_role("alert")
        alert.wait_for()
        assert "no run" in alert.inner_text()
        assert page.title() == "Not found · autolog"


class TestMetricChart:
    def test_hovering_shows_the_exact_point(self, page, local_site: Site, shoot):
        """Hovering the chart shows a logged value with every digit, and its step."""
        run_id = local_site.run_id("lr-0.01")
        open_page(page, local_site, f"/metric?runs={run_id}&key=loss", "metric")
        over = page.locator(".u-over")
        over.wait_for()
        box = over.bounding_box()
        page.mouse.move(box["x"] + box["width"] * 0.5, box["y"] + box["height"] * 0.5)
        tip = page.locator(".chart-tip")
        tip.wait_for(state="visible")
        value = float(tip.locator(".value").inner_text())
        step = int(re.search(r"step (\d+)", tip.inner_text()).group(1))
        assert value == loss_curve(0.01, step)
        shoot(page, "metric-hover-local")

    def test_zooming_asks_the_server_for_that_range(self, page, server_site: Site, shoot):
        """A long history shows downsampled; dragging across it fetches every point of the range."""
        run_id = server_site.run_id("long-run")
        requests: list[str] = []
        page.on("request", lambda r: requests.append(r.url) if "/metric?" in r.url else None)
        open_page(page, server_site, f"/metric?runs={run_id}&key=train%2Floss", "metric")
        note = page.locator(".chart-note")
        page.wait_for_function("() => document.querySelector('.chart-note').textContent.length > 0")
        assert f"of {LONG_POINTS:,} points shown (downsampled" in note.inner_text()
        shoot(page, "metric-long-server")
        box = page.locator(".u-over").bounding_box()
        y = box["y"] + box["height"] / 2
        page.mouse.move(box["x"] + box["width"] * 0.40, y)
        page.mouse.down()
        page.mouse.move(box["x"] + box["width"] * 0.42, y, steps=4)
        page.mouse.up()
        page.wait_for_function(
            "() => document.querySelector('.chart-note').textContent.includes('zoomed')"
        )
        assert any("start=" in url and "end=" in url for url in requests)
        assert "downsampled" not in note.inner_text()
        shoot(page, "metric-zoomed-server")
        page.locator(".u-over").dblclick()
        page.wait_for_function(
            "() => !document.querySelector('.chart-note').textContent.includes('zoomed')"
        )

    def test_time_axis_can_replace_steps(self, page, local_site: Site):
        """The Time button redraws the chart against wall-clock time, and the URL remembers it."""
        run_id = local_site.run_id("baseline")
        open_page(page, local_site, f"/metric?runs={run_id}&key=accuracy", "metric")
        page.locator(".u-over").wait_for()
        with page.expect_request(re.compile(r"/metric\?.*x=time")):
            page.get_by_role("button", name="Time", exact=True).click()
        assert (
            page.get_by_role("button", name="Time", exact=True).get_attribute("aria-pressed")
            == "true"
        )
        assert "x=time" in page.url


class TestComparePage:
    def test_params_that_differ_are_highlighted(self, page, site: Site, shoot):
        """The params table marks rows whose values differ, and can show only those."""
        ids = ",".join(site.run_id(f"lr-{lr}") for lr in CHILD_LRS)
        open_page(page, site, f"/compare?runs={ids}", "compare")
        rows = page.locator(".params-compare tbody tr")
        differs = {r.get_attribute("data-key"): r.get_attribute("class") for r in rows.all()}
        assert differs == {"batch_size": "", "lr": "differs", "optimizer": "differs"}
        page.get_by_label(re.compile("Only the 2 that differ")).check()
        assert page.locator(".params-compare tr[data-key='batch_size']").is_hidden()
        legend = page.locator("article[data-metric='loss'] .legend").inner_text().split("\n")
        assert legend == [f"lr-{lr}" for lr in CHILD_LRS]
        page.locator("article[data-metric='loss'] canvas").first.wait_for()
        shoot(page, f"compare-children-{site.kind}", full_page=True)
