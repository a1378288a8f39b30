"""Keyboard use, readable contrast, dark mode and narrow windows."""

from __future__ import annotations

import pytest

from tests.support.ui_browser import NARROW, Site, open_page

# Text colour and the backgrounds it is drawn on, as CSS custom properties of app.css.
TEXT_ON = [
    ("--text", "--bg"), ("--text", "--surface"), ("--text", "--surface-2"),
    ("--text", "--accent-soft"), ("--text", "--diff"),
    ("--text-2", "--bg"), ("--text-2", "--surface"), ("--text-2", "--surface-2"),
    ("--text-2", "--surface-3"),
    ("--text-3", "--bg"), ("--text-3", "--surface"), ("--text-3", "--surface-2"),
    ("--accent-text", "--bg"), ("--accent-text", "--surface"), ("--on-accent", "--accent"),
    ("--danger", "--danger-soft"), ("--running", "--running-soft"),
    ("--finished", "--finished-soft"), ("--failed", "--failed-soft"),
    ("--killed", "--killed-soft"),
]  # fmt: skip


def luminance(hex_colour: str) -> float:
    value = hex_colour.strip().lstrip("#")
    channels = [int(value[i : i + 2], 16) / 255 for i in (0, 2, 4)]
    linear = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast(foreground: str, background: str) -> float:
    lighter, darker = sorted((luminance(foreground), luminance(background)), reverse=True)
    return (lighter + 0.05) / (darker + 0.05)


def pages_of(site: Site) -> dict[str, tuple[str, str]]:
    run_id, other = site.run_id("lr-0.01"), site.run_id("lr-0.1")
    return {
        "experiments": ("/", "experiments"),
        "runs": ("/experiments/image-classifier", "runs"),
        "run": (f"/runs/{run_id}", "run"),
        "metric": (f"/metric?runs={run_id},{other}&key=loss", "metric"),
        "compare": (f"/compare?runs={run_id},{other}", "compare"),
    }


def active(page, script: str):
    return page.evaluate(f"() => {{ const el = document.activeElement; return {script}; }}")


class TestKeyboard:
    def test_skip_link_comes_first_and_jumps_to_the_content(self, page, local_site: Site):
        """The first Tab shows a visible skip link; Enter moves focus to the main content."""
        open_page(page, local_site, "/", "experiments")
        page.keyboard.press("Tab")
        assert active(page, "el.className") == "skip-link"
        assert page.locator(".skip-link").bounding_box()["y"] >= 0
        page.keyboard.press("Enter")
        assert active(page, "el.id") == "main"

    def test_focus_is_visible(self, page, local_site: Site):
        """A control focused from the keyboard draws a focus ring."""
        open_page(page, local_site, "/experiments/image-classifier", "runs")
        page.get_by_role("button", name="Columns").focus()
        page.keyboard.press("Shift+Tab")
        page.keyboard.press("Tab")
        ring = active(page, "getComputedStyle(el).boxShadow")
        assert ring and ring != "none"

    def test_runs_table_works_from_the_keyboard(self, page, local_site: Site):
        """Tab reaches a row; arrows move, Space selects, Right unfolds, Enter opens the run."""
        open_page(page, local_site, "/experiments/image-classifier", "runs")
        page.keyboard.press("/")
        assert active(page, "el.getAttribute('aria-label')") == "Filter runs"
        for _ in range(25):
            page.keyboard.press("Tab")
            if active(page, "el.classList.contains('row')"):
                break
        assert active(page, "el.getAttribute('aria-rowindex')") == "2"
        page.keyboard.press("End")
        assert active(page, "el.textContent").startswith("sweep")
        page.keyboard.press("ArrowRight")
        assert active(page, "el.getAttribute('aria-expanded')") == "true"
        page.keyboard.press("ArrowDown")
        child = active(page, "el.querySelector('.run-name a').textContent")
        assert child.startswith("lr-")
        page.keyboard.press(" ")
        assert active(page, "el.getAttribute('aria-selected')") == "true"
        page.keyboard.press("Enter")
        page.wait_for_selector("body[data-rendered='run']")
        assert page.locator("h1").inner_text() == child

    def test_column_picker_opens_and_closes_from_the_keyboard(self, page, local_site: Site):
        """Enter opens the column dialog with focus in its search box; Escape returns focus."""
        open_page(page, local_site, "/experiments/image-classifier", "runs")
        page.get_by_role("button", name="Columns").focus()
        page.keyboard.press("Enter")
        assert active(page, "el.getAttribute('aria-label')") == "Find a column"
        page.keyboard.press("Escape")
        assert page.get_by_role("dialog").is_hidden()
        assert active(page, "el.textContent") == "Columns"


class TestContrast:
    @pytest.mark.parametrize("scheme", ["light", "dark"])
    def test_text_colours_meet_wcag_aa(self, page, local_site: Site, scheme: str):
        """Every text colour on every background it is used on has at least 4.5:1 contrast."""
        page.emulate_media(color_scheme=scheme)
        open_page(page, local_site, "/", "experiments")
        names = sorted({name for pair in TEXT_ON for name in pair})
        colours = page.evaluate(
            "(names) => Object.fromEntries(names.map((n) => "
            "[n, getComputedStyle(document.documentElement).getPropertyValue(n).trim()]))",
            names,
        )
        low = {
            f"{fg} on {bg}": round(contrast(colours[fg], colours[bg]), 2)
            for fg, bg in TEXT_ON
            if contrast(colours[fg], colours[bg]) < 4.5
        }
        assert not low, f"{scheme}: contrast below 4.5:1: {low}"


class TestLayouts:
    def test_every_page_fits_a_narrow_window(self, page, site: Site, shoot):
        """At 390x844 no page scrolls sideways (wide tables scroll inside their card)."""
        page.set_viewport_size(NARROW)
        for name, (fragment, rendered) in pages_of(site).items():
            open_page(page, site, fragment, rendered)
            page.wait_for_timeout(200)
            width = page.evaluate("() => document.documentElement.scrollWidth")
            assert width <= NARROW["width"], f"{name} is {width}px wide"
            shoot(page, f"{name}-{site.kind}-narrow", full_page=True)

    def test_every_page_in_dark_mode(self, page, site: Site, shoot):
        """Each page renders in the dark colour scheme (screenshots for review)."""
        page.emulate_media(color_scheme="dark")
        for name, (fragment, rendered) in pages_of(site).items():
            open_page(page, site, fragment, rendered)
            background = page.evaluate("() => getComputedStyle(document.body).backgroundColor")
            assert background == "rgb(14, 16, 20)"
            shoot(page, f"{name}-{site.kind}-dark")
