"""``autolog runs rename|tag|note|rm|restore``: curating runs from the command line.

On a local store each edit is appended to the run's journal (see
:mod:`autolog._curation`) and then sent to the remote backends configured for
this folder, if any (what cannot be sent now, ``autolog sync`` sends later). On
a tracking server (``--backend http://...``) the edit is made with MLflow's REST
calls, so MLflow's client and UI see it at once.
"""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING, Any, TextIO

from ._cli_output import escape
from ._cli_parsers import add_command
from .errors import AutologError, InvalidInputError

if TYPE_CHECKING:  # the editors load when a command edits: building the parser needs none
    from ._curation import Editor

EXAMPLES = {
    "rename": "example:\n  autolog runs rename 3f2a9c1b7d4e 'arima (2,1,2) final'",
    "tag": "examples:\n  autolog runs tag 3f2a9c1b7d4e stage=candidate owner=ana\n"
    "  autolog runs tag 3f2a9c1b7d4e --remove stage",
    "note": "examples:\n  autolog runs note 3f2a9c1b7d4e 'best AIC of the grid'\n"
    "  autolog runs note 3f2a9c1b7d4e - < notes.md     # the note from stdin\n"
    "  autolog runs note 3f2a9c1b7d4e ''               # remove the note",
    "rm": "example:\n  autolog runs rm 3f2a9c1b7d4e 9b0c55e1a2f3\n"
    "deleted runs are hidden, not erased: autolog runs ls --deleted; autolog runs restore ID",
    "restore": "example:\n  autolog runs restore 3f2a9c1b7d4e",
}


def add_parsers(run_commands: Any, backend_help: str) -> None:
    """Register the curation actions under ``autolog runs``."""

    def action(name: str, help_text: str) -> argparse.ArgumentParser:
        return add_command(run_commands, name, help_text, EXAMPLES[name])

    rename = action("rename", "give a run a new name")
    rename.add_argument("run_id", metavar="RUN_ID")
    rename.add_argument("name", metavar="NAME")
    tag = action("tag", "set tags (KEY=VALUE) on a run, or remove them (--remove KEY)")
    tag.add_argument("run_id", metavar="RUN_ID")
    tag.add_argument("pairs", nargs="*", metavar="KEY=VALUE")
    tag.add_argument("--remove", "-r", action="append", default=[], metavar="KEY")
    note = action("note", "set a run's note (MLflow's mlflow.note.content); '-' reads stdin")
    note.add_argument("run_id", metavar="RUN_ID")
    note.add_argument("text", metavar="TEXT")
    rm = action("rm", "delete runs (soft: hidden from listings until restored)")
    rm.add_argument("run_ids", nargs="+", metavar="RUN_ID")
    restore = action("restore", "bring deleted runs back")
    restore.add_argument("run_ids", nargs="+", metavar="RUN_ID")
    for parser in (rename, tag, note, rm, restore):
        parser.add_argument("--backend", "-b", help=backend_help)


def run_edit(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from ._curation import ACTIVE, DELETED, Edit
    from ._run_ids import expand_run_id

    action = args.runs_command
    edits: list[tuple[str, Edit, str]] = []
    if action in ("rm", "restore"):
        stage = DELETED if action == "rm" else ACTIVE
        verb = "deleted" if action == "rm" else "restored"
        for run_id in args.run_ids:
            edits.append((run_id, Edit(lifecycle=stage), verb))
    elif action == "rename":
        edits.append((args.run_id, Edit(name=args.name), f"renamed to '{escape(args.name)}'"))
    elif action == "note":
        text = sys.stdin.read() if args.text == "-" else args.text
        if text.strip():
            edits.append((args.run_id, Edit(note=text), "note set"))
        else:
            edits.append((args.run_id, Edit(delete_tags=["mlflow.note.content"]), "note removed"))
    elif action == "tag":
        tags = dict(_pair(text) for text in args.pairs)
        if not tags and not args.remove:
            raise InvalidInputError("give tags as KEY=VALUE, or --remove KEY")
        said = [f"{escape(k)}={escape(v)}" for k, v in tags.items()]
        said += [f"-{escape(key)}" for key in args.remove]
        edits.append((args.run_id, Edit(set_tags=tags, delete_tags=args.remove), " ".join(said)))
    editor = editor_for(args.backend)
    failed = 0
    for given, edit, verb in edits:
        try:
            run_id = expand_run_id(given, args.backend)
            run = editor.apply(run_id, edit)
        except AutologError as exc:
            print(f"autolog: error: {exc}", file=err)
            failed += 1
            continue
        print(f"{run.id[:12]}  {escape(run.name)}: {verb}", file=out)
        _send_local_edit(editor, run.id, err)
    return 1 if failed else 0


def _pair(text: str) -> tuple[str, str]:
    key, sep, value = text.partition("=")
    if not sep or not key.strip():
        raise InvalidInputError(f"{text!r} is not KEY=VALUE (to remove a tag: --remove KEY)")
    return key.strip(), value


def editor_for(backend: str | None) -> Editor:
    """The editor of the store ``runs ls`` would read with the same ``--backend``."""
    from ._curation import JournalEditor, ServerEditor
    from ._fallback import JournalFallback
    from ._session import session
    from ._store import LocalStore

    reader = session.reader(backend)
    if isinstance(reader, JournalFallback):
        reader = reader.inner  # an edit is for the server itself, not a journal's copy
    if isinstance(reader, LocalStore):
        return JournalEditor(reader)
    if hasattr(reader, "rest") and hasattr(reader, "_resolve"):
        return ServerEditor(reader)
    raise InvalidInputError(
        f"runs can be edited in a local store or on a tracking server, not in {reader.uri!r}; "
        "edit them in the local store they were recorded in, then: autolog sync"
    )


def _send_local_edit(editor: Editor, run_id: str, err: TextIO) -> None:
    """Send a journal edit on to the remote backends configured for this store, if any."""
    from pathlib import Path

    from ._curation import JournalEditor

    if not isinstance(editor, JournalEditor):
        return
    from ._session import session
    from ._shipper import Shipper
    from .backend import backend_for

    config = session.ensure_configured()
    if Path(config.dir).resolve() != editor.store.root.resolve():
        return
    for uri in config.backends:
        backend = backend_for(uri, config)
        if not getattr(backend, "remote", False):
            continue
        try:
            Shipper(backend, editor.store).ship_run(run_id)
        except Exception as exc:  # a dead server must not fail the edit, kept in the journal
            print(
                f"autolog: the edit is kept in {editor.store.root}, not yet on {uri} "
                f"({type(exc).__name__}); send it with: autolog sync",
                file=err,
            )
        finally:
            backend.close()
