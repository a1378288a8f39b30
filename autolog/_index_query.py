"""Answering searches from the index: MLflow's filter and order-by syntax translated to SQL.

A clause SQLite can decide exactly becomes SQL: comparisons of metrics (IEEE
754: a NaN only satisfies ``!=``), params, tags and attributes with ``=``,
``!=``, ``<``..., ``IN`` and ``NOT IN``. The rest (``LIKE``/``ILIKE``, the
``mlflow.runName``/``mlflow.parentRunId`` tag fallbacks) is evaluated in Python
on the candidates SQL returns, with :mod:`autolog._filter`'s own rules, so
both paths give the answers a replay of every journal would give.
Ordering follows ``_filter.sort_runs``: values in order, then NaN, then runs
lacking the key, ties by ``start_time`` descending then id.
"""

from __future__ import annotations

import json
import sqlite3
from typing import Any

from ._filter import Comparison, OrderClause, parse_filter, parse_order_by
from ._records import RunRecord

_COLUMNS = {
    "id": "r.run_id",
    "name": "r.name",
    "status": "r.status",
    "experiment": "r.experiment",
    "parent_id": "r.parent_id",
    "start_time": "r.start_time",
    "end_time": "r.end_time",
}
_FALLBACK_TAGS = ("mlflow.runName", "mlflow.parentRunId")
_TABLES = {"param": "params", "tag": "tags"}
_SAME_RUN = "m.run_id = r.run_id AND m.key = ?"
#: Candidates materialized at a time when part of a filter is evaluated in Python.
CHUNK = 500


def _clause_sql(clause: Comparison) -> tuple[str, list[Any]] | None:
    """SQL for one comparison, or None when it must be evaluated in Python."""
    op, value = clause.op, clause.value
    args: list[Any]
    if op in ("LIKE", "ILIKE"):
        return None
    if op in ("IN", "NOT IN"):
        values = list(value) if isinstance(value, tuple) else [value]
        marks = ", ".join("?" * len(values))
        test, args = f"{op} ({marks})", values
    else:
        test, args = f"{op} ?", [value]
    if clause.kind == "metric":
        if not isinstance(value, int | float):
            return None
        condition = (
            "(m.latest_nan = 1 OR m.latest != ?)"
            if op == "!="
            else f"(m.latest_nan = 0 AND m.latest {test})"
        )
        sql = f"EXISTS (SELECT 1 FROM metrics m WHERE {_SAME_RUN} AND {condition})"
        return sql, [clause.key, *args]
    if clause.kind in _TABLES:
        if clause.kind == "tag" and clause.key in _FALLBACK_TAGS:
            return None
        if not all(isinstance(v, str) for v in args):
            return None
        table = _TABLES[clause.kind]
        same_run = _SAME_RUN.replace("m.", "t.")
        sql = f"EXISTS (SELECT 1 FROM {table} t WHERE {same_run} AND t.value {test})"
        return sql, [clause.key, *args]
    column = _COLUMNS.get(clause.key)
    if column is None:
        return None
    numeric = clause.key in ("start_time", "end_time")
    if numeric != all(isinstance(v, int | float) for v in args):
        return None
    return f"{column} {test}", args


def _order_sql(clause: OrderClause) -> tuple[list[str], list[Any]] | None:
    """ORDER BY terms for one clause (present, then NaN, then missing), or None for Python."""
    direction = "ASC" if clause.ascending else "DESC"
    if clause.kind == "metric":
        lookup = "FROM metrics m WHERE m.run_id = r.run_id AND m.key = ?"
        return [
            f"COALESCE((SELECT m.latest_nan {lookup}), 2)",
            f"(SELECT m.latest {lookup}) {direction}",
        ], [clause.key, clause.key]
    if clause.kind in _TABLES:
        if clause.kind == "tag" and clause.key in _FALLBACK_TAGS:
            return None
        same_run = _SAME_RUN.replace("m.", "t.")
        value = f"(SELECT t.value FROM {_TABLES[clause.kind]} t WHERE {same_run})"
        return [f"{value} IS NULL", f"{value} {direction}"], [clause.key, clause.key]
    column = _COLUMNS.get(clause.key)
    if column is None:
        return None
    if clause.key in ("id", "start_time"):  # never NULL for an indexed run: the index orders
        return [f"{column} {direction}"], []
    return [f"{column} IS NULL", f"{column} {direction}"], []


def search(
    conn: sqlite3.Connection,
    experiment: str | None,
    filter_text: str | None,
    order_by: list[str] | None,
    offset: int,
    limit: int | None,
    deleted: bool = False,
) -> tuple[list[RunRecord], bool]:
    """Runs matching the search from ``offset``, at most ``limit``, and whether more follow;
    soft-deleted runs only when ``deleted``."""
    from ._filter import sort_runs

    run_filter = parse_filter(filter_text)
    clauses = parse_order_by(order_by)
    where: list[str] = ["r.name IS NOT NULL"]
    args: list[Any] = []
    if not deleted:
        where.append("r.lifecycle = 'active'")
    if experiment is not None:
        where.append("r.experiment = ?")
        args.append(experiment)
    in_python = []
    for clause in run_filter.clauses:
        translated = _clause_sql(clause)
        if translated is None:
            in_python.append(clause)
        else:
            where.append(translated[0])
            args.extend(translated[1])
    seen = {(c.kind, c.key) for c in clauses}
    for tiebreak in (OrderClause("attribute", "start_time", False), OrderClause("attribute", "id")):
        if (tiebreak.kind, tiebreak.key) not in seen:
            clauses.append(tiebreak)
    terms: list[str] = []
    order_args: list[Any] = []
    for order in clauses:
        translated_order = _order_sql(order)
        if translated_order is None:
            terms = []
            break
        terms.extend(translated_order[0])
        order_args.extend(translated_order[1])
    query = f"SELECT r.run_id FROM runs r WHERE {' AND '.join(where)}"
    if not terms:  # an order SQL cannot express: sort every candidate in Python
        candidates = _filtered(conn, [r for (r,) in conn.execute(query, args)], in_python)
        ordered = sort_runs(candidates, order_by)
        stop = None if limit is None else offset + limit
        return ordered[offset:stop], stop is not None and stop < len(ordered)
    query += f" ORDER BY {', '.join(terms)}"
    args = [*args, *order_args]
    if not in_python:
        if limit is not None:
            query += " LIMIT ? OFFSET ?"
            args += [limit + 1, offset]
        elif offset:
            query += " LIMIT -1 OFFSET ?"
            args.append(offset)
        ids = [r for (r,) in conn.execute(query, args)]
        more = limit is not None and len(ids) > limit
        return records(conn, ids[:limit] if limit is not None else ids), more
    matched: list[RunRecord] = []
    cursor = conn.execute(query, args)
    wanted = None if limit is None else offset + limit + 1
    while wanted is None or len(matched) < wanted:
        ids = [r for (r,) in cursor.fetchmany(CHUNK)]
        if not ids:
            break
        matched.extend(_filtered(conn, ids, in_python))
    stop = None if limit is None else offset + limit
    return matched[offset:stop], stop is not None and len(matched) > stop


def _filtered(
    conn: sqlite3.Connection, ids: list[str], clauses: list[Comparison]
) -> list[RunRecord]:
    return [run for run in records(conn, ids) if all(c.matches(run) for c in clauses)]


def records(conn: sqlite3.Connection, ids: list[str]) -> list[RunRecord]:
    """Full RunRecords for ``ids``, in that order, in a few set-based queries."""
    found: dict[str, RunRecord] = {}
    for start in range(0, len(ids), CHUNK):
        chunk = ids[start : start + CHUNK]
        marks = ", ".join("?" * len(chunk))
        for row in conn.execute(
            "SELECT run_id, name, experiment, status, parent_id, start_time, end_time, artifacts, "
            f"model, lifecycle, inputs FROM runs WHERE run_id IN ({marks}) AND name IS NOT NULL",
            chunk,
        ):
            found[row[0]] = RunRecord(
                id=row[0],
                name=row[1],
                experiment=row[2],
                status=row[3],
                parent_id=row[4],
                start_time=row[5],
                end_time=row[6],
                artifacts=list(json.loads(row[7])) if row[7] else [],
                model=json.loads(row[8]) if row[8] else None,
                lifecycle_stage=row[9],
                inputs=json.loads(row[10]) if row[10] else [],
            )
        for run_id, key, value in conn.execute(
            f"SELECT run_id, key, value FROM params WHERE run_id IN ({marks})", chunk
        ):
            found[run_id].params[key] = value
        for run_id, key, value in conn.execute(
            f"SELECT run_id, key, value FROM tags WHERE run_id IN ({marks})", chunk
        ):
            found[run_id].tags[key] = value
        for run_id, key, value, nan in conn.execute(
            f"SELECT run_id, key, latest, latest_nan FROM metrics WHERE run_id IN ({marks})", chunk
        ):
            found[run_id].metrics[key] = float("nan") if nan else value
    return [found[run_id] for run_id in ids if run_id in found]


def metric_summaries(conn: sqlite3.Connection, run_id: str) -> list[tuple[Any, ...]]:
    """(key, latest, min, max, count, last_step) of each metric of the run, by key."""
    return [
        (key, float("nan") if nan else latest, low, high, count, last)
        for key, latest, nan, low, high, count, last in conn.execute(
            "SELECT key, latest, latest_nan, min, max, count, last_step FROM metrics "
            "WHERE run_id = ? ORDER BY key",
            (run_id,),
        )
    ]


def artifact_sizes(conn: sqlite3.Connection, run_id: str) -> dict[str, int | None]:
    row = conn.execute("SELECT artifacts FROM runs WHERE run_id = ?", (run_id,)).fetchone()
    return json.loads(row[0]) if row and row[0] else {}


def experiments(conn: sqlite3.Connection) -> list[tuple[str, int, int, int]]:
    """(name, runs, running, last activity) of every experiment with a run."""
    return list(
        conn.execute(
            "SELECT experiment, COUNT(*), SUM(status = 'RUNNING'), MAX(last_activity) FROM runs "
            "WHERE name IS NOT NULL GROUP BY experiment"
        )
    )


def count(conn: sqlite3.Connection, experiment: str, deleted: bool = False) -> int:
    """How many runs the experiment has (soft-deleted ones only when ``deleted``)."""
    shown = "" if deleted else " AND lifecycle = 'active'"
    return conn.execute(
        f"SELECT COUNT(*) FROM runs WHERE experiment = ? AND name IS NOT NULL{shown}",
        (experiment,),
    ).fetchone()[0]


def children(conn: sqlite3.Connection, run_id: str) -> list[str]:
    return [
        r
        for (r,) in conn.execute(
            "SELECT run_id FROM runs WHERE parent_id = ? AND name IS NOT NULL "
            "ORDER BY start_time, run_id",
            (run_id,),
        )
    ]
