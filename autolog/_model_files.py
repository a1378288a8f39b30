"""The files of a model being saved, hashed from memory as they are written.

The manifest lists every file's sha256 (:mod:`autolog._models`). A file that
autolog or a flavor writes through :func:`write_model_file` while
:func:`recording` is open is hashed from the bytes it was given, so saving does
not read back what it has just written; a file a framework writes by itself
(Keras, torch) is read and hashed afterwards, as before. For a statsmodels
result (a 700 KB pickle) that is a tenth of a millisecond of each fit.
"""

from __future__ import annotations

import contextvars
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

#: (sha256, size) of each file written during the save in progress, by path.
Written = dict[Path, tuple[str, int]]

_written: contextvars.ContextVar[Written | None] = contextvars.ContextVar(
    "autolog_model_files", default=None
)


@contextmanager
def recording() -> Iterator[Written]:
    """Within the block, :func:`write_model_file` records what it writes into the dict yielded."""
    written: Written = {}
    token = _written.set(written)
    try:
        yield written
    finally:
        _written.reset(token)


def write_model_file(path: Path, data: bytes | str) -> None:
    """Write ``data`` (text as UTF-8) to ``path``, keeping its sha256 for the manifest."""
    import hashlib

    raw = data.encode() if isinstance(data, str) else data
    path.write_bytes(raw)
    written = _written.get()
    if written is not None:
        written[path] = (hashlib.sha256(raw).hexdigest(), len(raw))


def digest_and_size(path: Path, written: Written) -> tuple[str, int]:
    """The file's (sha256, size): as recorded when it was written, else read from disk."""
    found = written.get(path)
    if found is not None:
        return found
    from ._store import sha256_file

    return sha256_file(path), path.stat().st_size
