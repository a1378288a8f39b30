"""Metric histories held as compact arrays, and the downsampling that keeps charts honest.

A chart is a few hundred pixels wide, so sending it a million points wastes
time at every layer. :meth:`Series.view` returns at most about ``points``
points for the x range asked for: in each of ``points / 2`` equal slices of
that range it keeps the lowest and the highest value (a spike or a divergence
never disappears), plus the first and last point and one neighbour outside
each end so lines reach the edges of a zoomed chart. Every point returned is a
real logged point, so hovering shows exact values. Zooming asks again with a
narrower range and so gets more detail, down to every point.

Points are kept in logging order in ``array`` buffers (24 bytes a point);
numpy, when installed, does the slicing without copying them. Without numpy
the same algorithm runs in pure Python, only slower.
"""

from __future__ import annotations

import bisect
import math
import threading
from array import array
from collections.abc import Sequence
from itertools import pairwise
from typing import Any

try:
    import numpy as np
except ImportError:  # pragma: no cover - numpy is optional
    np = None  # type: ignore[assignment]

X_AXES = ("step", "time")


class Series:
    """One metric's points (step, value, timestamp in ms) in logging order; thread-safe."""

    __slots__ = ("_lock", "_order", "_sorted", "steps", "times", "values")

    def __init__(self) -> None:
        self.steps = array("q")
        self.values = array("d")
        self.times = array("q")
        self._lock = threading.Lock()
        self._sorted = {"step": True, "time": True}
        self._order: dict[str, tuple[int, Any]] = {}

    def __len__(self) -> int:
        return len(self.values)

    @property
    def nbytes(self) -> int:
        return 24 * len(self.values)

    def append(self, step: int, value: float, timestamp: int) -> None:
        """Add one point; called while replaying a journal or reading new SQL rows."""
        with self._lock:
            if self.steps and step < self.steps[-1]:
                self._sorted["step"] = False
            if self.times and timestamp < self.times[-1]:
                self._sorted["time"] = False
            self.steps.append(step)
            self.values.append(value)
            self.times.append(timestamp)

    def extend(self, steps: list[int], values: list[float], timestamps: list[int]) -> None:
        """Add many points at once (new rows from the SQL store)."""
        if not values:
            return
        with self._lock:
            for name, new, old in (("step", steps, self.steps), ("time", timestamps, self.times)):
                previous = old[-1] if old else new[0]
                if self._sorted[name] and (new[0] < previous or not _ascending(new)):
                    self._sorted[name] = False
            self.steps.extend(steps)
            self.values.extend(values)
            self.times.extend(timestamps)

    def since(self, index: int) -> dict[str, Any]:
        """Points logged after the first ``index`` ones, in logging order (for live charts)."""
        with self._lock:
            return _payload(self.steps[index:], self.values[index:], self.times[index:])

    def view(
        self,
        x: str = "step",
        points: int = 1000,
        start: float | None = None,
        end: float | None = None,
    ) -> dict[str, Any]:
        """At most about ``points`` points between ``start`` and ``end`` on axis ``x``, sorted.

        The result holds parallel lists ``step``, ``time`` and ``value`` (null
        for NaN and infinities, which a chart cannot draw), whether points
        were dropped (``sampled``), and the full extent of the axis.
        """
        if x not in X_AXES:
            raise ValueError(f"x must be one of {', '.join(X_AXES)}, got {x!r}")
        points = max(4, int(points))
        with self._lock:
            if not self.values:
                return {**_payload([], [], []), "sampled": False, "extent": None}
            if np is not None:
                return _view_numpy(self, x, points, start, end)
            return _view_python(self, x, points, start, end)

    def _sort_order(self, x: str) -> Any:
        """Indices that sort the points by ``x`` (stable), or None when already sorted."""
        if self._sorted[x]:
            return None
        cached = self._order.get(x)
        if cached is not None and cached[0] == len(self.values):
            return cached[1]
        keys = self.steps if x == "step" else self.times
        if np is not None:
            order = np.argsort(np.frombuffer(keys, dtype=np.int64), kind="stable")
        else:
            order = sorted(range(len(keys)), key=keys.__getitem__)
        self._order[x] = (len(self.values), order)
        return order


def _ascending(values: Any) -> bool:
    if np is not None:
        return bool(np.all(np.diff(np.asarray(values, dtype=np.int64)) >= 0))
    return all(a <= b for a, b in pairwise(values))


def _payload(steps: Any, values: Any, times: Any) -> dict[str, Any]:
    return {
        "step": list(steps),
        "time": list(times),
        "value": [v if v - v == 0.0 else None for v in values],
    }


def _view_numpy(series: Series, x: str, points: int, start: Any, end: Any) -> dict[str, Any]:
    steps = np.frombuffer(series.steps, dtype=np.int64)
    values = np.frombuffer(series.values, dtype=np.float64)
    times = np.frombuffer(series.times, dtype=np.int64)
    order = series._sort_order(x)
    if order is not None:
        steps, values, times = steps[order], values[order], times[order]
    xs = steps if x == "step" else times
    extent = [int(xs[0]), int(xs[-1])]
    lo = 0 if start is None else int(np.searchsorted(xs, start, "left"))
    hi = len(xs) if end is None else int(np.searchsorted(xs, end, "right"))
    lo, hi = max(0, lo - 1), min(len(xs), hi + 1)  # one neighbour outside each end
    if hi - lo <= points:
        picked = np.arange(lo, hi)
        sampled = False
    else:
        picked = lo + _extremes_numpy(xs[lo:hi], values[lo:hi], points // 2)
        sampled = True
    result = _payload(steps[picked].tolist(), values[picked].tolist(), times[picked].tolist())
    return {**result, "sampled": sampled, "extent": extent}


def _extremes_numpy(xs: Any, values: Any, buckets: int) -> Any:
    """Indices of the first, the last, and each x-bucket's lowest and highest point."""
    edges = np.linspace(float(xs[0]), float(xs[-1]), buckets + 1)[:-1]
    starts = np.unique(np.searchsorted(xs, edges, "left"))
    starts = starts[starts < len(xs)]
    counts = np.diff(np.append(starts, len(xs)))
    ends = starts + counts
    picked = [np.array([0, len(xs) - 1])]
    for reduce in (np.fmin, np.fmax):  # fmin/fmax skip NaN unless a bucket is all NaN
        extreme = reduce.reduceat(values, starts)
        hits = np.flatnonzero(values == np.repeat(extreme, counts))
        first = np.searchsorted(hits, starts, "left")
        found = hits[np.minimum(first, len(hits) - 1)] if len(hits) else starts
        picked.append(np.where((found >= starts) & (found < ends), found, starts))
    return np.unique(np.concatenate(picked))


def _view_python(series: Series, x: str, points: int, start: Any, end: Any) -> dict[str, Any]:
    order = series._sort_order(x)
    steps: Sequence[Any] = series.steps
    values: Sequence[Any] = series.values
    times: Sequence[Any] = series.times
    if order is not None:
        steps = [steps[i] for i in order]
        values = [values[i] for i in order]
        times = [times[i] for i in order]
    xs = steps if x == "step" else times
    extent = [xs[0], xs[-1]]
    lo = 0 if start is None else bisect.bisect_left(xs, start)
    hi = len(xs) if end is None else bisect.bisect_right(xs, end)
    lo, hi = max(0, lo - 1), min(len(xs), hi + 1)
    if hi - lo <= points:
        picked = list(range(lo, hi))
        sampled = False
    else:
        picked = _extremes_python(xs, values, lo, hi, points // 2)
        sampled = True
    result = _payload(
        [steps[i] for i in picked], [values[i] for i in picked], [times[i] for i in picked]
    )
    return {**result, "sampled": sampled, "extent": extent}


def _extremes_python(xs: Any, values: Any, lo: int, hi: int, buckets: int) -> list[int]:
    """The pure-Python twin of :func:`_extremes_numpy`, on ``xs[lo:hi]``."""
    first, width = xs[lo], (xs[hi - 1] - xs[lo]) / buckets
    starts = sorted({bisect.bisect_left(xs, first + i * width, lo, hi) for i in range(buckets)})
    picked = {lo, hi - 1}
    for begin, stop in zip(starts, [*starts[1:], hi], strict=True):
        finite = [i for i in range(begin, stop) if not math.isnan(values[i])]
        if not finite:
            picked.add(begin)
            continue
        picked.add(min(finite, key=values.__getitem__))
        picked.add(max(finite, key=values.__getitem__))
    return sorted(picked)


class Budget:
    """Keeps the points held in cached series under ``limit``, dropping the least recently used.

    ``drop(key)`` is called for each entry let go; the entry used last is never dropped,
    so one series larger than the limit is still served.
    """

    def __init__(self, limit: int, drop: Any) -> None:
        self.limit = limit
        self._drop = drop
        self._points: dict[Any, int] = {}

    def use(self, key: Any, points: int) -> None:
        """``key`` was just used and now holds ``points`` points."""
        self._points.pop(key, None)
        self._points[key] = points
        total = sum(self._points.values())
        while total > self.limit and len(self._points) > 1:
            oldest = next(iter(self._points))
            total -= self._points.pop(oldest)
            self._drop(oldest)

    def forget(self, key: Any) -> None:
        self._points.pop(key, None)
