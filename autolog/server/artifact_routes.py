"""The ``mlflow-artifacts`` proxy: upload, download, list and delete files over HTTP.

Same paths and shapes as MLflow's server, so ``mlflow.log_artifact`` and our
HTTP backend both work against it: a run's ``artifact_uri`` is
``mlflow-artifacts:/<experiment>/<run>/artifacts`` and clients resolve it to
``/api/2.0/mlflow-artifacts/artifacts/<experiment>/<run>/artifacts/<path>``.

An upload streams into the store and appears under its name only once complete
(a local file is written beside its target, fsynced and renamed into place; a
blob's block list is committed), so a reader never sees half a file, a retried
upload simply replaces it, and a server killed mid-upload leaves nothing behind
under the real name. Every store call runs on a worker thread: a blob upload's
write waits while earlier blocks are sent, and must not hold the event loop.
"""

from __future__ import annotations

from collections.abc import Iterator

import anyio
from starlette.concurrency import iterate_in_threadpool, run_in_threadpool
from starlette.requests import Request
from starlette.responses import FileResponse, Response, StreamingResponse
from starlette.routing import Route

from .artifacts import ArtifactStore, PendingWrite, normalise_path
from .errors import invalid, not_found, too_large
from .responses import error_response, json_response

ARTIFACT_PREFIXES = (
    "/api/2.0/mlflow-artifacts/artifacts",
    "/ajax-api/2.0/mlflow-artifacts/artifacts",
)
CHUNK = 1 << 20


def artifact_routes(store: ArtifactStore, max_bytes: int) -> list[Route]:
    """Routes for every prefix; errors answer in MLflow's JSON shape."""

    async def upload(request: Request) -> Response:
        try:
            path = normalise_path(request.path_params["path"])
            declared = request.headers.get("content-length", "")
            if declared.isdigit() and int(declared) > max_bytes:
                raise too_large(max_bytes, "artifact")
            try:
                pending = await run_in_threadpool(store.begin_write, path)
                try:
                    await _write_body(request, pending, max_bytes)
                    await run_in_threadpool(pending.commit)
                except BaseException:
                    with anyio.CancelScope(shield=True):  # even when cancelled, clean up
                        await run_in_threadpool(pending.abort)
                    raise
            except (IsADirectoryError, NotADirectoryError, FileExistsError):
                raise invalid(
                    f"artifact path {path!r} runs into an existing file or folder of that name"
                ) from None
            return json_response({})
        except Exception as exc:
            return error_response(exc)

    async def download(request: Request) -> Response:
        try:
            path = normalise_path(request.path_params["path"])
            local = await run_in_threadpool(store.local_path, path)
            if local is not None:
                return FileResponse(local, media_type="application/octet-stream")
            try:
                source = await run_in_threadpool(store.open, path)
            except FileNotFoundError:
                raise not_found(f"no artifact {path!r}") from None
            return StreamingResponse(
                iterate_in_threadpool(_chunks(source)), media_type="application/octet-stream"
            )
        except Exception as exc:
            return error_response(exc)

    async def listing(request: Request) -> Response:
        try:
            path = normalise_path(request.query_params.get("path", ""), allow_empty=True)
            entries = await run_in_threadpool(store.list, path)
            files = [
                {"path": e.name, "is_dir": e.is_dir}
                | ({} if e.size is None else {"file_size": e.size})
                for e in entries
            ]
            return json_response({"files": files} if files else {})
        except Exception as exc:
            return error_response(exc)

    async def delete(request: Request) -> Response:
        try:
            path = normalise_path(request.path_params["path"])
            try:
                await run_in_threadpool(store.delete, path)
            except FileNotFoundError:
                raise not_found(f"no artifact {path!r}") from None
            return json_response({})
        except Exception as exc:
            return error_response(exc)

    routes = []
    for prefix in ARTIFACT_PREFIXES:
        routes.append(Route(prefix, listing, methods=["GET"]))
        routes.append(Route(prefix + "/{path:path}", upload, methods=["PUT"]))
        routes.append(Route(prefix + "/{path:path}", download, methods=["GET"]))
        routes.append(Route(prefix + "/{path:path}", delete, methods=["DELETE"]))
    return routes


async def _write_body(request: Request, pending: PendingWrite, max_bytes: int) -> None:
    """Stream the request body into ``pending``, about CHUNK bytes per write on a worker thread."""
    size, piece = 0, bytearray()
    async for chunk in request.stream():
        size += len(chunk)
        if size > max_bytes:
            raise too_large(max_bytes, "artifact")
        piece += chunk
        if len(piece) >= CHUNK:
            await run_in_threadpool(pending.write, bytes(piece))
            piece.clear()
    if piece:
        await run_in_threadpool(pending.write, bytes(piece))


def _chunks(source) -> Iterator[bytes]:
    with source:
        while chunk := source.read(CHUNK):
            yield chunk
