"""autolog's warnings point at the user's line that triggered them, never at autolog's own.

``warnings.warn(..., stacklevel=N)`` with a fixed N lands inside autolog whenever
the call path differs (a wrapper, a callback, the shipper's thread), and Python
then prints one of our source lines under the message. :func:`warn` walks the
stack out of autolog (and out of the frameworks and the standard library, which
call us back) to the first frame of the user's code and attributes the warning
there. When there is none (the shipper's background thread), the warning has
no source line at all: one line, the message.

Filters still apply as usual (``-W error::autolog.errors.AutologWarning`` makes it raise).
"""

from __future__ import annotations

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
        warnings.warn_explicit(message, category, "autolog", 0, module="autolog", registry={})
        return
    module = frame.f_globals.get("__name__", "__main__")
    registry = frame.f_globals.setdefault("__warningregistry__", {})
    warnings.warn_explicit(
        message, category, frame.f_code.co_filename, frame.f_lineno, module, registry
    )
