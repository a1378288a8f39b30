"""Journal sources: the few primitives a store answers so autolog can read its runs.

A store of runs, wherever its bytes live (a local folder, a blob container, a
plugin's own storage), is read through one :class:`~autolog._reader.JournalReader`.
Like fsspec's ``AbstractFileSystem``, a source only says how to reach its bytes:

=========================================  =====================================================
``run_ids()``                              the ids of the runs it holds
``signature(run_id)``                      ``(size, version)`` of the run's journal, None if absent
``read_bytes(run_id, start, stop)``        the journal's bytes from offset ``start``
``open_artifact(run_id, path)``            one artifact file, as an :class:`ArtifactFile`
=========================================  =====================================================

and everything else is derived once, here and in the reader: ``get_run``,
``search_runs`` (MLflow filter syntax, paged, answered from the derived index),
``get_metric_history``, ``download_artifacts``, and the web UI (``autolog ui``).
A plugin backend that subclasses :class:`JournalSource` gets all of them.

A source may override the cheap-listing helpers: ``signatures()`` (every run
with its signature, in one call where the store allows it), ``store_signature()``
(a value that changes whenever runs are added or removed, such as a folder's
mtime) and ``index_location()`` (where its derived index may live).
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable, Iterator
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING

from ._plain import Fields
from ._records import is_run_id
from .errors import RunNotFoundError

if TYPE_CHECKING:
    from ._reader import JournalReader
    from ._records import MetricPoint, RunRecord

__all__ = ["ArtifactFile", "JournalSource", "Signature", "is_run_id"]

#: What tells a reader that a journal changed: its size first, then anything that
#: changes with its content (mtime and inode of a file, a blob's etag).
Signature = tuple[int, Hashable]


class ArtifactFile(Fields):
    """An artifact ready to read: a local ``path``, or ``chunks`` of its bytes.

    ``cleanup`` runs once the file has been read or sent (a temporary
    download, an open stream).
    """

    name: str
    path: Path | None = None
    chunks: Iterator[bytes] | None = None
    size: int | None = None
    cleanup: Callable[[], None] | None = None

    def save_to(self, target: Path) -> Path:
        """Write the file to ``target`` (its folder is created), then clean up."""
        import shutil  # here: shutil costs milliseconds of autolog()'s start-up

        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            if self.path is not None:
                shutil.copyfile(self.path, target)
            else:
                with open(target, "wb") as f:
                    for chunk in self.chunks or ():
                        f.write(chunk)
        finally:
            if self.cleanup is not None:
                self.cleanup()
        return target


class JournalSource:
    """Base class of every store of journals; subclasses implement the four primitives."""

    #: Where the runs come from, for messages (credentials stripped).
    uri: str = ""

    @property
    def label(self) -> str:
        """The store as messages name it ("the local store /path"); its ``uri`` by default."""
        return self.uri

    #: Seconds a listing stays fresh for the web UI; a remote store is asked less often.
    listing_interval: float = 1.0

    # -- the primitives -------------------------------------------------------

    def run_ids(self) -> Iterable[str]:
        """Ids of the runs the store holds."""
        raise NotImplementedError

    def signature(self, run_id: str) -> Signature | None:
        """The journal's ``(size, version)``, or None when the run has no journal."""
        raise NotImplementedError

    def read_bytes(self, run_id: str, start: int = 0, stop: int | None = None) -> bytes:
        """The journal's bytes in ``[start, stop)``; RunNotFoundError if there is no journal."""
        raise NotImplementedError

    def open_artifact(self, run_id: str, path: str) -> ArtifactFile:
        """One artifact file of the run; RunNotFoundError if it is not a file there,
        ValueError if ``path`` leaves the run's artifact folder."""
        raise NotImplementedError

    # -- cheap listing, overridable ------------------------------------------

    def signatures(self) -> dict[str, Signature]:
        """Every run with its journal's signature."""
        found = {}
        for run_id in self.run_ids():
            signature = self.signature(run_id)
            if signature is not None:
                found[run_id] = signature
        return found

    def store_signature(self) -> Hashable | None:
        """A value that changes whenever a run is added or removed; None if there is none."""
        return None

    def index_location(self) -> Path | None:
        """The folder where the derived index may live; None keeps it in memory."""
        return None

    # -- the read API, derived -----------------------------------------------

    @property
    def journal_reader(self) -> JournalReader:
        """The one reader of this source (with its index), made on first use."""
        reader = self.__dict__.get("_journal_reader")
        if reader is None:
            from ._reader import JournalReader

            reader = self.__dict__["_journal_reader"] = JournalReader(self)
        return reader

    def close(self) -> None:
        """Let go of the index's open file, so a closed backend holds nothing of its folder
        (a store on a removable or unmounted disk); reading again reopens it."""
        reader = self.__dict__.get("_journal_reader")
        if reader is not None:
            reader.index.close()

    def get_run(self, run_id: str) -> RunRecord:
        """The run with this id; raises :class:`~autolog.errors.RunNotFoundError`."""
        return self.journal_reader.get_run(run_id)

    def get_metric_history(self, run_id: str, key: str) -> list[MetricPoint]:
        """Every point logged for metric ``key`` in the run, in logging order."""
        return self.journal_reader.get_metric_history(run_id, key)

    def search_runs(
        self,
        experiment: str | None = None,
        filter: str | None = None,
        order_by: list[str] | None = None,
    ) -> list[RunRecord]:
        """Runs of ``experiment`` (every experiment when None) matching ``filter``; like
        every backend's, soft-deleted ones included (``autolog.search_runs`` hides them)."""
        return self.journal_reader.search(experiment, filter, order_by, deleted=True).runs

    def download_artifacts(self, run_id: str, path: str, dest: Path) -> Path:
        """Copy the artifact file or folder ``path`` of the run into ``dest``.

        A folder is the artifacts the journal names under it, so only files
        the run logged are read.
        """
        folder = PurePosixPath(path.strip("/"))
        names = self.journal_reader.artifact_files(run_id)
        inside = [name for name in names if PurePosixPath(name).is_relative_to(folder)]
        if not inside:
            raise RunNotFoundError(f"run {run_id!r} has no artifact {path!r} in {self.label}")
        target = Path(dest) / folder.name
        if inside == [str(folder)]:
            return self.open_artifact(run_id, str(folder)).save_to(target)
        for name in inside:
            relative = PurePosixPath(name).relative_to(folder)
            self.open_artifact(run_id, name).save_to(target / relative)
        return target
