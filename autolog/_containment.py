"""Paths that came from elsewhere stay inside their folder.

A server listing, a blob listing, a journal or a model manifest names files by
relative path, and a hostile (or intercepted, plain-HTTP) peer or a crafted
file can name ``../../.bashrc``, ``/etc/passwd`` or ``C:\\Windows``. Every such
path goes through :func:`contained` before anything is read or written: it
refuses absolute paths, drive letters, ``..`` (with either slash, so a
Windows-style name is caught on any system) and NUL, then checks that the
resolved result, symlinks followed, is still under the folder.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from .errors import UnsafePathError

_DRIVE = re.compile(r"^[A-Za-z]:")


def contained(root: Path, relative: str, what: str) -> Path:
    """``root / relative``, or :class:`UnsafePathError` if that would leave ``root``.

    ``what`` says where the path came from, for the error ("artifact listed by
    http://host", "file in the model manifest").
    """
    if not isinstance(relative, str) or not relative.strip("/\\") or "\0" in relative:
        raise UnsafePathError(f"{what} {relative!r} is not a file name; it was refused")
    parts = re.split(r"[\\/]", relative)
    if relative.startswith(("/", "\\")) or _DRIVE.match(relative):
        raise UnsafePathError(f"{what} {relative!r} is an absolute path; it was refused")
    if ".." in parts:
        raise UnsafePathError(f"{what} {relative!r} climbs out of its folder with '..'; refused")
    target = Path(root, *[p for p in parts if p not in ("", ".")])
    base = os.path.realpath(root)
    if os.path.commonpath([base, os.path.realpath(target)]) != base:
        raise UnsafePathError(
            f"{what} {relative!r} leads outside {root} through a symbolic link; it was refused"
        )
    return target
