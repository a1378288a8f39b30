"""The one-line progress bar that ``autolog sync`` draws on stderr."""

from __future__ import annotations

import time
from typing import TextIO


class ProgressBar:
    """A one-line progress bar on stderr; silent when not a terminal unless it finishes."""

    def __init__(self, label: str, total: int, out: TextIO, enabled: bool = True) -> None:
        self.label, self.total, self.out, self.done = label, total, out, 0
        self.enabled = enabled and total > 0
        self._last_draw = 0.0

    def advance(self, count: int) -> None:
        self.done += count
        now = time.monotonic()
        if self.enabled and (now - self._last_draw > 0.1 or self.done >= self.total):
            self._last_draw = now
            self._draw()

    def _draw(self) -> None:
        width = 30
        filled = width * self.done // self.total if self.total else width
        percent = 100 * self.done // self.total if self.total else 100
        bar = "#" * filled + "-" * (width - filled)
        print(
            f"\r{self.label} [{bar}] {percent:3d}% {self.done}/{self.total}",
            end="",
            file=self.out,
            flush=True,
        )

    def finish(self) -> None:
        if self.enabled:
            self._draw()
            print(file=self.out)
