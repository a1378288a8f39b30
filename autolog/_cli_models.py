"""``autolog models ls`` and ``autolog models show NAME``: the model registry from the shell.

The same conventions as ``autolog runs ls``: a table that fits the terminal
(the name column shrinks first, versions and run ids stay whole), colour only on
a terminal, ``--format csv|json`` with every field for scripts, user data
escaped so a model named with control characters cannot rewrite the terminal.
"""

from __future__ import annotations

import argparse
from typing import Any, TextIO

from ._cli_output import escape, format_table, terminal_width, use_colour, write_csv, write_json
from ._cli_parsers import add_command
from ._cli_runs import format_time

FORMATS = ("table", "csv", "json")


def add_parsers(commands: Any, backend_help: str, parser_class: type) -> None:
    """The ``models`` command and its ``ls`` and ``show`` actions."""
    models = add_command(
        commands,
        "models",
        "list and show registered models",
        "examples:\n  autolog models ls\n  autolog models show churn",
    )
    actions = models.add_subparsers(
        dest="models_command", metavar="ACTION", parser_class=parser_class
    )
    actions.required = True
    ls = add_command(
        actions,
        "ls",
        "registered models, most recently updated first",
        "examples:\n  autolog models ls\n  autolog models ls --format json",
        description="registered models with their latest version and aliases, most recently "
        "updated first",
    )
    show = add_command(
        actions,
        "show",
        "every version of one registered model",
        "examples:\n  autolog models show churn\n  autolog models show churn --format csv",
        description="every version of one registered model: its run, aliases and source",
    )
    show.add_argument("name", metavar="NAME")
    for parser in (ls, show):
        parser.add_argument("--backend", "-b", help=backend_help)
        parser.add_argument("--format", choices=FORMATS, default="table")


def models_command(args: argparse.Namespace, out: TextIO) -> int:
    if args.models_command == "show":
        return models_show(args, out)
    return models_ls(args, out)


def models_ls(args: argparse.Namespace, out: TextIO) -> int:
    import autolog

    models = autolog.search_registered_models(backend=args.backend)
    if args.format == "json":
        write_json(out, [_summary(m) for m in models])
        return 0
    header = ["name", "latest_version", "aliases", "updated"]
    rows = [
        [m.name, str(m.latest or ""), _aliases(m.aliases), format_time(m.updated or None)]
        for m in models
    ]
    if args.format == "csv":
        write_csv(out, header, [[*row[:3], m.updated] for row, m in zip(rows, models, strict=True)])
        return 0
    if not models:
        hint = "register one with autolog.register_model(RUN_ID, NAME)"
        print(f"no registered models; {hint}", file=out)
        return 0
    text, _ = format_table(
        ["model", "latest", "aliases", "updated"],
        rows,
        width=terminal_width(out),
        shrink=[0, 2],
        colour=use_colour(out),
        right=(1,),
    )
    print(text, file=out)
    return 0


def models_show(args: argparse.Namespace, out: TextIO) -> int:
    import autolog

    model = autolog.get_registered_model(args.name, backend=args.backend)
    versions = list(reversed(model.versions))  # newest first, like runs ls
    if args.format == "json":
        write_json(out, model.as_dict())
        return 0
    header = ["version", "aliases", "run_id", "created", "source"]
    if args.format == "csv":
        write_csv(
            out,
            header,
            [
                [v.version, " ".join(v.aliases), v.run_id or "", v.created, v.source]
                for v in versions
            ],
        )
        return 0
    colour = use_colour(out)
    name = escape(model.name)
    count = f"{len(versions)} version" + ("" if len(versions) == 1 else "s")
    print(f"\x1b[1m{name}\x1b[0m  ({count})" if colour else f"{name}  ({count})", file=out)
    if model.description:
        print(escape(model.description), file=out)
    rows = [
        # the 12-character run id `runs ls` prints, which `runs show` accepts
        [
            str(v.version),
            ", ".join(v.aliases),
            (v.run_id or "")[:12],
            format_time(v.created),
            v.source,
        ]
        for v in versions
    ]
    text, _ = format_table(
        ["version", "aliases", "run", "created", "source"],
        rows,
        width=terminal_width(out),
        shrink=[4, 1],
        colour=colour,
        right=(0,),
    )
    print(text, file=out)
    print(f"load one with: autolog.load_model('models:/{name}/VERSION')", file=out)
    return 0


def _summary(model: Any) -> dict[str, Any]:
    entry = model.as_dict()
    entry.pop("versions")
    return entry


def _aliases(aliases: dict[str, int]) -> str:
    """``champion=1, staging=2``: plain ASCII, so a Windows console can print it."""
    return ", ".join(f"{alias}={version}" for alias, version in sorted(aliases.items()))
