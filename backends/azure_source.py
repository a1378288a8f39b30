"""Reading a blob container laid out like a local store, as a :class:`JournalSource`.

The container's journals are read through autolog's one journal reader, so the
Azure backend answers ``get_run``, ``search_runs`` and ``autolog ui`` exactly as
the local store does. Listing is one paged request for every journal's length
and etag (no journal is downloaded to learn that nothing changed); a journal
is read by byte range from the offset the reader has reached.
"""

from __future__ import annotations

import hashlib
import shutil
import tempfile
from collections.abc import Hashable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .._journal import JOURNAL_NAME
from ..errors import RunNotFoundError
from ..sources import ArtifactFile, JournalSource, Signature, is_run_id

if TYPE_CHECKING:
    from .azure_store import BlobLocation


class BlobJournalSource(JournalSource):
    """The read side of :class:`~autolog.backends.azure.AzureBlobBackend`."""

    #: Listing a container is a request: the web UI asks at most every 10 seconds.
    listing_interval = 10.0
    location: BlobLocation
    store_dir: str
    container: Any

    def _storage_errors(self, doing: str, explain: bool = True) -> Any:
        raise NotImplementedError

    def _prefix(self) -> str:
        base = self.location.blob_name()
        return f"{base}/" if base else ""

    def run_ids(self) -> list[str]:
        """Ids of the runs under the prefix (folders named like run ids)."""
        base = self._prefix()
        with self._storage_errors("listing runs"):
            names = [
                item.name[len(base) :].rstrip("/")
                for item in self.container.walk_blobs(name_starts_with=base, delimiter="/")
            ]
        return [name for name in names if is_run_id(name)]

    def signatures(self) -> dict[str, Signature]:
        """Every journal's ``(length, etag)``, from one listing of the prefix."""
        base = self._prefix()
        found: dict[str, Signature] = {}
        with self._storage_errors("listing runs"):
            for blob in self.container.list_blobs(name_starts_with=base):
                run_id, _, rest = blob.name[len(base) :].partition("/")
                if rest == JOURNAL_NAME and is_run_id(run_id):
                    found[run_id] = (blob.size, blob.etag)
        return found

    def signature(self, run_id: str) -> Signature | None:
        from azure.core.exceptions import ResourceNotFoundError

        if not is_run_id(run_id):
            return None
        blob = self.container.get_blob_client(self.location.blob_name(run_id, JOURNAL_NAME))
        with self._storage_errors(f"reading run {run_id}"):
            try:
                properties = blob.get_blob_properties()
            except ResourceNotFoundError:
                return None
        return (properties.size, properties.etag)

    def read_bytes(self, run_id: str, start: int = 0, stop: int | None = None) -> bytes:
        from azure.core.exceptions import HttpResponseError, ResourceNotFoundError

        if not is_run_id(run_id):
            raise RunNotFoundError(f"{run_id!r} is not a run id (32 hexadecimal digits)")
        if stop is not None and stop <= start:
            return b""
        blob = self.container.get_blob_client(self.location.blob_name(run_id, JOURNAL_NAME))
        length = None if stop is None else stop - start
        with self._storage_errors(f"reading run {run_id}"):
            try:
                return blob.download_blob(offset=start, length=length).readall()
            except ResourceNotFoundError:
                raise RunNotFoundError(f"no run {run_id!r} in {self.uri}") from None
            except HttpResponseError as exc:
                if exc.status_code == 416:  # the range starts at or after the end
                    return b""
                raise

    def open_artifact(self, run_id: str, path: str) -> ArtifactFile:
        """Download one file (checked against its sha256) to a temporary folder."""
        folder = Path(tempfile.mkdtemp(prefix="autolog-blob-"))
        try:
            target = Path(self.download_artifacts(run_id, path, folder))
        except RunNotFoundError:
            shutil.rmtree(folder, ignore_errors=True)
            raise RunNotFoundError(f"run {run_id} has no artifact file {path!r}") from None
        except BaseException:
            shutil.rmtree(folder, ignore_errors=True)
            raise
        if not target.is_file():
            shutil.rmtree(folder, ignore_errors=True)
            raise RunNotFoundError(f"{path!r} of run {run_id} is a folder, not a file")
        return ArtifactFile(
            name=target.name,
            path=target,
            size=target.stat().st_size,
            cleanup=lambda: shutil.rmtree(folder, ignore_errors=True),
        )

    def store_signature(self) -> Hashable | None:
        return None

    def index_location(self) -> Path | None:
        """A folder beside the local store, one per container and prefix."""
        digest = hashlib.sha256(self.uri.encode()).hexdigest()[:16]
        return Path(self.store_dir) / ".autolog-index" / f"blob-{digest}"
