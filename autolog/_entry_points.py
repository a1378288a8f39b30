"""Is any plugin beyond the built-in ones installed? Answered without pluggy or importlib.metadata.

``autolog()`` needs the plugin machinery only when something outside autolog
may register integrations: a distribution declaring ``[autolog]`` entry points,
modules named in ``AUTOLOG_PLUGINS``, or a plugin a program registered itself
through :mod:`autolog.plugins`.
Otherwise the built-in declarations in :mod:`autolog._integrations` say all.
"""

from __future__ import annotations

import os
import sys

ENTRY_POINT_GROUP = "autolog"
#: Extra plugin modules to register, comma-separated (like ``PYTEST_PLUGINS``).
PLUGINS_VARIABLE = "AUTOLOG_PLUGINS"

_scanned: dict[tuple[str, ...], bool] = {}


def plugins_beyond_built_in() -> bool:
    """True when plugins other than the built-in ones may be installed or registered."""
    plugins = sys.modules.get("autolog.plugins")
    return (
        (plugins is not None and plugins.registered_beyond_built_in())
        or bool(os.environ.get(PLUGINS_VARIABLE, "").strip())
        or any_distribution_declares_group()
    )


def any_distribution_declares_group() -> bool:
    """Does any installed distribution declare ``[autolog]`` entry points?

    importlib.metadata costs ~15 ms to import, a third of our start-up budget;
    scanning the ``entry_points.txt`` files of ``sys.path`` costs well under one.
    Only when one of them has the group is importlib.metadata asked to load it.
    The answer is kept for as long as ``sys.path`` is the same.
    """
    path = tuple(sys.path)
    if path not in _scanned:
        _scanned.clear()
        _scanned[path] = _scan(path)
    return _scanned[path]


def _scan(path: tuple[str, ...]) -> bool:
    header = f"[{ENTRY_POINT_GROUP}]"
    for folder in path:
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
