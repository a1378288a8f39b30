"""System metrics: one sampler thread, MLflow's names, nothing for short runs, never in the way."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

import autolog
from autolog import _system_metrics
from autolog._config import resolve
from autolog._system_metrics import Sampler
from autolog.errors import AutologWarning, ConfigurationError

MACHINE = {
    "system/cpu_utilization_percentage",
    "system/system_memory_usage_megabytes",
    "system/system_memory_usage_percentage",
    "system/disk_usage_megabytes",
    "system/disk_available_megabytes",
    "system/network_receive_megabytes",
    "system/network_transmit_megabytes",
    "system/process_memory_rss_megabytes",
}


@pytest.fixture
def fresh_sampler() -> Iterator[None]:
    """Each test gets its own sampler (an earlier test's is stopped), stopped afterwards."""
    if _system_metrics._sampler is not None:
        _system_metrics._sampler.stop()
    _system_metrics._sampler = None
    yield
    if _system_metrics._sampler is not None:
        _system_metrics._sampler.stop()
    _system_metrics._sampler = None


def busy(seconds: float) -> int:
    total, end = 0, time.monotonic() + seconds
    while time.monotonic() < end:
        total += sum(range(1000))
    return total


def system_keys(run_id: str) -> set[str]:
    return {key for key in autolog.get_run(run_id).metrics if key.startswith("system/")}


def sampler_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "autolog-system-metrics"]


class TestSampling:
    @pytest.mark.slow  # keeps a CPU busy for seconds
    def test_busy_run_has_cpu_and_memory_series(self, store: Path, fresh_sampler: None) -> None:
        """A run busy for 3.5 s at a 1 s interval gets every machine figure at steps 0, 1, 2..."""
        autolog.autolog(backend=str(store), system_metrics_interval=1)
        with autolog.start_run() as run:
            busy(3.5)
        assert system_keys(run.id) >= MACHINE
        cpu = autolog.get_metric_history(run.id, "system/cpu_utilization_percentage")
        assert [p.step for p in cpu] == list(range(len(cpu))) and len(cpu) >= 2
        assert max(p.value for p in cpu) > 0
        memory = autolog.get_metric_history(run.id, "system/system_memory_usage_megabytes")
        assert len(memory) == len(cpu) and all(p.value > 0 for p in memory)
        rss = autolog.get_metric_history(run.id, "system/process_memory_rss_megabytes")
        assert all(p.value > 10 for p in rss)

    def test_runs_shorter_than_the_interval_get_no_points(
        self, store: Path, fresh_sampler: None
    ) -> None:
        """Fifty 10 ms runs at a 1 s interval: no system point in any, and one sampler thread."""
        autolog.autolog(backend=str(store), system_metrics_interval=1)
        ids = []
        for _ in range(50):
            with autolog.start_run() as run:
                time.sleep(0.01)
            ids.append(run.id)
        time.sleep(1.5)  # the sampler would have fired by now for anything it still watched
        assert all(not system_keys(run_id) for run_id in ids)
        assert len(sampler_threads()) == 1

    def test_a_sweep_of_short_runs_does_not_wake_the_sampler_per_run(
        self, store: Path, fresh_sampler: None
    ) -> None:
        """The thread looks at its watch list when a run falls due, about once an interval,
        not at each run's start: a switch to it per fit costs a sweep of 2 ms fits."""
        autolog.autolog(backend=str(store), system_metrics_interval=1)
        started = time.monotonic()
        for _ in range(200):
            with autolog.start_run():
                pass
        time.sleep(0.2)
        looks = _system_metrics.sampler().looks
        assert looks <= 3 + 2 * (time.monotonic() - started), looks
        with autolog.start_run(), autolog.start_run():  # a child starts no wake either
            pass
        assert _system_metrics.sampler().looks <= looks + 1

    def test_child_runs_are_not_sampled(self, store: Path, fresh_sampler: None) -> None:
        """Only the top-level run gets system metrics; its children share the same machine."""
        autolog.autolog(backend=str(store), system_metrics_interval=1)
        with autolog.start_run() as parent, autolog.start_run() as child:
            busy(1.6)
        assert system_keys(parent.id) >= MACHINE
        assert not system_keys(child.id)

    def test_no_points_after_the_run_ended(self, store: Path, fresh_sampler: None) -> None:
        """The journal ends with the end record: nothing is appended after the run ended."""
        autolog.autolog(backend=str(store), system_metrics_interval=0.3)
        with autolog.start_run() as run:
            busy(1.0)
        time.sleep(0.8)
        journal = next(store.rglob(f"{run.id}/journal.jsonl")).read_text().splitlines()
        assert '"end"' in journal[-1]

    def test_switched_off_by_option_and_environment(
        self, store: Path, fresh_sampler: None, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """system_metrics=False, or AUTOLOG_SYSTEM_METRICS=0, samples nothing."""
        autolog.autolog(backend=str(store), system_metrics=False, system_metrics_interval=0.2)
        with autolog.start_run() as off:
            busy(0.7)
        monkeypatch.setenv("AUTOLOG_SYSTEM_METRICS", "0")
        autolog.autolog(backend=str(store))
        with autolog.start_run() as env_off:
            busy(0.3)
        assert not system_keys(off.id) and not system_keys(env_off.id)
        assert _system_metrics._sampler is None

    def test_interval_from_the_environment_and_bad_values(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """AUTOLOG_SYSTEM_METRICS_INTERVAL is read; zero, negative or text is refused by name."""
        monkeypatch.setenv("AUTOLOG_SYSTEM_METRICS_INTERVAL", "2.5")
        assert resolve({}).system_metrics_interval == 2.5
        for bad in ("0", "-1", "often"):
            monkeypatch.setenv("AUTOLOG_SYSTEM_METRICS_INTERVAL", bad)
            with pytest.raises(ConfigurationError, match="system_metrics_interval"):
                resolve({})
        monkeypatch.delenv("AUTOLOG_SYSTEM_METRICS_INTERVAL")
        with pytest.raises(ConfigurationError, match="system_metrics'"):
            resolve({"system_metrics": "sometimes"})


class TestFailures:
    def test_a_raising_source_costs_the_training_nothing(
        self, store: Path, fresh_sampler: None
    ) -> None:
        """A source that raises is dropped with one warning; the run and the other source go on."""
        calls = []

        def broken() -> dict[str, float]:
            calls.append(1)
            raise RuntimeError("sensor gone")

        def steady() -> dict[str, float]:
            return {"steady_value": 1.0}

        _system_metrics._sampler = Sampler(collectors=[broken, steady])
        autolog.autolog(backend=str(store), system_metrics_interval=0.3)
        with pytest.warns(AutologWarning, match="sensor gone"), autolog.start_run() as run:
            run.log_param("lr", 0.1)
            busy(1.2)
            run.log_metric("loss", 0.5)
        got = autolog.get_run(run.id)
        assert got.status == "FINISHED" and got.params == {"lr": "0.1"}
        assert got.metrics["loss"] == 0.5 and len(calls) == 1
        points = autolog.get_metric_history(run.id, "system/steady_value")
        assert len(points) >= 2

    def test_a_sampler_that_cannot_start_leaves_runs_alone(
        self, store: Path, fresh_sampler: None
    ) -> None:
        """When every source raises, runs simply have no system metrics."""

        def broken() -> dict[str, float]:
            raise OSError("no /proc here")

        _system_metrics._sampler = Sampler(collectors=[broken])
        autolog.autolog(backend=str(store), system_metrics_interval=0.2)
        with pytest.warns(AutologWarning, match="no /proc"), autolog.start_run() as run:
            busy(0.7)
        assert autolog.get_run(run.id).status == "FINISHED" and not system_keys(run.id)


IMPORTS = """
import sys, time, threading
import autolog
autolog.autolog(backend="runs")
assert "psutil" not in sys.modules, "autolog() imported psutil"
imported_on = []
class Watch:
    def find_spec(self, name, path=None, target=None):
        if name == "psutil":
            imported_on.append(threading.current_thread().name)
        return None
sys.meta_path.insert(0, Watch())
with autolog.start_run():
    time.sleep(0.5)
assert imported_on == ["autolog-system-metrics"], imported_on
assert not any(name.startswith(("pynvml", "nvidia")) for name in sys.modules)
print("ok")
"""

FAKE_PYNVML = '''
"""A stand-in for nvidia-ml-py with two GPUs; the second reports no power."""
class NVMLError(Exception):
    pass
class _Memory:
    used, total = 3_000_000_000, 12_000_000_000
class _Rates:
    gpu, memory = 87, 40
def nvmlInit():
    pass
def nvmlDeviceGetCount():
    return 2
def nvmlDeviceGetHandleByIndex(i):
    return i
def nvmlDeviceGetMemoryInfo(handle):
    return _Memory()
def nvmlDeviceGetUtilizationRates(handle):
    return _Rates()
def nvmlDeviceGetPowerUsage(handle):
    if handle == 1:
        raise NVMLError("not supported")
    return 150_000
def nvmlDeviceGetEnforcedPowerLimit(handle):
    return 300_000
'''

GPU_RUN = """
import time
import autolog
autolog.autolog(backend="runs", system_metrics_interval=0.3)
with autolog.start_run() as run:
    time.sleep(1.0)
print(run.id)
"""


class TestProcess:
    def test_psutil_is_imported_on_the_sampler_thread_only(self, tmp_path: Path) -> None:
        """import autolog; autolog() loads no psutil; the first run loads it on the sampler."""
        result = subprocess.run(
            [sys.executable, "-P", "-c", IMPORTS], cwd=tmp_path, capture_output=True, text=True
        )
        assert result.returncode == 0, result.stderr
        assert result.stdout.strip() == "ok"

    def test_gpu_figures_from_nvml(self, tmp_path: Path) -> None:
        """With a (fake) pynvml on the path, each GPU gets MLflow's four figures under its index."""
        fake = tmp_path / "fake"
        fake.mkdir()
        (fake / "pynvml.py").write_text(FAKE_PYNVML)
        result = subprocess.run(
            [sys.executable, "-P", "-c", GPU_RUN],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            env={**__import__("os").environ, "PYTHONPATH": str(fake)},
        )
        assert result.returncode == 0, result.stderr
        run = autolog.get_run(result.stdout.strip(), backend=str(tmp_path / "runs"))
        assert run.metrics["system/gpu_0_utilization_percentage"] == 87
        assert run.metrics["system/gpu_0_memory_usage_megabytes"] == 3000
        assert run.metrics["system/gpu_0_memory_usage_percentage"] == 25
        assert run.metrics["system/gpu_0_power_usage_watts"] == 150
        assert run.metrics["system/gpu_0_power_usage_percentage"] == 50
        assert run.metrics["system/gpu_1_utilization_percentage"] == 87
        assert "system/gpu_1_power_usage_watts" not in run.metrics
        assert set(run.metrics) >= MACHINE
