"""The bot's replies as plain data: view models for the templates, and the ``--json`` shape.

Everything here is raw, readable text (a CTR reads ``1.23%``); the templates add the Slack markup
and escape each value, so the same view serves Slack and, through it, the terminal.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from bot import formatting
from kpi.answer import Answer, Bounds, BreakdownRow, TargetState, TargetStatus
from kpi.catalog import (
    Catalog,
    Direction,
    Kpi,
    LevelGrowthKpi,
    RatioKpi,
    SumKpi,
    UniqueKpi,
    UnknownKpiError,
)
from kpi.commands import SUBCOMMAND_HELP
from kpi.errors import KpiError
from kpi.grammar import EXAMPLES, GRAMMAR_HELP, GrammarError
from kpi.periods import Grain, Period
from kpi.request import ComparisonKind, Request

#: A Slack table past this many rows is no longer read; the rest is counted instead.
TABLE_ROWS = 40
#: Wider labels are cut so that the value column stays on screen in a Slack code block; campaign
#: names from the exports are often 40-odd characters and must stay recognisable.
LABEL_WIDTH = 48
#: KPIs listed in one message; a catalog of 100 custom KPIs says how many more there are.
LIST_KPIS = 40
#: Names read as acronyms in titles ("CTR", not "Ctr").
ACRONYMS = frozenset({"ctr", "cpc", "cpm", "cpa", "cac", "roas", "roi"})
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
COMPARATORS = {"<=": "≤", ">=": "≥"}
DIRECTIONS = {
    Direction.HIGHER: "higher is better",
    Direction.LOWER: "lower is better",
    Direction.NEUTRAL: "neither way is better",
}


def definition(kpi: Kpi) -> str:
    """How the KPI is computed, in the canonical measure names."""
    if isinstance(kpi, RatioKpi):
        return f"Σ({kpi.numerator}) / Σ({kpi.denominator})" + (
            f" \u00d7 {kpi.scale:g}" if kpi.scale != 1 else ""
        )
    if isinstance(kpi, SumKpi):
        return f"Σ({kpi.formula})"
    if isinstance(kpi, UniqueKpi):
        return f"{kpi.measure} over the exact window (never summed)"
    assert isinstance(kpi, LevelGrowthKpi)
    return f"Σ{kpi.flow}, or {kpi.level}(end) \u2212 {kpi.level}(start)"


def as_json(answer: Answer) -> dict[str, Any]:
    """Exactly the documented shape; dates ISO, ratios as fractions (1.23 % is 0.0123)."""
    comparison = None
    if answer.comparison is not None:
        comparison = {
            "start": answer.comparison.period.start.isoformat(),
            "end": answer.comparison.period.end.isoformat(),
            "value": answer.comparison.value,
            "change": answer.comparison.change,
            "change_pct": answer.comparison.change_pct,
        }
    return {
        "kpi": answer.kpi.name,
        "period": {
            "start": answer.period.start.isoformat(),
            "end": answer.period.end.isoformat(),
            "label": answer.period.label,
            "timezone": answer.timezone,
        },
        "value": answer.value,
        "unit": answer.kpi.unit.value,
        "comparison": comparison,
        "breakdown": [{"key": dict(row.key), "value": row.value} for row in answer.breakdown],
        "warnings": list(answer.warnings),
    }


def title(kpi: Kpi) -> str:
    return kpi.name.upper() if kpi.name in ACRONYMS else kpi.name.replace("_", " ").capitalize()


def _day(day: dt.date, *, year: bool = True) -> str:
    return f"{day.day} {MONTHS[day.month - 1]}" + (f" {day.year}" if year else "")


def dates(period: Period) -> str:
    """The exact days, as short as stays unambiguous: 16-22 Nov 2026 (with an en dash)."""
    start, end = period.start, period.end
    if start == end:
        return _day(end)
    if (start.year, start.month) == (end.year, end.month):
        return f"{start.day}\u2013{_day(end)}"
    return f"{_day(start, year=start.year != end.year)} \u2013 {_day(end)}"


def _unit(period: Period) -> str:
    """What one period is called ("week"), so a comparison can say "vs previous week"."""
    whole_month = period.start.day == 1 and (period.end + dt.timedelta(days=1)).day == 1
    if period.grain is Grain.DAY and period.days == 1:
        return "day"
    if period.grain is Grain.WEEK and period.days == 7:
        return "week"
    if period.grain is Grain.MONTH and whole_month and period.start.month == period.end.month:
        return "month"
    return "period"


def _shown(kpi: Kpi, value: float | None, currency: str | None, bounds: Bounds | None) -> str:
    """Reach's labelled bounds when its exact value is unavailable."""
    if value is None and bounds is not None:
        return formatting.bounds(kpi, bounds)
    return formatting.value(kpi, value, currency)


def _target(kpi: Kpi, target: TargetStatus, currency: str | None) -> tuple[str, str]:
    """The heading (the threshold) and the state, with by how much when it is known."""
    comparator = COMPARATORS.get(target.comparator, target.comparator)
    heading = f"Target {comparator} {formatting.value(kpi, target.threshold, currency)}"
    margin = "" if target.margin is None else formatting.difference(kpi, target.margin, currency)
    match target.state:
        case TargetState.MET:
            state = f"met ({margin})" if margin else "met"
        case TargetState.MISSED:
            state = f"missed ({margin})" if margin else "missed"
        case TargetState.LOW_VOLUME:
            state = f"not judged: low volume (under {kpi.min_volume:,.0f})"
        case _:
            state = "no data"
    return heading, state


def _comparison_label(request: Request, before: Period) -> str:
    match request.comparison_kind:
        case ComparisonKind.YEAR_AGO:
            return f"vs last year ({dates(before)})"
        case ComparisonKind.EXPLICIT:
            return f"vs {dates(before)}"
        case _:
            return f"vs previous {_unit(before)} ({dates(before)})"


def _cut(label: str) -> str:
    return label if len(label) <= LABEL_WIDTH else label[: LABEL_WIDTH - 1] + "…"


def table(answer: Answer) -> tuple[str, ...]:
    """Aligned lines (label, value, and the volume behind a ratio), header first, others last."""
    by = answer.breakdown_by
    if by is None:
        return ()
    rows: tuple[BreakdownRow, ...] = answer.breakdown[:TABLE_ROWS]
    if not rows:
        return (f"no data by {by}",)
    kpi, currency = answer.kpi, answer.currency
    volume_name = str(kpi.denominator) if isinstance(kpi, RatioKpi) else ""
    ratio = bool(volume_name)
    cells = [(by, kpi.name, volume_name if len(volume_name) <= LABEL_WIDTH else "volume")]
    for row in rows:
        volume = "" if row.volume is None else f"{row.volume:,.0f}"
        cells.append((_cut(row.label), _shown(kpi, row.value, currency, row.bounds), volume))
    widths = [max(len(cell[column]) for cell in cells) for column in range(3)]
    lines = [
        f"{label:<{widths[0]}}  {value:>{widths[1]}}"
        + (f"  {volume:>{widths[2]}}" if ratio else "")
        for label, value, volume in cells
    ]
    hidden = len(answer.breakdown) - len(rows)
    if hidden:
        lines.append(f"… and {hidden} more")
    return tuple(lines)


@dataclass(frozen=True)
class AnswerView:
    """An answer as the sentences and table lines a person reads."""

    title: str
    value: str
    comparison_label: str | None
    comparison: str | None
    target: tuple[str, str] | None
    trend_label: str
    trend: str
    table: tuple[str, ...]
    question: str
    scope: str
    notes: tuple[str, ...]


def answer_view(answer: Answer, request: Request) -> AnswerView:
    kpi, currency = answer.kpi, answer.currency
    comparison_label = comparison = None
    if answer.comparison is not None:
        comparison_label = _comparison_label(request, answer.comparison.period)
        comparison = formatting.change(kpi, answer.comparison, currency)
    coverage = answer.coverage
    notes = (
        []
        if coverage is None
        else [f"data on {coverage.days_with_data} of {coverage.days_in_window} days"]
    )
    return AnswerView(
        title=f"{title(kpi)} · {dates(answer.period)} ({answer.timezone})",
        value=_shown(kpi, answer.value, currency, answer.bounds),
        comparison_label=comparison_label,
        comparison=comparison,
        target=None if answer.target is None else _target(kpi, answer.target, currency),
        trend_label=f"Last {len(answer.series)} {_unit(answer.period)}s",
        trend=formatting.sparkline([point.value for point in answer.series]),
        table=table(answer),
        question=" ".join(request.text.split()),
        scope="; ".join(
            f"{dimension}: {', '.join(values)}" for dimension, values in request.filters
        ),
        notes=(*notes, *(f"⚠ {warning}" for warning in answer.warnings)),
    )


@dataclass(frozen=True)
class KpiEntry:
    name: str
    description: str
    unit: str
    direction: str
    definition: str
    aliases: tuple[str, ...]


@dataclass(frozen=True)
class ListView:
    """The first :data:`LIST_KPIS` KPIs and how many more the catalog holds."""

    kpis: tuple[KpiEntry, ...]
    more: int


def list_view(catalog: Catalog) -> ListView:
    shown = tuple(catalog)[:LIST_KPIS]
    entries = tuple(
        KpiEntry(
            kpi.name,
            kpi.description,
            kpi.unit.value,
            DIRECTIONS[kpi.direction],
            definition(kpi),
            kpi.aliases,
        )
        for kpi in shown
    )
    return ListView(entries, len(catalog) - len(shown))


@dataclass(frozen=True)
class HelpView:
    grammar: str
    examples: tuple[str, ...]


def help_view() -> HelpView:
    """The grammar without its own example lines, which the message lists on their own, then
    the configuration subcommands."""
    grammar = GRAMMAR_HELP.partition("\nExamples:")[0]
    return HelpView(f"{grammar}\n\n{SUBCOMMAND_HELP}", EXAMPLES)


@dataclass(frozen=True)
class ErrorView:
    problem: str
    suggestions: tuple[str, ...]
    example: str


def error_view(error: KpiError) -> ErrorView:
    """The problem without the exception's own "did you mean", which the message shows apart.

    The example question uses a suggestion when one of the examples does, so it shows the
    suggested word in use.
    """
    if isinstance(error, GrammarError):
        problem, suggestions = error.problem, error.suggestions
    elif isinstance(error, UnknownKpiError):
        problem, suggestions = f"unknown KPI {error.word!r}", error.suggestions
    else:
        problem, suggestions = str(error), ()
    example = next(
        (ex for ex in EXAMPLES for word in suggestions if word in ex.split()), EXAMPLES[0]
    )
    return ErrorView(problem, suggestions, example)
