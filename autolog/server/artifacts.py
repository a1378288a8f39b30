"""Where the server keeps artifact files, behind a small interface.

The ``mlflow-artifacts`` proxy routes only see :class:`ArtifactStore`; today's
implementation is a local folder, and an Azure blob container (or anything else
that can store a stream under a name) slots in by implementing the same five
methods and adding a scheme to :func:`open_artifact_store`.

Paths come from URLs, so every path is normalised here, once: ``..`` segments,
absolute paths, backslashes and NUL bytes are refused, which keeps a request
from reading or writing outside the store whatever the backend.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Protocol
from urllib.parse import unquote, urlparse

from .errors import invalid


@dataclass(frozen=True)
class ArtifactInfo:
    """One entry of a listing: its name in the listed folder, and size for files."""

    name: str
    is_dir: bool
    size: int | None = None


class PendingWrite(Protocol):
    """A file being uploaded: nothing is visible under its path until :meth:`commit`."""

    def write(self, chunk: bytes) -> None: ...

    def commit(self) -> None: ...

    def abort(self) -> None: ...


class ArtifactStore(Protocol):
    """The operations the artifact proxy needs; paths are already normalised."""

    location: str

    def begin_write(self, path: str) -> PendingWrite: ...

    def open(self, path: str) -> BinaryIO:
        """The file's content; raises FileNotFoundError (also for a folder)."""
        ...

    def local_path(self, path: str) -> Path | None:
        """The file on local disk, so it can be sent with sendfile; None if not local."""
        ...

    def list(self, path: str) -> list[ArtifactInfo]:
        """Entries of folder ``path`` ("" for the root); empty for a file or nothing."""
        ...

    def delete(self, path: str) -> None: ...


def normalise_path(path: str, allow_empty: bool = False) -> str:
    """``path`` with ``.`` and empty segments removed; raises INVALID_PARAMETER_VALUE if unsafe."""
    if "\x00" in path or "\\" in path:
        raise invalid(f"artifact path {path!r} contains a backslash or NUL byte")
    if path.startswith("/") or re.match(r"^[A-Za-z]:", path):
        raise invalid(f"artifact path {path!r} is absolute; give a path relative to the run")
    parts = [part for part in path.split("/") if part not in ("", ".")]
    if ".." in parts:
        raise invalid(f"artifact path {path!r} contains '..'; paths cannot leave their folder")
    if not parts and not allow_empty:
        raise invalid("artifact path is empty; name a file")
    return "/".join(parts)


class _LocalPendingWrite:
    def __init__(self, target: Path) -> None:
        self.target = target
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, temp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".part")
        self._temp = Path(temp)
        self._file = os.fdopen(fd, "wb")

    def write(self, chunk: bytes) -> None:
        self._file.write(chunk)

    def commit(self) -> None:
        """fsync, then rename over the target: readers see the old file or the whole new one."""
        try:
            self._file.flush()
            os.fsync(self._file.fileno())
            self._file.close()
            if self.target.is_dir():
                raise IsADirectoryError(f"{self.target.name} is a folder")
            os.replace(self._temp, self.target)
            _fsync_dir(self.target.parent)
        except BaseException:
            self.abort()
            raise

    def abort(self) -> None:
        if not self._file.closed:
            self._file.close()
        self._temp.unlink(missing_ok=True)


class LocalArtifactStore:
    """Artifacts as files under a root folder; uploads are atomic and fsynced."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root).expanduser().resolve()
        self.root.mkdir(parents=True, exist_ok=True)
        self.location = str(self.root)

    def _path(self, path: str) -> Path:
        return self.root.joinpath(*path.split("/")) if path else self.root

    def begin_write(self, path: str) -> PendingWrite:
        return _LocalPendingWrite(self._path(path))

    def open(self, path: str) -> BinaryIO:
        target = self._path(path)
        if not target.is_file():
            raise FileNotFoundError(path)
        return open(target, "rb")

    def local_path(self, path: str) -> Path | None:
        target = self._path(path)
        return target if target.is_file() else None

    def list(self, path: str) -> list[ArtifactInfo]:
        folder = self._path(path)
        if not folder.is_dir():
            return []
        entries = []
        for entry in sorted(os.scandir(folder), key=lambda e: e.name):
            if entry.name.startswith(".") and entry.name.endswith(".part"):
                continue  # an upload in progress
            if entry.is_dir():
                entries.append(ArtifactInfo(entry.name, True))
            else:
                entries.append(ArtifactInfo(entry.name, False, entry.stat().st_size))
        return entries

    def delete(self, path: str) -> None:
        target = self._path(path)
        if target.is_dir():
            shutil.rmtree(target)
        elif target.exists():
            target.unlink()
        else:
            raise FileNotFoundError(path)


def open_artifact_store(location: str) -> ArtifactStore:
    """The artifact store for ``--artifacts``: a folder path or ``file:`` URI today."""
    if location.startswith("file:"):
        return LocalArtifactStore(unquote(urlparse(location).path))
    if "://" in location:
        scheme = location.split("://", 1)[0]
        raise ValueError(
            f"unsupported artifact store scheme {scheme!r}: give a folder path or file: URI"
        )
    return LocalArtifactStore(location)


def _fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
