"""The KPI catalog: what each KPI means, how it is computed, and the words that name it.

As in dbt's MetricFlow, each kind of KPI is its own small frozen dataclass, so a query layer
matches on the kind instead of probing a dozen optional fields:

- :class:`SumKpi`: Σ over the window of a formula of additive measures (clicks, engagements).
- :class:`RatioKpi`: Σnumerator / Σdenominator * scale. Each side is summed over the window before
  dividing, never averaged per row. Ratios stay fractions: a CTR of 0.0123 is 1.23 %.
- :class:`UniqueKpi`: unique people (reach). Not additive: valid for an exact window only, otherwise
  bounded by max(daily) ≤ reach ≤ Σdaily. Only the definition lives here.
- :class:`LevelGrowthKpi`: Σ of a flow (follows), or level(end) - level(start) (followers) when the
  flow is not reported. Only the definition lives here.

``min_volume`` is the smallest denominator sum (or total, for a sum) at which a value means
something: a CTR over 40 impressions is noise.

A :class:`Catalog` finds KPIs by name or alias ignoring case, accents and ``_`` versus ``-``
(``Taux_De_Clic`` finds ctr, ``portee`` finds reach), and iterates in a stable order: the built-ins
in the order of the KPI table of DESIGN.md, then custom KPIs in the order of the file.

``kpis.toml`` overrides built-in fields and adds KPIs; one table per KPI::

    [kpi.cost_per_engagement]          # a new KPI: lowercase letters, digits and _
    description = "Spend per engagement"   # required for a new KPI, one line
    unit = "currency"                  # required for a new KPI: count, percent, currency, ratio
    better = "lower"                   # higher (default), lower or neutral
    numerator = "spend"                # a ratio: numerator and denominator formulas ...
    denominator = "likes + comments + shares + saves"
    scale = 1                          # ... times scale (default 1; cpm uses 1000)
    aliases = ["cpe", "coût-par-engagement"]
    min_volume = 50                    # ≥ 0 (default 0)

    [kpi.paid_interactions]
    description = "Clicks and shares"
    unit = "count"
    formula = "clicks + shares"        # a sum: Σ of this formula

    [kpi.ctr]                          # a built-in: only the fields given change
    min_volume = 500
    aliases = ["tdc"]                  # added to the built-in aliases

Formulas use :mod:`kpi.formula` (never ``eval``) over additive measures only. A built-in keeps its
kind: a ratio takes numerator/denominator/scale, a sum takes formula, reach and follower_growth take
neither. Everything is checked at load time; a :class:`~kpi.errors.ConfigError` names the file, the
KPI and what to fix.
"""

from __future__ import annotations

import difflib
import math
import re
import tomllib
import unicodedata
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from enum import StrEnum
from pathlib import Path
from typing import Any, TypeAlias

from kpi.errors import ConfigError, KpiError
from kpi.formula import BinOp, Formula, FormulaError, Number, Op, parse
from kpi.measures import NON_ADDITIVE, Measure

_IDENTIFIER = re.compile(r"[a-z][a-z0-9_]{0,39}")
#: difflib's default: below it, suggestions are more noise than help.
_SUGGESTION_CUTOFF = 0.6


class Unit(StrEnum):
    """How a value is shown; the value itself is never pre-multiplied (no x100 for percent)."""

    COUNT = "count"
    PERCENT = "percent"
    """A fraction shown as a percentage: 0.0123 is 1.23 %."""
    CURRENCY = "currency"
    RATIO = "ratio"
    """A multiple, shown as 3.2x."""


class Direction(StrEnum):
    """Which way is good news, for targets and for colouring changes."""

    HIGHER = "higher"
    LOWER = "lower"
    NEUTRAL = "neutral"


class UnknownKpiError(KpiError):
    """No KPI has this name or alias; carries the closest names for a "did you mean" reply."""

    def __init__(self, word: str, suggestions: tuple[str, ...]) -> None:
        self.word = word
        self.suggestions = suggestions
        hint = f"; did you mean {' or '.join(suggestions)}?" if suggestions else ""
        super().__init__(f"unknown KPI {word!r}{hint}")


def normalize(word: str) -> str:
    """The lookup key of a name or alias: no accents, case-folded, ``_`` read as ``-``."""
    decomposed = unicodedata.normalize("NFKD", word.strip())
    bare = "".join(char for char in decomposed if not unicodedata.combining(char))
    return bare.casefold().replace("_", "-").replace("'", "-").replace("\u2019", "-")


@dataclass(frozen=True, kw_only=True)
class _Kpi:
    """What every kind shares. Invariants are checked here, so built-ins and files agree."""

    name: str
    description: str
    unit: Unit
    direction: Direction = Direction.HIGHER
    aliases: tuple[str, ...] = ()
    min_volume: float = 0.0

    def __post_init__(self) -> None:
        if not _IDENTIFIER.fullmatch(self.name):
            raise ConfigError(
                f"name {self.name!r} is not a simple identifier: use up to 40 lowercase letters, "
                "digits and _, starting with a letter"
            )
        if not self.description.strip() or "\n" in self.description:
            raise ConfigError("description must be one non-empty line")
        for alias in self.aliases:
            if not normalize(alias) or any(char.isspace() for char in alias):
                raise ConfigError(f"alias {alias!r} must be one word, without spaces")
        if not (math.isfinite(self.min_volume) and self.min_volume >= 0):
            raise ConfigError(f"min_volume must be a number ≥ 0, not {self.min_volume}")


def _require_additive(field: str, formula: Formula) -> None:
    """Σreach or Σfollowers over days is a wrong number that looks right: refuse it up front."""
    summed = sorted(formula.measures() & NON_ADDITIVE)
    if summed:
        raise ConfigError(
            f"{field} uses {', '.join(summed)}, which cannot be summed over rows or days "
            "(unique people or a level); use additive measures only"
        )


@dataclass(frozen=True, kw_only=True)
class SumKpi(_Kpi):
    """Σ over the window of ``formula``, e.g. engagements = Σ(likes + comments + shares + saves)."""

    formula: Formula

    def __post_init__(self) -> None:
        super().__post_init__()
        _require_additive("formula", self.formula)

    def measures(self) -> frozenset[Measure]:
        return self.formula.measures()

    def value(self, sums: Mapping[Measure, float | None]) -> float | None:
        """The KPI from per-measure sums over the window; ``None`` if a measure is missing."""
        return self.formula.evaluate(sums)

    def volume(self, sums: Mapping[Measure, float | None]) -> float | None:
        """What ``min_volume`` is compared with: the total itself."""
        return self.value(sums)


@dataclass(frozen=True, kw_only=True)
class RatioKpi(_Kpi):
    """Σnumerator / Σdenominator * scale, e.g. ctr = Σclicks / Σimpressions."""

    numerator: Formula
    denominator: Formula
    scale: float = 1.0

    def __post_init__(self) -> None:
        super().__post_init__()
        _require_additive("numerator", self.numerator)
        _require_additive("denominator", self.denominator)
        if not (math.isfinite(self.scale) and self.scale > 0):
            raise ConfigError(f"scale must be a number > 0, not {self.scale}")

    @property
    def formula(self) -> Formula:
        """The whole computation over sums, e.g. ``spend / impressions * 1000`` for cpm."""
        ratio = BinOp(Op.DIV, self.numerator, self.denominator)
        return ratio if self.scale == 1 else BinOp(Op.MUL, ratio, Number(self.scale))

    def measures(self) -> frozenset[Measure]:
        return self.numerator.measures() | self.denominator.measures()

    def value(self, sums: Mapping[Measure, float | None]) -> float | None:
        """The KPI from per-measure sums; ``None`` for a missing measure or a zero denominator."""
        return self.formula.evaluate(sums)

    def volume(self, sums: Mapping[Measure, float | None]) -> float | None:
        """What ``min_volume`` is compared with: the denominator's sum."""
        return self.denominator.evaluate(sums)


@dataclass(frozen=True, kw_only=True)
class UniqueKpi(_Kpi):
    """Unique people over the window: exact only when a row covers exactly that window."""

    measure: Measure = Measure.REACH

    def measures(self) -> frozenset[Measure]:
        return frozenset({self.measure})


@dataclass(frozen=True, kw_only=True)
class LevelGrowthKpi(_Kpi):
    """Σ ``flow`` over the window, or ``level`` at its end minus at its start without the flow."""

    flow: Measure = Measure.FOLLOWS
    level: Measure = Measure.FOLLOWERS

    def measures(self) -> frozenset[Measure]:
        return frozenset({self.flow, self.level})


Kpi: TypeAlias = SumKpi | RatioKpi | UniqueKpi | LevelGrowthKpi


def _index(kpis: Sequence[Kpi]) -> dict[str, Kpi]:
    """Lookup key → KPI. Any word naming two KPIs is refused, whichever two roles it has."""
    words = [(kpi.name, "the name", kpi) for kpi in kpis]
    words += [(alias, "an alias", kpi) for kpi in kpis for alias in kpi.aliases]
    owners: dict[str, tuple[Kpi, str]] = {}
    for word, role, kpi in words:
        use = f"{word!r} ({role} of {kpi.name})"
        owner, first_use = owners.setdefault(normalize(word), (kpi, use))
        if owner is not kpi:
            raise ConfigError(f"{use} clashes with {first_use}; rename one of them")
    return {key: kpi for key, (kpi, _) in owners.items()}


class Catalog:
    """An immutable set of KPIs, found by any of their words; iterates in definition order."""

    def __init__(self, kpis: Iterable[Kpi]) -> None:
        self._kpis = tuple(kpis)
        self._index = _index(self._kpis)

    def __iter__(self) -> Iterator[Kpi]:
        return iter(self._kpis)

    def __len__(self) -> int:
        return len(self._kpis)

    def __contains__(self, word: object) -> bool:
        return isinstance(word, str) and normalize(word) in self._index

    def __getitem__(self, word: str) -> Kpi:
        """The KPI named ``word``; :class:`UnknownKpiError` with suggestions otherwise."""
        kpi = self.get(word)
        if kpi is None:
            raise UnknownKpiError(word, self.suggest(word))
        return kpi

    def get(self, word: str) -> Kpi | None:
        return self._index.get(normalize(word))

    def names(self) -> tuple[str, ...]:
        return tuple(kpi.name for kpi in self._kpis)

    def suggest(self, word: str, n: int = 3) -> tuple[str, ...]:
        """Up to ``n`` canonical names whose name or alias is close to ``word``, best first.

        Scored like :func:`difflib.get_close_matches`, but ties go to names before aliases and
        then to catalog order, so ``crt`` suggests ctr before the alias cvr of conversion_rate.
        """
        matcher = difflib.SequenceMatcher(b=normalize(word))
        scores: list[tuple[float, str]] = []
        for key, kpi in self._index.items():
            matcher.set_seq1(key)
            score = matcher.ratio()
            if score >= _SUGGESTION_CUTOFF:
                scores.append((score, kpi.name))
        scores.sort(key=lambda scored: -scored[0])  # stable: the index is names first, in order
        return tuple(dict.fromkeys(name for _, name in scores))[:n]


def _sum(
    name: str,
    formula: str,
    unit: Unit,
    description: str,
    *aliases: str,
    direction: Direction = Direction.HIGHER,
) -> SumKpi:
    return SumKpi(
        name=name,
        formula=parse(formula),
        unit=unit,
        direction=direction,
        description=description,
        aliases=aliases,
    )


def _ratio(
    name: str,
    numerator: str,
    denominator: str,
    *,
    unit: Unit,
    direction: Direction,
    min_volume: float,
    description: str,
    aliases: tuple[str, ...],
    scale: float = 1.0,
) -> RatioKpi:
    return RatioKpi(
        name=name,
        numerator=parse(numerator),
        denominator=parse(denominator),
        scale=scale,
        unit=unit,
        direction=direction,
        min_volume=min_volume,
        description=description,
        aliases=aliases,
    )


_ENGAGEMENTS = "likes + comments + shares + saves"
_MENTIONS = "sentiment_positive + sentiment_neutral + sentiment_negative"
_UP, _DOWN = Direction.HIGHER, Direction.LOWER
_COUNT, _PCT, _CUR = Unit.COUNT, Unit.PERCENT, Unit.CURRENCY

# A table, kept one KPI per line or two rather than one argument per line.
# fmt: off
#: The KPI table of DESIGN.md, in its order.
BUILTIN = Catalog([
    _sum("impressions", "impressions", _COUNT, "Times content was shown"),
    _sum("clicks", "clicks", _COUNT, "Clicks on ads and posts", "clics"),
    _sum("spend", "spend", _CUR, "Amount spent on ads", "dépenses", direction=Direction.NEUTRAL),
    _sum("revenue", "revenue", _CUR, "Revenue attributed", "revenu", "chiffre-affaires"),
    _sum("conversions", "conversions", _COUNT, "Conversions attributed"),
    _sum("engagements", _ENGAGEMENTS, _COUNT, "Likes, comments, shares and saves", "interactions"),
    _ratio("engagement_rate", _ENGAGEMENTS, "impressions", unit=_PCT, direction=_UP,
           min_volume=1000, description="Engagements per impression",
           aliases=("taux-d-engagement", "taux-engagement")),
    _ratio("ctr", "clicks", "impressions", unit=_PCT, direction=_UP, min_volume=1000,
           description="Clicks per impression", aliases=("click-through-rate", "taux-de-clic")),
    _ratio("cpc", "spend", "clicks", unit=_CUR, direction=_DOWN, min_volume=20,
           description="Cost per click", aliases=("cost-per-click", "coût-par-clic")),
    _ratio("cpm", "spend", "impressions", unit=_CUR, direction=_DOWN, min_volume=1000,
           scale=1000, description="Cost per thousand impressions",
           aliases=("cost-per-mille", "coût-pour-mille")),
    _ratio("conversion_rate", "conversions", "clicks", unit=_PCT, direction=_UP, min_volume=20,
           description="Conversions per click", aliases=("cvr", "taux-de-conversion")),
    _ratio("cpa", "spend", "conversions", unit=_CUR, direction=_DOWN, min_volume=5,
           description="Cost per conversion",
           aliases=("cost-per-acquisition", "coût-par-acquisition")),
    _ratio("cac", "spend", "new_customers", unit=_CUR, direction=_DOWN, min_volume=5,
           description="Cost per new customer",
           aliases=("customer-acquisition-cost", "coût-acquisition")),
    _ratio("roas", "revenue", "spend", unit=Unit.RATIO, direction=_UP, min_volume=50,
           description="Revenue per unit of ad spend", aliases=("return-on-ad-spend",)),
    _ratio("roi", "revenue - spend", "spend", unit=_PCT, direction=_UP, min_volume=50,
           description="Profit over spend",
           aliases=("return-on-investment", "retour-sur-investissement")),
    _ratio("sentiment", "sentiment_positive", _MENTIONS, unit=_PCT, direction=_UP,
           min_volume=20, description="Share of mentions that are positive",
           aliases=("positive-sentiment", "sentiment-positif")),
    _ratio("net_sentiment", "sentiment_positive - sentiment_negative", _MENTIONS, unit=_PCT,
           direction=_UP, min_volume=20, description="Positive minus negative share of mentions",
           aliases=("sentiment-net",)),
    LevelGrowthKpi(name="follower_growth", unit=_COUNT, description="Net new followers",
                   aliases=("new-followers", "croissance-abonnés")),
    UniqueKpi(name="reach", unit=_COUNT, description="Unique people reached",
              aliases=("portée",)),
])
# fmt: on


# -- kpis.toml ---------------------------------------------------------------------------------


def _text(raw: object) -> str:
    if not isinstance(raw, str):
        raise ConfigError(f"must be a string, not {raw!r}")
    return raw


def _number(raw: object) -> float:
    if isinstance(raw, bool) or not isinstance(raw, int | float):
        raise ConfigError(f"must be a number, not {raw!r}")
    return float(raw)


def _choice(enum: type[Unit] | type[Direction]) -> Callable[[object], object]:
    def convert(raw: object) -> object:
        allowed = [member.value for member in enum]
        if raw not in allowed:
            raise ConfigError(f"must be one of {', '.join(allowed)}, not {raw!r}")
        return enum(raw)

    return convert


def _aliases(raw: object) -> tuple[str, ...]:
    if not isinstance(raw, list) or not all(isinstance(alias, str) for alias in raw):
        raise ConfigError(f"must be a list of strings, not {raw!r}")
    return tuple(raw)


def _formula(raw: object) -> Formula:
    try:
        return parse(_text(raw))
    except FormulaError as error:
        raise ConfigError(str(error)) from error


#: Each field of a ``[kpi.<name>]`` table: the dataclass attribute it sets and its converter.
_FIELDS: dict[str, tuple[str, Callable[[object], object]]] = {
    "description": ("description", _text),
    "unit": ("unit", _choice(Unit)),
    "better": ("direction", _choice(Direction)),
    "aliases": ("aliases", _aliases),
    "min_volume": ("min_volume", _number),
    "formula": ("formula", _formula),
    "numerator": ("numerator", _formula),
    "denominator": ("denominator", _formula),
    "scale": ("scale", _number),
}
_KIND_FIELDS: dict[type[_Kpi], tuple[str, ...]] = {
    SumKpi: ("formula",),
    RatioKpi: ("numerator", "denominator", "scale"),
    UniqueKpi: (),
    LevelGrowthKpi: (),
}
_COMPUTATION_FIELDS = frozenset(field for fields in _KIND_FIELDS.values() for field in fields)


def _convert(table: object) -> dict[str, Any]:
    """The table's fields as dataclass keyword arguments, keyed by their toml names."""
    if not isinstance(table, dict):
        raise ConfigError(f"must be a table of fields, not {table!r}")
    values: dict[str, Any] = {}
    for field, raw in table.items():
        if field not in _FIELDS:
            close = difflib.get_close_matches(field, _FIELDS, n=1)
            hint = f"did you mean {close[0]}? " if close else ""
            raise ConfigError(f"unknown field {field!r}; {hint}fields are: {', '.join(_FIELDS)}")
        try:
            values[field] = _FIELDS[field][1](raw)
        except ConfigError as error:
            raise ConfigError(f"{field}: {error}") from error
    return values


def _arguments(values: Mapping[str, Any]) -> dict[str, Any]:
    return {_FIELDS[field][0]: value for field, value in values.items()}


def _override(kpi: Kpi, values: dict[str, Any]) -> Kpi:
    allowed = _KIND_FIELDS[type(kpi)]
    refused = sorted(values.keys() & (_COMPUTATION_FIELDS - set(allowed)))
    if refused:
        instead = f"set {', '.join(allowed)} instead" if allowed else "its computation is fixed"
        raise ConfigError(f"{refused[0]} cannot be set on the built-in {kpi.name}; {instead}")
    if "aliases" in values:
        values["aliases"] = kpi.aliases + values["aliases"]
    return replace(kpi, **_arguments(values))


def _define(name: str, values: dict[str, Any]) -> Kpi:
    missing = [field for field in ("description", "unit") if field not in values]
    if missing:
        raise ConfigError(f"a new KPI needs {' and '.join(missing)}")
    ratio_fields = values.keys() & set(_KIND_FIELDS[RatioKpi])
    if "formula" in values and ratio_fields:
        raise ConfigError(
            f"formula (a sum) cannot be combined with {', '.join(sorted(ratio_fields))} (a ratio)"
        )
    if "formula" in values:
        return SumKpi(name=name, **_arguments(values))
    if {"numerator", "denominator"} <= ratio_fields:
        return RatioKpi(name=name, **_arguments(values))
    raise ConfigError("set formula (a sum), or numerator and denominator (a ratio)")


def _read(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as file:
            return tomllib.load(file)
    except OSError as error:
        raise ConfigError(f"{path}: cannot read the KPI file ({error.strerror})") from error
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
        raise ConfigError(f"{path}: not valid TOML ({error})") from error


def load_catalog(path: Path | None = None) -> Catalog:
    """The built-ins, with the overrides and custom KPIs of ``path`` (a ``kpis.toml``) if given."""
    if path is None:
        return BUILTIN
    data = _read(path)
    extra = sorted(data.keys() - {"kpi"})
    if extra:
        raise ConfigError(f"{path}: unknown table or key {extra[0]!r}; define KPIs as [kpi.<name>]")
    tables = data.get("kpi", {})
    if not isinstance(tables, dict):
        raise ConfigError(f"{path}: kpi must be a table of [kpi.<name>] tables")
    kpis: dict[str, Kpi] = {kpi.name: kpi for kpi in BUILTIN}
    for name, table in tables.items():
        try:
            values = _convert(table)
            builtin = kpis.get(name)  # TOML has no duplicate tables: only a built-in can be there
            kpis[name] = _define(name, values) if builtin is None else _override(builtin, values)
        except ConfigError as error:
            raise ConfigError(f"{path}: [kpi.{name}] {error}") from error
    try:
        return Catalog(kpis.values())
    except ConfigError as error:
        raise ConfigError(f"{path}: {error}") from error
