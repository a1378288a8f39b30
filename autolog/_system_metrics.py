"""Built-in plugin: system metrics for every top-level run, under MLflow's names.

One daemon thread per process samples the machine every ``system_metrics_interval``
seconds (default 10) and logs the sample to each open top-level run that has
been open for at least one interval, so a 2 ms fit gets no system points and a
sweep of a thousand fits starts no thread per fit, nor wakes the one thread per
fit: it looks at its watch list when the first run there falls due, and a run
that starts wakes it only if it falls due before that look. The training
thread only adds and removes runs; it never samples and never waits for a
sample (the sampler holds the watch-list lock only while appending records,
microseconds, never while psutil or NVML are measuring).

Why psutil: it is the library W&B, Aim, ClearML and MLflow all sample with,
it reads ``/proc`` directly in C (about 0.1 ms of CPU for a full sample here,
see ``bench/bench_system_metrics.py``) and covers Linux, macOS and Windows
alike. Importing it costs ~20 ms, so it is imported on the sampler thread when
the first run starts, never by ``import autolog`` or ``autolog()``.

GPU figures come from NVIDIA's management library (``nvidia-ml-py``, imported as
``pynvml``) when it is installed; nothing GPU-related is imported otherwise.

Names are MLflow's (``system/cpu_utilization_percentage``, ...) so both UIs
chart them alike; MLflow has no per-process memory figure, which is logged as
``system/process_memory_rss_megabytes``. The step counts samples from 0 per run.
"""

from __future__ import annotations

import math
import os
import threading
import time
import warnings
from collections.abc import Callable
from typing import Any

from .errors import AutologWarning
from .hookspecs import hookimpl

PREFIX = "system/"
Collector = Callable[[], dict[str, float]]


@hookimpl
def autolog_run_started(run: Any) -> None:
    config = run.config
    if run.parent_id is not None or config is None or not config.system_metrics:
        return
    sampler().watch(run, config.system_metrics_interval)


@hookimpl
def autolog_run_ended(run: Any, status: str) -> None:
    if _sampler is not None:
        _sampler.forget(run)


class _Watched:
    """A run being sampled: when its next point is due and the step it gets."""

    __slots__ = ("due", "interval", "run", "step")

    def __init__(self, run: Any, interval: float) -> None:
        self.run = run
        self.interval = interval
        self.due = time.monotonic() + interval
        self.step = 0


class Sampler:
    """The process's one sampling thread and the runs it logs to."""

    def __init__(self, collectors: list[Collector] | None = None) -> None:
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self._runs: dict[str, _Watched] = {}
        self._collectors = collectors
        self._thread: threading.Thread | None = None
        self._stopped = False
        #: When the thread looks at the watch list next (monotonic; inf: not until notified).
        #: A run due no earlier needs no notify: waking the thread at each fit's start cost
        #: a sweep of short fits a thread switch each (0.2 ms or more of a 2-core machine).
        self._looks_at = math.inf
        self._watched_since_look = False
        self._last_interval = 10.0
        self.samples = 0
        self.looks = 0  # times the thread woke and looked at the watch list
        self.failures: list[str] = []

    def watch(self, run: Any, interval: float) -> None:
        """Start sampling ``run`` one ``interval`` from now (starts the thread once)."""
        with self._lock:
            watched = self._runs[run.id] = _Watched(run, interval)
            self._watched_since_look = True
            self._last_interval = interval
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._loop, name="autolog-system-metrics", daemon=True
                )
                self._thread.start()
            if watched.due < self._looks_at:
                self._changed.notify()

    def forget(self, run: Any) -> None:
        """Stop sampling ``run``; after this returns no further point is written to it."""
        with self._lock:
            self._runs.pop(run.id, None)

    def stop(self, timeout: float = 5.0) -> None:
        """End the thread (tests; a process just lets the daemon thread die with it)."""
        with self._lock:
            self._stopped = True
            self._runs.clear()
            self._changed.notify()
            thread = self._thread
        if thread is not None:
            thread.join(timeout)

    def _loop(self) -> None:
        try:
            collectors = self._collectors if self._collectors is not None else default_collectors()
        except Exception as exc:  # psutil missing or broken: no system metrics, training goes on
            self._failed("starting the sampler", exc)
            return
        while True:
            with self._lock:
                self.looks += 1
                if self._stopped:
                    return
                if self._runs:
                    wait = min(w.due for w in self._runs.values()) - time.monotonic()
                elif self._watched_since_look:  # runs come and go (a sweep): look again
                    wait = self._last_interval  # in an interval, when the next is due
                else:  # none came since the last look: sleep until one does
                    wait = math.inf
                self._watched_since_look = False
                if wait > 0:
                    self._looks_at = time.monotonic() + wait
                    self._changed.wait(None if wait == math.inf else wait)
                    self._looks_at = math.inf  # looking now: a run watched meanwhile
                    continue  # may have ended or started meanwhile: look again
            sample = self._sample(collectors)
            now = time.monotonic()
            with self._lock:
                for watched in list(self._runs.values()):
                    if watched.due <= now:
                        self._log(watched, sample)
                        watched.due = max(watched.due + watched.interval, now + 0.5)

    def _sample(self, collectors: list[Collector]) -> dict[str, float]:
        sample: dict[str, float] = {}
        for collector in list(collectors):
            try:
                sample.update(collector())
            except Exception as exc:  # one broken source skips only itself, from now on
                collectors.remove(collector)
                self._failed(f"system metrics source {_name(collector)}", exc)
        self.samples += 1
        return sample

    def _log(self, watched: _Watched, sample: dict[str, float]) -> None:
        if not sample:
            return
        try:
            watched.run.log_metrics({PREFIX + k: v for k, v in sample.items()}, step=watched.step)
        except Exception as exc:
            self._failed(f"logging system metrics to run {watched.run.id}", exc)
        watched.step += 1

    def _failed(self, where: str, exc: BaseException) -> None:
        """Warn once per source; the training thread never sees the exception."""
        self.failures.append(where)
        warnings.warn(
            f"autolog: {where} failed ({type(exc).__name__}: {exc}); system metrics go on "
            "without it and your training is not affected",
            AutologWarning,
            stacklevel=2,
        )


_sampler: Sampler | None = None
_sampler_lock = threading.Lock()


def sampler() -> Sampler:
    """The process's sampler, created on first use."""
    global _sampler
    with _sampler_lock:
        if _sampler is None:
            _sampler = Sampler()
        return _sampler


def _after_fork() -> None:
    global _sampler
    _sampler = None  # the parent's thread did not survive the fork


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork)


# -- what is measured -----------------------------------------------------------


def default_collectors() -> list[Collector]:
    """psutil's machine and process figures, plus one collector for NVIDIA GPUs if present."""
    import importlib.util

    collectors = [psutil_collector()]
    if importlib.util.find_spec("pynvml") is not None:
        gpus = nvml_collector()
        if gpus is not None:
            collectors.append(gpus)
    return collectors


def psutil_collector() -> Collector:
    """CPU, memory, disk, network since the first sample, and this process's RSS."""
    import psutil

    process = psutil.Process()
    psutil.cpu_percent(interval=None)  # the first reading is since boot: prime it
    start = psutil.net_io_counters()
    received, sent = (start.bytes_recv, start.bytes_sent) if start else (0, 0)

    def collect() -> dict[str, float]:
        memory = psutil.virtual_memory()
        disk = psutil.disk_usage(os.sep)
        metrics = {
            "cpu_utilization_percentage": psutil.cpu_percent(interval=None),
            "system_memory_usage_megabytes": memory.used / 1e6,
            "system_memory_usage_percentage": memory.used / memory.total * 100,
            "disk_usage_percentage": disk.percent,
            "disk_usage_megabytes": disk.used / 1e6,
            "disk_available_megabytes": disk.free / 1e6,
            "process_memory_rss_megabytes": process.memory_info().rss / 1e6,
        }
        network = psutil.net_io_counters()
        if network is not None:
            metrics["network_receive_megabytes"] = (network.bytes_recv - received) / 1e6
            metrics["network_transmit_megabytes"] = (network.bytes_sent - sent) / 1e6
        return metrics

    collect.__name__ = "psutil"
    return collect


def nvml_collector() -> Collector | None:
    """Per-GPU utilization, memory and power from NVML; None when NVML finds no GPU."""
    import pynvml

    try:
        pynvml.nvmlInit()
        handles = [pynvml.nvmlDeviceGetHandleByIndex(i) for i in range(pynvml.nvmlDeviceGetCount())]
    except pynvml.NVMLError:
        return None  # a driver without GPUs, a container without the device: no GPU figures
    if not handles:
        return None

    def collect() -> dict[str, float]:
        metrics: dict[str, float] = {}
        for i, handle in enumerate(handles):
            for read in (_gpu_memory, _gpu_utilization, _gpu_power):
                try:
                    metrics.update(read(pynvml, i, handle))
                except pynvml.NVMLError:
                    continue  # a GPU that does not report power, say: the other figures stay
        return metrics

    collect.__name__ = "nvml"
    return collect


def _gpu_memory(pynvml: Any, i: int, handle: Any) -> dict[str, float]:
    memory = pynvml.nvmlDeviceGetMemoryInfo(handle)
    return {
        f"gpu_{i}_memory_usage_megabytes": memory.used / 1e6,
        f"gpu_{i}_memory_usage_percentage": memory.used / memory.total * 100,
    }


def _gpu_utilization(pynvml: Any, i: int, handle: Any) -> dict[str, float]:
    return {f"gpu_{i}_utilization_percentage": pynvml.nvmlDeviceGetUtilizationRates(handle).gpu}


def _gpu_power(pynvml: Any, i: int, handle: Any) -> dict[str, float]:
    milliwatts = pynvml.nvmlDeviceGetPowerUsage(handle)
    metrics = {f"gpu_{i}_power_usage_watts": milliwatts / 1000}
    limit = pynvml.nvmlDeviceGetEnforcedPowerLimit(handle)
    if limit:
        metrics[f"gpu_{i}_power_usage_percentage"] = milliwatts / limit * 100
    return metrics


def _name(collector: Collector) -> str:
    return getattr(collector, "__name__", repr(collector))
