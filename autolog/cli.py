"""The ``autolog`` command: list and show runs, send what is unsent.

    autolog runs ls [--experiment NAME] [--filter EXPR] [--backend URI] [--limit N]
    autolog runs show RUN_ID [--backend URI]
    autolog sync [--dir FOLDER] [--backend URI ...]
    autolog ui [STORE] [--host 127.0.0.1] [--port 5050]

Every command takes its defaults from the same configuration as ``autolog()``
(``AUTOLOG_*`` variables, ``[tool.autolog]``), and exits non-zero with one
clear line on bad input.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import time
from collections.abc import Sequence
from datetime import datetime
from typing import Any, TextIO

from .errors import AutologError
from .server.guard import add_guard_options

EXIT_USAGE = 2


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # type: ignore[override]
        self.print_usage(sys.stderr)
        self.exit(EXIT_USAGE, f"autolog: error: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="autolog",
        description="Experiment tracking for machine learning code: look at recorded runs.",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    commands.required = True

    runs = commands.add_parser("runs", help="list runs or show one")
    run_commands = runs.add_subparsers(dest="runs_command", metavar="ACTION", parser_class=_Parser)
    run_commands.required = True
    ls = run_commands.add_parser("ls", help="a table of runs, newest first")
    ls.add_argument("--experiment", "-e", help="only runs of this experiment")
    ls.add_argument("--filter", "-f", help='MLflow filter syntax, e.g. "metrics.aic < 1000"')
    ls.add_argument("--order-by", "-o", action="append", help='e.g. "metrics.aic ASC"')
    ls.add_argument("--backend", "-b", help="where to read (default: the configured backend)")
    ls.add_argument("--limit", "-n", type=_positive_int, default=50, help="rows (default 50)")
    ls.add_argument("--metrics", "-m", help="comma-separated metric columns (default: a few)")
    show = run_commands.add_parser("show", help="everything about one run")
    show.add_argument("run_id", metavar="RUN_ID")
    show.add_argument("--backend", "-b", help="where to read (default: the configured backend)")

    sync = commands.add_parser(
        "sync", help="send records that remote backends have not acknowledged yet"
    )
    sync.add_argument("--dir", "-d", help="the local store holding the journals")
    sync.add_argument("--backend", "-b", action="append", help="send to this backend (repeatable)")
    sync.add_argument("--quiet", "-q", action="store_true", help="no progress bar")

    server = commands.add_parser(
        "server",
        help="run the tracking server (MLflow REST API); needs autolog-tracking[server]",
        description="Serve the MLflow REST API over a durable SQL store. Each option falls back "
        "to AUTOLOG_SERVER_HOST, _PORT, _STORE, _ARTIFACTS, _TOKEN, _ALLOW_ORIGIN, _ALLOW_HOST, "
        "then the default.",
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

    ui = commands.add_parser(
        "ui",
        help="browse runs in a web UI, over a local store or blob container (read-only)",
        description="Serve the web UI over a local store (default: the configured one, "
        "./autolog-runs) or a blob URI, read-only, and print its URL. Needs "
        "autolog-tracking[server]. `autolog server` serves the same UI at its own URL.",
    )
    ui.add_argument("store", nargs="?", metavar="STORE", help="folder, file: URI or blob URI")
    ui.add_argument("--host", default="127.0.0.1", help="interface to listen on (127.0.0.1)")
    ui.add_argument("--port", type=int, default=5050, help="port; 0 picks a free one (5050)")
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
    args = build_parser().parse_args(argv)
    try:
        if args.command == "runs" and args.runs_command == "ls":
            return runs_ls(args, sys.stdout)
        if args.command == "runs" and args.runs_command == "show":
            return runs_show(args, sys.stdout)
        if args.command == "sync":
            return sync(args, sys.stderr)
        if args.command == "server":
            from .server import main as run_server

            return run_server(args)
        if args.command == "ui":
            from .ui import main as run_ui

            return run_ui(args)
    except AutologError as exc:
        print(f"autolog: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("autolog: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # `autolog runs ls | head`: the reader has all it wants
        sys.stdout = open(os.devnull, "w")  # noqa: SIM115 (Python flushes it at exit)
        return 0
    return EXIT_USAGE


def runs_ls(args: argparse.Namespace, out: TextIO) -> int:
    import autolog

    runs = autolog.search_runs(
        experiment=args.experiment,
        backend=args.backend,
        filter=args.filter,
        order_by=args.order_by,
    )
    shown = runs[: args.limit]
    if not shown:
        print("no runs", file=out)
        return 0
    metric_keys = _metric_columns(shown, args.metrics)
    header = ["id", "name", "experiment", "status", "start", "duration", *metric_keys]
    rows = [
        [
            run.id[:12],
            "  " * depth + ("└ " if depth else "") + run.name,
            run.experiment,
            run.status,
            format_time(run.start_time),
            format_duration(run.duration),
            *(format_number(run.metrics.get(key)) for key in metric_keys),
        ]
        for depth, run in fold_children(shown)
    ]
    print(format_table(header, rows), file=out)
    if len(runs) > len(shown):
        print(f"({len(runs) - len(shown)} more; use --limit)", file=out)
    return 0


def fold_children(runs: list) -> list[tuple[int, Any]]:
    """Order runs so each child follows its parent, with its depth; orphans stay top-level."""
    ids = {run.id for run in runs}
    children: dict[str, list] = {}
    for run in runs:
        if run.parent_id in ids:
            children.setdefault(run.parent_id, []).append(run)
    folded: list[tuple[int, Any]] = []

    def add(run: Any, depth: int) -> None:
        folded.append((depth, run))
        for child in sorted(children.get(run.id, []), key=lambda r: (r.start_time, r.id)):
            add(child, depth + 1)

    for run in runs:
        if run.parent_id not in ids:
            add(run, 0)
    return folded


def _metric_columns(runs: list, requested: str | None, most: int = 4) -> list[str]:
    if requested:
        return [key.strip() for key in requested.split(",") if key.strip()]
    counts: dict[str, int] = {}
    for run in runs:
        for key in run.metrics:
            counts[key] = counts.get(key, 0) + 1
    return sorted(counts, key=lambda key: (-counts[key], key))[:most]


def runs_show(args: argparse.Namespace, out: TextIO) -> int:
    import autolog

    run_id = _expand_run_id(args.run_id, args.backend)
    run = autolog.get_run(run_id, backend=args.backend)
    lines = [
        f"run         {run.id}",
        f"name        {run.name}",
        f"experiment  {run.experiment}",
        f"status      {run.status}",
        f"started     {format_time(run.start_time)}",
        f"duration    {format_duration(run.duration)}",
    ]
    if run.parent_id:
        lines.append(f"parent      {run.parent_id}")
    for title, values in (("params", run.params), ("metrics", run.metrics), ("tags", run.tags)):
        lines.append(f"\n{title} ({len(values)})")
        width = max((len(key) for key in values), default=0)
        for key in sorted(values):
            value = values[key]
            text = format_number(value) if title == "metrics" else value  # type: ignore[arg-type]
            lines.append(f"  {key.ljust(width)}  {text}")
    lines.append(f"\nartifacts ({len(run.artifacts)})")
    lines.extend(f"  {path}" for path in run.artifacts)
    if run.model:
        lines.append(f"\nmodel  flavor={run.model.get('flavor')}  path={run.model.get('path')}")
        lines.append(f"  load it with: autolog.load_model({run.id!r})")
    print("\n".join(lines), file=out)
    return 0


def _expand_run_id(prefix: str, backend: str | None) -> str:
    """Accept the 12-character ids ``runs ls`` prints, as long as they are unambiguous."""
    import autolog

    from .errors import RunNotFoundError

    if len(prefix) == 32:
        return prefix
    matches = [run.id for run in autolog.search_runs(backend=backend) if run.id.startswith(prefix)]
    if len(matches) == 1:
        return matches[0]
    if not matches:
        raise RunNotFoundError(f"no run id starts with {prefix!r}; see: autolog runs ls")
    raise RunNotFoundError(f"{len(matches)} runs start with {prefix!r}; give more characters")


def sync(args: argparse.Namespace, err: TextIO) -> int:
    from ._config import resolve
    from ._shipper import Shipper
    from ._store import LocalStore
    from .backend import backend_for
    from .plugins import load_plugins

    # The journals' folder comes first, so that a folder given as --backend is a
    # replica to fill, not the store to read from.
    store_dir = resolve({"dir": args.dir}).dir
    config = resolve({"dir": store_dir, "backend": tuple(args.backend) if args.backend else None})
    load_plugins()
    store = LocalStore(config.dir)
    remotes = [b for b in (backend_for(uri, config) for uri in config.backends) if b.remote]
    if not remotes:
        print(
            f"autolog: nothing to sync: the only backend is the local store {store.root}; "
            "name a remote one with --backend or AUTOLOG_BACKEND",
            file=err,
        )
        return 0
    delivered = True
    for backend in remotes:
        try:
            delivered = _sync_to(Shipper(backend, store), quiet=args.quiet, err=err) and delivered
        finally:
            backend.close()
    return 0 if delivered else 1


def _sync_to(shipper: Any, quiet: bool, err: TextIO) -> bool:
    """Send every run's unacknowledged records to one backend; False if any were not.

    A run the backend refuses for good is reported and the next one goes on; a
    backend that cannot be reached, or refuses everything, ends the attempt.
    """
    from ._validation import strip_credentials

    uri = strip_credentials(shipper.backend.uri)
    work = {run_id: shipper.pending_records(run_id) for run_id in shipper.store.run_ids()}
    work = {run_id: count for run_id, count in work.items() if count}
    total = sum(work.values())
    bar = ProgressBar(f"sync to {uri}", total, err, enabled=not quiet)
    refused: list[str] = []
    for run_id in work:
        try:
            shipper.ship_run(run_id, progress=bar.advance)
        except Exception as exc:
            bar.finish()
            reason = strip_credentials(f"{type(exc).__name__}: {exc}")
            print(f"autolog: run {run_id} not sent to {uri}: {reason}", file=err)
            if not getattr(exc, "permanent", False) or getattr(exc, "refuses_everything", False):
                print("autolog: stopped; run `autolog sync` again once it answers", file=err)
                return False
            refused.append(run_id)
    bar.finish()
    sent = len(work) - len(refused)
    print(
        f"autolog: {total - sum(work[r] for r in refused)} record(s) of {sent} run(s) sent "
        f"to {uri}",
        file=err,
    )
    if refused:
        print(f"autolog: {len(refused)} run(s) refused by {uri}: {', '.join(refused)}", file=err)
    return not refused


class ProgressBar:
    """A one-line progress bar on stderr; silent when not a terminal unless it finishes."""

    def __init__(self, label: str, total: int, out: TextIO, enabled: bool = True) -> None:
        self.label, self.total, self.out, self.done = label, total, out, 0
        self.enabled = enabled and total > 0
        self._last_draw = 0.0

    def advance(self, count: int) -> None:
        self.done += count
        now = time.monotonic()
        if self.enabled and (now - self._last_draw > 0.1 or self.done >= self.total):
            self._last_draw = now
            self._draw()

    def _draw(self) -> None:
        width = 30
        filled = width * self.done // self.total if self.total else width
        percent = 100 * self.done // self.total if self.total else 100
        bar = "#" * filled + "-" * (width - filled)
        print(
            f"\r{self.label} [{bar}] {percent:3d}% {self.done}/{self.total}",
            end="",
            file=self.out,
            flush=True,
        )

    def finish(self) -> None:
        if self.enabled:
            self._draw()
            print(file=self.out)


def format_table(header: list[str], rows: list[list[str]]) -> str:
    """Columns padded to their widest cell, with a rule under the header."""
    table = [[str(cell) for cell in row] for row in (header, *rows)]
    widths = [max(len(cell) for cell in column) for column in zip(*table, strict=True)]
    lines = [
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in table
    ]
    lines.insert(1, "  ".join("-" * width for width in widths))
    return "\n".join(lines)


def format_time(ms: int | None) -> str:
    if not ms:
        return "-"
    return datetime.fromtimestamp(ms / 1000).strftime("%Y-%m-%d %H:%M:%S")


def format_duration(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    if seconds < 60:
        return f"{seconds:.1f}s"
    minutes, seconds = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m" if hours else f"{minutes}m{seconds:02d}s"


def format_number(value: float | None) -> str:
    if value is None:
        return "-"
    if math.isnan(value) or math.isinf(value):
        return str(value)
    return f"{value:.6g}"


if __name__ == "__main__":
    sys.exit(main())
