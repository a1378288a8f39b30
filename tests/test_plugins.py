"""The plugin system: hooks, entry points, broken plugins."""

from __future__ import annotations

import importlib
import os
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
    def test_built_in_plugins_have_the_hooks_pluggy_would_find(self, store: Path) -> None:
        """The fast discovery of the built-in plugins (only ``autolog_*`` names) misses none.

        It runs pluggy's own discovery, which looks at every attribute, over each
        built-in module and compares the hooks it finds with those registered.
        """
        import pluggy

        autolog.autolog()
        reference = pluggy.PluginManager("autolog")
        reference.add_hookspecs(hookspecs)
        for name in DEFAULT_PLUGINS:
            module = importlib.import_module(name)
            reference.register(module, name=name)
            expected = {c.name for c in reference.get_hookcallers(module) or ()}
            registered = {c.name for c in pm.get_hookcallers(module) or ()}
            assert registered == expected, name
        assert sum(len(reference.get_hookcallers(m) or ()) for m in reference.get_plugins()) > 10

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

    def test_a_new_style_wrapper_plugin_wraps_the_backend_hook(self, tmp_path: Path) -> None:
        """A @hookimpl(wrapper=True) autolog_backend sees the inner backend and can replace it."""
        seen = []

        class Counting(Backend):
            def __init__(self, inner: Backend) -> None:
                self.inner, self.uri, self.remote = inner, inner.uri, inner.remote

            def search_runs(self, experiment=None, filter=None):
                seen.append("search")
                return self.inner.search_runs(experiment, filter)

        class Wrapper:
            @autolog.hookimpl(wrapper=True)
            def autolog_backend(self, uri, config):
                backend = yield
                seen.append(type(backend).__name__)
                return Counting(backend) if backend is not None else None

        plugin = Wrapper()
        pm.register(plugin)
        try:
            autolog.autolog(backend="./runs")
            with autolog.start_run():
                autolog.log_metric("m", 1.0)
            [found] = autolog.search_runs()
        finally:
            pm.unregister(plugin)
        assert found.metrics == {"m": 1.0}
        assert seen == ["LocalBackend", "search"]

    def test_an_old_style_hookwrapper_sees_the_outcome(self, tmp_path: Path) -> None:
        """A @hookimpl(hookwrapper=True) autolog_backend gets pluggy's result object."""
        results = []

        class OldWrapper:
            @autolog.hookimpl(hookwrapper=True)
            def autolog_backend(self, uri, config):
                outcome = yield
                results.append(type(outcome.get_result()).__name__)

        plugin = OldWrapper()
        pm.register(plugin)
        try:
            autolog.autolog(backend="./runs")
        finally:
            pm.unregister(plugin)
        assert results == ["LocalBackend"]

    def test_a_broken_wrapper_skips_only_itself(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """A wrapper raising before or after its yield warns; the backend is still found."""
        monkeypatch.setenv("AUTOLOG_TESTING", "0")

        class Before:
            @autolog.hookimpl(wrapper=True)
            def autolog_backend(self, uri, config):
                raise RuntimeError("broken before")
                yield  # pragma: no cover

        class After:
            @autolog.hookimpl(wrapper=True)
            def autolog_backend(self, uri, config):
                yield
                raise RuntimeError("broken after")

        plugins = [Before(), After()]
        pm.register(plugins[0], name="broken-before")
        pm.register(plugins[1], name="broken-after")
        try:
            with pytest.warns(UserWarning) as caught:
                autolog.autolog(backend="./runs")
                with autolog.start_run():
                    autolog.log_metric("m", 2.0)
                [found] = autolog.search_runs()
        finally:
            for plugin in plugins:
                pm.unregister(plugin)
        messages = " ".join(str(w.message) for w in caught)
        assert "broken-before" in messages and "broken-after" in messages
        assert found.metrics == {"m": 2.0}

    def test_a_wrapper_passes_an_inner_exception_on_or_handles_it(self, tmp_path: Path) -> None:
        """pluggy's semantics hold: the wrapper sees an inner error and may answer instead."""
        from autolog.errors import InvalidInputError

        class Refusing:
            @autolog.hookimpl(tryfirst=True)
            def autolog_backend(self, uri, config):
                if uri == "refuse://":
                    raise InvalidInputError("refused on purpose")

        class Rescuing:
            @autolog.hookimpl(wrapper=True)
            def autolog_backend(self, uri, config):
                try:
                    return (yield)
                except InvalidInputError:
                    if uri != "refuse://":
                        raise
                    return None

        plugins = [Refusing(), Rescuing()]
        for plugin in plugins:
            pm.register(plugin)
        try:
            from autolog._config import resolve
            from autolog.backend import backend_for
            from autolog.errors import ConfigurationError

            with pytest.raises(ConfigurationError, match="no backend handles 'refuse://'"):
                backend_for("refuse://", resolve({}))
        finally:
            for plugin in plugins:
                pm.unregister(plugin)

    def test_the_faulty_backend_is_a_testing_plugin_only(self, tmp_path: Path) -> None:
        """faulty:// exists under AUTOLOG_TESTING=1 and is unknown in ordinary use."""
        from autolog.plugins import TESTING_PLUGINS

        autolog.autolog(backend=["./runs", "faulty://refuse"])
        assert "autolog.testing" in TESTING_PLUGINS
        assert pm.get_plugin("autolog.testing") is not None
        assert "autolog.testing" not in DEFAULT_PLUGINS
        code = (
            "import autolog\n"
            "try:\n    autolog.autolog(backend=['./runs', 'faulty://raise'])\n"
            "except autolog.AutologError as e:\n    print('refused:', e)\n"
        )
        env = {
            k: v for k, v in os.environ.items() if k not in ("AUTOLOG_TESTING", "AUTOLOG_PLUGINS")
        }
        done = subprocess.run(
            [sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True
        )
        assert "refused: no backend handles 'faulty://raise'" in done.stdout, done.stderr

    def test_save_and_load_hooks_run_unrecorded(self, store: Path) -> None:
        """A fit made inside a plugin's save or load hook is not recorded as a run."""
        import numpy as np
        from sklearn.linear_model import LinearRegression

        X, y = np.arange(8.0).reshape(4, 2), np.arange(4.0)

        class Boxed:
            pass

        class Plugin:
            @autolog.hookimpl(tryfirst=True)
            def autolog_save_model(self, model, path, config):
                if not isinstance(model, Boxed):
                    return None
                LinearRegression().fit(X, y)  # a framework call of the plugin's own
                (path / "box.txt").write_text("box")
                return {"flavor": "box"}

            @autolog.hookimpl(tryfirst=True)
            def autolog_load_model(self, path, manifest):
                if manifest["flavor"] != "box":
                    return None
                LinearRegression().fit(X, y)
                return Boxed()

        plugin = Plugin()
        pm.register(plugin)
        try:
            with autolog.start_run() as run:
                run.log_model(Boxed())
            assert isinstance(autolog.load_model(run.id), Boxed)
            assert [r.id for r in autolog.search_runs()] == [run.id]
        finally:
            pm.unregister(plugin)

    def test_built_in_integrations_are_declared_as_their_classes_say(self) -> None:
        """autolog() patches from the declarations in autolog._integrations, without the classes:
        each must say what its class says, and the plugins' hook must register no other."""
        from autolog._integrations import BUILT_IN

        for declared in BUILT_IN:
            cls = declared.load()
            assert (cls.name, cls.module, cls.options) == (
                declared.name,
                declared.module,
                declared.options,
            )
        classes: list[type] = []
        for name in DEFAULT_PLUGINS:
            module = importlib.import_module(name)
            if hasattr(module, "autolog_register_integrations"):
                module.autolog_register_integrations(register=classes.append)
        assert sorted(c.name for c in classes) == sorted(d.name for d in BUILT_IN)  # type: ignore[attr-defined]

    def test_every_hook_is_documented_and_tested(self) -> None:
        """Each hookspec has a docstring, is named in the plugin docs and used in a test."""
        docs = (REPO / "docs" / "writing-integrations.md").read_text()
        tests = "".join(p.read_text() for p in (REPO / "tests").rglob("test_*.py"))
        for name in HOOKS:
            assert getattr(hookspecs, name).__doc__, name
            assert name in docs, f"{name} missing from docs/writing-integrations.md"
            assert f"def {name}(" in tests, f"{name} has no test implementing it"

    def test_builtins_are_registered_like_plugins(self, store: Path) -> None:
        """Every built-in plugin module is registered in the plugin manager, by the first run."""
        autolog.autolog()
        with autolog.start_run():
            pass
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
