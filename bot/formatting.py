"""Numbers as people read them, shared by Slack messages and the terminal.

Values arrive raw (a CTR of 0.0123); only here do they become ``1.23%``, ``€1,234.56`` or
``3.24x`` (with a multiplication sign). ``None`` is always shown as an em dash, never as 0 or "nan".
"""

from __future__ import annotations

from collections.abc import Sequence

from kpi.answer import Bounds, Comparison, Verdict
from kpi.catalog import Kpi, Unit

NO_VALUE = "—"
SPARKS = "▁▂▃▄▅▆▇█"
SYMBOLS = {"EUR": "€", "USD": "$", "GBP": "£", "JPY": "¥", "INR": "₹"}
ARROWS = {Verdict.GOOD: "▲", Verdict.BAD: "▼", Verdict.FLAT: "▶", Verdict.NEUTRAL: "•"}
MARKS = {Verdict.GOOD: "good", Verdict.BAD: "bad", Verdict.FLAT: "flat", Verdict.NEUTRAL: ""}


def _count(value: float) -> str:
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.2f}"


def money(value: float, currency: str | None) -> str:
    return ("-" if value < 0 else "") + _in_currency(f"{abs(value):,.2f}", currency)


def _in_currency(amount: str, currency: str | None) -> str:
    code = (currency or "").upper()
    if code in SYMBOLS:
        return f"{SYMBOLS[code]}{amount}"
    return f"{amount} {code}".rstrip()


def value(kpi: Kpi, number: float | None, currency: str | None = None) -> str:
    """A KPI value in its unit: percent to 2 decimals, money with its symbol, counts grouped."""
    if number is None:
        return NO_VALUE
    if kpi.unit is Unit.PERCENT:
        return f"{number * 100:.2f}%"
    if kpi.unit is Unit.CURRENCY:
        return money(number, currency)
    if kpi.unit is Unit.RATIO:
        return f"{number:.2f}\u00d7"
    return _count(number)


def bounds(kpi: Kpi, limits: Bounds) -> str:
    return f"between {value(kpi, limits.lower)} and {value(kpi, limits.upper)}"


def change(kpi: Kpi, comparison: Comparison, currency: str | None = None) -> str:
    """``▲ +12.3% (+0.21 pp) vs 1.02%``: arrow by sign, mark by direction."""
    if comparison.change is None:
        return f"no comparison value ({value(kpi, comparison.value, currency)} before)"
    arrow = "▲" if comparison.change > 0 else "▼" if comparison.change < 0 else "▶"
    parts = []
    if comparison.change_pct is not None:
        parts.append(f"{comparison.change_pct * 100:+.1f}%")
    if comparison.change_pp is not None:
        parts.append(difference(kpi, comparison.change_pp, currency))
    elif kpi.unit is not Unit.PERCENT:
        parts.append(difference(kpi, comparison.change, currency))
    mark = MARKS.get(comparison.verdict, "")
    shown = " / ".join(parts)
    suffix = f" ({mark})" if mark else ""
    return f"{arrow} {shown} vs {value(kpi, comparison.value, currency)}{suffix}"


def difference(kpi: Kpi, number: float, currency: str | None = None) -> str:
    """A signed difference in the KPI's unit: ``-0.38 pp`` for percent KPIs (percentage
    points), ``+€1.20``, ``+0.05x``, ``-1,234``.

    One too small for two decimals keeps a significant digit (``-0.004 pp``): a mover that
    really moved the total never reads as ``-0.00``, which looks like a mistake.
    """
    sign = "-" if number < 0 else "+"
    size = abs(number) * (100 if kpi.unit is Unit.PERCENT else 1)
    if kpi.unit is Unit.COUNT and round(size, 2) > 0:
        return sign + _count(size)
    digits = f"{size:,.2f}" if size == 0 or round(size, 2) > 0 else f"{size:.1g}"
    if kpi.unit is Unit.PERCENT:
        return f"{sign}{digits} pp"
    if kpi.unit is Unit.CURRENCY:
        return sign + _in_currency(digits, currency)
    if kpi.unit is Unit.RATIO:
        return f"{sign}{digits}\u00d7"
    return sign + digits


def sparkline(values: Sequence[float | None]) -> str:
    """Eight bars scaled between the series' min and max; a gap where there is no value."""
    present = [v for v in values if v is not None]
    if not present:
        return ""
    low, high = min(present), max(present)
    span = high - low
    bars = []
    for number in values:
        if number is None:
            bars.append(" ")
        else:
            index = 0 if span == 0 else round((number - low) / span * (len(SPARKS) - 1))
            bars.append(SPARKS[index])
    return "".join(bars)
