"""Edits from the web UI into the tracking server's SQL store (``autolog server``'s UI).

The UI's edit route (:mod:`autolog.ui.edits`) takes any :class:`~autolog._curation.Editor`;
this one makes the changes MLflow's ``runs/update``, ``set-tag``, ``delete-tag``,
``delete`` and ``restore`` make. It lives with the server, so the UI imports
nothing from it.
"""

from __future__ import annotations

from typing import Any

from .._curation import ACTIVE, DELETED, Edit
from .._records import RunRecord
from ..ui.readers import BadRequest, NotFound
from .errors import ApiError


class StoreEditor:
    """Edits runs in the tracking server's SQL store (``autolog server``'s UI)."""

    def __init__(self, store: Any, resolve: Any = None) -> None:
        self.store = store  # a TrackingStore
        self.resolve = resolve  # our run id (or the server's) -> the server's

    def apply(self, run_id: str, edit: Edit) -> RunRecord:
        store = self.store
        if self.resolve is not None:
            run_id = self.resolve(run_id)
        try:
            if edit.lifecycle == ACTIVE:
                store.set_lifecycle(run_id, ACTIVE)
            if edit.name is not None:
                store.update_run(run_id, None, None, edit.name)
            for key in edit.delete_tags:
                store.delete_tag(run_id, key)
            tags = edit.tags_to_set
            if tags:
                store.log_batch(run_id, [], [], [{"key": k, "value": v} for k, v in tags.items()])
            if edit.lifecycle == DELETED:
                store.set_lifecycle(run_id, DELETED)
        except ApiError as exc:
            if exc.status == 404:
                raise NotFound(exc.message) from None
            raise BadRequest(exc.message) from None
        return RunRecord(id=run_id, name=edit.name or "", experiment="")
