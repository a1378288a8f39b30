"""``autolog runs ls`` and ``autolog experiments ls``: what to show and in which format.

The table is for people: it fits the terminal, picks the params that vary and
the metrics most runs share, folds children under their parent (and keeps the
parent of a child that ``--limit`` would cut off). CSV and JSON are for
programs: every param and metric of every run, nothing truncated, no colour.
"""

from __future__ import annotations

import argparse
import contextlib
import math
from collections import Counter
from collections.abc import Callable
from datetime import datetime
from typing import Any, TextIO

from ._cli_output import (
    escape,
    format_table,
    terminal_width,
    use_colour,
    write_csv,
    write_json,
)
from ._records import RunRecord, encode_float
from .errors import AutologError

TABLE_LIMIT = 50
MOST_METRICS, MOST_PARAMS = 4, 3


def runs_ls(args: argparse.Namespace, out: TextIO) -> int:
    import autolog

    limit = args.limit or (TABLE_LIMIT if args.format == "table" else None)
    runs = autolog.search_runs(
        experiment=args.experiment,
        backend=args.backend,
        filter=args.filter,
        order_by=args.order_by,
        deleted=args.deleted,
        max_results=limit,
        page_token=args.page_token,
    )
    shown = with_parents(runs, lambda run_id: autolog.get_run(run_id, backend=args.backend))
    if args.format == "json":
        write_json(out, [run_dict(run) for run in shown])
        return 0
    if args.format == "csv":
        header, rows = flat_table(shown)
        write_csv(out, header, [[escape(cell) for cell in row] for row in rows])
        return 0
    if not shown:
        print("no runs" + ("" if args.deleted else " (deleted runs: --deleted)"), file=out)
        return 0
    ordered = bool(args.order_by)  # children then keep the asked order under their parent
    print(runs_table(shown, args.params, args.metrics, out, ordered), file=out)
    if runs.next_page_token:
        print(f"(more runs: --page-token {runs.next_page_token}, or a larger --limit)", file=out)
    return 0


def with_parents(runs: list[RunRecord], get_run: Callable[[str], RunRecord]) -> list[RunRecord]:
    """The runs of a page, plus the parent of any child among them that the page cut off
    (read with ``get_run``), so the table can show each child under its parent."""
    chosen: list[RunRecord] = []
    ids = {run.id for run in runs}
    for run in runs:
        parent_id = run.parent_id
        if parent_id and parent_id not in ids:
            ids.add(parent_id)
            # the parent goes where its first child of the page was; one that is gone or
            # unreadable is left out, and the child stands alone
            with contextlib.suppress(AutologError):
                chosen.append(get_run(parent_id))
        chosen.append(run)
    return chosen


def fold_children(
    runs: list[RunRecord], in_page_order: bool = False
) -> list[tuple[int, RunRecord]]:
    """Order runs so each child follows its parent, with its depth; orphans stay top-level.

    Children follow in the order they ran (a grid reads as it was searched), or, with
    ``in_page_order``, in the page's own order: the user's ``--order-by`` (best first).
    """
    ids = {run.id for run in runs}
    children: dict[str, list[RunRecord]] = {}
    for run in runs:
        if run.parent_id in ids:
            children.setdefault(run.parent_id, []).append(run)
    folded: list[tuple[int, RunRecord]] = []

    def add(run: RunRecord, depth: int) -> None:
        folded.append((depth, run))
        kids = children.get(run.id, [])
        for child in kids if in_page_order else sorted(kids, key=lambda r: (r.start_time, r.id)):
            add(child, depth + 1)

    for run in runs:
        if run.parent_id not in ids:
            add(run, 0)
    return folded


def shared_metrics(runs: list[RunRecord], most: int = MOST_METRICS) -> list[str]:
    """Metrics logged by at least half of the runs, the most common first."""
    counts = Counter(key for run in runs for key in run.metrics)
    common = [key for key, count in counts.items() if count * 2 >= len(runs)]
    return sorted(common, key=lambda key: (-counts[key], key))[:most]


def varying_params(runs: list[RunRecord], most: int = MOST_PARAMS) -> list[str]:
    """Params with more than one value among the runs that set them.

    Params set by most runs come first, so a grid's orders win over a key only
    one odd run has; a parent without params does not make every param "vary".
    """
    counts = Counter(key for run in runs for key in run.params)
    varying = [
        key for key in counts if len({run.params[key] for run in runs if key in run.params}) > 1
    ]
    return sorted(varying, key=lambda key: (-counts[key], key))[:most]


def _columns(requested: str | None, default: list[str]) -> list[str]:
    if requested is None:
        return default
    return [key.strip() for key in requested.split(",") if key.strip()]


def runs_table(
    runs: list[RunRecord],
    params: str | None,
    metrics: str | None,
    out: TextIO,
    in_page_order: bool = False,
) -> str:
    param_keys = _columns(params, varying_params(runs))
    metric_keys = _columns(metrics, shared_metrics(runs))
    several_experiments = len({run.experiment for run in runs}) > 1
    header = [
        "id",
        "name",
        *(["experiment"] if several_experiments else []),
        "status",
        "start",
        "duration",
        *param_keys,
        *metric_keys,
    ]
    rows = []
    for depth, run in fold_children(runs, in_page_order):
        name = "  " * (depth - 1) + "└ " + run.name if depth else run.name
        rows.append(
            [
                run.id[:12],
                name + (" (deleted)" if run.lifecycle_stage == "deleted" else ""),
                *([run.experiment] if several_experiments else []),
                run.status,
                short_time(run.start_time),
                format_duration(run.duration),
                *(run.params.get(key, "-") for key in param_keys),
                *(format_number(run.metrics.get(key)) for key in metric_keys),
            ]
        )
    first_number = len(header) - len(metric_keys)
    text, dropped = format_table(
        header,
        rows,
        width=terminal_width(out),
        shrink=[1, *([2] if several_experiments else [])],
        colour_column=header.index("status"),
        colour=use_colour(out),
        right=range(first_number, len(header)),
    )
    if dropped:
        text += f"\n({dropped} more column(s): widen, or pick with --params/--metrics)"
    return text


def run_dict(run: RunRecord) -> dict[str, Any]:
    """A run for JSON output: every field, NaN and infinities as strings."""
    return {
        "id": run.id,
        "name": run.name,
        "experiment": run.experiment,
        "status": run.status,
        "parent_id": run.parent_id,
        "start_time": run.start_time,
        "end_time": run.end_time,
        "duration": run.duration,
        "lifecycle_stage": run.lifecycle_stage,
        "params": dict(sorted(run.params.items())),
        "metrics": {key: encode_float(value) for key, value in sorted(run.metrics.items())},
        "tags": dict(sorted(run.tags.items())),
    }


def flat_table(runs: list[RunRecord]) -> tuple[list[str], list[list[Any]]]:
    """Every run as a row, every param and metric as a column (``params.X``, ``metrics.Y``)."""
    param_keys = sorted({key for run in runs for key in run.params})
    metric_keys = sorted({key for run in runs for key in run.metrics})
    header = [
        "id",
        "name",
        "experiment",
        "status",
        "parent_id",
        "start_time",
        "end_time",
        "lifecycle_stage",
        *(f"params.{key}" for key in param_keys),
        *(f"metrics.{key}" for key in metric_keys),
    ]
    rows = [
        [
            run.id,
            run.name,
            run.experiment,
            run.status,
            run.parent_id or "",
            run.start_time,
            run.end_time if run.end_time is not None else "",
            run.lifecycle_stage,
            *(run.params.get(key, "") for key in param_keys),
            *(_csv_number(run.metrics.get(key)) for key in metric_keys),
        ]
        for run in runs
    ]
    return header, rows


def _csv_number(value: float | None) -> str:
    if value is None:
        return ""
    return repr(value) if math.isfinite(value) else str(encode_float(value))


def experiments_ls(args: argparse.Namespace, out: TextIO) -> int:
    import autolog

    from ._session import session

    runs = autolog.search_runs(backend=args.backend, deleted=args.deleted)
    found: dict[str, dict[str, Any]] = {}
    reader = session.reader(args.backend)
    for name in _server_experiments(reader):
        found[name] = {"name": name, "runs": 0, "running": 0, "last_activity": None}
    for run in runs:
        entry = found.setdefault(
            run.experiment, {"name": run.experiment, "runs": 0, "running": 0, "last_activity": None}
        )
        entry["runs"] += 1
        entry["running"] += run.status == "RUNNING"
        moment = max(run.start_time or 0, run.end_time or 0)
        entry["last_activity"] = max(entry["last_activity"] or 0, moment) or None
    listing = sorted(found.values(), key=lambda e: (-(e["last_activity"] or 0), e["name"]))
    if args.format == "json":
        write_json(out, listing)
        return 0
    header = ["name", "runs", "running", "last_activity"]
    rows = [[e["name"], e["runs"], e["running"], e["last_activity"] or ""] for e in listing]
    if args.format == "csv":
        write_csv(out, header, [[escape(cell) for cell in row] for row in rows])
        return 0
    if not listing:
        print("no experiments", file=out)
        return 0
    table_rows = [
        [e["name"], str(e["runs"]), str(e["running"]), format_time(e["last_activity"])]
        for e in listing
    ]
    text, _ = format_table(
        ["experiment", "runs", "running", "last activity"],
        table_rows,
        width=terminal_width(out),
        shrink=[0],
        colour=use_colour(out),
        right=(1, 2),
    )
    print(text, file=out)
    return 0


def _server_experiments(reader: Any) -> list[str]:
    """Experiment names a tracking server knows, including those without runs."""
    rest = getattr(reader, "rest", None)
    if rest is None:
        return []
    names: list[str] = []
    token = None
    while True:
        body: dict[str, Any] = {"max_results": 1000}
        if token:
            body["page_token"] = token
        page = rest.call("experiments/search", body)
        names.extend(e["name"] for e in page.get("experiments", []))
        token = page.get("next_page_token")
        if not token:
            return names


def short_time(ms: int | None) -> str:
    """A start time for a table: month, day and minute this year, the date before."""
    if not ms:
        return "-"
    moment = datetime.fromtimestamp(ms / 1000)
    same_year = moment.year == datetime.now().year
    return moment.strftime("%m-%d %H:%M" if same_year else "%Y-%m-%d")


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
