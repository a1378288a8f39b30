"""The safe-patch helper and lazy patching on import."""

from __future__ import annotations

import sys
import textwrap
import threading
import warnings
from pathlib import Path

import pytest
import wrapt

import autolog
from autolog import _imports, _patch
from autolog._warnings import warn
from autolog.errors import AutologWarning, InternalError
from autolog.integration import Integration, safe_patch, start_fit_run, status_for


class Model:
    """A stand-in for a framework class: fit counts its calls and may raise."""

    def __init__(self, fail: BaseException | None = None) -> None:
        self.calls: list[tuple] = []
        self.fail = fail

    def fit(self, *args, **kwargs):
        self.calls.append((args, kwargs))
        if self.fail is not None:
            raise self.fail
        if kwargs.get("inner"):
            Model().fit(1)  # a fit calling a fit
        return "fitted"


def recording_hook(instance, args, kwargs):
    """A minimal integration: a run per fit, FAILED if the fit raised."""
    run = start_fit_run("test", "Model")
    try:
        result = yield
    except BaseException as exc:
        run.end(status_for(exc))
        raise
    run.log_metric("calls", len(instance.calls))
    run.end()
    assert result == "fitted"


def broken_before(instance, args, kwargs):
    raise RuntimeError("our bug before the call")
    yield  # pragma: no cover


def broken_after(instance, args, kwargs):
    yield
    raise RuntimeError("our bug after the call")


@pytest.fixture
def patched():
    """Patch Model.fit with the given hook for the duration of a test."""
    applied = []

    def apply(hook):
        wrapt.wrap_function_wrapper(sys.modules[__name__], "Model.fit", safe_patch("test", hook))
        applied.append(hook)

    yield apply
    if applied:
        Model.fit = Model.fit.__wrapped__


class TestSafePatch:
    def test_a_fit_becomes_a_run(self, store: Path, patched) -> None:
        """A patched call records a run and returns the user's result."""
        patched(recording_hook)
        assert Model().fit(1, a=2) == "fitted"
        [run] = autolog.search_runs()
        assert run.metrics == {"calls": 1.0} and run.status == "FINISHED"
        assert run.tags["autolog.integration"] == "test"

    def test_user_exception_propagates_unchanged(self, store: Path, patched) -> None:
        """The user's exception comes out as the same object, traceback intact; run FAILED."""
        patched(recording_hook)
        error = ValueError("user bug")
        with pytest.raises(ValueError) as caught:
            Model(fail=error).fit()
        assert caught.value is error
        assert caught.traceback[-1].name == "fit"  # raised where the user raised it
        [run] = autolog.search_runs()
        assert run.status == "FAILED"

    def test_keyboard_interrupt_marks_killed(self, store: Path, patched) -> None:
        """Ctrl-C during fit ends the fit's run KILLED and still interrupts."""
        patched(recording_hook)
        with pytest.raises(KeyboardInterrupt):
            Model(fail=KeyboardInterrupt()).fit()
        assert autolog.search_runs()[0].status == "KILLED"

    @pytest.mark.parametrize("hook", [broken_before, broken_after])
    def test_our_bug_is_warned_once_and_the_call_runs_once(
        self, store: Path, patched, monkeypatch: pytest.MonkeyPatch, hook
    ) -> None:
        """Outside testing mode our failure is one warning; the fit runs exactly once."""
        monkeypatch.setenv("AUTOLOG_TESTING", "0")
        monkeypatch.setattr(_patch, "_warned", set())
        patched(hook)
        model = Model()
        with pytest.warns(AutologWarning, match="our bug"):
            assert model.fit(1, b=2) == "fitted"
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            assert model.fit(3) == "fitted"  # the second failure is not warned again
        assert model.calls == [((1,), {"b": 2}), ((3,), {})]

    def test_testing_mode_raises_our_bug(self, store: Path, patched) -> None:
        """With AUTOLOG_TESTING=1 our failure raises InternalError naming the integration."""
        patched(broken_after)
        with pytest.raises(InternalError, match="test.*our bug"):
            Model().fit()

    def test_nested_fits_log_once(self, store: Path, patched) -> None:
        """A fit calling another patched fit records one run, not two."""
        patched(recording_hook)
        Model().fit(inner=True)
        assert len(autolog.search_runs()) == 1

    def test_hook_may_replace_arguments(self, store: Path, patched) -> None:
        """A hook yielding (args, kwargs) changes the call (how callbacks are added)."""

        def add_callback(instance, args, kwargs):
            yield args, {**kwargs, "callbacks": [*kwargs.get("callbacks", []), "ours"]}

        patched(add_callback)
        model = Model()
        user_list = ["theirs"]
        model.fit(callbacks=user_list)
        assert model.calls == [((), {"callbacks": ["theirs", "ours"]})]
        assert user_list == ["theirs"]


class TestOwnCode:
    """Warnings around autolog's own code: the filters swapped, nothing else touched."""

    def test_a_display_hook_installed_inside_stays(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """What the notebook does: install showwarning during a run's start, inside a fit."""
        shown: list[str] = []

        def display(message, category, filename, lineno, *rest) -> None:
            shown.append(str(message))

        monkeypatch.setattr(warnings, "showwarning", warnings.showwarning)
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # the user's filters: never raised into the fit
            users = list(warnings.filters)
            with _patch.own_code():
                warnings.showwarning = display
                warnings.warn("a library's own warning", UserWarning, stacklevel=1)
                warn("autolog: ours, held")
                assert shown == []
            assert warnings.showwarning is display
            assert warnings.filters == users
        assert shown == ["autolog: ours, held"]

    def test_overlapping_threads_leave_the_users_filters(self) -> None:
        """A enters, B enters, A leaves, B leaves: the filters end as the user's, not silenced."""
        a_in, b_in, a_out = threading.Event(), threading.Event(), threading.Event()

        def a() -> None:
            with _patch.own_code():
                a_in.set()
                b_in.wait(10)
            a_out.set()

        def b() -> None:
            a_in.wait(10)
            with _patch.own_code():
                b_in.set()
                a_out.wait(10)

        with warnings.catch_warnings():
            warnings.simplefilter("error", UserWarning)
            users = list(warnings.filters)
            threads = [threading.Thread(target=a), threading.Thread(target=b)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(10)
            assert a_out.is_set() and warnings.filters == users

    def test_another_threads_warning_is_its_own(self) -> None:
        """A background thread's AutologWarning is shown on that thread, not held by the fit's."""
        threads: list[str] = []

        def display(message, category, filename, lineno, *rest) -> None:
            threads.append(threading.current_thread().name)

        with warnings.catch_warnings():
            warnings.simplefilter("always")
            warnings.showwarning = display
            with _patch.own_code():
                shipper = threading.Thread(target=warn, args=("autolog: shipper",), name="ship")
                shipper.start()
                shipper.join(10)
                assert threads == ["ship"]
                warn("autolog: the fit's")
            assert threads == ["ship", threading.current_thread().name]


class TestLazyPatching:
    def test_autolog_before_import_patches_on_import(
        self, store: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """An integration patches when its module is imported after autolog(), not before."""
        (tmp_path / "fakeframework.py").write_text(
            textwrap.dedent("""
            class Estimator:
                def fit(self):
                    return "fitted"
        """)
        )
        monkeypatch.syspath_prepend(str(tmp_path))
        patched_modules = []

        class FakeIntegration(Integration):
            name, module, supported_versions = "fake", "fakeframework", "fakeframework>=0"

            def patch(self, config):
                module = sys.modules["fakeframework"]
                patched_modules.append(module)
                wrapt.wrap_function_wrapper(
                    module, "Estimator.fit", safe_patch("fake", recording_hook_for_fake)
                )

            def unpatch(self):
                module = sys.modules["fakeframework"]
                module.Estimator.fit = module.Estimator.fit.__wrapped__

        class Plugin:
            @autolog.hookimpl
            def autolog_register_integrations(self, register):
                register(FakeIntegration)

        from autolog.plugins import pm

        plugin = Plugin()
        pm.register(plugin)
        try:
            autolog.autolog(backend=str(store))
            assert "fakeframework" not in sys.modules and patched_modules == []
            import fakeframework

            assert patched_modules == [fakeframework]
            assert fakeframework.Estimator().fit() == "fitted"
            assert len(autolog.search_runs()) == 1
            autolog.autolog(disable=True)
            assert not isinstance(fakeframework.Estimator.fit, wrapt.FunctionWrapper)
            assert fakeframework.Estimator().fit() == "fitted"
        finally:
            pm.unregister(plugin)
            sys.modules.pop("fakeframework", None)

    def test_when_imported_runs_now_for_loaded_modules(self) -> None:
        """A callback for an already imported module runs immediately."""
        seen = []
        _imports.when_imported("json", seen.append)
        assert seen == [sys.modules["json"]]

    def test_autolog_imports_no_framework(self, tmp_path: Path) -> None:
        """import autolog; autolog.autolog() imports none of the ML frameworks."""
        import subprocess

        code = (
            "import sys, autolog; autolog.autolog(); "
            "print(sorted(m for m in ('sklearn', 'statsmodels', 'torch', 'keras', 'lightning',"
            " 'pytorch_lightning', 'numpy', 'pandas', 'httpx', 'wrapt') if m in sys.modules))"
        )
        out = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path, check=True
        )
        assert out.stdout.strip() == "[]"


def recording_hook_for_fake(instance, args, kwargs):
    run = start_fit_run("fake", type(instance).__name__)
    yield
    run.end()
