"""A tiny arithmetic language for KPI formulas, written in canonical measure names.

KPI definitions can come from a user-edited ``kpis.toml``, so a formula is untrusted text. It is
tokenized and parsed by hand (never ``eval``), its length, operators and nesting are capped so that
a hostile file cannot exhaust memory or a stack (Python's or SQLite's), and every name must be a
:class:`~kpi.measures.Measure`. Grammar (usual precedence, binary operators associate to the left)::

    expression := term (("+" | "-") term)*
    term       := factor (("*" | "/") factor)*
    factor     := "-" factor | NUMBER | MEASURE | "(" expression ")"
    NUMBER     := digits ["." digits]

The result is a frozen tree that is evaluated in Python over sums already computed (``evaluate``)
or turned into a SQLAlchemy expression (``to_sql``). Both follow the design's rule that a missing
value or a zero denominator is "no value": ``None`` in Python, ``NULL`` in SQL, never 0, NaN or
infinity. ``str()`` gives back canonical text that parses to an equal tree.
"""

from __future__ import annotations

import difflib
import math
import operator
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from typing import Any, NamedTuple, cast

from sqlalchemy import ColumnElement, Float, func, literal
from sqlalchemy.sql.expression import BinaryExpression, Grouping
from sqlalchemy.sql.operators import OperatorType

from kpi.errors import KpiError
from kpi.measures import Measure

#: Longest formula accepted; real ones are a few dozen characters.
MAX_LENGTH = 500
#: Most operators and parentheses in one formula. This bounds the depth of the tree, hence the
#: recursion of the parser, of ``evaluate`` and of SQLAlchemy's compiler, which is the deepest.
MAX_OPERATORS = 64
#: Deepest nesting of parentheses and unary minus. SQLite's own parser overflows its stack at 16
#: nested divisions (each ``x / NULLIF((...), 0)``), so stay well below.
MAX_DEPTH = 12
#: Formulas longer than this are not repeated inside error messages.
_QUOTE_LIMIT = 80

_NEGATION_PRECEDENCE = 3
_ATOM_PRECEDENCE = 4


class FormulaError(KpiError):
    """A formula does not parse; the message gives the column, the bad token and a fix if any."""

    def __init__(self, message: str, *, position: int, token: str) -> None:
        self.position = position
        """0-based offset of the bad token in the formula text."""
        self.token = token
        """The bad token as written, or ``""`` when the formula ended too early."""
        super().__init__(message)


class Op(StrEnum):
    """A binary operator."""

    ADD = "+"
    SUB = "-"
    MUL = "*"
    DIV = "/"

    @property
    def precedence(self) -> int:
        return 1 if self in (Op.ADD, Op.SUB) else 2


_APPLY: dict[Op, Callable[[float, float], float]] = {
    Op.ADD: operator.add,
    Op.SUB: operator.sub,
    Op.MUL: operator.mul,
    Op.DIV: operator.truediv,
}
#: SQLAlchemy's arithmetic operators are Python's own functions, typed as SQL operators.
_SQL_OPERATORS = {op: cast(OperatorType, function) for op, function in _APPLY.items()}


def _finite(value: float) -> float | None:
    """Overflow gives inf or NaN in float arithmetic; the design says that is no value."""
    return value if math.isfinite(value) else None


class Formula(ABC):
    """A parsed formula. Trees are immutable and hashable; equal trees are equal formulas."""

    @property
    @abstractmethod
    def precedence(self) -> int:
        """How tightly this node binds, to print parentheses only where they are needed."""

    @abstractmethod
    def measures(self) -> frozenset[Measure]:
        """The measures the formula reads."""

    @abstractmethod
    def evaluate(self, values: Mapping[Measure, float | None]) -> float | None:
        """The value for these measure values; ``None`` if one is missing or a divisor is 0.

        An absent key, ``None`` and NaN all mean "not reported". The result is never inf or NaN.
        """

    @abstractmethod
    def to_sql(self, columns: Mapping[Measure, ColumnElement[Any]]) -> ColumnElement[Any]:
        """A SQL expression over the given columns (typically ``SUM(facts.<measure>)``).

        Division is by ``NULLIF(divisor, 0)``, so a zero divisor gives ``NULL`` on every backend,
        and operands are grouped exactly as in ``str()``, so SQL rounds like :meth:`evaluate`.
        Only float overflow differs: the database's own rules apply.
        """

    def _operand_text(self, parent_precedence: int, *, strict: bool = False) -> str:
        """This node as an operand, in parentheses if it binds less tightly than its parent.

        ``strict`` is for right operands: ``a - (b - c)`` and even ``a + (b + c)`` keep their
        parentheses, because float arithmetic is not associative and the text must round-trip.
        """
        weaker = (
            self.precedence <= parent_precedence if strict else self.precedence < parent_precedence
        )
        return f"({self})" if weaker else str(self)


@dataclass(frozen=True, slots=True)
class Number(Formula):
    """A literal: finite and non-negative (a negative constant is ``Neg(Number(...))``)."""

    value: float

    def __post_init__(self) -> None:
        if not (math.isfinite(self.value) and self.value >= 0):
            raise ValueError(f"a Number is finite and non-negative, not {self.value!r}")

    @property
    def precedence(self) -> int:
        return _ATOM_PRECEDENCE

    def measures(self) -> frozenset[Measure]:
        return frozenset()

    def evaluate(self, values: Mapping[Measure, float | None]) -> float | None:
        return self.value

    def to_sql(self, columns: Mapping[Measure, ColumnElement[Any]]) -> ColumnElement[Any]:
        # A float literal: SQLite divides two integers with integer division.
        return literal(self.value, Float())

    def __str__(self) -> str:
        value = float(self.value)  # callers may pass an int where a float is typed
        if value.is_integer():
            return str(int(value))
        # Decimal of the shortest repr: positional digits (no "1e-05") that parse back exactly.
        return format(Decimal(repr(value)), "f")


@dataclass(frozen=True, slots=True)
class MeasureRef(Formula):
    """A canonical measure, e.g. ``clicks``."""

    measure: Measure

    @property
    def precedence(self) -> int:
        return _ATOM_PRECEDENCE

    def measures(self) -> frozenset[Measure]:
        return frozenset({self.measure})

    def evaluate(self, values: Mapping[Measure, float | None]) -> float | None:
        value = values.get(self.measure)
        return None if value is None else _finite(float(value))

    def to_sql(self, columns: Mapping[Measure, ColumnElement[Any]]) -> ColumnElement[Any]:
        return columns[self.measure]

    def __str__(self) -> str:
        return self.measure.value


@dataclass(frozen=True, slots=True)
class Neg(Formula):
    """Unary minus."""

    operand: Formula

    @property
    def precedence(self) -> int:
        return _NEGATION_PRECEDENCE

    def measures(self) -> frozenset[Measure]:
        return self.operand.measures()

    def evaluate(self, values: Mapping[Measure, float | None]) -> float | None:
        value = self.operand.evaluate(values)
        return None if value is None else -value

    def to_sql(self, columns: Mapping[Measure, ColumnElement[Any]]) -> ColumnElement[Any]:
        return -self.operand.to_sql(columns)

    def __str__(self) -> str:
        return "-" + self.operand._operand_text(self.precedence)


@dataclass(frozen=True, slots=True)
class BinOp(Formula):
    """``left op right``."""

    op: Op
    left: Formula
    right: Formula

    @property
    def precedence(self) -> int:
        return self.op.precedence

    def measures(self) -> frozenset[Measure]:
        return self.left.measures() | self.right.measures()

    def evaluate(self, values: Mapping[Measure, float | None]) -> float | None:
        left = self.left.evaluate(values)
        right = self.right.evaluate(values)
        if left is None or right is None or (self.op is Op.DIV and right == 0):
            return None
        return _finite(_APPLY[self.op](left, right))

    def to_sql(self, columns: Mapping[Measure, ColumnElement[Any]]) -> ColumnElement[Any]:
        # Built directly: ``left + right`` would let SQLAlchemy flatten a + (b + c) into
        # a + b + c, which rounds unlike evaluate(). The constructor still groups operands by
        # precedence; only the right operand's parentheses of __str__ need to be explicit.
        right = self.right.to_sql(columns)
        if self.op is Op.DIV:
            right = func.nullif(right, 0, type_=Float())  # typed: no CAST(... AS NUMERIC)
        elif self.right.precedence <= self.precedence:
            right = Grouping(right)
        operator_ = _SQL_OPERATORS[self.op]
        return BinaryExpression(self.left.to_sql(columns), right, operator_, type_=Float())

    def __str__(self) -> str:
        left = self.left._operand_text(self.precedence)
        right = self.right._operand_text(self.precedence, strict=True)
        return f"{left} {self.op} {right}"


class _Token(NamedTuple):
    kind: str
    """``"number"``, ``"name"``, ``"end"``, or the operator or parenthesis itself."""
    text: str
    start: int


_PUNCTUATION = frozenset("+-*/()")
_OPERATORS = frozenset("+-*/(")
_SPACE = frozenset(" \t\r\n")
_MEASURE_NAMES = tuple(measure.value for measure in Measure)


def _is_digit(char: str) -> bool:
    return "0" <= char <= "9"  # not str.isdigit(), which accepts "²" and other non-ASCII digits


def _is_name_start(char: str) -> bool:
    return char.isascii() and (char.isalpha() or char == "_")


def _is_name_char(char: str) -> bool:
    return char.isascii() and (char.isalnum() or char == "_")


def _span(text: str, start: int, accept: Callable[[str], bool]) -> int:
    """The end of the run of accepted characters that begins at ``start``."""
    end = start
    while end < len(text) and accept(text[end]):
        end += 1
    return end


def _error(text: str, position: int, token: str, problem: str, hint: str = "") -> FormulaError:
    shown = token if len(token) <= _QUOTE_LIMIT // 2 else token[: _QUOTE_LIMIT // 2] + "..."
    found = repr(shown) if token else "the end of the formula"
    where = f"column {position + 1}"
    if len(text) <= _QUOTE_LIMIT:
        where += f" of {text!r}"
    message = f"{problem}: {found} at {where}" + (f"; {hint}" if hint else "")
    return FormulaError(message, position=position, token=token)


def _number_end(text: str, start: int) -> int:
    end = _span(text, start, _is_digit)
    if end < len(text) and text[end] == ".":
        fraction_end = _span(text, end + 1, _is_digit)
        if fraction_end == end + 1:
            token = text[start : end + 1]
            raise _error(text, start, token, "malformed number", "write digits after the '.'")
        end = fraction_end
    return end


def _tokenize(text: str) -> list[_Token]:
    tokens: list[_Token] = []
    position = 0
    while position < len(text):
        char = text[position]
        if char in _SPACE:
            position += 1
        elif char in _PUNCTUATION:
            tokens.append(_Token(char, char, position))
            position += 1
        elif _is_digit(char):
            end = _number_end(text, position)
            tokens.append(_Token("number", text[position:end], position))
            position = end
        elif _is_name_start(char):
            end = _span(text, position, _is_name_char)
            tokens.append(_Token("name", text[position:end], position))
            position = end
        else:
            hint = "use measure names, numbers, + - * / and parentheses"
            raise _error(text, position, char, "unexpected character", hint)
    operators = [token for token in tokens if token.kind in _OPERATORS]
    if len(operators) > MAX_OPERATORS:
        extra = operators[MAX_OPERATORS]
        problem = f"more than {MAX_OPERATORS} operators and parentheses"
        raise _error(text, extra.start, extra.text, problem, "split the KPI or simplify it")
    tokens.append(_Token("end", "", len(text)))
    return tokens


class _Parser:
    """Recursive descent over the token list; one method per grammar rule."""

    def __init__(self, text: str) -> None:
        self._text = text
        self._tokens = _tokenize(text)
        self._index = 0
        self._depth = 0

    def parse(self) -> Formula:
        result = self._expression()
        extra = self._tokens[self._index]
        if extra.kind != "end":
            hint = "unbalanced ')'" if extra.kind == ")" else "an operator is missing before it"
            raise self._error(extra, "unexpected token", hint)
        return result

    def _expression(self) -> Formula:
        return self._chain(self._term, (Op.ADD, Op.SUB))

    def _term(self) -> Formula:
        return self._chain(self._factor, (Op.MUL, Op.DIV))

    def _chain(self, operand: Callable[[], Formula], ops: tuple[Op, ...]) -> Formula:
        left = operand()
        while self._tokens[self._index].kind in ops:
            op = Op(self._advance().kind)
            left = BinOp(op, left, operand())
        return left

    def _factor(self) -> Formula:
        token = self._advance()
        if token.kind == "number":
            return self._number(token)
        if token.kind == "name":
            return MeasureRef(self._measure(token))
        if token.kind not in ("-", "("):
            raise self._error(token, "expected a number, a measure or '('")
        self._depth += 1
        if self._depth > MAX_DEPTH:
            raise self._error(token, f"nested more than {MAX_DEPTH} levels deep", "simplify it")
        result = Neg(self._factor()) if token.kind == "-" else self._parenthesized(token)
        self._depth -= 1
        return result

    def _parenthesized(self, opening: _Token) -> Formula:
        inner = self._expression()
        closing = self._advance()
        if closing.kind != ")":
            hint = f"close the '(' of column {opening.start + 1}"
            raise self._error(closing, "expected ')'", hint)
        return inner

    def _advance(self) -> _Token:
        token = self._tokens[self._index]
        self._index = min(self._index + 1, len(self._tokens) - 1)
        return token

    def _number(self, token: _Token) -> Number:
        value = float(token.text)  # the tokenizer only lets ASCII digits and one '.' through
        if not math.isfinite(value):
            raise self._error(token, "number too large")
        return Number(value)

    def _measure(self, token: _Token) -> Measure:
        if token.text in _MEASURE_NAMES:
            return Measure(token.text)
        close = difflib.get_close_matches(token.text.lower(), _MEASURE_NAMES, n=1)
        hint = f"did you mean {close[0]}?" if close else "measures: " + ", ".join(_MEASURE_NAMES)
        raise self._error(token, "unknown measure", hint)

    def _error(self, token: _Token, problem: str, hint: str = "") -> FormulaError:
        return _error(self._text, token.start, token.text, problem, hint)


def parse(text: str) -> Formula:
    """Parse a formula such as ``(revenue - spend) / spend``; raises :class:`FormulaError`."""
    if len(text) > MAX_LENGTH:
        raise _error(text, MAX_LENGTH, text[MAX_LENGTH], f"longer than {MAX_LENGTH} characters")
    return _Parser(text).parse()
