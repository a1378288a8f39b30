"""Artifact files in a blob container, by relative path: for the backend and for a server.

:class:`BlobArtifactStore` keeps files under one prefix of a container. The
blob backend uses one per run (``PREFIX/<run_id>/artifacts``); the tracking
server can use one for ``--artifacts wasbs://...``: it has the same methods as
the server's local artifact store (``begin_write`` / ``open`` / ``local_path``
/ ``list`` / ``delete``), plus ``put_file``, ``get_file``, ``exists`` and ``walk``.

Integrity: an upload computes the sha256 of exactly the bytes it sends,
refuses to commit them if they differ from the expected sha256, and stores
it in the blob's metadata; a download is checked against it. In transit,
bytes are protected by TLS over https, and over plain http (emulators) by an
MD5 per request that the service checks. Nothing is visible under a path
until its upload commits: large files go up as parallel blocks and appear
whole when the block list is committed.
"""

from __future__ import annotations

import base64
import builtins
import contextlib
import hashlib
import io
import mimetypes
import os
import uuid
from collections import deque
from collections.abc import Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, BinaryIO

from .._store import sha256_file
from ..errors import BackendError, ConfigurationError
from .azure_store import HOW_TO_AUTHENTICATE, container_client, find_credentials, parse_blob_uri

if TYPE_CHECKING:
    from azure.storage.blob import BlobClient, ContainerClient

#: Metadata key holding a blob's sha256: a re-sent artifact is recognised, a download checked.
SHA256_METADATA = "autolog_sha256"
#: Block size of large uploads; up to ``MAX_CONCURRENCY + 1`` blocks are in memory at once.
BLOCK_SIZE = 8 * 1024 * 1024
MAX_CONCURRENCY = 4


@dataclass(frozen=True)
class ArtifactEntry:
    """One artifact file or folder: its path under the store's prefix, and a file's size."""

    path: str
    is_dir: bool
    size: int | None = None

    @property
    def name(self) -> str:
        """The entry's name in its folder (what the server's listing shows)."""
        return PurePosixPath(self.path).name


class ArtifactChecksumError(BackendError):
    """A file's bytes do not match the sha256 they were expected to have."""


class BlobArtifactStore:
    """Artifact files under one prefix of a container, by relative ``/`` paths."""

    def __init__(
        self,
        container: ContainerClient,
        prefix: str = "",
        *,
        block_size: int = BLOCK_SIZE,
        max_concurrency: int = MAX_CONCURRENCY,
        location: str = "",
    ) -> None:
        self.container = container
        self.prefix = prefix.strip("/")
        self.block_size = block_size
        self.max_concurrency = max_concurrency
        self.location = location or f"{container.url}/{self.prefix}".rstrip("/")
        # Over https TLS already checks every byte (as the SDK's documentation says);
        # hashing each block once more would cost a noticeable share of throughput.
        self.check_blocks_md5 = getattr(container, "scheme", "https") != "https"

    @classmethod
    def from_uri(cls, uri: str, environ: Mapping[str, str] = os.environ) -> BlobArtifactStore:
        """The store for a ``wasbs://`` or ``azure://`` URI, credentials from ``environ``.

        Sends nothing; call :meth:`ensure_container` to create the container.
        """
        location = parse_blob_uri(uri)
        if location is None:
            raise ConfigurationError(f"{uri!r} is not a wasbs:// or azure:// URI")
        credentials = find_credentials(location, environ)
        if credentials.problem:
            raise BackendError(f"{credentials.problem}: {HOW_TO_AUTHENTICATE}")
        client = container_client(location, credentials)
        return cls(client, location.prefix, location=uri)

    def ensure_container(self) -> None:
        """Create the container if it does not exist yet."""
        from azure.core.exceptions import ResourceExistsError

        with contextlib.suppress(ResourceExistsError):
            self.container.create_container()

    def blob_name(self, path: str) -> str:
        """The blob holding artifact ``path``; refuses absolute paths and ``..``."""
        parts = PurePosixPath(path.replace("\\", "/")).parts
        if not parts or parts[0] == "/" or ".." in parts:
            raise ValueError(f"artifact path {path!r} must be relative and without '..'")
        return "/".join(p for p in (self.prefix, *parts) if p)

    def blob(self, path: str) -> BlobClient:
        return self.container.get_blob_client(self.blob_name(path))

    def exists(self, path: str) -> bool:
        """True if a file is stored at ``path``."""
        return self.blob(path).exists()

    # -- writing -----------------------------------------------------------

    def begin_write(self, path: str) -> BlobUpload:
        """Start an upload to ``path``: ``write`` chunks, then ``commit`` (or ``abort``)."""
        return BlobUpload(self, path)

    def put_bytes(self, path: str, data: bytes, expected_sha256: str | None = None) -> str:
        """Store ``data`` at ``path``; returns its sha256."""
        upload = self.begin_write(path)
        upload.write(data)
        return upload.commit(expected_sha256)

    def put_file(self, path: str, source: Path, expected_sha256: str | None = None) -> str:
        """Store the file ``source`` at ``path``; returns its sha256.

        With ``expected_sha256``, a blob that already has that sha256 and size is
        left alone (a re-sent artifact), and a file that does not match it raises
        ArtifactChecksumError without replacing what is stored.
        """
        size = source.stat().st_size
        if expected_sha256 and self._stored_sha256(path, size) == expected_sha256:
            return expected_sha256
        upload = self.begin_write(path)
        try:
            with open(source, "rb") as f:
                while chunk := f.read(self.block_size):
                    upload.write(chunk)
        except BaseException:
            upload.abort()
            raise
        return upload.commit(expected_sha256)

    def _stored_sha256(self, path: str, size: int) -> str | None:
        from azure.core.exceptions import ResourceNotFoundError

        try:
            properties = self.blob(path).get_blob_properties()
        except ResourceNotFoundError:
            return None
        if properties.size != size:
            return None
        return (properties.metadata or {}).get(SHA256_METADATA)

    def delete(self, path: str) -> None:
        """Delete the file ``path``, or every file under the folder ``path``."""
        from azure.core.exceptions import ResourceNotFoundError

        try:
            self.blob(path).delete_blob()
            return
        except ResourceNotFoundError:
            pass
        files = self.walk(path)
        if not files:
            raise FileNotFoundError(path)
        for entry in files:
            self.container.delete_blob(self.blob_name(entry.path))

    # -- reading -----------------------------------------------------------

    def get_file(self, path: str, dest: Path) -> Path:
        """Download ``path`` to the file ``dest``, checked against the sha256 stored with it."""
        dest.parent.mkdir(parents=True, exist_ok=True)
        downloader = self.blob(path).download_blob(max_concurrency=self.max_concurrency)
        with open(dest, "wb") as f:
            downloader.readinto(f)
        expected = (downloader.properties.metadata or {}).get(SHA256_METADATA)
        if expected and sha256_file(dest) != expected:
            dest.unlink()
            raise ArtifactChecksumError(
                f"artifact {path!r} downloaded from {self.location} does not match the sha256 "
                "stored with it; it was changed or damaged in storage and was not kept"
            )
        return dest

    def open(self, path: str) -> BinaryIO:
        """The file's bytes as a stream; FileNotFoundError if there is no file at ``path``."""
        from azure.core.exceptions import ResourceNotFoundError

        try:
            downloader = self.blob(path).download_blob()
        except ResourceNotFoundError:
            raise FileNotFoundError(path) from None
        return io.BufferedReader(_ChunkReader(downloader.chunks()))  # type: ignore[return-value]

    def iter_bytes(self, path: str) -> Iterator[bytes]:
        """The bytes of ``path`` in chunks, as the SDK downloads them."""
        return self.blob(path).download_blob().chunks()

    def local_path(self, path: str) -> Path | None:
        """Always None: nothing here is on local disk (the server then streams ``open``)."""
        return None

    def list(self, path: str = "") -> list[ArtifactEntry]:
        """Files and folders directly in the folder ``path`` ("" for the root)."""
        from azure.storage.blob import BlobPrefix

        root = self._folder_prefix("")
        entries = []
        for item in self.container.walk_blobs(
            name_starts_with=self._folder_prefix(path), delimiter="/"
        ):
            is_dir = isinstance(item, BlobPrefix)
            relative = item.name[len(root) :].rstrip("/")
            entries.append(ArtifactEntry(relative, is_dir, None if is_dir else item.size))  # type: ignore[union-attr]
        return entries

    def walk(self, path: str = "") -> builtins.list[ArtifactEntry]:
        """Every file under the folder ``path``, at any depth."""
        root = self._folder_prefix("")
        return [
            ArtifactEntry(blob.name[len(root) :], False, blob.size)
            for blob in self.container.list_blobs(name_starts_with=self._folder_prefix(path))
        ]

    def _folder_prefix(self, path: str) -> str:
        name = self.blob_name(path) if path.strip("/") else self.prefix
        return f"{name}/" if name else ""


class BlobUpload:
    """Bytes on their way to one block blob; nothing shows under the path until ``commit``.

    Written bytes are hashed as they come; every full block is staged on a
    worker thread while the next is read, at most ``max_concurrency`` at a time.
    An upload that never needed a block is sent in one request at commit.
    """

    def __init__(self, store: BlobArtifactStore, path: str) -> None:
        self.store = store
        self.path = path
        self.blob = store.blob(path)
        self._buffer = bytearray()
        self._digest = hashlib.sha256()
        self._block_ids: list[str] = []
        self._in_flight: deque[Future] = deque()
        self._pool: ThreadPoolExecutor | None = None
        self._upload_id = uuid.uuid4().hex[:8]

    def write(self, chunk: bytes) -> None:
        self._digest.update(chunk)
        size = self.store.block_size
        if not self._buffer and len(chunk) == size:
            self._stage(chunk)  # a whole block as read from a file: no copy
            return
        self._buffer += chunk
        while len(self._buffer) >= size:
            self._stage(bytes(self._buffer[:size]))
            del self._buffer[:size]

    def _stage(self, block: bytes) -> None:
        if self._pool is None:
            self._pool = ThreadPoolExecutor(
                self.store.max_concurrency, thread_name_prefix="autolog-azure-upload"
            )
        # Ids are unique per upload, so two uploads of the same path never mix blocks.
        block_id = base64.b64encode(f"{self._upload_id}-{len(self._block_ids):08d}".encode())
        self._block_ids.append(block_id.decode())
        self._in_flight.append(
            self._pool.submit(
                self.blob.stage_block,
                self._block_ids[-1],
                block,
                validate_content=self.store.check_blocks_md5,
            )
        )
        while len(self._in_flight) > self.store.max_concurrency:
            self._in_flight.popleft().result()

    def commit(self, expected_sha256: str | None = None) -> str:
        """Make the bytes visible under the path; returns their sha256.

        With ``expected_sha256``, bytes that do not match raise
        ArtifactChecksumError and nothing is committed.
        """
        from azure.storage.blob import BlobBlock, ContentSettings

        try:
            digest = self._digest.hexdigest()
            if expected_sha256 and digest != expected_sha256:
                raise ArtifactChecksumError(
                    f"artifact {self.path!r} does not match the sha256 recorded when it was "
                    f"logged (recorded {expected_sha256[:12]}..., file {digest[:12]}...): it "
                    "changed afterwards; it was not uploaded"
                )
            settings = ContentSettings(content_type=_content_type(self.path))
            metadata = {SHA256_METADATA: digest}
            if not self._block_ids:
                # One request; validate_content=True (MD5 in every SDK version) makes
                # the service check it and keep it as the blob's Content-MD5.
                self.blob.upload_blob(
                    bytes(self._buffer),
                    overwrite=True,
                    validate_content=True,
                    content_settings=settings,
                    metadata=metadata,
                )
                return digest
            if self._buffer:
                self._stage(bytes(self._buffer))
            while self._in_flight:
                self._in_flight.popleft().result()
            self.blob.commit_block_list(
                [BlobBlock(block_id=b) for b in self._block_ids],
                content_settings=settings,
                metadata=metadata,
            )
            return digest
        finally:
            self._close()

    def abort(self) -> None:
        """Give up: staged blocks are never committed (the service discards them)."""
        self._close()

    def _close(self) -> None:
        self._buffer = bytearray()
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None
        self._in_flight.clear()


class _ChunkReader(io.RawIOBase):
    """A readable stream over the SDK's download chunks."""

    def __init__(self, chunks: Iterator[bytes]) -> None:
        self._chunks = chunks
        self._pending = memoryview(b"")

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:  # type: ignore[override]
        while not self._pending:
            chunk = next(self._chunks, b"")
            if not chunk:
                return 0
            self._pending = memoryview(chunk)
        count = min(len(buffer), len(self._pending))
        buffer[:count] = self._pending[:count]
        self._pending = self._pending[count:]
        return count


def _content_type(path: str) -> str:
    return mimetypes.guess_type(path)[0] or "application/octet-stream"
