"""The web UI's JSON API under ``/ui-api/``: reads over any :class:`Reader`, one edit route.

======================================  ================================================
``GET /ui-api/info``                    what is being shown (source, kind, version)
``GET /ui-api/experiments``             name, number of runs, running, last activity
``GET /ui-api/runs?experiment=&filter=``  the runs table; params and metrics as columns
``GET /ui-api/runs/{id}``               one run: params, tags, metric summaries, files
``GET /ui-api/runs/{id}/metric?key=``   a metric's points, downsampled for the view
``GET /ui-api/runs/{id}/datasets``     its datasets, and other runs on the same digest
``GET /ui-api/runs/{id}/artifacts/{p}``  download one artifact file
``POST /ui-api/runs/{id}/edit``         rename, note, tags, delete, restore (see edits.py)
``GET /ui-api/models``                  registered models: aliases, latest versions
``GET /ui-api/models/{name}``           one registered model and its versions
``GET /ui-api/models/{name}/versions/{n}``  one version: source run, source, tags
======================================  ================================================

The registry answers are in the JSON shape of MLflow's registry API, from the
local store's registry or the server's (see :class:`~autolog.ui.readers.Reader`).

``?deleted=1`` on the runs table includes soft-deleted runs (marked ``deleted``).

The runs table is columnar (``param_keys``/``metric_keys`` once, then one
list of values per run), which keeps 5,000 runs to a small, quick response.
Floats that JSON cannot carry (NaN, infinities) travel as the strings MLflow
uses ("NaN", "Infinity", "-Infinity"); chart points carry null instead.
Errors answer ``{"error": message}`` with 400 or 404. Artifacts are always sent
as attachments, never rendered, so an HTML file in a run cannot run scripts
in the UI's origin.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from starlette.background import BackgroundTask
from starlette.concurrency import iterate_in_threadpool, run_in_threadpool
from starlette.middleware.gzip import GZipMiddleware
from starlette.requests import Request
from starlette.responses import FileResponse, Response, StreamingResponse
from starlette.routing import Mount, Route, Router

from .._curation import Editor
from .._records import RunRecord, encode_float
from .datasets import datasets_payload
from .edits import edit_route
from .readers import ArtifactFile, BadRequest, Reader, RunDetail
from .responses import NO_STORE, json_response

MAX_POINTS = 20_000


def runs_payload(experiment: str, records: list[RunRecord], total: int) -> dict[str, Any]:
    """The runs table of an experiment: every param and metric key once, values per run."""
    param_keys = sorted({key for run in records for key in run.params})
    metric_keys = sorted({key for run in records for key in run.metrics})
    rows = []
    for run in records:
        run_params, run_metrics = run.params, run.metrics
        rows.append(
            {
                "id": run.id,
                "name": run.name,
                "status": run.status,
                "start": run.start_time,
                "end": run.end_time,
                "parent": run.parent_id,
                **({"deleted": True} if run.lifecycle_stage == "deleted" else {}),
                "p": [run_params.get(key) for key in param_keys],
                "m": [encode_float(run_metrics.get(key)) for key in metric_keys],
            }
        )
    return {
        "experiment": experiment,
        "total": total,
        "param_keys": param_keys,
        "metric_keys": metric_keys,
        "runs": rows,
    }


def _summary(run: RunRecord) -> dict[str, Any]:
    return {
        "id": run.id,
        "name": run.name,
        "status": run.status,
        "start": run.start_time,
        "end": run.end_time,
    }


def run_payload(detail: RunDetail) -> dict[str, Any]:
    """Everything the run page shows."""
    run = detail.record
    return {
        **_summary(run),
        "experiment": run.experiment,
        "parent": _summary(detail.parent) if detail.parent else None,
        "parent_id": run.parent_id,
        "deleted": run.lifecycle_stage == "deleted",
        "children": [_summary(child) for child in detail.children],
        "params": run.params,
        "tags": run.tags,
        "metrics": [
            {
                "key": m.key,
                "latest": encode_float(m.latest),
                "min": encode_float(m.min),
                "max": encode_float(m.max),
                "count": m.count,
                "last_step": m.last_step,
            }
            for m in detail.metrics
        ],
        "artifacts": [{"path": a.path, "size": a.size} for a in detail.artifacts],
        "model": run.model,
    }


def _number(request: Request, name: str, default: float | None = None) -> float | None:
    text = request.query_params.get(name, "")
    if not text:
        return default
    try:
        return float(text)
    except ValueError:
        raise BadRequest(f"{name} must be a number, got {text!r}") from None


def metric_payload(request: Request, reader: Reader, run_id: str) -> dict[str, Any]:
    """A metric's points for a chart; with ``after``, only what is new (live charts)."""
    key = request.query_params.get("key", "")
    if not key:
        raise BadRequest("give the metric as ?key=NAME")
    points = int(min(MAX_POINTS, max(10, _number(request, "points", 1000) or 1000)))
    x = request.query_params.get("x", "step")
    if x not in ("step", "time"):
        raise BadRequest(f"x must be step or time, got {x!r}")
    series, status = reader.metric(run_id, key)
    total = len(series)
    head = {"key": key, "run_id": run_id, "status": status, "total": total, "x": x}
    after = _number(request, "after")
    if after is not None and 0 <= after <= total and total - after <= points:
        return {**head, "append": True, **series.since(int(after))}
    view = series.view(x, points, _number(request, "start"), _number(request, "end"))
    return {**head, **view}


def _artifact_response(found: ArtifactFile) -> Response:
    cleanup = BackgroundTask(found.cleanup) if found.cleanup else None
    headers = {
        "Content-Disposition": f"attachment; filename*=utf-8''{quote(found.name)}",
        "X-Content-Type-Options": "nosniff",
        **NO_STORE,
    }
    if found.path is not None:
        return FileResponse(
            found.path, headers=headers, media_type="application/octet-stream", background=cleanup
        )
    assert found.chunks is not None
    return StreamingResponse(
        iterate_in_threadpool(found.chunks),
        headers=headers,
        media_type="application/octet-stream",
        background=cleanup,
    )


def api_routes(reader: Reader, editor: Editor | None = None) -> Mount:
    """The ``/ui-api`` mount: JSON endpoints (gzipped when large) and artifact downloads.

    With an ``editor``, runs can be edited (:mod:`autolog.ui.edits`); without, the
    edit route answers 405 and ``/info`` says ``read_only``.
    """
    from .. import __version__

    async def answer(call: Any, *args: Any) -> Response:
        try:
            result = await run_in_threadpool(call, *args)
        except LookupError as exc:  # NotFound, RunNotFoundError
            return json_response({"error": str(exc)}, 404)
        except OSError as exc:  # a store file that cannot be read: refused, never a 500
            return json_response({"error": f"cannot read it: {exc.strerror or exc}"}, 404)
        except (BadRequest, ValueError) as exc:
            return json_response({"error": str(exc)}, 400)
        return result if isinstance(result, Response) else json_response(result)

    async def info(request: Request) -> Response:
        return json_response(
            {
                "source": reader.source,
                "kind": reader.kind,
                "read_only": editor is None,
                "version": __version__,
            }
        )

    async def experiments(request: Request) -> Response:
        def listing() -> dict[str, Any]:
            found = reader.experiments()
            found.sort(key=lambda e: (-(e.last_activity or 0), e.name))
            return {"experiments": [vars(e) for e in found]}

        return await answer(listing)

    async def runs(request: Request) -> Response:
        experiment = request.query_params.get("experiment", "")
        text = request.query_params.get("filter") or None
        deleted = request.query_params.get("deleted", "") in ("1", "true")

        def table() -> dict[str, Any]:
            if not experiment:
                raise BadRequest("give the experiment as ?experiment=NAME")
            records, total = reader.runs(experiment, text, deleted=deleted)
            return runs_payload(experiment, records, total)

        return await answer(table)

    async def run(request: Request) -> Response:
        run_id = request.path_params["run_id"]
        return await answer(lambda: run_payload(reader.run(run_id)))

    async def metric(request: Request) -> Response:
        return await answer(metric_payload, request, reader, request.path_params["run_id"])

    async def datasets(request: Request) -> Response:
        return await answer(datasets_payload, reader, request.path_params["run_id"])

    async def artifact(request: Request) -> Response:
        run_id, path = request.path_params["run_id"], request.path_params["path"]
        return await answer(lambda: _artifact_response(reader.artifact(run_id, path)))

    async def models(request: Request) -> Response:
        return await answer(lambda: {"registered_models": reader.registered_models()})

    async def model(request: Request) -> Response:
        def found() -> dict[str, Any]:
            model, versions = reader.registered_model(request.path_params["name"])
            return {"registered_model": model, "model_versions": versions}

        return await answer(found)

    async def model_version(request: Request) -> Response:
        name, version = request.path_params["name"], request.path_params["version"]
        return await answer(lambda: {"model_version": reader.model_version(name, version)})

    json_routes = Router(
        routes=[
            Route("/info", info, methods=["GET"]),
            Route("/experiments", experiments, methods=["GET"]),
            Route("/runs", runs, methods=["GET"]),
            Route("/runs/{run_id}", run, methods=["GET"]),
            Route("/runs/{run_id}/metric", metric, methods=["GET"]),
            edit_route(editor, answer, lambda run_id: run_payload(reader.run(run_id))),
            Route("/runs/{run_id}/datasets", datasets, methods=["GET"]),
            Route("/models", models, methods=["GET"]),
            Route("/models/{name}", model, methods=["GET"]),
            Route("/models/{name}/versions/{version}", model_version, methods=["GET"]),
        ]
    )
    # Files go out as they are (sendfile, Content-Length); JSON is gzipped when large.
    return Mount(
        "/ui-api",
        routes=[
            Route("/runs/{run_id}/artifacts/{path:path}", artifact, methods=["GET"]),
            Mount("", app=GZipMiddleware(json_routes, minimum_size=2048)),
        ],
    )
