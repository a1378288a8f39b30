"""Tests for autolog._filter: MLflow run-search filter and order-by syntax."""

from __future__ import annotations

import contextlib
import math
import random
from dataclasses import dataclass, field

import pytest

from autolog._filter import (
    Comparison,
    OrderClause,
    RunFilter,
    parse_filter,
    parse_order_by,
    sort_runs,
)
from autolog.errors import InvalidFilterError


@dataclass
class Run:
    id: str = "r1"
    name: str = "alpha"
    experiment: str = "Default"
    status: str = "FINISHED"
    parent_id: str | None = None
    start_time: int = 1_000
    end_time: int | None = 2_000
    params: dict[str, str] = field(default_factory=dict)
    metrics: dict[str, float] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)


def matches(text: str, run: Run) -> bool:
    return parse_filter(text).matches(run)


def ids(runs: list[Run]) -> list[str]:
    return [run.id for run in runs]


RUN = Run(
    params={"lr": "0.01", "model": "RandomForest", "a b": "spaced", "my-param": "x"},
    metrics={"rmse": 0.5, "my-metric": 3.0, "train/loss": 1.25, "big": 2e6},
    tags={"team": "Vision", "x.y": "dotted"},
)


class TestEmptyFilter:
    @pytest.mark.parametrize("text", [None, "", "   ", "\n\t"])
    def test_empty_text_matches_everything(self, text: str | None) -> None:
        """None, empty and blank filters have no clauses and accept any run."""
        parsed = parse_filter(text)
        assert parsed == RunFilter(())
        assert parsed.matches(Run()) and parsed.matches(RUN)


class TestIdentifiers:
    @pytest.mark.parametrize("prefix", ["metrics", "metric", "METRICS", "Metric"])
    def test_metric_prefixes(self, prefix: str) -> None:
        """Every metric prefix spelling, in any case, parses to kind 'metric'."""
        assert parse_filter(f"{prefix}.rmse < 1").clauses == (Comparison("metric", "rmse", "<", 1),)

    @pytest.mark.parametrize("prefix", ["params", "param"])
    def test_param_prefixes(self, prefix: str) -> None:
        """Both param prefixes parse to kind 'param'."""
        assert parse_filter(f"{prefix}.lr = '1'").clauses[0].kind == "param"

    @pytest.mark.parametrize("prefix", ["tags", "tag"])
    def test_tag_prefixes(self, prefix: str) -> None:
        """Both tag prefixes parse to kind 'tag'."""
        assert parse_filter(f"{prefix}.team = 'x'").clauses[0].kind == "tag"

    @pytest.mark.parametrize("prefix", ["attributes.", "attribute.", "attr.", "run.", ""])
    def test_attribute_prefixes(self, prefix: str) -> None:
        """Every attribute prefix, and none at all, parses to kind 'attribute'."""
        clause = parse_filter(f"{prefix}status = 'FAILED'").clauses[0]
        assert (clause.kind, clause.key) == ("attribute", "status")

    @pytest.mark.parametrize(
        ("name", "field_name"),
        [
            ("run_id", "id"),
            ("id", "id"),
            ("run_name", "name"),
            ("name", "name"),
            ("RUN_NAME", "name"),
            ("status", "status"),
            ("experiment", "experiment"),
            ("parent_id", "parent_id"),
            ("start_time", "start_time"),
            ("end_time", "end_time"),
        ],
    )
    def test_attribute_aliases_map_to_record_fields(self, name: str, field_name: str) -> None:
        """Attribute names and their aliases resolve to the run record's field name."""
        assert parse_filter(f"attributes.{name} != '1'").clauses[0].key == field_name

    def test_backtick_quoted_key(self) -> None:
        """A backtick-quoted key may contain dashes."""
        assert matches("metrics.`my-metric` = 3", RUN)

    def test_double_quoted_key_with_space(self) -> None:
        """A double-quoted key may contain spaces."""
        assert matches("params.\"a b\" = 'spaced'", RUN)

    def test_double_quoted_key_with_escaped_quote(self) -> None:
        """A backslash-escaped double quote inside a quoted key is part of the key."""
        assert parse_filter('tags."say \\"hi\\"" = "x"').clauses[0].key == 'say "hi"'

    def test_unquoted_key_keeps_dots_after_the_prefix(self) -> None:
        """Only the first dot separates the prefix, so tags.x.y names the key 'x.y'."""
        assert matches("tags.x.y = 'dotted'", RUN)

    def test_unquoted_key_with_slash(self) -> None:
        """Slashes, common in metric names such as train/loss, need no quoting."""
        assert matches("metrics.train/loss > 1", RUN)

    def test_quoted_attribute_name(self) -> None:
        """An attribute name may be quoted like any other key."""
        assert matches("attributes.`status` = 'FINISHED'", RUN)

    def test_keys_are_case_sensitive(self) -> None:
        """Metric keys differ by case, so RMSE is missing on a run that logged rmse."""
        assert not matches("metrics.RMSE < 1", RUN)


class TestNumericOperators:
    @pytest.mark.parametrize(
        ("op", "expected"),
        [("=", True), ("!=", False), ("<", False), ("<=", True), (">", False), (">=", True)],
    )
    def test_metric_operators_at_equal_value(self, op: str, expected: bool) -> None:
        """Each numeric operator gives the right answer when the values are equal."""
        assert matches(f"metrics.rmse {op} 0.5", RUN) is expected

    @pytest.mark.parametrize(
        ("op", "expected"),
        [("=", False), ("!=", True), ("<", True), ("<=", True), (">", False), (">=", False)],
    )
    def test_metric_operators_below_value(self, op: str, expected: bool) -> None:
        """Each numeric operator gives the right answer when the run's value is smaller."""
        assert matches(f"metrics.rmse {op} 0.75", RUN) is expected

    @pytest.mark.parametrize(("alias", "op"), [("==", "="), ("<>", "!=")])
    def test_operator_aliases(self, alias: str, op: str) -> None:
        """== and <> are accepted as spellings of = and !=."""
        assert parse_filter(f"metrics.rmse {alias} 1").clauses[0].op == op

    @pytest.mark.parametrize(
        ("literal", "value"),
        [
            ("3", 3),
            ("-2", -2),
            ("+4", 4),
            ("0.5", 0.5),
            (".5", 0.5),
            ("2e6", 2e6),
            ("-1.5E-3", -0.0015),
        ],
    )
    def test_number_literals(self, literal: str, value: float) -> None:
        """Ints, floats, signs, leading dots and scientific notation all parse."""
        assert parse_filter(f"metrics.m = {literal}").clauses[0].value == value

    def test_scientific_notation_compares_numerically(self) -> None:
        """A metric of 2e6 equals the literal 2000000."""
        assert matches("metrics.big = 2000000", RUN) and matches("metrics.big >= 2E+6", RUN)

    def test_quoted_number_accepted_for_metric(self) -> None:
        """A quoted literal that spells a number is compared numerically against a metric."""
        assert parse_filter("metrics.rmse < '1.5'").clauses[0].value == 1.5
        assert matches("metrics.rmse < '1.5'", RUN)

    @pytest.mark.parametrize("name", ["start_time", "end_time"])
    def test_time_attributes_are_numeric(self, name: str) -> None:
        """start_time and end_time accept range operators and compare as numbers."""
        assert matches(f"attributes.{name} >= 1000", RUN)
        assert not matches(f"attributes.{name} > 2000", RUN)

    def test_no_space_around_operator(self) -> None:
        """Whitespace around operators is optional, even before a negative number."""
        assert matches("metrics.rmse>-1", RUN) and matches("metrics.rmse<=0.5", RUN)


class TestNaN:
    @pytest.mark.parametrize(
        ("op", "expected"),
        [("=", False), ("!=", True), ("<", False), ("<=", False), (">", False), (">=", False)],
    )
    def test_nan_metric_follows_ieee(self, op: str, expected: bool) -> None:
        """A NaN metric satisfies only != , as IEEE 754 comparisons do."""
        assert matches(f"metrics.loss {op} 0", Run(metrics={"loss": math.nan})) is expected


class TestStringOperators:
    @pytest.mark.parametrize(
        ("text", "expected"),
        [
            ("params.model = 'RandomForest'", True),
            ("params.model = 'randomforest'", False),
            ("params.model != 'Linear'", True),
            ("params.model != 'RandomForest'", False),
            ('tags.team = "Vision"', True),
            ("attributes.status = 'FINISHED'", True),
            ("attributes.experiment != 'Default'", False),
            ("name = 'alpha'", True),
            ("run_id = 'r1'", True),
        ],
    )
    def test_equality(self, text: str, expected: bool) -> None:
        """= and != compare strings exactly and case-sensitively."""
        assert matches(text, RUN) is expected

    @pytest.mark.parametrize(
        ("pattern", "expected"),
        [
            ("Random%", True),
            ("%Forest", True),
            ("%dom%", True),
            ("Random_orest", True),
            ("random%", False),
            ("Random", False),
            ("R.*", False),
            ("%", True),
        ],
    )
    def test_like_is_case_sensitive_with_wildcards(self, pattern: str, expected: bool) -> None:
        """LIKE matches the whole value with % and _ wildcards; regex characters are plain text."""
        assert matches(f"params.model LIKE '{pattern}'", RUN) is expected

    @pytest.mark.parametrize(
        ("pattern", "expected"), [("random%", True), ("%FOREST", True), ("x%", False)]
    )
    def test_ilike_ignores_case(self, pattern: str, expected: bool) -> None:
        """ILIKE is LIKE without regard to case."""
        assert matches(f"params.model ILIKE '{pattern}'", RUN) is expected

    def test_like_keyword_case_insensitive(self) -> None:
        """Keyword operators may be written in any case."""
        assert matches("tags.team like 'Vis%' and tags.team ilike 'vis%'", RUN)

    def test_in_and_not_in(self) -> None:
        """IN and NOT IN test membership in a parenthesised list."""
        assert matches("attributes.status IN ('FAILED', 'FINISHED')", RUN)
        assert not matches("attributes.status NOT IN ('FAILED', 'FINISHED')", RUN)
        assert matches("run_id not in ('r2')", RUN)
        assert matches("params.lr in (0.1, 0.01)", RUN)
        assert parse_filter("tags.t IN ('a', \"b\")").clauses[0].value == ("a", "b")

    @pytest.mark.parametrize(
        ("literal", "value"),
        [
            ("'it\\'s'", "it's"),
            ("'it''s'", "it's"),
            ('"say \\"hi\\""', 'say "hi"'),
            ('"a""b"', 'a"b'),
            ("'back\\\\slash'", "back\\slash"),
            ("'and or in'", "and or in"),
        ],
    )
    def test_string_literal_escapes(self, literal: str, value: str) -> None:
        """Quotes are escaped with a backslash or by doubling; keywords inside strings are text."""
        assert parse_filter(f"params.p = {literal}").clauses[0].value == value

    def test_bare_number_for_param_is_its_text(self) -> None:
        """A bare number against a param is compared as the string written, not as a number."""
        assert parse_filter("params.lr = 0.01").clauses[0].value == "0.01"
        assert matches("params.lr = 0.01", RUN)
        assert not matches("params.lr = 1e-2", RUN)

    def test_non_string_param_values_are_compared_as_text(self) -> None:
        """A param stored as a number still matches its string form."""
        assert matches("params.batch = '32'", Run(params={"batch": 32}))  # type: ignore[dict-item]


class TestMlflowTagFallbacks:
    def test_run_name_tag_falls_back_to_name(self) -> None:
        """tags.mlflow.runName reads the run's name when the tag is absent."""
        assert matches("tags.mlflow.runName = 'alpha'", RUN)

    def test_parent_run_id_tag_falls_back_to_parent_id(self) -> None:
        """tags.mlflow.parentRunId reads the run's parent_id when the tag is absent."""
        assert matches("tags.mlflow.parentRunId = 'p1'", Run(parent_id="p1"))

    def test_present_tag_wins_over_attribute(self) -> None:
        """An explicitly logged mlflow.runName tag is used instead of the name."""
        run = Run(tags={"mlflow.runName": "tagged"})
        assert matches("tags.mlflow.runName = 'tagged'", run)
        assert not matches("tags.mlflow.runName = 'alpha'", run)

    def test_fallback_applies_to_sorting(self) -> None:
        """Sorting on tags.mlflow.runName orders by name when the tag is absent."""
        runs = [Run(id="a", name="zeta"), Run(id="b", name="eta")]
        assert ids(sort_runs(runs, ["tags.mlflow.runName"])) == ["b", "a"]


class TestMissingKeys:
    @pytest.mark.parametrize("op", ["=", "!=", "<", "<=", ">", ">="])
    def test_missing_metric_never_matches(self, op: str) -> None:
        """A run without the metric fails every numeric comparison, including !=."""
        assert not matches(f"metrics.absent {op} 1", RUN)

    @pytest.mark.parametrize(
        "tail", ["= 'x'", "!= 'x'", "LIKE '%'", "ILIKE '%'", "IN ('x')", "NOT IN ('x')"]
    )
    @pytest.mark.parametrize("prefix", ["params", "tags"])
    def test_missing_param_or_tag_never_matches(self, prefix: str, tail: str) -> None:
        """A run without the param or tag fails every string comparison, including NOT IN."""
        assert not matches(f"{prefix}.absent {tail}", RUN)

    def test_unset_end_time_never_matches(self) -> None:
        """A running run with no end_time matches no end_time comparison."""
        running = Run(end_time=None)
        assert not matches("end_time > 0", running) and not matches("end_time != 0", running)

    def test_unset_parent_id_never_matches(self) -> None:
        """A top-level run with no parent matches no parent_id comparison."""
        assert not matches("parent_id != 'p1'", Run()) and matches(
            "parent_id = 'p1'", Run(parent_id="p1")
        )


class TestConjunction:
    def test_and_requires_every_clause(self) -> None:
        """Clauses joined by AND must all hold."""
        assert matches("metrics.rmse < 1 AND params.model = 'RandomForest'", RUN)
        assert not matches("metrics.rmse < 1 AND params.model = 'Linear'", RUN)

    def test_and_is_case_insensitive(self) -> None:
        """and, And and AND all join clauses."""
        parsed = parse_filter("metrics.rmse < 1 and tags.team = 'Vision' And status = 'FINISHED'")
        assert len(parsed.clauses) == 3 and parsed.matches(RUN)

    def test_clauses_are_exposed_in_order(self) -> None:
        """clauses lists each comparison's kind, key, op and value for other backends."""
        parsed = parse_filter(
            "metrics.acc >= 0.9 and params.opt in ('adam') and attr.name ilike 'a%'"
        )
        assert parsed.clauses == (
            Comparison("metric", "acc", ">=", 0.9),
            Comparison("param", "opt", "IN", ("adam",)),
            Comparison("attribute", "name", "ILIKE", "a%"),
        )


class TestOrderBy:
    def test_parse_default_and_explicit_directions(self) -> None:
        """Terms default to ascending and accept ASC and DESC in any case."""
        assert parse_order_by(["metrics.rmse", "params.lr DESC", "tags.x asc", "name desc"]) == [
            OrderClause("metric", "rmse", True),
            OrderClause("param", "lr", False),
            OrderClause("tag", "x", True),
            OrderClause("attribute", "name", False),
        ]

    def test_parse_quoted_and_aliased_identifiers(self) -> None:
        """Order-by identifiers accept the same quoting and aliases as filters."""
        assert parse_order_by(["metrics.`my-metric` DESC", "attributes.start_time"]) == [
            OrderClause("metric", "my-metric", False),
            OrderClause("attribute", "start_time", True),
        ]

    @pytest.mark.parametrize("empty", [None, []])
    def test_parse_nothing(self, empty: list[str] | None) -> None:
        """No order-by terms parse to an empty list."""
        assert parse_order_by(empty) == []

    def test_single_string_is_one_term(self) -> None:
        """A bare string is treated as a one-term list."""
        assert parse_order_by("metrics.rmse DESC") == [OrderClause("metric", "rmse", False)]  # type: ignore[arg-type]

    def test_default_order_is_start_time_descending_then_id(self) -> None:
        """Without order_by, newest runs come first and equal start times sort by id."""
        runs = [Run(id="b", start_time=1), Run(id="c", start_time=2), Run(id="a", start_time=1)]
        assert ids(sort_runs(runs, None)) == ["c", "a", "b"]

    def test_sort_does_not_modify_input(self) -> None:
        """sort_runs returns a new list and leaves its argument alone."""
        runs = [Run(id="b"), Run(id="a")]
        assert ids(sort_runs(runs, [])) == ["a", "b"] and ids(runs) == ["b", "a"]

    @pytest.mark.parametrize(("direction", "expected"), [("ASC", ["x", "y"]), ("DESC", ["y", "x"])])
    def test_missing_values_sort_last_in_both_directions(
        self, direction: str, expected: list[str]
    ) -> None:
        """Runs lacking the metric come after all others whichever the direction."""
        runs = [Run(id="none"), Run(id="y", metrics={"m": 2.0}), Run(id="x", metrics={"m": 1.0})]
        assert ids(sort_runs(runs, [f"metrics.m {direction}"])) == [*expected, "none"]

    @pytest.mark.parametrize("direction", ["ASC", "DESC"])
    def test_nan_sorts_after_numbers_before_missing(self, direction: str) -> None:
        """NaN metrics follow every real number and precede runs without the metric."""
        runs = [
            Run(id="missing"),
            Run(id="nan", metrics={"m": math.nan}),
            Run(id="inf", metrics={"m": math.inf}),
            Run(id="neg", metrics={"m": -math.inf}),
        ]
        expected = ["neg", "inf"] if direction == "ASC" else ["inf", "neg"]
        assert ids(sort_runs(runs, [f"metrics.m {direction}"])) == [*expected, "nan", "missing"]

    def test_multiple_terms_and_tiebreaks(self) -> None:
        """Later terms break ties of earlier ones; start_time descending and id break the rest."""
        runs = [
            Run(id="a", params={"k": "1"}, metrics={"m": 1.0}, start_time=5),
            Run(id="b", params={"k": "1"}, metrics={"m": 2.0}, start_time=5),
            Run(id="c", params={"k": "0"}, metrics={"m": 2.0}, start_time=5),
            Run(id="d", params={"k": "1"}, metrics={"m": 2.0}, start_time=9),
        ]
        assert ids(sort_runs(runs, ["params.k DESC", "metrics.m DESC"])) == ["d", "b", "a", "c"]

    def test_sort_by_attributes(self) -> None:
        """Attributes sort by their own values, strings lexically and times numerically."""
        runs = [Run(id="1", name="b", end_time=None), Run(id="2", name="a", end_time=5)]
        assert ids(sort_runs(runs, ["name"])) == ["2", "1"]
        assert ids(sort_runs(runs, ["attributes.end_time DESC"])) == ["2", "1"]

    def test_explicit_start_time_replaces_default(self) -> None:
        """Ordering by start_time ASC is not overridden by the default descending tiebreak."""
        runs = [Run(id="late", start_time=9), Run(id="early", start_time=1)]
        assert ids(sort_runs(runs, ["start_time ASC"])) == ["early", "late"]


class TestErrors:
    @pytest.mark.parametrize(
        ("text", "message"),
        [
            (
                "metrics.rmse << 1",
                "invalid filter 'metrics.rmse << 1': unexpected '<<' at position 13; "
                "expected one of =, !=, <, <=, >, >=",
            ),
            (
                "metrics.a > 1 OR metrics.b > 1",
                "OR at position 14 is not supported; join clauses with AND",
            ),
            ("metrics.rmse LIKE 'x'", "unexpected 'LIKE' at position 13; expected one of ="),
            ("metrics.rmse IN (1)", "unexpected 'IN' at position 13"),
            ("params.p < 'x'", "expected one of =, !=, LIKE, ILIKE, IN, NOT IN"),
            ("params.p NOT LIKE 'x'", "unexpected 'NOT' at position 9"),
            ("metrics.rmse = 'low'", "unexpected \"'low'\" at position 15; expected a number"),
            ("metrics.rmse = abc", "unexpected 'abc' at position 15; expected a number"),
            ("params.p = ", "unexpected end of input at position 11; expected a quoted string"),
            ("params.p = 'open", 'unterminated quote "\'" at position 11'),
            ("metrics.`open > 1", "unterminated quote '`' at position 8"),
            (
                "metrics.rmse > 1 AND",
                "unexpected end of input at position 20; expected an identifier",
            ),
            ("metrics.a > 1 metrics.b > 1", "unexpected 'metrics.b' at position 14; expected AND"),
            ("datasets.name = 'x'", "unknown prefix 'datasets' at position 0"),
            ("attributes.colour = 'x'", "unknown attribute 'colour' at position 0"),
            ("colour = 'x'", "unknown attribute 'colour'"),
            ("metrics. > 1", "missing key after 'metrics.' at position 0"),
            ("metrics.`` > 1", "missing key after 'metrics.``'"),
            ("(metrics.a > 1)", "unexpected '(' at position 0; expected an identifier"),
            ("params.p IN ()", "unexpected ')' at position 13; expected a quoted string"),
            ("params.p IN 'x'", "unexpected \"'x'\" at position 12; expected '(' starting a list"),
            ("params.p IN ('x' 'y')", "unexpected \"'y'\" at position 17; expected ',' or ')'"),
            (
                "params.p IN ('x',",
                "unexpected end of input at position 17; expected a quoted string",
            ),
            ("metrics.a $ 1", "unexpected character '$' at position 10"),
            ("metrics.a > 1 ;", "unexpected character ';' at position 14"),
            ("= 1", "unexpected '=' at position 0; expected an identifier"),
        ],
    )
    def test_filter_error_messages(self, text: str, message: str) -> None:
        """Each malformed filter raises InvalidFilterError naming the problem and its position."""
        with pytest.raises(InvalidFilterError) as caught:
            parse_filter(text)
        assert message in str(caught.value)
        assert str(caught.value).startswith(f"invalid filter {text!r}: ")

    @pytest.mark.parametrize(
        ("clause", "message"),
        [
            ("metrics.rmse DOWN", "unexpected 'DOWN' at position 13; expected ASC, DESC or end"),
            ("metrics.rmse ASC DESC", "unexpected 'DESC' at position 17"),
            ("", "unexpected end of input at position 0; expected an identifier"),
            ("foo.bar", "unknown prefix 'foo'"),
            ("metrics.rmse > 1", "unexpected '>' at position 13"),
        ],
    )
    def test_order_by_error_messages(self, clause: str, message: str) -> None:
        """Each malformed order-by term raises InvalidFilterError naming the problem."""
        with pytest.raises(InvalidFilterError) as caught:
            parse_order_by(["metrics.ok", clause])
        assert message in str(caught.value)
        assert str(caught.value).startswith(f"invalid order_by clause {clause!r}: ")

    def test_sort_runs_reports_bad_order_by(self) -> None:
        """sort_runs surfaces order-by parse errors rather than sorting anyway."""
        with pytest.raises(InvalidFilterError):
            sort_runs([Run()], ["metrics.m sideways"])

    def test_error_is_a_value_error(self) -> None:
        """Callers catching ValueError also catch filter errors."""
        with pytest.raises(ValueError):
            parse_filter("metrics.")


FRAGMENTS = [
    "metrics.",
    "params.",
    "tags.",
    "attributes.",
    "attr.",
    "run.",
    "rmse",
    "lr",
    "status",
    "start_time",
    "name",
    " ",
    "AND",
    "and",
    "OR",
    "NOT",
    "IN",
    "LIKE",
    "ILIKE",
    "ASC",
    "DESC",
    "=",
    "!=",
    "<",
    "<=",
    ">",
    ">=",
    "==",
    "<>",
    "(",
    ")",
    ",",
    "'",
    '"',
    "`",
    "\\",
    "'x'",
    '"y"',
    "`k-1`",
    "0.5",
    "-1e3",
    "1e999",
    "9" * 5000,
    ".",
    "%",
    "_",
    "é",
    "\x00",
    "\n",
    "$",
]
VALID = [
    "metrics.rmse < 1 and params.lr = '0.01'",
    "tags.`a-b` LIKE 'x%' AND attributes.status IN ('FAILED', \"KILLED\")",
    "run_id NOT IN ('a') and end_time >= -2.5E3 and params.\"a b\" ilike '%_'",
]


def _garbled(rng: random.Random) -> str:
    if rng.random() < 0.5:
        return "".join(rng.choice(FRAGMENTS) for _ in range(rng.randint(0, 12)))
    chars = list(rng.choice(VALID))
    for _ in range(rng.randint(1, 4)):
        position = rng.randrange(len(chars) + 1)
        action = rng.choice(("insert", "delete", "replace"))
        if action == "insert":
            chars.insert(position, rng.choice(FRAGMENTS))
        elif chars and position < len(chars):
            chars[position] = rng.choice(FRAGMENTS) if action == "replace" else ""
    return "".join(chars)


class TestFuzz:
    def test_garbled_filters_only_raise_invalid_filter_error(self) -> None:
        """Random and mutated filters either parse and evaluate or raise InvalidFilterError."""
        rng = random.Random(20240611)
        runs = [RUN, Run(), Run(metrics={"rmse": math.nan}, end_time=None)]
        parsed = 0
        for _ in range(5000):
            text = _garbled(rng)
            try:
                run_filter = parse_filter(text)
            except InvalidFilterError:
                continue
            parsed += 1
            for run in runs:
                assert isinstance(run_filter.matches(run), bool), text
        assert parsed > 50

    def test_garbled_order_by_only_raises_invalid_filter_error(self) -> None:
        """Random order-by terms either sort cleanly or raise InvalidFilterError."""
        rng = random.Random(7)
        runs = [RUN, Run(id="z"), Run(id="n", metrics={"rmse": math.nan})]
        for _ in range(3000):
            clause = "".join(rng.choice(FRAGMENTS) for _ in range(rng.randint(0, 4)))
            try:
                assert len(sort_runs(runs, [clause])) == len(runs)
            except InvalidFilterError:
                continue

    @pytest.mark.parametrize("length", range(0, 40))
    def test_every_prefix_of_a_valid_filter(self, length: int) -> None:
        """Truncating a valid filter anywhere yields a parse or an InvalidFilterError."""
        for text in VALID:
            with contextlib.suppress(InvalidFilterError):
                parse_filter(text[:length])
