"""An answer as plain data for people (terminal text) and programs (the ``--json`` shape).

Both read the same :class:`kpi.answer.Answer`; Slack's Block Kit templates (bot/rendering) use
the same formatting helpers, so a number reads the same everywhere.
"""

from __future__ import annotations

from typing import Any

from bot import formatting
from kpi.answer import Answer
from kpi.catalog import Kpi, LevelGrowthKpi, RatioKpi, SumKpi, UniqueKpi


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


def as_text(answer: Answer) -> str:
    """Readable lines for the terminal: header, value, comparison, target, trend, breakdown."""
    kpi, currency = answer.kpi, answer.currency
    period = answer.period
    lines = [f"{kpi.name} — {period.start} → {period.end} ({answer.timezone})", period.label]
    shown = formatting.value(kpi, answer.value, currency)
    if answer.value is None and answer.bounds is not None:
        shown = formatting.bounds(kpi, answer.bounds)
    lines.append(f"  {shown}")
    if answer.comparison is not None:
        lines.append(f"  {formatting.change(kpi, answer.comparison, currency)}")
    if answer.target is not None:
        target = answer.target
        threshold = formatting.value(kpi, target.threshold, currency)
        lines.append(f"  target {target.comparator} {threshold}: {target.state.value}")
    trend = formatting.sparkline([point.value for point in answer.series])
    if trend:
        lines.append(f"  last {len(answer.series)} periods: {trend}")
    if answer.breakdown:
        lines.append(f"  by {answer.breakdown_by}:")
        width = max(len(row.label) for row in answer.breakdown)
        for row in answer.breakdown:
            value = formatting.value(kpi, row.value, currency)
            if row.value is None and row.bounds is not None:
                value = formatting.bounds(kpi, row.bounds)
            lines.append(f"    {row.label:<{width}}  {value}")
    if answer.coverage is not None:
        coverage = answer.coverage
        lines.append(f"  data on {coverage.days_with_data} of {coverage.days_in_window} days")
    lines.extend(f"  ! {warning}" for warning in answer.warnings)
    return "\n".join(lines)
