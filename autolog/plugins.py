"""The plugin manager: built-in plugins and entry points, loaded once, lazily.

Loading is deferred to the first ``autolog()``, run or read, so that
``import autolog`` stays cheap. A third-party plugin that fails to import or
register is reported as a warning and skipped: a broken extension must not
break anyone's training.
"""

from __future__ import annotations

import importlib
import os
import sys
import threading
import warnings

import pluggy

from . import hookspecs
from .errors import AutologWarning, InvalidInputError

pm = pluggy.PluginManager("autolog")
pm.add_hookspecs(hookspecs)

#: Built-in plugins, registered like third-party ones.
DEFAULT_PLUGINS = (
    "autolog._provenance",
    "autolog._models",
    "autolog._system_metrics",
    "autolog._environment",
    "autolog._notebook",
    "autolog.backends.local",
    "autolog.backends.faulty",
    "autolog.backends.schemes",
    "autolog.integrations.sklearn",
    "autolog.integrations.statsmodels",
    "autolog.integrations.lightning",
    "autolog.integrations.keras",
)
ENTRY_POINT_GROUP = "autolog"

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
        for name in DEFAULT_PLUGINS:
            try:
                module = importlib.import_module(name)
            except Exception as exc:
                from ._patch import report_failure

                report_failure(f"built-in plugin {name}", exc)
                continue
            if not pm.is_registered(module):
                pm.register(module, name=name)
        _load_entry_points()
        _loaded = True
    return pm


def _load_entry_points() -> None:
    if not _any_distribution_declares_group():
        return
    from importlib.metadata import entry_points

    for entry_point in entry_points(group=ENTRY_POINT_GROUP):
        if pm.get_plugin(entry_point.name) is not None:
            continue
        try:
            plugin = entry_point.load()
            pm.register(plugin, name=entry_point.name)
        except Exception as exc:
            warnings.warn(
                f"autolog plugin {entry_point.name!r} ({entry_point.value}) could not be "
                f"loaded and is skipped: {type(exc).__name__}: {exc}",
                AutologWarning,
                stacklevel=2,
            )


def _any_distribution_declares_group() -> bool:
    """Cheap pre-check: does any installed distribution declare ``[autolog]`` entry points?

    importlib.metadata costs ~15 ms to import, a third of our start-up budget;
    scanning the ``entry_points.txt`` files of ``sys.path`` costs well under one.
    Only when one of them has the group is importlib.metadata asked to load it.
    """
    header = f"[{ENTRY_POINT_GROUP}]"
    for folder in sys.path:
        try:
            entries = os.scandir(folder or ".")
        except OSError:
            continue
        with entries:
            for entry in entries:
                if not entry.name.endswith((".dist-info", ".egg-info")):
                    continue
                try:
                    with open(os.path.join(entry.path, "entry_points.txt"), encoding="utf-8") as f:
                        if any(line.strip() == header for line in f):
                            return True
                except OSError:
                    continue
    return False


def call_each(hook_name: str, *, first_result: bool = False, **kwargs):
    """Call every implementation of a hook on its own, so one broken plugin skips only itself.

    Implementations run in pluggy's order (later-registered plugins and
    ``tryfirst`` first). With ``first_result`` the first non-None result is
    returned; otherwise the list of results.
    """
    from ._patch import report_failure

    load_plugins()
    results = []
    for impl in reversed(getattr(pm.hook, hook_name).get_hookimpls()):
        try:
            result = impl.function(*(kwargs[name] for name in impl.argnames))
        except InvalidInputError:
            raise  # the user's input was refused on purpose (a malformed URI): say so
        except Exception as exc:
            report_failure(f"plugin {impl.plugin_name!r} ({hook_name})", exc)
            continue
        if result is None:
            continue
        if first_result:
            return result
        results.append(result)
    return None if first_result else results
