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
from collections.abc import Sequence
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
_TABLES = {"metric": "metrics", "param": "params", "tag": "tags"}
#: Candidates materialized at a time when part of a filter is evaluated in Python.
CHUNK = 500
#: Seconds a search may walk runs in order before the planner's plan is asked instead
#: (either gives the same answer; this only picks the faster).
WALK_SECONDS = 0.02
#: SQLite instructions between two looks at the clock during a walk.
WALK_CHECK_EVERY = 200


class _Query:
    """The parts of one SELECT over ``runs r``: joins and conditions, with their arguments.

    A metric, param or tag clause is a JOIN on its table's (run_id, key) primary
    key, so at most one row joins per run and an inner join means exactly "the
    run has the key and its value passes". Written as joins (not correlated
    subqueries), SQLite can drive the query from the most selective index: a
    key's values, or the order's metric, walked in order and stopped at the page.
    A value test is written ``~$.value = ?``: ``$`` is the joined row, and ``~`` is
    a unary ``+`` in the *walk* variant (:func:`_walked`), which keeps SQLite from
    using the value's index so that it walks the order's index instead.
    """

    def __init__(self) -> None:
        self.joins: list[tuple[str, list[Any]]] = []  # each JOIN's text and its arguments
        self.where: list[str] = ["r.name IS NOT NULL"]
        self.where_args: list[Any] = []

    def join(
        self, kind: str, key: str, test: str = "", args: Sequence[Any] = (), outer: bool = False
    ) -> str:
        """Join ``kind``'s row of ``key``; ``test`` (``$`` for the row) must hold. Its alias."""
        alias = f"j{len(self.joins)}"
        condition = f" AND {test.replace('$', alias)}" if test else ""
        self.joins.append(
            (
                f"{'LEFT JOIN' if outer else 'JOIN'} {_TABLES[kind]} {alias} "
                f"ON {alias}.run_id = r.run_id AND {alias}.key = ?{condition}",
                [key, *args],
            )
        )
        return alias

    def copy(self) -> _Query:
        other = _Query()
        other.joins = list(self.joins)
        other.where, other.where_args = list(self.where), list(self.where_args)
        return other

    @property
    def filtered(self) -> bool:
        """Whether a value test of the filter is in the query (one the walk variant hides)."""
        return any("~" in text for text, _ in self.joins) or any("~" in w for w in self.where)

    def sql(
        self, terms: list[str], extra: str | None = None, walk: bool = False
    ) -> tuple[str, list[Any]]:
        where = " AND ".join(self.where if extra is None else [*self.where, extra])
        joins = " ".join(text for text, _ in self.joins)
        text = f"SELECT r.run_id FROM runs r {joins} WHERE {where}"
        if terms:
            text += f" ORDER BY {', '.join(terms)}"
        args = [arg for _, join_args in self.joins for arg in join_args]
        return text.replace("~", "+" if walk else ""), [*args, *self.where_args]

    def walk_from_metric(self, driver: int, terms: list[str]) -> tuple[str, list[Any]]:
        """The walk variant of a query ordered first by the metric of join ``driver``: that
        metric's rows read in ``metrics_by_key`` order (CROSS JOIN keeps them the outer
        loop), each run and its other joined rows looked up by primary key, stopped at the
        page. Its join's own test (``latest IS NOT NULL``) moves to the WHERE clause."""
        alias = f"j{driver}"
        others = [join for i, join in enumerate(self.joins) if i != driver]
        where = " AND ".join([f"{alias}.key = ?", f"{alias}.latest IS NOT NULL", *self.where])
        text = (
            f"SELECT r.run_id FROM metrics {alias} INDEXED BY metrics_by_key "
            f"CROSS JOIN runs r ON r.run_id = {alias}.run_id "
            f"{' '.join(join for join, _ in others)} WHERE {where} ORDER BY {', '.join(terms)}"
        )
        key = self.joins[driver][1][0]
        args = [arg for _, join_args in others for arg in join_args]
        return text.replace("~", "+"), [*args, key, *self.where_args]


def _add_clause(query: _Query, clause: Comparison) -> bool:
    """Put one comparison into ``query``; False when it must be evaluated in Python."""
    op, value = clause.op, clause.value
    args: list[Any]
    if op in ("LIKE", "ILIKE"):
        return False
    if op in ("IN", "NOT IN"):
        values = list(value) if isinstance(value, tuple) else [value]
        marks = ", ".join("?" * len(values))
        test, args = f"{op} ({marks})", values
    else:
        test, args = f"{op} ?", [value]
    if clause.kind == "metric":
        if not isinstance(value, int | float):
            return False
        # IEEE 754: a NaN (its latest is NULL) only satisfies !=.
        test = "(~$.latest IS NULL OR ~$.latest != ?)" if op == "!=" else f"~$.latest {test}"
        query.join("metric", clause.key, test, args)
        return True
    if clause.kind in _TABLES:
        if clause.kind == "tag" and clause.key in _FALLBACK_TAGS:
            return False
        if not all(isinstance(v, str) for v in args):
            return False
        query.join(clause.kind, clause.key, f"~$.value {test}", args)
        return True
    column = _COLUMNS.get(clause.key)
    if column is None:
        return False
    numeric = clause.key in ("start_time", "end_time")
    if numeric != all(isinstance(v, int | float) for v in args):
        return False
    query.where.append(f"~{column} {test}")
    query.where_args.extend(args)
    return True


def _add_order(query: _Query, clause: OrderClause) -> list[str] | None:
    """ORDER BY terms for one clause (values, then NaN, then missing), or None for Python."""
    direction = "ASC" if clause.ascending else "DESC"
    if clause.kind == "metric":
        alias = query.join("metric", clause.key, outer=True)
        # Its first term ranks a number 0, a NaN (a row whose latest is NULL) 1, no row 2.
        return [
            f"({alias}.latest IS NULL) + ({alias}.run_id IS NULL)",
            f"{alias}.latest {direction}",
        ]
    if clause.kind in _TABLES:
        if clause.kind == "tag" and clause.key in _FALLBACK_TAGS:
            return None
        alias = query.join(clause.kind, clause.key, outer=True)
        return [f"{alias}.value IS NULL", f"{alias}.value {direction}"]
    column = _COLUMNS.get(clause.key)
    if column is None:
        return None
    if clause.key in ("id", "start_time"):  # never NULL for an indexed run: the index orders
        return [f"{column} {direction}"]
    return [f"{column} IS NULL", f"{column} {direction}"]


#: One query of a search: its SQL and arguments, and its walk variant if it has one.
Segment = tuple[str, list[Any], tuple[str, list[Any]] | None]


def _ordered(query: _Query, clauses: list[OrderClause]) -> list[Segment] | None:
    """The queries whose answers, one after the other, are every candidate in order.

    Ordered first by a metric, the runs with a number for it come first and alone,
    the metric an inner join; the runs with a NaN or without the metric follow in a
    second query, asked only when the first ran out. A filtered query also comes in
    its walk variant (see :func:`_walked`): by default newest first, the
    start-time index walked; by a metric, that metric's rows walked in value order
    (the "best runs that pass" stop after the page, where the plan sorted every run
    that passed: 58 -> 2 ms at 100,000 runs). None when the order cannot be said in SQL.
    """
    first = clauses[0]
    if first.kind != "metric":
        terms = _terms(query, clauses)
        if terms is None:
            return None
        text, args = query.sql(terms)
        return [(text, args, query.sql(terms, walk=True) if query.filtered else None)]
    numbers, others = query.copy(), query.copy()
    driver = len(numbers.joins)
    alias = numbers.join("metric", first.key, "$.latest IS NOT NULL")
    later = _terms(numbers, clauses[1:])
    missing = f"j{len(others.joins)}.latest IS NULL"  # the join _terms adds first, outer
    every = _terms(others, clauses)
    if later is None or every is None:
        return None
    direction = "ASC" if first.ascending else "DESC"
    terms = [f"{alias}.latest {direction}", *later]
    walk = numbers.walk_from_metric(driver, terms) if query.filtered else None
    return [(*numbers.sql(terms), walk), (*others.sql(every, missing), None)]


def _terms(query: _Query, clauses: list[OrderClause]) -> list[str] | None:
    terms: list[str] = []
    for clause in clauses:
        found = _add_order(query, clause)
        if found is None:
            return None
        terms += found
    return terms


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

    clauses = parse_order_by(order_by)
    query = _Query()
    if not deleted:
        query.where.append("r.lifecycle = 'active'")
    if experiment is not None:
        query.where.append("r.experiment = ?")
        query.where_args.append(experiment)
    in_python = [c for c in parse_filter(filter_text).clauses if not _add_clause(query, c)]
    seen = {(c.kind, c.key) for c in clauses}
    for tiebreak in (OrderClause("attribute", "start_time", False), OrderClause("attribute", "id")):
        if (tiebreak.kind, tiebreak.key) not in seen:
            clauses.append(tiebreak)
    stop = None if limit is None else offset + limit
    segments = _ordered(query, clauses)
    if segments is None:  # an order SQL cannot express: sort every candidate in Python
        text, args = query.sql([])
        candidates = _filtered(conn, [r for (r,) in conn.execute(text, args)], in_python)
        ordered = sort_runs(candidates, order_by)
        return ordered[offset:stop], stop is not None and stop < len(ordered)
    wanted = None if stop is None else stop + 1
    if not in_python:
        ids: list[str] = []
        for text, args, walk in segments:
            if wanted is not None:
                if len(ids) >= wanted:
                    break
                more = wanted - len(ids)
                text, args = f"{text} LIMIT ?", [*args, more]
                walk = walk and (f"{walk[0]} LIMIT ?", [*walk[1], more])
            found = _walked(conn, *walk) if walk else None
            ids += found if found is not None else [r for (r,) in conn.execute(text, args)]
        return records(conn, ids[offset:stop]), stop is not None and len(ids) > stop
    matched: list[RunRecord] = []
    for text, args, _walk in segments:
        if wanted is not None and len(matched) >= wanted:
            break
        cursor = conn.execute(text, args)
        while wanted is None or len(matched) < wanted:
            chunk = [r for (r,) in cursor.fetchmany(CHUNK)]
            if not chunk:
                break
            matched.extend(_filtered(conn, chunk, in_python))
    return matched[offset:stop], stop is not None and len(matched) > stop


def _walked(conn: sqlite3.Connection, text: str, args: list[Any]) -> list[str] | None:
    """The page walked in order, or None if that took more than :data:`WALK_SECONDS`.

    For a page in the order of an index (newest first, or a metric's values),
    walking that index and testing each run stops at the page's end: fast when
    the filter passes many of the first runs in that order, slow when it passes
    few (or works against the order). The planner's plan drives from the filter's
    index and sorts what passed: the reverse. SQLite's planner does not weigh
    LIMIT, so the walk is tried first under a budget, then the plan is asked.
    """
    import time

    deadline = time.perf_counter() + WALK_SECONDS
    stopped = False

    def out_of_time() -> bool:
        nonlocal stopped
        stopped = time.perf_counter() > deadline
        return stopped

    conn.set_progress_handler(out_of_time, WALK_CHECK_EVERY)
    try:
        return [r for (r,) in conn.execute(text, args)]
    except sqlite3.OperationalError:  # "interrupted" by the budget, or a real error
        if not stopped:
            raise
        return None
    finally:
        conn.set_progress_handler(None, WALK_CHECK_EVERY)


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
        # Within one snapshot every row here has its run's named row (a headerless run has
        # none); a row without one comes from an index damaged or made by hand: left out.
        for run_id, key, value in conn.execute(
            f"SELECT run_id, key, value FROM params WHERE run_id IN ({marks})", chunk
        ):
            if run_id in found:
                found[run_id].params[key] = value
        for run_id, key, value in conn.execute(
            f"SELECT run_id, key, value FROM tags WHERE run_id IN ({marks})", chunk
        ):
            if run_id in found:
                found[run_id].tags[key] = value
        for run_id, key, value, nan in conn.execute(
            f"SELECT run_id, key, latest, latest_nan FROM metrics WHERE run_id IN ({marks})", chunk
        ):
            if run_id in found:
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
