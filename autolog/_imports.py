"""Run a callback when a module is imported, without importing it ourselves.

``autolog()`` must not import scikit-learn, torch or Keras: the user may never
use them, and importing them costs seconds. Instead a finder on
``sys.meta_path`` notices the user's own ``import sklearn`` and calls our
callback right after the module has executed. (wrapt has the same facility,
but importing wrapt costs ~40 ms; we import it only once a framework is in use.)
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable
from types import ModuleType

Callback = Callable[[ModuleType], None]

_callbacks: dict[str, list[Callback]] = {}
_lock = threading.RLock()
_finding = threading.local()


def when_imported(module_name: str, callback: Callback) -> None:
    """Call ``callback(module)`` now if ``module_name`` is imported, else right after its import."""
    with _lock:
        module = sys.modules.get(module_name)
        if module is None:
            _callbacks.setdefault(module_name, []).append(callback)
            _install_finder()
            return
    callback(module)


def forget(module_name: str, callback: Callback) -> None:
    """Stop waiting for ``module_name`` on behalf of ``callback``."""
    with _lock:
        waiting = _callbacks.get(module_name, [])
        if callback in waiting:
            waiting.remove(callback)


def _install_finder() -> None:
    if not any(isinstance(finder, _PostImportFinder) for finder in sys.meta_path):
        sys.meta_path.insert(0, _PostImportFinder())


def _fire(module_name: str, module: ModuleType) -> None:
    with _lock:
        callbacks = _callbacks.pop(module_name, [])
    for callback in callbacks:
        callback(module)


class _PostImportFinder:
    """Finds watched modules through the other finders and wraps their loader.

    A meta path finder by protocol (``find_spec``), not by subclassing
    ``importlib.abc.MetaPathFinder``: importing ``importlib.abc`` pulls in
    ``importlib.resources`` and ``inspect``, a third of autolog's start-up.
    """

    def find_spec(self, fullname, path, target=None):
        if fullname not in _callbacks or getattr(_finding, "name", None) == fullname:
            return None
        _finding.name = fullname
        try:
            for finder in sys.meta_path:
                if finder is self or not hasattr(finder, "find_spec"):
                    continue
                spec = finder.find_spec(fullname, path, target)
                if spec is not None:
                    break
            else:
                return None
        finally:
            _finding.name = None
        if spec.loader is None or not hasattr(spec.loader, "exec_module"):
            return spec
        spec.loader = _NotifyingLoader(spec.loader)  # type: ignore[assignment]  # duck-typed
        return spec


class _NotifyingLoader:
    """Delegates to the real loader, then fires the callbacks for the module."""

    def __init__(self, loader) -> None:
        self._loader = loader

    def create_module(self, spec):
        return self._loader.create_module(spec)

    def exec_module(self, module: ModuleType) -> None:
        self._loader.exec_module(module)
        module.__loader__ = self._loader
        if module.__spec__ is not None:
            module.__spec__.loader = self._loader
        # importlib binds a submodule to its package only after this returns;
        # do it now so that callbacks can use `import package.submodule`.
        parent, _, child = module.__name__.rpartition(".")
        if parent in sys.modules:
            setattr(sys.modules[parent], child, module)
        _fire(module.__name__, module)

    def __getattr__(self, name):
        return getattr(self._loader, name)
