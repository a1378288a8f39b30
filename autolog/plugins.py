"""The plugin manager: built-in plugins and entry points, loaded once, lazily.

Loading is deferred to the first ``autolog()``, run or read, so that
``import autolog`` stays cheap. A third-party plugin that fails to import or
register is reported as a warning and skipped: a broken extension must not
break anyone's training.

Hooks are called through pluggy itself, so every pluggy feature works,
``@hookimpl(wrapper=True)`` and ``tryfirst`` included. What pluggy does not do
is isolate plugins from each other: here every implementation is guarded when
it is registered, so one that raises is reported (:func:`report_failure`) and
skipped, and the others still run. A wrapper that raises before its ``yield``
is skipped the same way; after its ``yield`` the inner result stands.
"""

from __future__ import annotations

import functools
import importlib
import os
import threading
from collections.abc import Callable, Generator
from typing import Any

import pluggy

from . import hookspecs
from ._entry_points import ENTRY_POINT_GROUP, PLUGINS_VARIABLE, any_distribution_declares_group
from ._patch import report_failure, testing
from ._warnings import warn
from .errors import InvalidInputError, ModelNotLoadableError


class PluginManager(pluggy.PluginManager):
    """pluggy's manager, with each registered implementation guarded against its own failures."""

    def parse_hookimpl_opts(self, plugin: Any, name: str) -> Any:
        # pluggy looks at every attribute of a plugin with inspect.getattr_static, some
        # 450 names over the built-in modules: 8 ms of autolog()'s start-up. Their hooks
        # are all named after the spec (no specname=), so only those names are looked at.
        # Third-party plugins keep pluggy's full discovery.
        if getattr(plugin, "__name__", None) in _BUILT_IN and not name.startswith("autolog_"):
            return None
        return super().parse_hookimpl_opts(plugin, name)

    def register(self, plugin: Any, name: str | None = None) -> str | None:
        registered = super().register(plugin, name)
        if registered is not None:
            for caller in self.get_hookcallers(plugin) or ():
                for impl in caller.get_hookimpls():
                    if impl.plugin is plugin:
                        # pluggy calls impl.function; its type marks it Final,
                        # but it is a plain slot, set once here before any call.
                        setattr(impl, "function", _guarded(impl.function, impl, caller.name))  # noqa: B010
        return registered


def _guarded(function: Callable[..., Any], impl: Any, hook_name: str) -> Callable[..., Any]:
    where = f"plugin {impl.plugin_name!r} ({hook_name})"
    if impl.wrapper or impl.hookwrapper:
        return _guarded_wrapper(function, where, old_style=impl.hookwrapper)

    @functools.wraps(function)
    def call(*args: Any) -> Any:
        try:
            return function(*args)
        except (InvalidInputError, ModelNotLoadableError):
            raise  # refused on purpose (a malformed URI, a model's class gone): say so
        except Exception as exc:
            report_failure(where, exc)
            return None

    return call


def _guarded_wrapper(
    function: Callable[..., Generator[Any, Any, Any]], where: str, old_style: bool
) -> Callable[..., Generator[Any, Any, Any]]:
    """A wrapper implementation whose own failures leave the wrapped call's outcome as it was.

    New-style wrappers (``wrapper=True``) receive the inner result, or the
    inner exception thrown in, and return the result; old-style ones
    (``hookwrapper=True``) receive pluggy's result object.
    """

    def failed(exc: Exception) -> None:
        if isinstance(exc, InvalidInputError):
            raise exc
        report_failure(where, exc)

    @functools.wraps(function)
    def call(*args: Any) -> Generator[Any, Any, Any]:
        steps = function(*args)
        try:
            next(steps)
        except Exception as exc:
            failed(exc)
            return (yield)  # stand aside: the inner implementations run as without us
        try:
            outcome = yield
        except BaseException as inner:  # new style only: an inner implementation raised
            try:
                steps.throw(inner)
            except StopIteration as stop:
                return stop.value  # the wrapper turned the exception into a result
            except Exception as exc:
                if exc is not inner:
                    failed(exc)
                raise inner  # noqa: B904 - the inner exception, unchanged
            steps.close()
            raise inner
        try:
            steps.send(outcome)
        except StopIteration as stop:
            return None if old_style else stop.value
        except Exception as exc:
            failed(exc)
            return None if old_style else outcome
        steps.close()
        failed(RuntimeError("the wrapper yielded more than once"))
        return None if old_style else outcome

    return call


pm = PluginManager("autolog")
pm.add_hookspecs(hookspecs)

#: Built-in plugins, registered like third-party ones.
DEFAULT_PLUGINS = (
    "autolog._provenance",
    "autolog._models",
    "autolog._system_metrics",
    "autolog._environment",
    "autolog._notebook",
    "autolog.backends.local",
    "autolog.backends.schemes",
    "autolog.integrations.sklearn",
    "autolog.integrations.statsmodels",
    "autolog.integrations.lightning",
    "autolog.integrations.keras",
)
_BUILT_IN = frozenset(DEFAULT_PLUGINS)
#: Registered only under ``AUTOLOG_TESTING=1`` (the test suites and their subprocesses).
TESTING_PLUGINS = ("autolog.testing",)
# AUTOLOG_PLUGINS (PLUGINS_VARIABLE) names extra plugin modules, comma-separated:
# ``AUTOLOG_PLUGINS=autolog.testing`` gives a subprocess ``faulty://`` without testing mode.

_loaded = False
_lock = threading.Lock()


def load_plugins() -> pluggy.PluginManager:
    """Register the built-in plugins and those installed under the ``autolog`` entry point."""
    global _loaded
    if _loaded:
        return pm
    with _lock:
        if _loaded:
            return pm
        for name in (*DEFAULT_PLUGINS, *_requested_plugins()):
            try:
                module = importlib.import_module(name)
            except Exception as exc:
                report_failure(f"built-in plugin {name}", exc)
                continue
            if not pm.is_registered(module):
                pm.register(module, name=name)
        _load_entry_points()
        _loaded = True
    return pm


def _requested_plugins() -> list[str]:
    """The testing plugins under ``AUTOLOG_TESTING=1``, and the modules of ``AUTOLOG_PLUGINS``."""
    named = [n.strip() for n in os.environ.get(PLUGINS_VARIABLE, "").split(",") if n.strip()]
    testing_plugins = [n for n in TESTING_PLUGINS if testing() and n not in named]
    return [*testing_plugins, *named]


def _load_entry_points() -> None:
    if not any_distribution_declares_group():
        return
    from importlib.metadata import entry_points

    for entry_point in entry_points(group=ENTRY_POINT_GROUP):
        if pm.get_plugin(entry_point.name) is not None:
            continue
        try:
            plugin = entry_point.load()
            pm.register(plugin, name=entry_point.name)
        except Exception as exc:
            warn(
                f"autolog plugin {entry_point.name!r} ({entry_point.value}) could not be "
                f"loaded and is skipped: {type(exc).__name__}: {exc}"
            )


def registered_beyond_built_in() -> bool:
    """Has a plugin other than the built-in and testing ones been registered (by a program)?"""
    own = {*DEFAULT_PLUGINS, *TESTING_PLUGINS}
    return any(name not in own for name, _ in pm.list_name_plugin())


def call_each(hook_name: str, *, first_result: bool = False, **kwargs: Any) -> Any:
    """Call hook ``hook_name`` through pluggy, after loading the plugins.

    Implementations run in pluggy's order (wrappers around the others; later
    registered and ``tryfirst`` first); each is guarded, so one broken plugin
    skips only itself. A ``firstresult`` hook returns the first non-None
    result (``first_result`` says the caller expects that), any other the list.
    """
    load_plugins()
    return getattr(pm.hook, hook_name)(**kwargs)
