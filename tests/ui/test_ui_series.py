"""Downsampling metric histories: extremes survive, both implementations agree."""

from __future__ import annotations

import math
import random

from autolog.ui import series as series_module
from autolog.ui.series import Budget, Series


def filled(values: list[float], steps: list[int] | None = None) -> Series:
    series = Series()
    for index, value in enumerate(values):
        step = index if steps is None else steps[index]
        series.append(step, value, 1_000 + index)
    return series


class TestView:
    def test_short_history_comes_back_whole(self):
        """Fewer points than asked for: every point, in order, not marked sampled."""
        view = filled([3.0, 1.0, 2.0]).view(points=100)
        assert view["step"] == [0, 1, 2] and view["value"] == [3.0, 1.0, 2.0]
        assert not view["sampled"] and view["extent"] == [0, 2]

    def test_every_bucket_keeps_its_lowest_and_highest_point(self):
        """A single spike and a single dip among 100,000 points both survive downsampling."""
        values = [math.sin(i / 500) for i in range(100_000)]
        values[31_337], values[77_001] = 1e6, -1e6
        view = filled(values).view(points=300)
        assert view["sampled"] and len(view["value"]) <= 302
        assert 1e6 in view["value"] and -1e6 in view["value"]
        assert view["step"][0] == 0 and view["step"][-1] == 99_999

    def test_numpy_and_pure_python_agree(self):
        """The pure-Python fallback picks exactly the points numpy does."""
        rng = random.Random(7)
        values = [rng.gauss(0, 1) for _ in range(20_000)]
        values[1234] = float("nan")
        steps = sorted(rng.randrange(0, 50_000) for _ in range(20_000))
        series = filled(values, steps)
        for start, end in ((None, None), (10_000, 20_000)):
            fast = series.view(points=500, start=start, end=end)
            slow = series_module._view_python(series, "step", 500, start, end)
            assert fast == slow

    def test_unsorted_steps_are_returned_in_step_order(self):
        """Points logged out of step order come back sorted by step (stable for ties)."""
        view = filled([1.0, 2.0, 3.0, 4.0], steps=[5, 1, 3, 1]).view(points=100)
        assert view["step"] == [1, 1, 3, 5] and view["value"] == [2.0, 4.0, 3.0, 1.0]

    def test_non_finite_values_become_gaps(self):
        """NaN and infinities are sent as null, which the chart draws as a gap."""
        view = filled([1.0, float("nan"), float("inf"), 2.0]).view()
        assert view["value"] == [1.0, None, None, 2.0]

    def test_since_returns_points_in_logging_order(self):
        """``since(n)`` gives what was logged after the first n points, for live charts."""
        series = filled([1.0, 2.0, 3.0])
        series.extend([7, 8], [4.0, 5.0], [2000, 2001])
        assert series.since(3) == {"step": [7, 8], "time": [2000, 2001], "value": [4.0, 5.0]}


class TestBudget:
    def test_least_recently_used_series_are_dropped_over_the_limit(self):
        """Past the point budget the oldest entries go, never the one just used."""
        dropped: list[str] = []
        budget = Budget(100, dropped.append)
        budget.use("a", 60)
        budget.use("b", 30)
        budget.use("a", 60)
        budget.use("c", 30)
        assert dropped == ["b"]
        budget.use("huge", 500)
        assert dropped == ["b", "a", "c"]
