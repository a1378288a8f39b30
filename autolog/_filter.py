"""Parse and evaluate MLflow's run-search filter and order-by syntax.

``search_runs``, the CLI, the tracking server (MLflow REST ``runs/search``) and the web UI all
accept the same strings, so the grammar lives here once.  Parsing produces plain
:class:`Comparison` records that the in-memory evaluator uses directly and that a SQL backend can
translate instead of re-parsing text.

Semantics follow MLflow's documented search syntax, with these deliberate choices:

* Clauses are joined by ``AND`` (any case); ``OR`` and parentheses for grouping are rejected.
* Identifiers are ``metrics.KEY``, ``params.KEY``, ``tags.KEY`` (or ``metric.``, ``param.``,
  ``tag.``) and ``attributes.X`` (or ``attribute.``, ``attr.``, ``run.``, or ``X`` alone).
  Prefixes and attribute names are case-insensitive; keys are not.  Keys with characters other
  than letters, digits, ``_``, ``.`` and ``/`` must be quoted with backticks or double quotes.
* Attributes: ``status``, ``run_name``/``name``, ``run_id``/``id``, ``start_time``,
  ``end_time``, ``experiment``, ``parent_id``.  ``tags.mlflow.runName`` and
  ``tags.mlflow.parentRunId`` fall back to the run's name and parent id when the tag is absent.
* Metrics, ``start_time`` and ``end_time`` take ``= != < <= > >=`` (``==`` and ``<>`` are
  accepted as aliases) and compare as numbers; a quoted literal that spells a number is accepted.
  Comparisons follow IEEE 754: a NaN metric only satisfies ``!=``.
* Params, tags and the other attributes take ``= != LIKE ILIKE IN (...) NOT IN (...)`` and
  compare as strings.  MLflow requires quoted literals here; a bare number is accepted and its
  text is used as written, so ``params.lr = 0.01`` matches the string ``"0.01"`` but not
  ``"1e-2"``.  ``LIKE`` (case-sensitive) and ``ILIKE`` take ``%`` and ``_`` wildcards.
* A run that lacks the key never matches, whatever the operator (``!=`` and ``NOT IN`` too).
* Sorting puts real numbers first, then NaN, then runs lacking the key, in either direction;
  ties fall back to ``start_time`` descending and then ``id``, as MLflow's SQL store does.

Errors are :class:`~autolog.errors.InvalidFilterError` quoting the text and a 0-based position.
"""

from __future__ import annotations

import functools
import operator
import re
from collections.abc import Callable, Iterable
from typing import Any, NamedTuple, NoReturn

from autolog._plain import Frozen
from autolog.errors import InvalidFilterError

__all__ = ["Comparison", "OrderClause", "RunFilter", "parse_filter", "parse_order_by", "sort_runs"]

_NUMBER = r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?"
_DQUOTED = r'"(?:[^"\\]|\\.|"")*"'
_SQUOTED = r"'(?:[^'\\]|\\.|'')*'"
_TOKEN_RE = re.compile(
    rf"""(?P<ws>\s+)
    |(?P<number>{_NUMBER})
    |(?P<ident>[A-Za-z_]\w*(?:\.(?:`[^`]*`|{_DQUOTED}|[\w./]*))?)
    |(?P<string>{_SQUOTED}|{_DQUOTED})
    |(?P<op>[<>=!]+)
    |(?P<punct>[(),])""",
    re.VERBOSE | re.DOTALL,
)
_KINDS = {
    **dict.fromkeys(("metrics", "metric"), "metric"),
    **dict.fromkeys(("params", "param"), "param"),
    **dict.fromkeys(("tags", "tag"), "tag"),
    **dict.fromkeys(("attributes", "attribute", "attr", "run"), "attribute"),
}
_ATTRIBUTES = {
    **dict.fromkeys(("run_id", "id"), "id"),
    **dict.fromkeys(("run_name", "name"), "name"),
    **{name: name for name in ("status", "start_time", "end_time", "experiment", "parent_id")},
}
_NUMERIC_ATTRIBUTES = frozenset({"start_time", "end_time"})
_TAG_FALLBACKS = {"mlflow.runName": "name", "mlflow.parentRunId": "parent_id"}
_COMPARE: dict[str, Callable[[Any, Any], bool]] = {
    "=": operator.eq,
    "!=": operator.ne,
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}
_OP_ALIASES = {"==": "=", "<>": "!="}
_NUMERIC_OPS = ("=", "!=", "<", "<=", ">", ">=")
_STRING_OPS = ("=", "!=", "LIKE", "ILIKE", "IN", "NOT IN")
_IDENTIFIER_HINT = "an identifier such as metrics.KEY, params.KEY, tags.KEY or attributes.status"


class _Token(NamedTuple):
    kind: str
    text: str
    pos: int


class Comparison(Frozen):
    """One ``identifier op value`` clause; ``value`` is a number, a string or a tuple (IN)."""

    kind: str
    key: str
    op: str
    value: float | int | str | tuple[str, ...]

    def __init__(
        self, kind: str, key: str, op: str, value: float | int | str | tuple[str, ...]
    ) -> None:
        self._set(kind=kind, key=key, op=op, value=value)

    def matches(self, run: Any) -> bool:
        """Whether ``run`` satisfies this clause; a missing value never does."""
        actual = _lookup(run, self.kind, self.key)
        if actual is None:
            return False
        if self.op == "IN":
            return actual in self.value  # type: ignore[operator]  # IN holds a tuple
        if self.op == "NOT IN":
            return actual not in self.value  # type: ignore[operator]
        if self.op in ("LIKE", "ILIKE"):
            return _like_regex(str(self.value), self.op == "ILIKE").fullmatch(actual) is not None
        return _COMPARE[self.op](actual, self.value)


class RunFilter(Frozen):
    """A parsed filter: the conjunction of ``clauses``; no clauses matches every run."""

    clauses: tuple[Comparison, ...]

    def __init__(self, clauses: tuple[Comparison, ...] = ()) -> None:
        self._set(clauses=clauses)

    def matches(self, run: Any) -> bool:
        """Whether ``run`` satisfies every clause."""
        return all(clause.matches(run) for clause in self.clauses)


class OrderClause(Frozen):
    """One parsed order-by term."""

    kind: str
    key: str
    ascending: bool

    def __init__(self, kind: str, key: str, ascending: bool = True) -> None:
        self._set(kind=kind, key=key, ascending=ascending)


def _is_numeric(kind: str, key: str) -> bool:
    return kind == "metric" or (kind == "attribute" and key in _NUMERIC_ATTRIBUTES)


def _lookup(run: Any, kind: str, key: str) -> Any:
    """Read the value a clause refers to, as a string for string kinds, or None when absent."""
    if kind == "attribute":
        value = getattr(run, key, None)
    else:
        value = (getattr(run, kind + "s", None) or {}).get(key)
        if value is None and kind == "tag" and key in _TAG_FALLBACKS:
            value = getattr(run, _TAG_FALLBACKS[key], None)
    if value is None or _is_numeric(kind, key):
        return value
    return str(value)


@functools.lru_cache(maxsize=256)
def _like_regex(pattern: str, ignore_case: bool) -> re.Pattern[str]:
    wildcards = {"%": ".*", "_": "."}
    body = "".join(wildcards.get(char) or re.escape(char) for char in pattern)
    return re.compile(body, re.DOTALL | (re.IGNORECASE if ignore_case else 0))


def _unquote(quoted: str) -> str:
    quote, inner = quoted[0], quoted[1:-1]
    if quote == "`":
        return inner
    return re.sub(rf"\\(.)|{quote}{quote}", lambda m: m.group(1) or quote, inner, flags=re.DOTALL)


def _to_number(text: str) -> float | int:
    try:
        return int(text)
    except ValueError:
        return float(text)


class _Parser:
    """Recursive-descent parser over one string; ``label`` names what it is in error messages."""

    def __init__(self, text: str, label: str) -> None:
        self.text, self.label, self.index = text, label, 0
        self.tokens = self._tokenize()

    def _tokenize(self) -> list[_Token]:
        tokens, pos = [], 0
        while pos < len(self.text):
            match = _TOKEN_RE.match(self.text, pos)
            if match is None:
                char = self.text[pos]
                unclosed = char in "'\"`" and char not in self.text[pos + 1 :]
                what = "unterminated quote" if unclosed else "unexpected character"
                self.fail(f"{what} {self.text[pos]!r} at position {pos}")
            if match.lastgroup and match.lastgroup != "ws":
                tokens.append(_Token(match.lastgroup, match.group(), pos))
            pos = match.end()
        return [*tokens, _Token("end", "", len(self.text))]

    def fail(self, detail: str) -> NoReturn:
        raise InvalidFilterError(f"invalid {self.label} {self.text!r}: {detail}")

    def unexpected(self, token: _Token, expected: str) -> NoReturn:
        what = "end of input" if token.kind == "end" else repr(token.text)
        self.fail(f"unexpected {what} at position {token.pos}; expected {expected}")

    def peek(self) -> _Token:
        return self.tokens[self.index]

    def advance(self) -> _Token:
        token = self.tokens[self.index]
        self.index = min(self.index + 1, len(self.tokens) - 1)
        return token

    def at_word(self, *words: str) -> bool:
        token = self.peek()
        return token.kind == "ident" and token.text.upper() in words

    def expect_end(self, expected: str) -> None:
        if self.peek().kind != "end":
            self.unexpected(self.peek(), expected)

    def identifier(self) -> tuple[str, str]:
        """Parse ``prefix.key`` or a bare attribute name into ``(kind, key)``."""
        token = self.advance()
        if token.kind != "ident":
            self.unexpected(token, _IDENTIFIER_HINT)
        prefix, dot, raw_key = token.text.partition(".")
        kind: str | None
        if not dot:
            kind, key = "attribute", prefix
        else:
            kind = _KINDS.get(prefix.lower())
            key = _unquote(raw_key) if raw_key[:1] in ("`", '"') else raw_key
        if kind is None:
            self.fail(
                f"unknown prefix {prefix!r} at position {token.pos}; expected {_IDENTIFIER_HINT}"
            )
        if not key:
            self.fail(f"missing key after {token.text!r} at position {token.pos}")
        if kind != "attribute":
            return kind, key
        if key.lower() not in _ATTRIBUTES:
            self.fail(
                f"unknown attribute {key!r} at position {token.pos}; expected one of "
                + ", ".join(_ATTRIBUTES)
            )
        return kind, _ATTRIBUTES[key.lower()]

    def comparator(self, numeric: bool) -> str:
        allowed = _NUMERIC_OPS if numeric else _STRING_OPS
        token = self.advance()
        op = token.text.upper() if token.kind in ("ident", "op") else ""
        op = _OP_ALIASES.get(op, op)
        if op == "NOT" and self.at_word("IN"):
            op = f"NOT {self.advance().text.upper()}"
        if op not in allowed:
            self.unexpected(token, "one of " + ", ".join(allowed))
        return op

    def literal(self, numeric: bool) -> float | int | str:
        token = self.advance()
        if token.kind not in ("number", "string"):
            self.unexpected(token, "a number" if numeric else "a quoted string")
        text = _unquote(token.text) if token.kind == "string" else token.text
        if not numeric:
            return text
        if not re.fullmatch(_NUMBER, text.strip()):
            self.unexpected(token, "a number")
        return _to_number(text.strip())

    def punct(self, char: str, expected: str) -> None:
        token = self.advance()
        if (token.kind, token.text) != ("punct", char):
            self.unexpected(token, expected)

    def value_list(self) -> tuple[str, ...]:
        """Parse ``('a', 'b', ...)`` after IN; an empty list is an error, as in SQL."""
        self.punct("(", "'(' starting a list of values")
        values = [self.literal(numeric=False)]
        while (self.peek().kind, self.peek().text) == ("punct", ","):
            self.advance()
            values.append(self.literal(numeric=False))
        self.punct(")", "',' or ')'")
        return tuple(str(value) for value in values)  # literal(numeric=False) gives str

    def comparison(self) -> Comparison:
        kind, key = self.identifier()
        numeric = _is_numeric(kind, key)
        op = self.comparator(numeric)
        value = self.value_list() if op.endswith("IN") else self.literal(numeric)
        return Comparison(kind, key, op, value)

    def run_filter(self) -> RunFilter:
        if self.peek().kind == "end":
            return RunFilter()
        clauses = [self.comparison()]
        while self.at_word("AND"):
            self.advance()
            clauses.append(self.comparison())
        if self.at_word("OR"):
            self.fail(f"OR at position {self.peek().pos} is not supported; join clauses with AND")
        self.expect_end("AND or end of input")
        return RunFilter(tuple(clauses))

    def order_clause(self) -> OrderClause:
        kind, key = self.identifier()
        ascending = True
        if self.at_word("ASC", "DESC"):
            ascending = self.advance().text.upper() == "ASC"
        self.expect_end("ASC, DESC or end of input")
        return OrderClause(kind, key, ascending)


def parse_filter(text: str | None) -> RunFilter:
    """Parse a search filter such as ``metrics.rmse < 1 and params.model = 'tree'``.

    Empty or None text gives a filter that matches every run.
    """
    return _Parser(text or "", "filter").run_filter()


def parse_order_by(clauses: list[str] | None) -> list[OrderClause]:
    """Parse order-by terms such as ``metrics.rmse DESC``; the direction defaults to ASC.

    A single string is taken as one term rather than iterated character by character.
    """
    if isinstance(clauses, str):
        clauses = [clauses]
    return [_Parser(clause, "order_by clause").order_clause() for clause in clauses or ()]


def _is_nan(value: Any) -> bool:
    """NaN is the only value unequal to itself; this also catches numpy NaN of any width."""
    return bool(value != value)


def _sort_once(runs: list[Any], clause: OrderClause) -> list[Any]:
    """Stable sort on one clause: present values in order, then NaN, then missing."""
    present, nan, missing = [], [], []
    for run in runs:
        value = _lookup(run, clause.kind, clause.key)
        if value is None:
            missing.append(run)
        elif _is_nan(value):
            nan.append(run)
        else:
            present.append((value, run))
    present.sort(key=lambda pair: pair[0], reverse=not clause.ascending)
    return [run for _, run in present] + nan + missing


def sort_runs(runs: Iterable[Any], order_by: list[str] | None) -> list[Any]:
    """Return ``runs`` sorted by ``order_by``, then by start_time descending, then by id."""
    clauses = parse_order_by(order_by)
    seen = {(clause.kind, clause.key) for clause in clauses}
    for tiebreak in (OrderClause("attribute", "start_time", False), OrderClause("attribute", "id")):
        if (tiebreak.kind, tiebreak.key) not in seen:
            clauses.append(tiebreak)
    ordered = list(runs)
    for clause in reversed(clauses):
        ordered = _sort_once(ordered, clause)
    return ordered
