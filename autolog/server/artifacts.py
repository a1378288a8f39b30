"""Where the server keeps artifact files, behind a small interface.

The ``mlflow-artifacts`` proxy routes only see :class:`ArtifactStore`. There
are two: a local folder, and an Azure blob container (``wasbs://`` or
``azure://``, the Azure backend's :class:`BlobArtifactStore`, imported only when
asked for). Anything else that can store a stream under a name slots in by
implementing the same five methods and adding a scheme to
:func:`open_artifact_store`.

Paths come from URLs, so every path is normalised here, once: ``..`` segments,
absolute paths, backslashes and NUL bytes are refused, which keeps a request
from reading or writing outside the store whatever the backend.
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
import re
import shutil
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO, Protocol
from urllib.parse import unquote, urlparse

from ..errors import ConfigurationError
from .errors import invalid

if TYPE_CHECKING:
    from ..backends.azure_artifacts import BlobArtifactStore, BlobUpload
    from ..backends.azure_store import BlobLocation, Credentials

#: Schemes of the blob storage URIs ``--artifacts`` takes, as the Azure backend does.
BLOB_SCHEMES = ("wasbs", "azure")


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
    """The artifact store for ``--artifacts``: a folder path, a ``file:`` URI or a blob URI."""
    if location.startswith("file:"):
        return LocalArtifactStore(unquote(urlparse(location).path))
    if "://" in location:
        scheme = location.split("://", 1)[0].lower()
        if scheme in BLOB_SCHEMES:
            return open_blob_artifact_store(location)
        raise ValueError(
            f"unsupported artifact store scheme {scheme!r}: give a folder path, a file: URI, "
            "or a wasbs:// or azure:// URI"
        )
    return LocalArtifactStore(location)


def open_blob_artifact_store(uri: str) -> ArtifactStore:
    """A blob container as the artifact store, created if missing and tried once now.

    Credentials come from the environment, as for the Azure backend. Trying
    them here makes a server that could not keep a single file refuse to start,
    with one line saying what is wrong and which variables to set, instead of
    failing every upload later. No message ever contains a secret.
    """
    try:
        import azure.storage.blob  # noqa: F401
    except ModuleNotFoundError:
        raise ConfigurationError(
            f"--artifacts {uri} needs the Azure SDK: pip install 'autolog-tracking[server,azure]'"
        ) from None
    from ..backends.azure_artifacts import BlobArtifactStore
    from ..backends.azure_store import (
        HOW_TO_AUTHENTICATE,
        container_client,
        find_credentials,
        parse_blob_uri,
    )

    location = parse_blob_uri(uri)
    assert location is not None  # the caller checked the scheme
    credentials = find_credentials(location)
    problem = credentials.problem
    if problem:
        problem += f"; to fix it, {HOW_TO_AUTHENTICATE}"
    else:
        problem = _try_container(location, credentials)
    if problem:
        raise ConfigurationError(f"cannot keep artifacts in {uri}: {problem}")
    store = BlobArtifactStore(
        container_client(location, credentials), location.prefix, location=uri
    )
    return _ServedBlobStore(store, credentials)


def _try_container(location: BlobLocation, credentials: Credentials) -> str | None:
    """Create the container if it is missing, then list it: what went wrong, or None.

    A SAS scoped to one container may not create it (403, not the credential's
    fault); listing then tells whether the container exists and can be read.
    The client does not retry: a refused or unreachable account says so at once.
    """
    from azure.core.exceptions import AzureError, HttpResponseError, ResourceExistsError

    from ..backends.azure_store import (
        HOW_TO_AUTHENTICATE,
        container_client,
        credential_problem,
        describe,
    )

    if credentials.source == "DefaultAzureCredential":
        # azure-identity logs its own multi-line warning on failure; ours says it in one line.
        identity_log = logging.getLogger("azure.identity")
        level = identity_log.level
        identity_log.setLevel(logging.ERROR)
        try:
            credentials.credential.get_token("https://storage.azure.com/.default")
        except Exception as exc:
            reason = describe(exc, credentials)
            return (
                f"DefaultAzureCredential found no usable Azure identity ({reason}); "
                f"to fix it, {HOW_TO_AUTHENTICATE}"
            )
        finally:
            identity_log.setLevel(level)
    client = None
    try:
        client = container_client(location, credentials, quick=True)
        try:
            client.create_container()
        except ResourceExistsError:
            pass
        except HttpResponseError as exc:
            if exc.status_code != 403 or credential_problem(exc, credentials):
                raise
        prefix = f"{location.prefix}/" if location.prefix else None
        next(iter(client.list_blobs(name_starts_with=prefix, results_per_page=1)), None)
    except (AzureError, ValueError) as exc:
        refused = credential_problem(exc, credentials)
        if refused:
            return f"{refused}; to fix it, {HOW_TO_AUTHENTICATE}"
        return describe(exc, credentials)
    finally:
        if client is not None:
            client.close()
    return None


class _ServedBlobStore:
    """A :class:`BlobArtifactStore` whose SDK errors become OSError, with no secret in them.

    The routes answer an OSError with 503 and Retry-After, as for a lost mount,
    so clients retry an outage. The SDK's own messages may quote a request URL,
    SAS signature included: they never reach a response or a log line.
    """

    def __init__(self, store: BlobArtifactStore, credentials: Credentials) -> None:
        self.store = store
        self.location = store.location
        self.credentials = credentials

    @contextlib.contextmanager
    def storage_errors(self) -> Iterator[None]:
        from azure.core.exceptions import AzureError

        from ..backends.azure_store import describe

        try:
            yield
        except AzureError as exc:
            raise OSError(f"{self.location}: {describe(exc, self.credentials)}") from None

    def begin_write(self, path: str) -> PendingWrite:
        return _ServedBlobUpload(self.store.begin_write(path), self.storage_errors)

    def open(self, path: str) -> BinaryIO:
        with self.storage_errors():
            source = self.store.open(path)
        return io.BufferedReader(_ServedReader(source, self.storage_errors))  # type: ignore[return-value]

    def local_path(self, path: str) -> Path | None:
        return None

    def list(self, path: str) -> list[ArtifactInfo]:
        with self.storage_errors():
            entries = self.store.list(path)
        return [ArtifactInfo(e.name, e.is_dir, e.size) for e in entries]

    def delete(self, path: str) -> None:
        with self.storage_errors():
            self.store.delete(path)


class _ServedBlobUpload:
    def __init__(
        self, upload: BlobUpload, storage_errors: Callable[[], contextlib.AbstractContextManager]
    ) -> None:
        self.upload = upload
        self.storage_errors = storage_errors

    def write(self, chunk: bytes) -> None:
        with self.storage_errors():
            self.upload.write(chunk)

    def commit(self) -> None:
        with self.storage_errors():
            self.upload.commit()

    def abort(self) -> None:
        self.upload.abort()


class _ServedReader(io.RawIOBase):
    """A download whose later chunks, fetched while the response streams, fail scrubbed too."""

    def __init__(
        self, source: BinaryIO, storage_errors: Callable[[], contextlib.AbstractContextManager]
    ) -> None:
        self.source = source
        self.storage_errors = storage_errors

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:  # type: ignore[override]
        with self.storage_errors():
            return self.source.readinto(buffer)  # type: ignore[attr-defined]

    def close(self) -> None:
        self.source.close()
        super().close()


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
