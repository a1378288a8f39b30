"""Edits made after a run ended (rename, untag, delete, restore) as MLflow REST calls.

Tags, including the note, travel in ``runs/log-batch`` with the rest; this
module only ships the record kinds that have their own calls. Each call is
idempotent on a server that already has it (re-sent after a timeout), so a tag
already gone is not an error.
"""

from __future__ import annotations

from typing import Any

from ._mlflow_rest import ServerRejectedError

EDIT_KINDS = frozenset({"rename", "untag", "lifecycle"})


def ship_edits(rest: Any, server_run_id: str, edits: list[list[Any]]) -> None:
    """Replay ``edits`` (journal records, in order) on the server's run."""
    for kind, body in edits:
        if kind == "rename":
            rest.call("runs/update", {"run_id": server_run_id, "run_name": body["name"]})
        elif kind == "untag":
            for key in body.get("keys", ()):
                try:
                    rest.call("runs/delete-tag", {"run_id": server_run_id, "key": key})
                except ServerRejectedError as exc:
                    if exc.error_code != "RESOURCE_DOES_NOT_EXIST":
                        raise
        elif kind == "lifecycle":
            call = "runs/delete" if body.get("stage") == "deleted" else "runs/restore"
            rest.call(call, {"run_id": server_run_id})
