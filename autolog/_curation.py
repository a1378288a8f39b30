"""Editing runs after they ran: rename, note, tags, delete and restore, wherever they live.

An :class:`Edit` says what to change. Where it is applied depends on the store:

* a **local store**: the edit is appended to the run's journal as records
  (``rename``, ``tags``, ``untag``, ``lifecycle``; see :mod:`autolog._records`),
  so nothing is overwritten, the history of edits stays readable, and remote
  replicas receive them like any other record (``autolog sync``);
* a **tracking server** (``http(s)://``, ours or MLflow's): the same REST calls
  MLflow's client makes (``runs/update`` with ``run_name``, ``runs/set-tag``,
  ``runs/delete-tag``, ``runs/delete``, ``runs/restore``), so MLflow's client and
  UI see the same.

The note is MLflow's ``mlflow.note.content`` tag; deleting is MLflow's soft
delete (``lifecycle_stage = deleted``): the run stays, hidden from listings
until it is restored.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from typing import Any, Protocol

from ._journal import encode
from ._records import RunRecord
from ._store import LocalStore
from .errors import InvalidInputError

NOTE_TAG = "mlflow.note.content"
DELETED, ACTIVE = "deleted", "active"
MAX_NAME = 250
MAX_TAG_KEY = 250
MAX_TAG_VALUE = 8000
MAX_NOTE = 100_000


@dataclass
class Edit:
    """Changes to one run; fields left at their defaults are not touched."""

    name: str | None = None
    note: str | None = None
    set_tags: dict[str, str] = field(default_factory=dict)
    delete_tags: list[str] = field(default_factory=list)
    lifecycle: str | None = None  # DELETED or ACTIVE

    def __post_init__(self) -> None:
        if self.name is not None:
            self.name = self.name.strip()
            if not self.name:
                raise InvalidInputError("a run name cannot be empty")
            if len(self.name) > MAX_NAME:
                raise InvalidInputError(f"a run name is at most {MAX_NAME} characters")
        if self.note is not None and len(self.note) > MAX_NOTE:
            raise InvalidInputError(f"a note is at most {MAX_NOTE} characters")
        for key, value in self.set_tags.items():
            _check_tag_key(key)
            if not isinstance(value, str):
                raise InvalidInputError(f"tag {key!r}: the value must be text, got {value!r}")
            if len(value) > MAX_TAG_VALUE:
                raise InvalidInputError(f"tag {key!r}: a value is at most {MAX_TAG_VALUE} chars")
        for key in self.delete_tags:
            _check_tag_key(key)
        if self.lifecycle not in (None, DELETED, ACTIVE):
            raise InvalidInputError(f"lifecycle must be {DELETED!r} or {ACTIVE!r}")

    @property
    def tags_to_set(self) -> dict[str, str]:
        tags = dict(self.set_tags)
        if self.note is not None:
            tags[NOTE_TAG] = self.note
        return tags

    def is_empty(self) -> bool:
        return not (
            self.name is not None
            or self.tags_to_set
            or self.delete_tags
            or self.lifecycle is not None
        )

    def records(self, now_ms: int) -> list[list[Any]]:
        """The journal records of this edit, in the order they apply."""
        records: list[list[Any]] = []
        if self.name is not None:
            records.append(["rename", {"name": self.name, "time": now_ms}])
        if self.delete_tags:
            records.append(["untag", {"keys": list(self.delete_tags), "time": now_ms}])
        if self.tags_to_set:
            records.append(["tags", self.tags_to_set])
        if self.lifecycle is not None:
            records.append(["lifecycle", {"stage": self.lifecycle, "time": now_ms}])
        return records


def _check_tag_key(key: Any) -> None:
    if not isinstance(key, str) or not key.strip():
        raise InvalidInputError(f"a tag key must be non-empty text, got {key!r}")
    if len(key) > MAX_TAG_KEY:
        raise InvalidInputError(f"tag key {key[:40]!r}... is over {MAX_TAG_KEY} characters")
    if any(ord(c) < 32 for c in key):
        raise InvalidInputError(f"tag key {key!r} contains control characters")


class Editor(Protocol):
    """Applies edits to runs of one store."""

    def apply(self, run_id: str, edit: Edit) -> RunRecord:
        """Apply ``edit`` to the run and return the run as it now reads."""
        ...


class JournalEditor:
    """Edits on a local store: records appended to the run's journal."""

    def __init__(self, store: LocalStore) -> None:
        self.store = store

    def apply(self, run_id: str, edit: Edit) -> RunRecord:
        run = self.store.get_run(run_id)  # RunNotFoundError naming the store
        _check_tags_exist(run, edit)
        if edit.is_empty():
            return run
        data = b"".join(encode(record) for record in edit.records(int(time.time() * 1000)))
        fd = os.open(self.store.journal_path(run_id), os.O_WRONLY | os.O_APPEND)
        try:
            os.write(fd, data)
        finally:
            os.close(fd)
        return self.store.get_run(run_id)


class ServerEditor:
    """Edits on a tracking server, through MLflow's REST calls."""

    def __init__(self, backend: Any) -> None:
        self.backend = backend  # an HttpBackend

    def apply(self, run_id: str, edit: Edit) -> RunRecord:
        rest = self.backend.rest
        server_id = self.backend._resolve(run_id).id
        if edit.lifecycle == ACTIVE:  # restore first: a deleted run takes no other edit
            rest.call("runs/restore", {"run_id": server_id})
        if edit.delete_tags:
            _check_tags_exist(self.backend.get_run(run_id), edit)
        if edit.name is not None:
            rest.call("runs/update", {"run_id": server_id, "run_name": edit.name})
        for key in edit.delete_tags:
            rest.call("runs/delete-tag", {"run_id": server_id, "key": key})
        for key, value in edit.tags_to_set.items():
            rest.call("runs/set-tag", {"run_id": server_id, "key": key, "value": value})
        if edit.lifecycle == DELETED:
            rest.call("runs/delete", {"run_id": server_id})
        return self.backend.get_run(run_id)


def _check_tags_exist(run: RunRecord, edit: Edit) -> None:
    missing = [key for key in edit.delete_tags if key not in run.tags]
    if missing:
        raise InvalidInputError(
            f"run {run.id} has no tag {', '.join(map(repr, missing))}; "
            f"its tags: {', '.join(sorted(run.tags)) or 'none'}"
        )


def is_deleted(run: RunRecord) -> bool:
    return getattr(run, "lifecycle_stage", ACTIVE) == DELETED
