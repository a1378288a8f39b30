"""The ``autolog`` command: list and show runs, send what is unsent.

    autolog runs ls [--experiment NAME] [--filter EXPR] [--format table|csv|json] ...
    autolog runs show RUN_ID [--backend URI]
    autolog runs rename|tag|note|rm|restore RUN_ID ...
    autolog experiments ls
    autolog models ls | show NAME [--format table|csv|json]
    autolog sync [--dir FOLDER] [--backend URI ...]
    autolog ui [STORE] [--host 127.0.0.1] [--port 5050]

Every command takes its defaults from the same configuration as ``autolog()``
(``AUTOLOG_*`` variables, ``[tool.autolog]``), and exits non-zero with one
clear line on bad input.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from typing import Any, TextIO

from ._cli_output import escape
from ._cli_parsers import RAW, add_command
from ._cli_runs import format_duration, format_number, format_time
from .errors import AutologError

EXIT_USAGE = 2
BACKEND_HELP = "where to read (default: the configured backend)"


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # type: ignore[override]
        self.print_usage(sys.stderr)
        self.exit(EXIT_USAGE, f"autolog: error: {message}\n")


class _VersionAction(argparse.Action):
    """``--version``: the installed version, looked up only when asked (importlib.metadata
    costs tens of milliseconds of every command's start-up)."""

    def __init__(self, option_strings: Sequence[str], dest: str, **kwargs: Any) -> None:
        super().__init__(option_strings, dest, nargs=0, help="show the version and exit")

    def __call__(self, parser: argparse.ArgumentParser, *args: Any) -> None:
        from . import __version__

        print(f"autolog {__version__}")
        parser.exit()


def add_guard_options(parser: argparse.ArgumentParser) -> None:
    """``--allow-origin`` and ``--allow-host`` for ``autolog server`` and ``autolog ui``."""
    parser.add_argument(
        "--allow-origin",
        action="append",
        metavar="ORIGIN",
        help="let pages of this origin (https://dash.example.com) call the API with their own "
        "token (repeatable; default: none)",
    )
    parser.add_argument(
        "--allow-host",
        action="append",
        metavar="NAME",
        help="answer to this Host name too, e.g. behind a proxy (repeatable; '*.example.com'; "
        "default: addresses, localhost and the bound name)",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="autolog",
        description="Experiment tracking for machine learning code: look at recorded runs, "
        "curate them, send them on, serve them.",
        epilog="examples:\n  autolog runs ls -e arima\n  autolog runs show 3f2a9c1b7d4e\n"
        "  autolog ui\n\n`autolog COMMAND --help` tells more about each command.",
        formatter_class=RAW,
    )
    parser.add_argument("--version", "-V", action=_VersionAction)
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    runs = add_command(
        commands, "runs", "list, show and curate runs", "example:\n  autolog runs ls --format csv"
    )
    run_commands = runs.add_subparsers(dest="runs_command", metavar="ACTION", parser_class=_Parser)
    run_commands.required = True
    ls = add_command(
        run_commands,
        "ls",
        "a table of runs, newest first, each child under its parent",
        "examples:\n  autolog runs ls -e arima -n 10\n"
        '  autolog runs ls -f "metrics.aic < 1000" -o "metrics.aic ASC"\n'
        "  autolog runs ls --params order,trend --metrics aic,bic\n"
        "  autolog runs ls --format json | jq '.[0].metrics'",
    )
    ls.add_argument("--experiment", "-e", help="only runs of this experiment")
    ls.add_argument("--filter", "-f", help='MLflow filter syntax, e.g. "metrics.aic < 1000"')
    ls.add_argument("--order-by", "-o", action="append", help='e.g. "metrics.aic ASC"')
    ls.add_argument("--backend", "-b", help=BACKEND_HELP)
    ls.add_argument(
        "--limit", "-n", type=_positive_int, help="rows (default 50 for a table, all for csv/json)"
    )
    ls.add_argument(
        "--metrics", "-m", help="comma-separated metric columns (default: those most runs share)"
    )
    ls.add_argument(
        "--params", "-p", help="comma-separated param columns (default: those that vary)"
    )
    ls.add_argument(
        "--format",
        choices=("table", "csv", "json"),
        default="table",
        help="table (default), or csv/json with every param and metric",
    )
    ls.add_argument("--deleted", action="store_true", help="include deleted runs")
    ls.add_argument("--page-token", help="the next page, as printed below the previous one")
    show = add_command(
        run_commands,
        "show",
        "everything about one run",
        "example:\n  autolog runs show 3f2a9c1b7d4e",
    )
    show.add_argument("run_id", metavar="RUN_ID")
    show.add_argument("--backend", "-b", help=BACKEND_HELP)
    from ._cli_edit import add_parsers

    add_parsers(run_commands, BACKEND_HELP)

    experiments = add_command(
        commands, "experiments", "list experiments", "example:\n  autolog experiments ls"
    )
    experiment_commands = experiments.add_subparsers(
        dest="experiments_command", metavar="ACTION", parser_class=_Parser
    )
    experiment_commands.required = True
    experiments_ls = add_command(
        experiment_commands,
        "ls",
        "experiments with their number of runs, most recently active first",
        "examples:\n  autolog experiments ls\n  autolog experiments ls --format json",
    )
    experiments_ls.add_argument("--backend", "-b", help=BACKEND_HELP)
    experiments_ls.add_argument("--format", choices=("table", "csv", "json"), default="table")
    experiments_ls.add_argument("--deleted", action="store_true", help="count deleted runs too")

    from ._cli_models import add_parsers as add_model_parsers

    add_model_parsers(commands, BACKEND_HELP, _Parser)

    sync = add_command(
        commands,
        "sync",
        "send records that remote backends have not acknowledged yet",
        "examples:\n  autolog sync\n  autolog sync --backend http://tracking:5000",
    )
    sync.add_argument("--dir", "-d", help="the local store holding the journals")
    sync.add_argument("--backend", "-b", action="append", help="send to this backend (repeatable)")
    sync.add_argument("--quiet", "-q", action="store_true", help="no progress bar")
    sync.add_argument(
        "--dry-run", "-n", action="store_true", help="list what is pending, send nothing"
    )
    status = commands.add_parser(
        "status", help="what each destination has not acknowledged yet (sends nothing)"
    )
    status.add_argument("--dir", "-d", help="the local store holding the journals")
    status.add_argument("--backend", "-b", action="append", help="look at this backend only")

    server = add_command(
        commands,
        "server",
        "run the tracking server (MLflow REST API); needs autolog-tracking[server]",
        "examples:\n  autolog server --port 5000\n"
        "  AUTOLOG_SERVER_TOKEN=s3cret autolog server --host 0.0.0.0 "
        "--store postgresql://u:pw@db/autolog",
        description="Serve the MLflow REST API over a durable SQL store, and the web UI. Each "
        "option falls back to AUTOLOG_SERVER_HOST, _PORT, _STORE, _ARTIFACTS, _TOKEN, "
        "_ALLOW_ORIGIN, _ALLOW_HOST, then the default.",
    )
    server.add_argument("--host", help="interface to listen on (default 127.0.0.1)")
    server.add_argument("--port", type=int, help="port; 0 picks a free one (default 5000)")
    server.add_argument(
        "--store", help="sqlite:///file.db or postgresql://user:pw@host/db (default sqlite)"
    )
    server.add_argument(
        "--artifacts",
        help="artifact folder, or wasbs://CONTAINER@ACCOUNT.blob.core.windows.net/PREFIX or "
        "azure://CONTAINER/PREFIX (default ./autolog-artifacts)",
    )
    server.add_argument(
        "--token", help="require 'Authorization: Bearer TOKEN' (prefer AUTOLOG_SERVER_TOKEN)"
    )
    add_guard_options(server)

    ui = add_command(
        commands,
        "ui",
        "browse and curate runs in a web UI, over a local store or blob container",
        "examples:\n  autolog ui\n  autolog ui path/to/autolog-runs --port 8080",
        description="Serve the web UI over a local store (default: the configured one, "
        "./autolog-runs) or a blob URI (read-only), and print its URL. Needs "
        "autolog-tracking[server]. `autolog server` serves the same UI at its own URL.",
    )
    ui.add_argument("store", nargs="?", metavar="STORE", help="folder, file: URI or blob URI")
    ui.add_argument("--host", default="127.0.0.1", help="interface to listen on (127.0.0.1)")
    ui.add_argument("--port", type=int, default=5050, help="port; 0 picks a free one (5050)")
    ui.add_argument(
        "--read-only", action="store_true", help="no renaming, tagging or deleting from the page"
    )
    add_guard_options(ui)
    return parser


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be a whole number above 0, got {text!r}")
    return value


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``autolog`` console script; returns the exit code."""
    # argparse asks gettext for each of the ~50 messages of the parser; for a locale without
    # argparse catalogues (the usual case) gettext searches the locale folders again for
    # every message: 9 ms of each command. Each message is looked up once here; argparse's
    # own lookup is put back afterwards, for a caller that runs main() in its own process.
    import functools
    import gettext

    lookup = argparse._  # type: ignore[attr-defined]  # argparse's module-level gettext
    argparse._ = functools.lru_cache(maxsize=None)(gettext.gettext)  # type: ignore[attr-defined]
    try:
        return _main(argv)
    finally:
        argparse._ = lookup  # type: ignore[attr-defined]


def _main(argv: Sequence[str] | None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        if args.command is None:
            parser.print_help(sys.stdout)
            return 0
        if args.command == "runs" and args.runs_command == "ls":
            from ._cli_runs import runs_ls

            return runs_ls(args, sys.stdout)
        if args.command == "runs" and args.runs_command == "show":
            return runs_show(args, sys.stdout)
        if args.command == "runs":
            from ._cli_edit import run_edit

            return run_edit(args, sys.stdout, sys.stderr)
        if args.command == "experiments":
            from ._cli_runs import experiments_ls

            return experiments_ls(args, sys.stdout)
        if args.command == "models":
            from ._cli_models import models_command

            return models_command(args, sys.stdout)
        if args.command in ("sync", "status"):
            from ._sync import run_sync

            dry_run = args.command == "status" or args.dry_run
            quiet = getattr(args, "quiet", False)
            out = sys.stdout if args.command == "status" else sys.stderr
            return run_sync(args.dir, args.backend, out, quiet, dry_run)
        if args.command == "server":
            from .server import main as run_server

            return run_server(args)
        if args.command == "ui":
            from .ui import main as run_ui

            return run_ui(args)
    except AutologError as exc:
        print(f"autolog: error: {escape(exc)}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("autolog: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # `autolog runs ls | head`: the reader has all it wants
        sys.stdout = open(os.devnull, "w")  # noqa: SIM115 (Python flushes it at exit)
        return 0
    return EXIT_USAGE


def runs_show(args: argparse.Namespace, out: TextIO) -> int:
    import autolog

    from ._curation import NOTE_TAG
    from ._run_ids import expand_run_id

    run_id = expand_run_id(args.run_id, args.backend)
    run = autolog.get_run(run_id, backend=args.backend)
    tags = dict(run.tags)
    note = tags.pop(NOTE_TAG, None)
    lines = [
        f"run         {run.id}",
        f"name        {escape(run.name)}",
        f"experiment  {escape(run.experiment)}",
        f"status      {run.status}" + ("  (deleted)" if run.lifecycle_stage == "deleted" else ""),
        f"started     {format_time(run.start_time)}",
        f"duration    {format_duration(run.duration)}",
    ]
    if run.parent_id:
        lines.append(f"parent      {run.parent_id}")
    if note:
        lines.append(
            "note        " + "\n            ".join(escape(line) for line in note.splitlines())
        )
    for title, values in (("params", run.params), ("metrics", run.metrics), ("tags", tags)):
        lines.append(f"\n{title} ({len(values)})")
        width = max((len(escape(key)) for key in values), default=0)
        for key in sorted(values):
            value = values[key]
            text = format_number(value) if title == "metrics" else escape(value)  # type: ignore[arg-type]
            lines.append(f"  {escape(key).ljust(width)}  {text}")
    lines.append(f"\nartifacts ({len(run.artifacts)})")
    lines.extend(f"  {escape(path)}" for path in run.artifacts)
    if run.model:
        lines.append(
            f"\nmodel  flavor={escape(run.model.get('flavor'))}  "
            f"path={escape(run.model.get('path'))}"
        )
        lines.append(f"  load it with: autolog.load_model({run.id!r})")
    print("\n".join(lines), file=out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
