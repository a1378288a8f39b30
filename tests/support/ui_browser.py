"""What UI tests share besides fixtures: the two window sizes, a running site, page loading.

Kept out of conftest.py so that test modules import it by a name no other test
folder uses.
"""

from __future__ import annotations

from dataclasses import dataclass

import httpx

DESKTOP = {"width": 1280, "height": 800}
NARROW = {"width": 390, "height": 844}


@dataclass
class Site:
    """A running UI: ``kind`` is "local" (autolog ui) or "server" (autolog server)."""

    kind: str
    url: str

    def api(self, path: str, **params: str) -> httpx.Response:
        return httpx.get(f"{self.url}/ui-api/{path}", params=params, timeout=30)

    def run_id(self, name: str, experiment: str = "image-classifier") -> str:
        """The id this site gives the fixture run called ``name``."""
        body = self.api("runs", experiment=experiment, filter=f"attributes.run_name = '{name}'")
        [run] = body.json()["runs"]
        return run["id"]


def open_page(tab, site: Site, fragment: str, rendered: str | None = None) -> None:
    """Go to ``#fragment`` and wait until the page has drawn (body[data-rendered])."""
    tab.goto(f"{site.url}/#{fragment}")
    if rendered:
        tab.wait_for_selector(f"body[data-rendered='{rendered}']")
    tab.wait_for_selector(".page h1")
