"""Charts that read right: train and val in one chart, smoothing, a readable log axis, CSV."""

from __future__ import annotations

import csv
import io
import math
from pathlib import Path

from tests.support.ui_browser import Site, open_page


def _metric_page(page, site: Site, query: str) -> None:
    open_page(page, site, f"/metric?{query}", "metric")
    page.wait_for_selector(".big-chart canvas")


class TestSeveralMetrics:
    def test_loss_and_val_loss_share_a_chart_on_the_run_page(self, page, site: Site, shoot):
        """A run's loss and val_loss are one chart with a legend, not two."""
        open_page(page, site, f"/runs/{site.run_id('baseline')}", "run")
        card = page.locator("article.chart-card[data-metrics='loss val_loss']")
        card.wait_for()
        assert card.locator(".legend .item").all_inner_texts() == ["loss", "val_loss"]
        assert page.locator("article.chart-card[data-metric='val_loss']").count() == 0
        shoot(page, f"run-train-val-{site.kind}", full_page=True)

    def test_overlay_a_metric_on_the_metric_page(self, page, site: Site):
        """The overlay menu adds val_loss to loss: four series for two runs, in the legend."""
        ids = f"{site.run_id('baseline')},{site.run_id('lr-0.01')}"
        _metric_page(page, site, f"runs={ids}&key=loss")
        page.select_option("select[name=overlay]", "val_loss")
        page.wait_for_selector("h1:has-text('loss + val_loss')")
        page.wait_for_selector(".big-chart canvas")
        assert page.locator(".big-chart .legend .item").count() == 4


class TestSmoothingLogAndCsv:
    def test_smoothing_slider_changes_the_drawn_line_not_the_hover(self, page, site: Site, shoot):
        """Moving the EMA slider redraws the line and is kept in the URL."""
        _metric_page(page, site, f"runs={site.run_id('baseline')}&key=loss")
        before = page.locator(".big-chart canvas").screenshot()
        page.locator("input[name=smoothing]").fill("0.9")
        page.wait_for_function("() => location.hash.includes('smooth=0.9')")
        assert page.locator(".smooth-value").inner_text() == "0.90"
        page.wait_for_timeout(200)
        assert page.locator(".big-chart canvas").screenshot() != before
        shoot(page, f"metric-smoothed-{site.kind}")

    def test_log_axis_labels_only_round_values(self, page, site: Site, shoot):
        """On a log scale the y labels are powers of ten (and 2, 5 times them), no clutter."""
        _metric_page(page, site, f"runs={site.run_id('baseline')}&key=loss&scale=log")
        labels = page.locator(".big-chart .chart").get_attribute("data-y-ticks").split("|")
        shown = [float(text.replace(",", "")) for text in labels]
        assert len(shown) >= 2, labels
        for value in shown:
            mantissa = round(value / 10 ** math.floor(math.log10(value)))
            assert mantissa in (1, 2, 5), labels
        shoot(page, f"metric-log-{site.kind}")

    def test_download_csv_of_the_chart(self, page, site: Site):
        """Download CSV gives every logged point of every series, with run, key, step, value."""
        ids = f"{site.run_id('baseline')},{site.run_id('lr-0.01')}"
        _metric_page(page, site, f"runs={ids}&key=loss&also=val_loss")
        with page.expect_download() as download:
            page.get_by_role("button", name="Download CSV").click()
        text = Path(download.value.path()).read_text()
        rows = list(csv.DictReader(io.StringIO(text)))
        assert set(rows[0]) == {"run_id", "run_name", "key", "step", "timestamp", "value"}
        assert {r["key"] for r in rows} == {"loss", "val_loss"}
        assert len(rows) == 4 * 20
