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
"""

from __future__ import annotations

import contextlib
import os
import sys
import sysconfig
import warnings
from types import FrameType

from .errors import AutologWarning

_OURS = os.path.dirname(os.path.abspath(__file__))
_NOT_USER = tuple(
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


def _user_frame(depth: int = 2) -> FrameType | None:
    frame: FrameType | None = sys._getframe(depth)
    while frame is not None:
        name = frame.f_code.co_filename
        if not name.startswith("<") and not os.path.abspath(name).startswith(_NOT_USER):
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
    try:
        warnings.warn_explicit(message, category, filename, lineno, module, registry)
    except Warning:  # a filter made it an error: show it, never raise it into user code
        with contextlib.suppress(Exception):
            warnings.showwarning(message, category, filename, lineno)  # type: ignore[arg-type]
    except Exception:
        pass
