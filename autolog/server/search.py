"""``runs/search`` in SQL: MLflow's filter and order-by syntax translated to WHERE and ORDER BY.

The text is parsed once by :mod:`autolog._filter` (the same grammar as the
local store and the CLI), and each :class:`~autolog._filter.Comparison` becomes
one SQL condition with the same meaning as the in-memory evaluator:

* a run lacking the key never matches, whatever the operator, hence ``EXISTS``;
* metrics compare their latest value (by step, then time); a NaN only satisfies ``!=``;
* order-by puts real numbers first, then NaN, then runs lacking the key, in
  either direction, and ties fall back to ``start_time`` descending, then run id.

Paging is by offset, as in MLflow's SQL store; the token is opaque to clients.
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

import sqlalchemy as sa

from .. import _filter
from ..errors import InvalidFilterError
from .database import Database
from .entity_filter import COMPARE
from .entity_filter import condition as column_condition
from .errors import invalid
from .schema import experiments, latest_metrics, params, runs, tags

_ATTRIBUTE_COLUMNS = {
    "id": runs.c.run_uuid,
    "name": runs.c.name,
    "status": runs.c.status,
    "start_time": runs.c.start_time,
    "end_time": runs.c.end_time,
}
_TAG_FOR_ATTRIBUTE = {"parent_id": "mlflow.parentRunId"}
_LIFECYCLE = {"active": ("active",), "deleted": ("deleted",), "all": ("active", "deleted")}


def parse_filter(text: str | None) -> _filter.RunFilter:
    """Parse a filter; a syntax error becomes INVALID_PARAMETER_VALUE with the parser's message."""
    try:
        return _filter.parse_filter(text)
    except InvalidFilterError as exc:
        raise invalid(str(exc)) from None


def parse_order_by(clauses: list[str] | None) -> list[_filter.OrderClause]:
    try:
        return _filter.parse_order_by(clauses)
    except InvalidFilterError as exc:
        raise invalid(str(exc)) from None


def condition(db: Database, clause: _filter.Comparison) -> Any:
    """The SQL condition for one clause, on the ``runs`` table."""
    kind, key, op, value = clause.kind, clause.key, clause.op, clause.value
    if kind == "metric":
        return _metric_condition(key, op, float(value))  # type: ignore[arg-type]
    if kind == "attribute" and key in _ATTRIBUTE_COLUMNS:
        column = _ATTRIBUTE_COLUMNS[key]
        if key in ("start_time", "end_time"):
            return sa.and_(column.is_not(None), COMPARE[op](column, value))
        return _string_condition(db, column, op, value)
    if kind == "attribute" and key == "experiment":
        names = sa.select(experiments.c.experiment_id).where(
            _string_condition(db, experiments.c.name, op, value)
        )
        return runs.c.experiment_id.in_(names)
    table = params if kind == "param" else tags
    key = _TAG_FOR_ATTRIBUTE.get(key, key) if kind == "attribute" else key
    return sa.exists().where(
        table.c.run_uuid == runs.c.run_uuid,
        table.c.key == key,
        _string_condition(db, table.c.value, op, value),
    )


def _string_condition(db: Database, column: Any, op: str, value: Any) -> Any:
    """A string column compared to a string: what runs' attributes, params and tags hold."""
    return column_condition(db, column, op, value if op in ("IN", "NOT IN") else str(value))


def _metric_condition(key: str, op: str, value: float) -> Any:
    m = latest_metrics.c
    matches: Any
    if value != value:  # comparing with NaN: only != holds, and for every value
        matches = sa.true() if op == "!=" else sa.false()
    elif op == "!=":
        matches = sa.or_(m.is_nan, m.value != value)
    else:
        matches = sa.and_(sa.not_(m.is_nan), COMPARE[op](m.value, value))
    return sa.exists().where(m.run_uuid == runs.c.run_uuid, m.key == key, matches)


def order_columns(clauses: list[_filter.OrderClause]) -> list[Any]:
    """ORDER BY terms: the requested ones, then start_time DESC and run id as tie-breakers."""
    terms: list[Any] = []
    seen = set()
    for clause in clauses:
        seen.add((clause.kind, clause.key))
        terms.extend(_order_terms(clause))
    if ("attribute", "start_time") not in seen:
        terms.append(runs.c.start_time.desc())
    if ("attribute", "id") not in seen:
        terms.append(runs.c.run_uuid.asc())
    return terms


def _order_terms(clause: _filter.OrderClause) -> list[Any]:
    if clause.kind == "attribute" and clause.key in _ATTRIBUTE_COLUMNS:
        value: Any = _ATTRIBUTE_COLUMNS[clause.key]
        rank: Any = sa.case((value.is_(None), 2), else_=0)
    elif clause.kind == "attribute" and clause.key == "experiment":
        value = (
            sa.select(experiments.c.name)
            .where(experiments.c.experiment_id == runs.c.experiment_id)
            .scalar_subquery()
        )
        rank = sa.literal(0)
    elif clause.kind == "metric":
        m = latest_metrics.c
        where = (m.run_uuid == runs.c.run_uuid, m.key == clause.key)
        value = sa.select(m.value).where(*where, sa.not_(m.is_nan)).scalar_subquery()
        is_nan = sa.select(m.is_nan).where(*where).scalar_subquery()
        rank = sa.case((is_nan.is_(None), 2), (is_nan, 1), else_=0)
    else:
        table = params if clause.kind == "param" else tags
        key = _TAG_FOR_ATTRIBUTE.get(clause.key, clause.key)
        value = (
            sa.select(table.c.value)
            .where(table.c.run_uuid == runs.c.run_uuid, table.c.key == key)
            .scalar_subquery()
        )
        rank = sa.case((value.is_(None), 2), else_=0)
    return [rank.asc(), value.asc() if clause.ascending else value.desc()]


def encode_token(offset: int) -> str:
    return base64.urlsafe_b64encode(json.dumps({"offset": offset}).encode()).decode()


def page(field: str, items: list[Any], fetched: int, offset: int, limit: int) -> dict[str, Any]:
    """A search response: ``items`` under ``field``, and a next page token if there is more.

    The query asked for ``limit + 1`` rows from ``offset``; ``fetched`` is how many came
    back, so one more than ``limit`` means another page follows.
    """
    response: dict[str, Any] = {field: items}
    if fetched > limit:
        response["next_page_token"] = encode_token(offset + limit)
    return response


def decode_token(token: str | None) -> int:
    """The offset a page token stands for; a token this server did not issue is refused."""
    if not token:
        return 0
    try:
        offset = json.loads(base64.urlsafe_b64decode(token.encode()))["offset"]
    except (ValueError, KeyError, TypeError, binascii.Error):
        offset = None
    if type(offset) is not int or offset < 0:
        raise invalid(f"invalid page_token {token[:40]!r}: pass back the next_page_token received")
    return offset


def select_run_ids(
    db: Database,
    experiment_ids: list[int],
    filter_text: str | None,
    view: str,
    order_by: list[str] | None,
    offset: int,
    limit: int,
) -> sa.Select:
    """The SELECT of one page of run ids matching the search, in order."""
    run_filter = parse_filter(filter_text)
    query = sa.select(runs.c.run_uuid).where(
        runs.c.experiment_id.in_(experiment_ids),
        runs.c.lifecycle_stage.in_(_LIFECYCLE[view]),
        *(condition(db, clause) for clause in run_filter.clauses),
    )
    return query.order_by(*order_columns(parse_order_by(order_by))).offset(offset).limit(limit)
