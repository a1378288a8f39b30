"""Built-in plugin: runs started in a Jupyter notebook (classic, Lab, VS Code).

Without it a notebook run is tagged as ``ipykernel_launcher.py -f <connection
file>``. Here:

* the source is the notebook file: VS Code's ``__vsc_ipynb_file__``, or the
  ``__session__`` / ``JPY_SESSION_NAME`` that Jupyter Server gives the kernel
  (a path relative to the server's root, made absolute against the kernel's
  working directory when the file is there);
* each run started in a cell is tagged ``autolog.notebook.cell`` with that
  cell's execution count (``In [7]``);
* an AutologWarning is shown once per kernel, and one raised on a background
  thread (the shipper, the system-metrics sampler) is shown in the cell that
  started the latest run rather than in whatever cell happens to be running;
* at kernel shutdown the runs still open end FINISHED (a cell that raised
  earlier is not the process dying, as an uncaught exception is in a script),
  and what is said then goes to the kernel's own stderr (the terminal or log
  of the Jupyter server), since no cell is listening any more.

Nothing here imports IPython: it is only read from ``sys.modules`` when the
kernel has already loaded it.
"""

from __future__ import annotations

import os
import sys
import threading
import warnings
from typing import Any, TextIO

from .errors import AutologWarning
from .hookspecs import hookimpl

CELL_TAG = "autolog.notebook.cell"


def shell() -> Any:
    """The running IPython kernel shell, or None outside a Jupyter kernel."""
    if "ipykernel" not in sys.modules or "IPython" not in sys.modules:
        return None
    get_ipython = getattr(sys.modules["IPython"], "get_ipython", None)
    found = get_ipython() if get_ipython is not None else None
    return found if found is not None and getattr(found, "kernel", None) is not None else None


def notebook_path() -> str | None:
    """The notebook file this kernel runs, when the frontend said which."""
    ip = shell()
    if ip is None:
        return None
    namespace = getattr(ip, "user_ns", {})
    for candidate in (
        namespace.get("__vsc_ipynb_file__"),
        namespace.get("__session__"),
        os.environ.get("JPY_SESSION_NAME"),
    ):
        if isinstance(candidate, str) and candidate.strip():
            path = candidate.strip()
            if not os.path.isabs(path) and os.path.exists(os.path.basename(path)):
                path = os.path.abspath(os.path.basename(path))
            return path
    return "<notebook>"


def shutdown_stream() -> TextIO:
    """Where to say something at exit: the kernel's own stderr inside a notebook."""
    if shell() is not None and sys.__stderr__ is not None:
        return sys.__stderr__
    return sys.stderr


def exit_is_clean() -> bool:
    """True at a kernel's shutdown, where ``sys.last_value`` is only some cell's old error."""
    return shell() is not None


@hookimpl
def autolog_run_started(run: Any) -> None:
    ip = shell()
    if ip is None:
        return
    _install_warning_display()
    count = getattr(ip, "execution_count", None)
    if isinstance(count, int):
        run.set_tags({CELL_TAG: str(count)})
    stream = sys.stderr
    header = getattr(stream, "parent_header", None)
    if header and hasattr(stream, "set_thread_parent"):
        _display.home = (stream, header)


class _WarningDisplay:
    """Shows each AutologWarning once, background threads' in the cell of the latest run."""

    def __init__(self, original: Any) -> None:
        self.original = original
        self.shown: set[str] = set()
        self.home: tuple[Any, dict] | None = None
        self.lock = threading.Lock()

    def __call__(
        self, message: Any, category: type, filename: str, lineno: int, *rest: Any
    ) -> None:
        if not (isinstance(category, type) and issubclass(category, AutologWarning)):
            self.original(message, category, filename, lineno, *rest)
            return
        with self.lock:
            if str(message) in self.shown:
                return
            self.shown.add(str(message))
        home = self.home
        if home is None or threading.current_thread() is threading.main_thread():
            self.original(message, category, filename, lineno, *rest)
            return
        stream, header = home
        token = stream.set_thread_parent(header)
        try:
            self.original(message, category, filename, lineno, *rest)
        finally:
            stream.reset_thread_parent(token)


_display = _WarningDisplay(warnings.showwarning)


def _install_warning_display() -> None:
    if warnings.showwarning is not _display:
        _display.original = warnings.showwarning
        warnings.showwarning = _display
