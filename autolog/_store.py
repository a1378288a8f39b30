"""The local store: a folder of runs, each a journal with its artifacts beside it.

Layout (the same under a blob container's prefix)::

    autolog-runs/
      <run_id>/
        journal.jsonl          the run's records, see autolog._journal
        artifacts/<path>       files logged with log_artifact, and model/
        shipped/<backend>.json the offset each remote backend acknowledged

Runs are folders named by their id, so parallel processes never write the same
file, and finding a run by id is one ``stat``.
"""

from __future__ import annotations

import json
import os
import stat
import time
from collections.abc import Hashable, Iterator
from pathlib import Path, PurePosixPath

from ._journal import JOURNAL_NAME
from .errors import RunNotFoundError
from .sources import ArtifactFile, JournalSource, Signature, is_run_id

#: Opening a store's files never follows a symlink nor waits on a FIFO or device.
_SAFE_OPEN = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
_SAFE_DIR = _SAFE_OPEN | getattr(os, "O_DIRECTORY", 0)
INDEX_FOLDER = ".autolog-index"
#: A store folder's mtime younger than this (2 s) is not trusted as a change signal.
RECENT_NS = 2_000_000_000


class LocalStore(JournalSource):
    """Lays out runs under ``root`` and reads them; the journal itself is written by Run.

    Reading never follows a symlink inside the store (the root itself may be
    one) and reads only regular files, so a run folder, journal or artifact
    pointing elsewhere (``/etc``, ``/dev/zero``, a FIFO) is skipped or refused.
    """

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root)
        self.uri = str(self.root)

    @property
    def label(self) -> str:
        return f"the local store {self.root}"

    def run_dir(self, run_id: str) -> Path:
        return self.root / run_id

    def journal_path(self, run_id: str) -> Path:
        return self.root / run_id / JOURNAL_NAME

    def artifacts_dir(self, run_id: str) -> Path:
        return self.root / run_id / "artifacts"

    def create_run_dir(self, run_id: str) -> Path:
        path = self.run_dir(run_id)
        path.mkdir(parents=True, exist_ok=False)
        return path

    # -- the JournalSource primitives ----------------------------------------

    def run_ids(self) -> Iterator[str]:
        """Ids of every run folder that holds a journal."""
        return iter(self.signatures())

    def signatures(self) -> dict[str, Signature]:
        try:
            entries = list(os.scandir(self.root))
        except (FileNotFoundError, NotADirectoryError):
            return {}
        found = {}
        for entry in entries:
            if is_run_id(entry.name) and entry.is_dir(follow_symlinks=False):
                signature = _journal_signature(entry.path)
                if signature is not None:
                    found[entry.name] = signature
        return found

    def signature(self, run_id: str) -> Signature | None:
        if not is_run_id(run_id):
            return None
        folder = os.path.join(self.root, run_id)
        try:
            if not stat.S_ISDIR(os.lstat(folder).st_mode):
                return None
        except OSError:
            return None
        return _journal_signature(folder)

    def read_bytes(self, run_id: str, start: int = 0, stop: int | None = None) -> bytes:
        fd = self._open(run_id, (JOURNAL_NAME,))
        try:
            if stop is None:
                stop = os.fstat(fd).st_size
            return os.pread(fd, max(0, stop - start), start)
        finally:
            os.close(fd)

    def open_artifact(self, run_id: str, path: str) -> ArtifactFile:
        parts = artifact_parts(path)
        try:
            fd = self._open(run_id, ("artifacts", *parts))
        except RunNotFoundError:
            raise RunNotFoundError(f"run {run_id} has no artifact file {path!r}") from None
        try:
            size = os.fstat(fd).st_size
        finally:
            os.close(fd)
        return ArtifactFile(
            name=parts[-1], path=self.artifacts_dir(run_id).joinpath(*parts), size=size
        )

    def store_signature(self) -> Hashable | None:
        """The root's mtime and inode; None while the mtime is too recent to trust.

        A folder's mtime has the kernel's coarse clock: a run created in the same
        tick as a listing would leave it unchanged, so a fresh mtime is no signal.
        """
        try:
            info = os.stat(self.root)
        except OSError:
            return None
        if time.time_ns() - info.st_mtime_ns < RECENT_NS:
            return None
        return (info.st_mtime_ns, info.st_ino)

    def index_location(self) -> Path | None:
        return self.root / INDEX_FOLDER

    def _open(self, run_id: str, parts: tuple[str, ...]) -> int:
        """A descriptor for the regular file ``root/run_id/parts``, no symlink followed."""
        if not is_run_id(run_id):
            raise RunNotFoundError(f"{run_id!r} is not a run id (32 hexadecimal digits)")
        try:
            folder = os.open(os.path.join(self.root, run_id), _SAFE_DIR)
        except OSError:
            raise RunNotFoundError(f"no run {run_id!r} in the local store {self.root}") from None
        try:
            for name in parts[:-1]:
                inner = os.open(name, _SAFE_DIR, dir_fd=folder)
                os.close(folder)
                folder = inner
            fd = os.open(parts[-1], _SAFE_OPEN, dir_fd=folder)
        except OSError:
            raise RunNotFoundError(
                f"run {run_id!r} in {self.root} has no regular file {'/'.join(parts)!r} "
                "(symlinks, FIFOs and devices are not read)"
            ) from None
        finally:
            os.close(folder)
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            os.close(fd)
            raise RunNotFoundError(
                f"{'/'.join(parts)!r} of run {run_id!r} in {self.root} is not a regular file"
            )
        return fd

    # -- writing artifacts (the training side) --------------------------------

    def artifact_path(self, run_id: str, path: str) -> Path:
        """Where artifact ``path`` of the run lives; refuses paths leaving the folder."""
        base = self.artifacts_dir(run_id).resolve()
        target = (base / path).resolve()
        if target != base and base not in target.parents:
            raise ValueError(f"artifact path {path!r} leaves the run's artifact folder")
        return target

    # Acknowledged offsets of remote backends, so `autolog sync` can resume anywhere.

    def acked_offset(self, run_id: str, backend_key: str) -> int:
        try:
            data = json.loads(
                (self.run_dir(run_id) / "shipped" / f"{backend_key}.json").read_text()
            )
            return int(data["offset"])
        except (OSError, ValueError, KeyError, TypeError):
            return 0

    def set_acked_offset(self, run_id: str, backend_key: str, uri: str, offset: int) -> None:
        folder = self.run_dir(run_id) / "shipped"
        folder.mkdir(exist_ok=True)
        write_atomically(folder / f"{backend_key}.json", json.dumps({"uri": uri, "offset": offset}))


def local_path(uri: str) -> Path | None:
    """The folder a path or ``file:`` URI names, or None for other schemes."""
    if uri.startswith("file:"):
        from urllib.parse import unquote, urlparse

        parsed = urlparse(uri)
        return Path(unquote(parsed.path))
    if "://" in uri:
        return None
    return Path(uri).expanduser()


def write_atomically(path: Path, text: str) -> None:
    """Replace ``path`` with ``text`` so that a reader sees the old or the new, never half."""
    import tempfile  # here: tempfile (with shutil, random) costs milliseconds of the start-up

    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "w") as f:
            f.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def sha256_file(path: Path) -> str:
    """Hex sha256 of a file, read in 1 MiB chunks."""
    import hashlib

    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def artifact_parts(path: str) -> tuple[str, ...]:
    """The components of an artifact path; ValueError for one that would leave the folder."""
    pure = PurePosixPath(path.replace("\\", "/"))
    parts = tuple(part for part in pure.parts if part not in ("", "."))
    if not parts or pure.is_absolute() or ".." in parts:
        raise ValueError(f"artifact path {path!r} leaves the run's artifact folder")
    return parts


def _journal_signature(folder: str) -> Signature | None:
    """``(size, (mtime_ns, inode))`` of the regular file ``folder/journal.jsonl``."""
    try:
        info = os.lstat(os.path.join(folder, JOURNAL_NAME))
    except OSError:
        return None
    if not stat.S_ISREG(info.st_mode):
        return None
    return (info.st_size, (info.st_mtime_ns, info.st_ino))
