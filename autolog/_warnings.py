"""autolog's warnings point at the user's line that triggered them, never at autolog's own.

``warnings.warn(..., stacklevel=N)`` with a fixed N lands inside autolog whenever
the call path differs (a wrapper, a callback, the shipper's thread), and Python
then prints one of our source lines under the message. :func:`warn` walks the
stack out of autolog (and out of the frameworks and the standard library, which
call us back) to the first frame of the user's code and attributes the warning
there. When there is none (the shipper's background thread), the warning has
no source line at all: one line, the message.

The user's filters decide whether a warning is shown, but never make one raise:
under ``simplefilter("error")``, ``-W error`` or pytest's ``filterwarnings = error``
an exception from inside the user's ``fit`` would replace their own exception or
stop a fit that was fine, so such a warning is shown instead.

While autolog's own code runs inside a user's call (:func:`held_back`, used by
``_patch.own_code``), other libraries' warnings are silenced and ours are held
per thread, then shown when our code is done. Only the filters are swapped for
that, never ``warnings.showwarning``: ``catch_warnings`` would put back the
``showwarning`` of the moment it was entered, undoing a display hook installed
meanwhile (the notebook's, installed when the first run starts inside a fit),
and its ``record=True`` would also catch the warnings of every other thread.
"""

from __future__ import annotations

import contextlib
import functools
import os
import sys
import threading
import warnings
from collections.abc import Iterator
from types import FrameType

from .errors import AutologWarning

_OURS = os.path.dirname(os.path.abspath(__file__))


@functools.cache
def _not_user() -> tuple[str, ...]:
    """Folders whose frames are not the user's: ours, the stdlib's, site-packages.

    Computed at the first warning: sysconfig costs a millisecond of autolog()'s start-up.
    """
    import sysconfig

    return tuple(
        {
            _OURS + os.sep,
            os.path.dirname(_OURS) + os.sep + "backends" + os.sep,
            os.path.dirname(_OURS) + os.sep + "integrations" + os.sep,
            *(
                os.path.abspath(p) + os.sep
                for p in {sysconfig.get_paths()[k] for k in ("stdlib", "purelib", "platlib")}
            ),
        }
    )


#: Where warnings with no user frame are remembered, so the default filter shows each once.
_NO_SOURCE_REGISTRY: dict = {}

#: ``held``: this thread's warnings waiting for the end of our code (see :func:`held_back`).
_local = threading.local()
#: The filters in force outside our code, while any thread is inside it.
_silenced = threading.Lock()
_inside = 0
_user_filters: list = []


def _user_frame(depth: int = 2) -> FrameType | None:
    frame: FrameType | None = sys._getframe(depth)
    while frame is not None:
        name = frame.f_code.co_filename
        if not name.startswith("<") and not os.path.abspath(name).startswith(_not_user()):
            return frame
        frame = frame.f_back
    return None


def warn(message: str, category: type[Warning] = AutologWarning) -> None:
    """Warn with the user's line as the source, or with no source line when there is none."""
    frame = _user_frame(2)
    if frame is None:
        filename, lineno, module, registry = "autolog", 0, "autolog", _NO_SOURCE_REGISTRY
    else:
        filename, lineno = frame.f_code.co_filename, frame.f_lineno
        module = frame.f_globals.get("__name__", "__main__")
        registry = frame.f_globals.setdefault("__warningregistry__", {})
    held = getattr(_local, "held", None)
    if held is not None:
        held.append((message, category, filename, lineno, module, registry))
    else:
        _show(message, category, filename, lineno, module, registry)


def _show(
    message: Warning | str,
    category: type[Warning],
    filename: str,
    lineno: int,
    module: str | None = None,
    registry: dict | None = None,
) -> None:
    try:
        warnings.warn_explicit(message, category, filename, lineno, module, registry)
    except Warning:  # a filter made it an error: show it, never raise it into user code
        with contextlib.suppress(Exception):
            warnings.showwarning(message, category, filename, lineno)  # type: ignore[arg-type]
    except Exception:
        pass


@contextlib.contextmanager
def held_back() -> Iterator[None]:
    """Around autolog's own code: other warnings silenced, ours held and shown at the end.

    Held warnings are shown under the user's filters once the filters are back,
    in order. The filters are the process's (as ``catch_warnings``'s are): the
    first thread in silences them and the last one out restores them, so two
    threads training at once cannot leave them silenced. An AutologWarning
    another thread emits meanwhile (the shipper's) is shown at once, never
    raised. Nested blocks hold until the outermost ends.
    """
    if getattr(_local, "held", None) is not None:
        yield
        return
    held: list[tuple] = []
    _local.held = held
    _silence()
    try:
        yield
    finally:
        _local.held = None
        _unsilence()
        for waiting in held:
            _show(*waiting)


def _silence() -> None:
    global _inside, _user_filters
    with _silenced:
        if _inside == 0:
            _user_filters = list(warnings.filters)
            warnings.simplefilter("ignore")
            warnings.simplefilter("default", AutologWarning)
        _inside += 1


def _unsilence() -> None:
    global _inside
    with _silenced:
        _inside -= 1
        if _inside == 0:
            warnings.resetwarnings()  # public, and tells the registries the filters changed
            warnings.filters[:] = _user_filters  # type: ignore[index]
