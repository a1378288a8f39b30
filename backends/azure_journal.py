"""A run's journal as an append blob, every byte appended exactly once.

The journal blob is a byte-for-byte copy of the local journal. Each append
carries the append-position condition (``appendpos_condition``): the service
accepts the bytes only if the blob is exactly as long as their offset in the
local journal. So whatever happened before — a batch re-sent after a timeout
whose append had in fact succeeded, an ``autolog sync`` racing the training
process, a half-finished multi-block batch — looking at the blob's length
says what is still missing, and nothing is ever written twice.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from .._journal import JOURNAL_NAME, parse_journal
from ..backend import Batch
from ..errors import BackendError
from .azure_store import error_code

if TYPE_CHECKING:
    from azure.storage.blob import BlobClient

#: Largest single append; 4 MiB is the limit of every service version and of Azurite.
MAX_APPEND_BLOCK = 4 * 1024 * 1024
#: How often the blob may change under us during one batch before we give up for now.
MAX_ATTEMPTS = 5

#: Called with records about to be appended, so their artifacts are uploaded first.
UploadArtifacts = Callable[[list[list[Any]]], None]


class _Conflict(Exception):
    """The blob is not as long as this append expected: look at it again."""


def append_batch(
    blob: BlobClient,
    batch: Batch,
    known_length: int | None,
    upload_artifacts: UploadArtifacts,
    where: str,
) -> int:
    """Make the blob hold the journal up to ``batch.end``; return the blob's length.

    ``known_length`` is the length this process left the blob at, if any: when
    it equals ``batch.start`` the append goes out without asking first (one
    request per batch); the condition still protects it if it is stale. A
    run's first batch creates the blob (unless it exists) and appends at 0.
    """
    if known_length is None and batch.start == 0:
        _create(blob)  # a run's first batch: the blob is almost always new
        known_length = 0
    if known_length == batch.start:
        with contextlib.suppress(_Conflict):
            _append_at(blob, batch.raw, batch.start)
            return batch.end
    for _attempt in range(MAX_ATTEMPTS):
        length = _length(blob, where)
        if length is None:
            _create(blob)
            continue
        if length > batch.start:
            _check_same_bytes(blob, batch, length, where)
        if length >= batch.end:
            return length
        if length < batch.start:
            _backfill(blob, batch, length, upload_artifacts, where)
            continue
        try:
            _append_at(blob, batch.raw[length - batch.start :], length)
        except _Conflict:
            continue  # another process appended meanwhile
        return batch.end
    raise BackendError(
        f"the journal of run {batch.run_id} in {where} kept changing while appending; "
        "is another program writing under the same prefix?"
    )


def _length(blob: BlobClient, where: str) -> int | None:
    from azure.core.exceptions import ResourceNotFoundError

    try:
        properties = blob.get_blob_properties()
    except ResourceNotFoundError:
        return None
    if properties.blob_type != "AppendBlob":
        raise BackendError(
            f"{blob.blob_name} in {where} is a {properties.blob_type}, not a journal written by "
            "autolog; move it away or use another prefix"
        )
    return properties.size


def _create(blob: BlobClient) -> None:
    from azure.core import MatchConditions
    from azure.core.exceptions import ResourceExistsError, ResourceModifiedError
    from azure.storage.blob import ContentSettings

    # If-None-Match: * so that two processes creating it at once cannot wipe each other's bytes.
    with contextlib.suppress(ResourceExistsError, ResourceModifiedError):
        blob.create_append_blob(
            content_settings=ContentSettings(content_type="application/x-ndjson"),
            match_condition=MatchConditions.IfMissing,
        )


def _append_at(blob: BlobClient, data: bytes, position: int) -> None:
    """Append ``data`` at ``position``, in blocks cut after line ends where possible."""
    from azure.core.exceptions import HttpResponseError

    for chunk in line_chunks(data, MAX_APPEND_BLOCK):
        try:
            # validate_content=True: the service checks each block's MD5.
            blob.append_block(chunk, appendpos_condition=position, validate_content=True)
        except HttpResponseError as exc:
            if error_code(exc) in ("AppendPositionConditionNotMet", "BlobNotFound"):
                raise _Conflict from None
            raise
        position += len(chunk)


def _check_same_bytes(blob: BlobClient, batch: Batch, length: int, where: str) -> None:
    """Bytes already stored at the batch's offsets must be the batch's own."""
    stored = blob.download_blob(
        offset=batch.start, length=min(length, batch.end) - batch.start
    ).readall()
    if stored != batch.raw[: len(stored)]:
        raise BackendError(
            f"the journal of run {batch.run_id} in {where} differs from the local one after "
            f"byte {batch.start}: something else wrote it; nothing was appended"
        )


def _backfill(
    blob: BlobClient, batch: Batch, length: int, upload_artifacts: UploadArtifacts, where: str
) -> None:
    """The blob is shorter than what was acknowledged (it was deleted, or the container is
    new): send the missing bytes and their artifacts again, from the local journal."""
    try:
        with open(batch.artifacts_dir.parent / JOURNAL_NAME, "rb") as f:
            f.seek(length)
            missing = f.read(batch.start - length)
    except OSError:
        missing = b""
    if len(missing) != batch.start - length:
        raise BackendError(
            f"the journal of run {batch.run_id} in {where} has {length} bytes, {batch.start} "
            "were acknowledged, and the local journal cannot fill the gap"
        )
    upload_artifacts(parse_journal(missing, length, warn=False).records)
    with contextlib.suppress(_Conflict):
        _append_at(blob, missing, length)


def line_chunks(data: bytes, limit: int) -> Iterator[bytes]:
    """``data`` in pieces of at most ``limit`` bytes, each cut after a newline if it has one.

    Cutting at line ends means a reader between two appends sees whole records.
    """
    start = 0
    while start < len(data):
        end = min(start + limit, len(data))
        if end < len(data):
            newline = data.rfind(b"\n", start, end)
            end = newline + 1 if newline >= start else end
        yield data[start:end]
        start = end
