"""MLflow's filter syntax for logged models and the model registry, turned into SQL conditions.

Runs have their own, richer grammar (:mod:`autolog._filter`); registered
models, model versions and logged models take the smaller one MLflow's SQL
store accepts for them: clauses ``IDENTIFIER OPERATOR VALUE`` joined by
``AND``, where the identifier is an attribute (``name``, ``run_id``,
``version_number``, ...: each entity declares its own), or ``tags.KEY``
(``params.KEY`` for logged models). Keys with other characters go in
backticks or double quotes. A malformed filter answers 400 naming the part
that is wrong and what is accepted.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from .database import Database
from .errors import invalid

_TOKEN = re.compile(
    r"""\s*(?:
    (?P<string>'(?:[^']|'')*'|"(?:[^"]|"")*")
    |(?P<number>-?\d+(?:\.\d+)?)
    |(?P<op><=|>=|!=|<>|=|<|>)
    |(?P<paren>[(),])
    |(?P<ident>(?:[A-Za-z_][\w]*\.)?(?:`[^`]+`|[A-Za-z_][\w.\-]*))
    )""",
    re.VERBOSE,
)
_WORD_OPS = {"LIKE", "ILIKE", "IN"}
COMPARE: dict[str, Callable[[Any, Any], Any]] = {
    "=": lambda a, b: a == b,
    "!=": lambda a, b: a != b,
    "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b,
    ">": lambda a, b: a > b,
    ">=": lambda a, b: a >= b,
}
_PREFIXES = {"tags": "tag", "tag": "tag", "params": "param", "param": "param"}
_ATTRIBUTE_PREFIXES = ("attributes", "attribute", "attr")


@dataclass(frozen=True)
class Clause:
    """One comparison: ``kind`` is ``attribute``, ``tag`` or ``param``."""

    kind: str
    key: str
    op: str
    value: Any


def parse(text: str | None, attributes: Mapping[str, str], kinds: tuple[str, ...]) -> list[Clause]:
    """The clauses of ``text``; ``attributes`` maps accepted names (and aliases) to their key."""
    if not text or not text.strip():
        return []
    tokens = _tokens(text)
    clauses: list[Clause] = []
    position = 0
    while True:
        clause, position = _clause(text, tokens, position, attributes, kinds)
        clauses.append(clause)
        if position == len(tokens):
            return clauses
        kind, word = tokens[position]
        if kind != "ident" or word.upper() != "AND":
            raise invalid(f"invalid filter {text!r}: expected AND before {word!r}")
        position += 1


def _tokens(text: str) -> list[tuple[str, str]]:
    tokens: list[tuple[str, str]] = []
    index = 0
    while index < len(text):
        if text[index:].strip() == "":
            break
        match = _TOKEN.match(text, index)
        if match is None or match.end() == index:
            raise invalid(f"invalid filter {text!r}: cannot read {text[index:].strip()[:20]!r}")
        kind = match.lastgroup or ""
        tokens.append((kind, match.group(kind)))
        index = match.end()
    return tokens


def _clause(
    text: str,
    tokens: list[tuple[str, str]],
    position: int,
    attributes: Mapping[str, str],
    kinds: tuple[str, ...],
) -> tuple[Clause, int]:
    def at(i: int) -> tuple[str, str]:
        if i >= len(tokens):
            raise invalid(f"invalid filter {text!r}: it ends in the middle of a comparison")
        return tokens[i]

    kind, word = at(position)
    if kind != "ident":
        raise invalid(f"invalid filter {text!r}: expected a name such as name or tags.KEY")
    entity_kind, key = _identifier(text, word, attributes, kinds)
    position += 1
    kind, op = at(position)
    op = op.upper()
    if kind == "ident" and op == "NOT" and at(position + 1)[1].upper() == "IN":
        op, position = "NOT IN", position + 1
    elif kind == "op":
        op = "!=" if op == "<>" else op
    elif not (kind == "ident" and op in _WORD_OPS):
        raise invalid(f"invalid filter {text!r}: expected an operator after {word!r}, got {op!r}")
    position += 1
    if op in ("IN", "NOT IN"):
        values, position = _list(text, tokens, position)
        return Clause(entity_kind, key, op, values), position
    kind, raw = at(position)
    if kind not in ("string", "number"):
        raise invalid(f"invalid filter {text!r}: expected a quoted value or a number after {op}")
    return Clause(entity_kind, key, op, _value(kind, raw)), position + 1


def _identifier(
    text: str, word: str, attributes: Mapping[str, str], kinds: tuple[str, ...]
) -> tuple[str, str]:
    prefix, dot, rest = word.partition(".")
    if dot and prefix.lower() in _PREFIXES and _PREFIXES[prefix.lower()] in kinds:
        return _PREFIXES[prefix.lower()], rest.strip("`")
    name = rest if dot and prefix.lower() in _ATTRIBUTE_PREFIXES else word
    key = attributes.get(name.strip("`").lower())
    if key is None:
        accepted = ", ".join(sorted(set(attributes))) + ", " + ", ".join(f"{k}s.KEY" for k in kinds)
        raise invalid(f"invalid filter {text!r}: unknown name {word!r}; use one of {accepted}")
    return "attribute", key


def _list(text: str, tokens: list[tuple[str, str]], position: int) -> tuple[list[Any], int]:
    if position >= len(tokens) or tokens[position] != ("paren", "("):
        raise invalid(f"invalid filter {text!r}: IN takes a list in parentheses, e.g. ('a', 'b')")
    values: list[Any] = []
    position += 1
    while position < len(tokens):
        kind, raw = tokens[position]
        if kind in ("string", "number"):
            values.append(_value(kind, raw))
        elif (kind, raw) == ("paren", ")") and values:
            return values, position + 1
        elif (kind, raw) != ("paren", ","):
            break
        position += 1
    raise invalid(f"invalid filter {text!r}: IN takes a list in parentheses, e.g. ('a', 'b')")


def _value(kind: str, raw: str) -> Any:
    if kind == "number":
        return float(raw) if "." in raw else int(raw)
    quote = raw[0]
    return raw[1:-1].replace(quote * 2, quote)


def condition(db: Database, column: Any, op: str, value: Any) -> Any:
    """``column OP value`` as SQL, for every operator the grammar has."""
    if op == "IN":
        return column.in_(list(value))
    if op == "NOT IN":
        return column.not_in(list(value))
    if op in ("LIKE", "ILIKE"):
        return db.like(column, str(value), ignore_case=op == "ILIKE")
    return COMPARE[op](column, value)


def key_value_exists(db: Database, table: sa.Table, join: Any, clause: Clause) -> Any:
    """EXISTS a row of a tag/param ``table`` (``join``-ed) with the clause's key and value."""
    return sa.exists().where(
        join,
        table.c.key == clause.key,
        condition(db, table.c.value, clause.op, str(clause.value)),
    )


def order_terms(
    clauses: list[str], columns: Mapping[str, Any], what: str, default: list[Any]
) -> list[Any]:
    """ORDER BY terms from MLflow's ``"name ASC"`` strings, over the declared ``columns``."""
    terms = []
    for clause in clauses:
        words = clause.split()
        name = words[0].lower().removeprefix("attributes.") if words else ""
        direction = words[1].upper() if len(words) == 2 else "ASC"
        if name not in columns or len(words) > 2 or direction not in ("ASC", "DESC"):
            raise invalid(
                f"invalid order_by {clause!r} for {what}: use one of "
                f"{', '.join(sorted(columns))}, optionally followed by ASC or DESC"
            )
        terms.append(columns[name].asc() if direction == "ASC" else columns[name].desc())
    return terms + default
