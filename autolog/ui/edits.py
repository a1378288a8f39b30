"""The UI's one write: ``POST /ui-api/runs/{id}/edit`` (rename, note, tags, delete, restore).

Body (every field optional)::

    {"name": "...", "note": "...", "set_tags": {"k": "v"}, "delete_tags": ["k"],
     "deleted": true | false}

The edit goes where the runs are: appended to the run's journal under
``autolog ui`` over a local folder (:class:`~autolog._curation.JournalEditor`),
into the SQL store under ``autolog server`` (its
:class:`~autolog.server.ui_edits.StoreEditor`, the same
changes MLflow's ``runs/update``, ``set-tag``, ``delete-tag``, ``delete`` and
``restore`` make). A blob container, or ``autolog ui --read-only``, has no editor
and answers 405.

On a server with a token the whole UI is behind it, this route too. Every
request must carry ``X-Autolog-UI: edit`` and a JSON body: a page of another
origin cannot send that header without a CORS preflight, which this app never
grants, so a hostile site open in the same browser cannot edit runs.
"""

from __future__ import annotations

import json
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from .._curation import ACTIVE, DELETED, NOTE_TAG, Edit, Editor
from ..errors import AutologError
from .readers import BadRequest, NotFound
from .responses import json_response

EDIT_HEADER = "x-autolog-ui"
MAX_BODY = 256 << 10


def parse_edit(body: Any) -> Edit:
    """The :class:`Edit` a request body asks for; BadRequest naming what is wrong."""
    if not isinstance(body, dict):
        raise BadRequest('send a JSON object, e.g. {"name": "new name"}')
    unknown = set(body) - {"name", "note", "set_tags", "delete_tags", "deleted"}
    if unknown:
        raise BadRequest(f"unknown field(s) {', '.join(sorted(unknown))}")
    note = body.get("note")
    delete_tags = list(body.get("delete_tags") or [])
    set_tags = body.get("set_tags") or {}
    if not isinstance(set_tags, dict) or not isinstance(delete_tags, list):
        raise BadRequest("set_tags is an object of text values; delete_tags a list of keys")
    if note is not None and not isinstance(note, str):
        raise BadRequest("note must be text")
    if note is not None and not note.strip():
        note = None
        delete_tags.append(NOTE_TAG)
    deleted = body.get("deleted")
    if deleted not in (None, True, False):
        raise BadRequest("deleted must be true or false")
    name = body.get("name")
    if name is not None and not isinstance(name, str):
        raise BadRequest("name must be text")
    try:
        return Edit(
            name=name,
            note=note,
            set_tags=set_tags,
            delete_tags=delete_tags,
            lifecycle=None if deleted is None else (DELETED if deleted else ACTIVE),
        )
    except AutologError as exc:
        raise BadRequest(str(exc)) from None


def edit_route(editor: Editor | None, answer: Any, after: Any) -> Route:
    """The route; ``answer`` turns exceptions into JSON errors, ``after(run_id)`` the reply."""

    async def edit(request: Request) -> Response:

        if editor is None:
            return json_response({"error": "this UI is read-only: runs cannot be edited"}, 405)
        if request.headers.get(EDIT_HEADER) != "edit":
            return json_response({"error": f"send the header {EDIT_HEADER}: edit"}, 403)
        if "application/json" not in request.headers.get("content-type", ""):
            return json_response({"error": "send the edit as application/json"}, 415)
        data = await request.body()
        if len(data) > MAX_BODY:
            return json_response({"error": "the edit is too large"}, 413)
        try:
            body = json.loads(data or b"null")
        except ValueError:
            return json_response({"error": "the body is not valid JSON"}, 400)
        run_id = request.path_params["run_id"]

        def apply() -> Any:
            change = parse_edit(body)
            try:
                editor.apply(run_id, change)
            except AutologError as exc:  # a run that is not there, a tag it does not have
                raise (NotFound if "no run" in str(exc) else BadRequest)(str(exc)) from None
            return after(run_id)

        return await answer(apply)

    return Route("/runs/{run_id}/edit", edit, methods=["POST"])
