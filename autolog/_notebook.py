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
  thread (the shipper, the system-metrics sampler) is shown in the cell of the
  run it concerns, not in whatever cell happens to be running (see
  :class:`_WarningDisplay`);
* at kernel shutdown the runs still open end FINISHED (a cell that raised
  earlier is not the process dying, as an uncaught exception is in a script),
  and what is said then goes to the kernel's own stderr (the terminal or log
  of the Jupyter server), since no cell is listening any more.

Nothing here imports IPython: it is only read from ``sys.modules`` when the
kernel has already loaded it.
"""

from __future__ import annotations

import atexit
import os
import re
import sys
import threading
import warnings
from typing import Any, TextIO

from .errors import AutologWarning
from .hookspecs import hookimpl

CELL_TAG = "autolog.notebook.cell"
_ADDRESS = re.compile(r"0x[0-9a-fA-F]+")


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
    _display.install(ip)
    count = cell_number(ip)
    if count is not None:
        run.set_tags({CELL_TAG: str(count)})
    if run.parent_id is None:
        _display.started_in_cell.append(run)


def cell_number(ip: Any) -> int | None:
    """The running cell's ``In [n]``.

    ``In`` gets the cell's source before it runs, whichever IPython; the
    ``execution_count`` attribute is already the next number in IPython 9.
    """
    history = getattr(ip, "user_ns", {}).get("In")
    if isinstance(history, list) and len(history) > 1:
        return len(history) - 1
    count = getattr(ip, "execution_count", None)
    return count if isinstance(count, int) else None


class _WarningDisplay:
    """Where autolog's warnings are shown in a kernel, each once.

    A warning on the thread running the cell shows in that cell, as usual. One
    from a background thread shows in the cell running now if that cell
    started the run (it is the run's cell), and otherwise in the note left in
    the cell of the latest run still open: when a cell ends with a run open, it
    shows "run ... is still open" under a display id, and later warnings are
    added to that display (``update_display_data``), so they never land in an
    unrelated cell. At shutdown, warnings go to the kernel's own stderr.
    """

    def __init__(self) -> None:
        self.original: Any = None
        self.shown: set[str] = set()
        self.started_in_cell: list[Any] = []  # top-level runs started by the running cell
        self.home: tuple[Any, list[str]] | None = None  # display handle, its lines
        self.shutting_down = False
        self.registered = False
        self.lock = threading.Lock()

    def install(self, ip: Any) -> None:
        """Become ``warnings.showwarning`` (again, if something put another one back).

        This runs when a run starts, usually inside a fit, i.e. inside
        autolog's own code: that is why ``_patch.own_code`` swaps only the
        filters and leaves ``showwarning`` as it finds it at the end.
        """
        if warnings.showwarning is not self:
            self.original = warnings.showwarning
            warnings.showwarning = self  # type: ignore[assignment]
        if not self.registered:
            self.registered = True
            ip.events.register("post_run_cell", self.cell_ended)
            atexit.register(self.shutdown)  # after autolog's own atexit handler: runs before it

    def shutdown(self) -> None:
        self.shutting_down = True

    def cell_ended(self, result: Any = None) -> None:
        """Still in the cell: leave a note for each run it started that stays open."""
        still_open = [run for run in self.started_in_cell if not run.ended]
        self.started_in_cell = []
        if not still_open:
            return
        from IPython.display import display

        lines = [
            f"autolog: run {run.name!r} ({run.id}) stays open; it ends with run.end() or when "
            "the kernel shuts down"
            for run in still_open
        ]
        handle = display({"text/plain": "\n".join(lines)}, raw=True, display_id=True)
        self.home = (handle, lines)

    def __call__(
        self, message: Any, category: type, filename: str, lineno: int, *rest: Any
    ) -> None:
        if not (isinstance(category, type) and issubclass(category, AutologWarning)):
            self.original(message, category, filename, lineno, *rest)
            return
        key = _ADDRESS.sub("0x", str(message))  # the same warning about another object
        with self.lock:
            if key in self.shown:
                return
            self.shown.add(key)
        if self.shutting_down and sys.__stderr__ is not None:
            sys.__stderr__.write(warnings.formatwarning(message, category, filename, lineno))
            return
        background = threading.current_thread() is not threading.main_thread()
        home = self.home
        if not background or self.started_in_cell or home is None:
            self.original(message, category, filename, lineno, *rest)
            return
        handle, lines = home
        lines.append(f"{category.__name__}: {message}")
        handle.update({"text/plain": "\n".join(lines)}, raw=True)


_display = _WarningDisplay()


def script_path() -> str:
    """The code this process runs: the notebook's file in a kernel, else the script's path."""
    notebook = notebook_path()
    if notebook is not None:
        return notebook  # not ipykernel_launcher.py
    main = sys.modules.get("__main__")
    path = getattr(main, "__file__", None) or (sys.argv[0] if sys.argv and sys.argv[0] else "")
    if not path or path == "-c":
        return "<interactive>" if not path else "<command>"
    return os.path.abspath(path)
