"""The formula language: parsing, evaluation, SQL, printing, and errors that point at the token."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, NamedTuple

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import ColumnElement, Engine, Float, create_engine, literal, select

from kpi.errors import KpiError
from kpi.formula import (
    MAX_DEPTH,
    MAX_LENGTH,
    MAX_OPERATORS,
    BinOp,
    Formula,
    FormulaError,
    MeasureRef,
    Neg,
    Number,
    Op,
    parse,
)
from kpi.measures import Measure

CLICKS = MeasureRef(Measure.CLICKS)
SPEND = MeasureRef(Measure.SPEND)
REVENUE = MeasureRef(Measure.REVENUE)

#: Measure values for the property tests: zeros (division), a missing one, and an absent key.
VALUES: dict[Measure, float | None] = {
    Measure.CLICKS: 123.0,
    Measure.IMPRESSIONS: 10_000.0,
    Measure.SPEND: 0.0,
    Measure.REVENUE: 2.5,
    Measure.FOLLOWS: -3.0,
    Measure.LIKES: None,
}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("clicks", CLICKS),
        ("2.5", Number(2.5)),
        ("revenue - spend - clicks", BinOp(Op.SUB, BinOp(Op.SUB, REVENUE, SPEND), CLICKS)),
        ("revenue - spend / clicks", BinOp(Op.SUB, REVENUE, BinOp(Op.DIV, SPEND, CLICKS))),
        ("(revenue - spend) / spend", BinOp(Op.DIV, BinOp(Op.SUB, REVENUE, SPEND), SPEND)),
        ("spend / clicks * 1000", BinOp(Op.MUL, BinOp(Op.DIV, SPEND, CLICKS), Number(1000))),
        ("-clicks * 2", BinOp(Op.MUL, Neg(CLICKS), Number(2))),
        ("clicks--2", BinOp(Op.SUB, CLICKS, Neg(Number(2)))),
        (" \tclicks\n+\r2 ", BinOp(Op.ADD, CLICKS, Number(2))),
        ("((clicks))", CLICKS),
    ],
)
def test_parse_follows_precedence_and_associativity(text: str, expected: Formula) -> None:
    assert parse(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "(revenue - spend) / spend",
        "spend / impressions * 1000",
        "revenue - (spend - clicks)",
        "clicks / (spend * revenue)",
        "-(clicks + 2) * -spend",
        "--clicks",
        "0.00001 + 12.5",
    ],
)
def test_str_is_canonical_text_that_parses_back(text: str) -> None:
    assert str(parse(text)) == text
    assert parse(str(parse(text))) == parse(text)


def test_measures_lists_every_name() -> None:
    formula = parse("(revenue - spend) / spend + 2 * -clicks")
    assert formula.measures() == {Measure.REVENUE, Measure.SPEND, Measure.CLICKS}
    assert parse("1 + 2").measures() == frozenset()


@pytest.mark.parametrize(
    ("text", "values", "expected"),
    [
        ("clicks / impressions", {Measure.CLICKS: 123, Measure.IMPRESSIONS: 10_000}, 0.0123),
        ("(revenue - spend) / spend", {Measure.REVENUE: 300, Measure.SPEND: 200}, 0.5),
        ("spend / impressions * 1000", {Measure.SPEND: 5, Measure.IMPRESSIONS: 2000}, 2.5),
        ("-follows", {Measure.FOLLOWS: 4}, -4.0),
        ("clicks / impressions", {Measure.CLICKS: 5, Measure.IMPRESSIONS: 0}, None),
        ("clicks / (spend - spend)", {Measure.CLICKS: 5, Measure.SPEND: 1}, None),
        ("clicks / impressions", {Measure.CLICKS: 5}, None),
        ("clicks + likes", {Measure.CLICKS: 5, Measure.LIKES: None}, None),
        ("clicks + likes", {Measure.CLICKS: 5, Measure.LIKES: math.nan}, None),
        ("clicks + likes", {Measure.CLICKS: 5, Measure.LIKES: math.inf}, None),
        ("clicks * clicks", {Measure.CLICKS: 1e200}, None),
        ("clicks * clicks - clicks * clicks", {Measure.CLICKS: 1e200}, None),
        ("0 / clicks", {Measure.CLICKS: 3}, 0.0),
    ],
)
def test_evaluate_gives_none_rather_than_zero_nan_or_inf(
    text: str, values: Mapping[Measure, float | None], expected: float | None
) -> None:
    result = parse(text).evaluate(values)
    assert result == (pytest.approx(expected) if expected is not None else None)


def _sql_value(
    formula: Formula, values: Mapping[Measure, float | None], engine: Engine | None = None
) -> Any:
    """The formula computed by the database (in-memory SQLite unless an engine is given)."""
    columns: dict[Measure, ColumnElement[Any]] = {
        measure: literal(values.get(measure), Float()) for measure in Measure
    }
    database = engine or create_engine("sqlite://")
    try:
        with database.connect() as connection:
            return connection.execute(select(formula.to_sql(columns))).scalar_one()
    finally:
        if engine is None:
            database.dispose()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("clicks / impressions", 0.0123),
        ("1 / 2", 0.5),  # float literals: SQLite divides integers with integer division
        ("clicks / spend", None),  # NULLIF: no division-by-zero error, no infinity
        ("clicks + likes", None),
        ("-clicks - -clicks", 0.0),  # never rendered as "--", a SQL comment
    ],
)
def test_to_sql_computes_like_evaluate(text: str, expected: float | None) -> None:
    formula = parse(text)
    assert formula.evaluate(VALUES) == expected
    assert _sql_value(formula, VALUES) == expected


def test_to_sql_on_each_backend(bare_engine: Engine) -> None:
    """PostgreSQL raises on division by zero where SQLite returns NULL: NULLIF covers both."""
    for text in ("clicks / spend", "clicks / impressions * 1000", "revenue + (clicks + 0.1)"):
        formula = parse(text)
        expected = formula.evaluate(VALUES)
        assert _sql_value(formula, VALUES, bare_engine) == (
            None if expected is None else pytest.approx(expected, rel=1e-15)
        )


class Generated(NamedTuple):
    """Formula text built alongside its expected value, as an independent oracle."""

    text: str
    value: float | None
    precedence: int
    depth: int


def _reference(op: Op, left: float | None, right: float | None) -> float | None:
    if left is None or right is None:
        return None
    match op:
        case Op.ADD:
            result = left + right
        case Op.SUB:
            result = left - right
        case Op.MUL:
            result = left * right
        case Op.DIV:
            if right == 0:
                return None
            result = left / right
    return result if math.isfinite(result) else None


def _wrapped(child: Generated, needed: bool) -> tuple[str, int]:
    return (f"({child.text})", child.depth + 1) if needed else (child.text, child.depth)


_SPACES = st.sampled_from(["", " ", "  ", "\t", "\n"])
_NUMBERS = st.builds(
    lambda whole, fraction: f"{whole}.{fraction}" if fraction else str(whole),
    st.integers(0, 10**6),
    st.sampled_from(["", "5", "25", "125", "001"]),
).map(lambda text: Generated(text, float(text), 4, 0))
_MEASURES = st.sampled_from([*VALUES, Measure.SAVES]).map(
    lambda measure: Generated(measure.value, VALUES.get(measure), 4, 0)
)


@st.composite
def _negation(draw: st.DrawFn, children: st.SearchStrategy[Generated]) -> Generated:
    child = draw(children)
    text, depth = _wrapped(child, child.precedence < 3)
    value = None if child.value is None else -child.value
    return Generated("-" + text, value, 3, depth + 1)


@st.composite
def _binary(draw: st.DrawFn, children: st.SearchStrategy[Generated]) -> Generated:
    op = draw(st.sampled_from(list(Op)))
    left, right = draw(children), draw(children)
    left_text, left_depth = _wrapped(left, left.precedence < op.precedence)
    right_text, right_depth = _wrapped(right, right.precedence <= op.precedence)
    text = f"{left_text}{draw(_SPACES)}{op}{draw(_SPACES)}{right_text}"
    value = _reference(op, left.value, right.value)
    return Generated(text, value, op.precedence, max(left_depth, right_depth))


_FORMULAS = st.recursive(
    _NUMBERS | _MEASURES,
    lambda children: _negation(children) | _binary(children),
    max_leaves=12,
).filter(lambda generated: generated.depth <= MAX_DEPTH)


@given(_FORMULAS)
def test_random_formulas_evaluate_like_the_reference(generated: Generated) -> None:
    formula = parse(generated.text)
    assert formula.evaluate(VALUES) == generated.value
    assert parse(str(formula)) == formula


@given(_FORMULAS)
def test_random_formulas_compute_the_same_in_sqlite(generated: Generated) -> None:
    assert _sql_value(parse(generated.text), VALUES) == generated.value


_FORMULA_CHARACTERS = "0123456789. +-*/()\tclicksimpresonpdv_éZ²$"


@given(st.text(max_size=MAX_LENGTH + 20) | st.text(_FORMULA_CHARACTERS, max_size=120))
def test_junk_raises_only_formula_errors(text: str) -> None:
    try:
        formula = parse(text)
    except FormulaError as error:
        assert 0 <= error.position <= len(text)
        assert f"column {error.position + 1}" in str(error)
    else:
        assert parse(str(formula)) == formula


@pytest.mark.parametrize(
    ("text", "position", "token", "message"),
    [
        ("", 0, "", "expected a number, a measure or '(': the end of the formula at column 1"),
        ("spend /", 7, "", "the end of the formula at column 8 of 'spend /'"),
        ("spend / clikcs", 8, "clikcs", "unknown measure: 'clikcs' at column 9 of 'spend / clikcs"),
        ("Clicks", 0, "Clicks", "unknown measure: 'Clicks' at column 1"),
        ("1. + clicks", 0, "1.", "malformed number: '1.' at column 1"),
        ("(clicks", 7, "", "expected ')': the end of the formula at column 8"),
        ("clicks)", 6, ")", "unexpected token: ')' at column 7 of 'clicks)'; unbalanced ')'"),
        ("clicks clicks", 7, "clicks", "an operator is missing before it"),
        ("clicks ** 2", 8, "*", "expected a number, a measure or '(': '*' at column 9"),
        ("clicks²", 6, "²", "unexpected character: '²' at column 7"),
        ("spend $ 2", 6, "$", "unexpected character: '$' at column 7"),
        ("__import__", 0, "__import__", "unknown measure: '__import__' at column 1"),
    ],
)
def test_errors_name_the_position_and_the_token(
    text: str, position: int, token: str, message: str
) -> None:
    with pytest.raises(FormulaError) as caught:
        parse(text)
    assert (caught.value.position, caught.value.token) == (position, token)
    assert message in str(caught.value)
    assert isinstance(caught.value, KpiError)


@pytest.mark.parametrize(
    ("text", "hint"),
    [
        ("spend / clikcs", "did you mean clicks?"),
        ("Clicks", "did you mean clicks?"),
        ("impresions", "did you mean impressions?"),
        ("new_customer", "did you mean new_customers?"),
        ("zzz", "measures: impressions, reach, clicks"),
    ],
)
def test_unknown_names_suggest_the_closest_measure(text: str, hint: str) -> None:
    with pytest.raises(FormulaError, match="unknown measure") as caught:
        parse(text)
    assert hint in str(caught.value)


def test_limits_stop_hostile_input_before_any_deep_recursion() -> None:
    with pytest.raises(FormulaError, match=f"longer than {MAX_LENGTH} characters"):
        parse("1" * (MAX_LENGTH + 1))
    with pytest.raises(FormulaError, match=f"nested more than {MAX_DEPTH} levels deep"):
        parse("(" * (MAX_DEPTH + 1) + "clicks" + ")" * (MAX_DEPTH + 1))
    with pytest.raises(FormulaError, match=f"nested more than {MAX_DEPTH} levels deep"):
        parse("-" * (MAX_DEPTH + 1) + "clicks")
    with pytest.raises(FormulaError, match=f"more than {MAX_OPERATORS} operators") as caught:
        parse("+".join(["clicks"] * (MAX_OPERATORS + 2)))
    assert caught.value.token == "+"
    too_large = "9" * 400
    with pytest.raises(FormulaError, match="number too large: '9999") as caught:
        parse(too_large)
    assert too_large not in str(caught.value)  # long tokens are shortened in the message


def test_formulas_at_the_limits_still_evaluate_and_compile() -> None:
    nested = "clicks / (" * MAX_DEPTH + "spend + 1" + ")" * MAX_DEPTH
    chain = "-".join(["clicks"] * (MAX_OPERATORS + 1))
    for text in (nested, chain):
        formula = parse(text)
        assert _sql_value(formula, VALUES) == pytest.approx(formula.evaluate(VALUES))


def test_numbers_are_finite_and_non_negative() -> None:
    for bad in (-1.0, math.inf, math.nan):
        with pytest.raises(ValueError, match="finite and non-negative"):
            Number(bad)
