"""The plugin system: hooks, entry points, broken plugins."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import autolog
from autolog import hookspecs
from autolog.backend import Backend
from autolog.plugins import DEFAULT_PLUGINS, pm

REPO = Path(__file__).resolve().parents[1]
HOOKS = sorted(name for name in dir(hookspecs) if name.startswith("autolog_"))


class TestHooks:
    def test_run_started_and_ended_hooks(self, store: Path) -> None:
        """A plugin sees every run start and end, and can tag the run."""
        events = []

        class Plugin:
            @autolog.hookimpl
            def autolog_run_started(self, run):
                events.append(("started", run.name))
                run.set_tag("team", "vision")

            @autolog.hookimpl
            def autolog_run_ended(self, run, status):
                events.append(("ended", run.name, status))

        plugin = Plugin()
        pm.register(plugin)
        try:
            with autolog.start_run(name="a") as run:
                pass
        finally:
            pm.unregister(plugin)
        assert events == [("started", "a"), ("ended", "a", "FINISHED")]
        assert autolog.get_run(run.id).tags["team"] == "vision"

    def test_backend_hook_adds_a_scheme(self, tmp_path: Path) -> None:
        """A plugin's autolog_backend gives autolog a new URI scheme to ship to."""
        received = []

        class MemoryBackend(Backend):
            uri = "memory://x"

            def ship(self, batch):
                received.extend(batch.records)

        class Plugin:
            @autolog.hookimpl
            def autolog_backend(self, uri, config):
                return MemoryBackend() if uri.startswith("memory://") else None

        plugin = Plugin()
        pm.register(plugin)
        try:
            autolog.autolog(backend=["./runs", "memory://x"])
            with autolog.start_run():
                autolog.log_metric("m", 1.0)
            assert autolog.flush(timeout=10)
        finally:
            pm.unregister(plugin)
        assert [r[0] for r in received] == ["run", "tags", "m", "end"]

    def test_save_and_load_model_hooks_take_precedence_over_pickle(self, store: Path) -> None:
        """A plugin's flavor is used for its models and loads them back."""

        class Weights:
            def __init__(self, values):
                self.values = values

        class Plugin:
            @autolog.hookimpl
            def autolog_save_model(self, model, path, config):
                if not isinstance(model, Weights):
                    return None
                (path / "weights.txt").write_text(",".join(map(str, model.values)))
                return {"flavor": "weights-txt", "framework_version": "1"}

            @autolog.hookimpl
            def autolog_load_model(self, path, manifest):
                if manifest["flavor"] != "weights-txt":
                    return None
                return Weights([int(v) for v in (path / "weights.txt").read_text().split(",")])

        plugin = Plugin()
        pm.register(plugin)
        try:
            with autolog.start_run() as run:
                manifest = run.log_model(Weights([1, 2]))
            assert manifest["flavor"] == "weights-txt"
            assert autolog.load_model(run.id).values == [1, 2]
        finally:
            pm.unregister(plugin)

    def test_a_plugin_hook_that_raises_is_reported_not_fatal(
        self, store: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """Outside testing mode, a raising run_started hook warns and the run goes on."""
        monkeypatch.setenv("AUTOLOG_TESTING", "0")

        class Broken:
            @autolog.hookimpl
            def autolog_run_started(self, run):
                raise RuntimeError("plugin bug")

        plugin = Broken()
        pm.register(plugin, name="broken-plugin")
        try:
            with pytest.warns(UserWarning, match="broken-plugin"), autolog.start_run() as run:
                run.log_metric("x", 1)
        finally:
            pm.unregister(plugin)
        assert autolog.get_run(run.id).metrics == {"x": 1.0}

    def test_every_hook_is_documented_and_tested(self) -> None:
        """Each hookspec has a docstring, is named in the plugin docs and used in a test."""
        docs = (REPO / "docs" / "writing-integrations.md").read_text()
        tests = "".join(p.read_text() for p in (REPO / "tests").rglob("test_*.py"))
        for name in HOOKS:
            assert getattr(hookspecs, name).__doc__, name
            assert name in docs, f"{name} missing from docs/writing-integrations.md"
            assert f"def {name}(" in tests, f"{name} has no test implementing it"

    def test_builtins_are_registered_like_plugins(self) -> None:
        """Every built-in plugin module is registered in the plugin manager by name."""
        autolog.autolog()
        for name in DEFAULT_PLUGINS:
            assert pm.get_plugin(name) is not None, name


ENTRY_POINTS = {
    "broken": "broken = broken_autolog_plugin:does_not_exist",
    "fine": "fine = fine_autolog_plugin",
}


class TestEntryPoints:
    def test_entry_point_plugins_load_and_a_broken_one_is_skipped(self, tmp_path: Path) -> None:
        """An installed plugin registers through the entry point; a broken one only warns."""
        site = tmp_path / "site"
        for name in ("broken", "fine"):
            dist = site / f"{name}_autolog_plugin-1.0.dist-info"
            dist.mkdir(parents=True)
            (dist / "METADATA").write_text(
                f"Metadata-Version: 2.1\nName: {name}-autolog-plugin\nVersion: 1.0\n"
            )
            (dist / "entry_points.txt").write_text(f"[autolog]\n{ENTRY_POINTS[name]}\n")
        (site / "broken_autolog_plugin.py").write_text("raise ImportError('broken on purpose')\n")
        (site / "fine_autolog_plugin.py").write_text(
            textwrap.dedent("""
            import autolog

            @autolog.hookimpl
            def autolog_run_started(run):
                run.set_tag("fine-plugin", "yes")
        """)
        )
        code = textwrap.dedent("""
            import warnings
            warnings.simplefilter("always")
            import autolog
            autolog.autolog(backend="runs")
            with autolog.start_run() as run:
                pass
            print(autolog.get_run(run.id).tags.get("fine-plugin"))
        """)
        out = subprocess.run(
            [sys.executable, "-c", code],
            capture_output=True,
            text=True,
            cwd=tmp_path,
            env={"AUTOLOG_TESTING": "0", "PATH": "/usr/bin", "PYTHONPATH": str(site)},
        )
        assert out.returncode == 0, out.stderr
        assert out.stdout.strip() == "yes"
        assert "plugin 'broken'" in out.stderr and "skipped" in out.stderr
