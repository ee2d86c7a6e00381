"""Computing one KPI per window and group, for each kind of KPI.

Sums and ratios aggregate each measure in SQL, then divide (a ratio of sums, never an average of
rates). Unique counts (reach) are exact only for a row covering exactly the window; otherwise they
come with bounds. Follower growth is Σfollows, or the change in the followers level.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from sqlalchemy import Connection

from kpi import aggregate
from kpi.aggregate import Scope
from kpi.answer import Bounds
from kpi.catalog import Kpi, LevelGrowthKpi, RatioKpi, SumKpi, UniqueKpi
from kpi.formula import BinOp, Formula, MeasureRef, Neg, Number, Op
from kpi.measures import MONEY, Measure
from kpi.periods import Period

Key = tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class Cell:
    """The KPI for one window (``bucket``) and one group."""

    bucket: int
    key: Key
    value: float | None
    volume: float | None
    sums: dict[Measure, float | None] = field(default_factory=dict)
    bounds: Bounds | None = None
    currency: str | None = None
    currencies: tuple[str, ...] = ()


def _number(value: object) -> float | None:
    if value is None:
        return None
    number = float(value)  # type: ignore[arg-type]
    return None if math.isnan(number) else number


def _terms(formula: Formula) -> frozenset[Measure] | None:
    """The measures of a formula that is a plain sum of measures (likes + comments + ...)."""
    if isinstance(formula, MeasureRef):
        return frozenset({formula.measure})
    if isinstance(formula, BinOp) and formula.op is Op.ADD:
        left, right = _terms(formula.left), _terms(formula.right)
        return left | right if left is not None and right is not None else None
    return None


def _sum_parts(kpi: SumKpi | RatioKpi) -> list[Formula]:
    return [kpi.formula] if isinstance(kpi, SumKpi) else [kpi.numerator, kpi.denominator]


def fill_unreported_terms(kpi: SumKpi | RatioKpi, sums: dict[Measure, float | None]) -> None:
    """In a plain sum such as engagements, a measure a platform never reports counts as 0.

    LinkedIn has no saves: its engagements are still likes + comments + shares. Elsewhere (ROI's
    revenue) a missing measure makes the value unknown, never silently 0.
    """
    for part in _sum_parts(kpi):
        terms = _terms(part)
        if terms and any(sums.get(m) is not None for m in terms):
            for measure in terms:
                if sums.get(measure) is None:
                    sums[measure] = 0.0


def _fill_unreported_columns(kpi: SumKpi | RatioKpi, sums: pd.DataFrame) -> None:
    """:func:`fill_unreported_terms` for a whole frame of groups at once."""
    for part in _sum_parts(kpi):
        terms = [m.value for m in _terms(part) or ()]
        if terms:
            reported = sums[terms].notna().any(axis=1)
            sums.loc[reported, terms] = sums.loc[reported, terms].fillna(0.0)


def _vector(formula: Formula, sums: pd.DataFrame) -> pd.Series:
    """``formula`` over each row of ``sums`` at once, with :meth:`Formula.evaluate`'s rules: a
    missing operand or a zero denominator gives NaN (no value), never infinity."""
    if isinstance(formula, Number):
        return pd.Series(formula.value, index=sums.index, dtype=float)
    if isinstance(formula, MeasureRef):
        return sums[formula.measure.value].astype(float)
    if isinstance(formula, Neg):
        return -_vector(formula.operand, sums)
    assert isinstance(formula, BinOp)
    left, right = _vector(formula.left, sums), _vector(formula.right, sums)
    if formula.op is Op.DIV:
        result = left / right.where(right != 0)
    else:
        result = {Op.ADD: left + right, Op.SUB: left - right, Op.MUL: left * right}[formula.op]
    return result.where(np.isfinite(result))


def _key(row: pd.Series, group: Sequence[str]) -> Key:
    return tuple((name, str(row[name])) for name in group)


def _bucket_of(starts: pd.Series, ends: pd.Series, buckets: Sequence[Period]) -> pd.Series:
    assigned = pd.Series(-1, index=starts.index)
    for index, bucket in enumerate(buckets):
        inside = (starts >= bucket.start) & (ends <= bucket.end) & (assigned < 0)
        assigned[inside] = index
    return assigned


def ratio_cells(
    connection: Connection,
    kpi: SumKpi | RatioKpi,
    buckets: Sequence[Period],
    scope: Scope,
    group: Sequence[str],
) -> list[Cell]:
    """One query over the buckets' span, then sums per bucket and group.

    Several buckets (a sparkline) need the rows' dates to share them out; a single bucket never
    does, so a year by campaign returns one row per campaign, not one per campaign and day.
    """
    measures = sorted(kpi.measures())
    names = [m.value for m in measures]
    money = [m.value for m in measures if m in MONEY]
    keys = [*group, "currency"] if money and "currency" not in group else list(group)
    dated = len(buckets) > 1
    frame = aggregate.window_sums(
        connection,
        min(b.start for b in buckets),
        max(b.end for b in buckets),
        measures,
        scope,
        ["period_start", "period_end", *keys] if dated else keys,
    )
    if frame.empty:
        return []
    if dated:
        frame["bucket"] = _bucket_of(frame["period_start"], frame["period_end"], buckets)
        frame = frame[frame["bucket"] >= 0]
    else:
        frame["bucket"] = 0
    sums = frame.groupby(["bucket", *keys], sort=False)[names].sum(min_count=1).reset_index()
    mixed: dict[tuple[object, ...], tuple[str, ...]] = {}
    if money:
        sums, mixed = _one_currency_per_group(sums, ["bucket", *group], money)
    _fill_unreported_columns(kpi, sums)
    sums["_value"] = _vector(kpi.formula, sums)
    sums["_volume"] = _vector(kpi.formula if isinstance(kpi, SumKpi) else kpi.denominator, sums)
    cells: list[Cell] = []
    for values in sums.to_dict("records"):
        bucket = int(values["bucket"])
        key = tuple((name, str(values[name])) for name in group)
        currencies = mixed.get((bucket, *(values[name] for name in group)))
        if currencies:
            cells.append(Cell(bucket, key, None, None, currencies=currencies))
            continue
        currency = str(values["currency"]) if money and values["currency"] else None
        cells.append(
            Cell(
                bucket,
                key,
                _number(values["_value"]),
                _number(values["_volume"]),
                {measure: _number(values[measure.value]) for measure in measures},
                currency=currency,
                currencies=(currency,) if currency else (),
            )
        )
    return cells


def _one_currency_per_group(
    sums: pd.DataFrame, keys: list[str], money: list[str]
) -> tuple[pd.DataFrame, dict[tuple[object, ...], tuple[str, ...]]]:
    """Collapse each group's currency rows; groups with money in several currencies are kept
    apart (never added) and named, with the currencies involved."""
    with_money = sums[sums[money].notna().any(axis=1) & (sums["currency"] != "")]
    counts = with_money.groupby(keys, sort=False)["currency"].nunique()
    mixed = {
        (k if isinstance(k, tuple) else (k,)): tuple(
            sorted(with_money.set_index(keys).loc[k, "currency"].astype(str).unique())
        )
        for k in counts[counts > 1].index
    }
    currency = with_money.groupby(keys, sort=False)["currency"].first()
    measures = [c for c in sums.columns if c not in (*keys, "currency")]
    collapsed = sums.groupby(keys, sort=False)[measures].sum(min_count=1)
    collapsed["currency"] = currency.reindex(collapsed.index).fillna("")
    return collapsed.reset_index(), mixed


def unique_cells(
    connection: Connection,
    kpi: UniqueKpi,
    buckets: Sequence[Period],
    scope: Scope,
    group: Sequence[str],
    *,
    with_bounds: bool = True,
) -> list[Cell]:
    """Exact when one series reports it and has a row covering exactly the bucket.

    Otherwise (daily rows only, or several series whose audiences overlap) the value is None and
    the bounds say max(row) <= reach <= sum(rows).
    """
    if not with_bounds and not group:
        values = (
            aggregate.exact_value(connection, b.start, b.end, kpi.measure, scope) for b in buckets
        )
        return [Cell(i, (), v, v) for i, v in enumerate(values) if v is not None]
    cells: list[Cell] = []
    for index, bucket in enumerate(buckets):
        frame = aggregate.unique_stats(
            connection, bucket.start, bucket.end, kpi.measure, scope, group
        )
        for _, row in frame.iterrows():
            key = _key(row, group)
            if not row["rows"]:
                cells.append(Cell(index, key, None, None))
            elif int(row["series"]) == 1 and int(row["exact_rows"] or 0) == 1:
                exact = _number(row["exact"])
                cells.append(Cell(index, key, exact, exact))
            else:
                lower, upper = _number(row["lower"]), _number(row["upper"])
                assert lower is not None and upper is not None
                cells.append(Cell(index, key, None, upper, bounds=Bounds(lower, upper)))
    return cells


def growth_cells(
    connection: Connection,
    kpi: LevelGrowthKpi,
    buckets: Sequence[Period],
    scope: Scope,
    group: Sequence[str],
) -> list[Cell]:
    """Σ of the flow where reported; else the level at the end minus the level before the start."""
    cells: list[Cell] = []
    for index, bucket in enumerate(buckets):
        flows = aggregate.window_sums(
            connection, bucket.start, bucket.end, [kpi.flow], scope, group
        )
        flow = {_key(row, group): _number(row[kpi.flow.value]) for _, row in flows.iterrows()}
        ends = _levels(connection, bucket.end, kpi, scope, group)
        starts = _levels(connection, bucket.start - dt.timedelta(days=1), kpi, scope, group)
        for key in sorted(set(flow) | set(ends)):
            value = flow.get(key)
            if value is None and key in ends and key in starts:
                value = ends[key] - starts[key]
            cells.append(Cell(index, key, value, value))
    return cells


def _levels(
    connection: Connection, day: dt.date, kpi: LevelGrowthKpi, scope: Scope, group: Sequence[str]
) -> dict[Key, float]:
    frame = aggregate.levels_at(connection, day, kpi.level, scope, group)
    levels = {_key(row, group): _number(row["level"]) for _, row in frame.iterrows()}
    return {key: level for key, level in levels.items() if level is not None}


def cells(
    connection: Connection,
    kpi: Kpi,
    buckets: Sequence[Period],
    scope: Scope,
    group: Sequence[str] = (),
    *,
    with_bounds: bool = True,
) -> list[Cell]:
    """The KPI for each bucket and group; groups without any data have no cell.

    ``with_bounds=False`` is for sparklines and comparisons: a unique count (reach) is then only
    looked up where it is exact, without computing the bounds of the others.
    """
    if isinstance(kpi, UniqueKpi):
        return unique_cells(connection, kpi, buckets, scope, group, with_bounds=with_bounds)
    if isinstance(kpi, LevelGrowthKpi):
        return growth_cells(connection, kpi, buckets, scope, group)
    return ratio_cells(connection, kpi, buckets, scope, group)


def combine(kpi: Kpi, parts: Sequence[Cell], key: Key) -> Cell:
    """One cell for several groups ("others"): sums of sums, bounds of bounds, never averages."""
    if isinstance(kpi, SumKpi | RatioKpi):
        sums: dict[Measure, float | None] = {}
        for measure in kpi.measures():
            values = [v for c in parts if (v := c.sums.get(measure)) is not None]
            sums[measure] = math.fsum(values) if values else None
        currencies = tuple(sorted({c.currency for c in parts if c.currency}))
        if len(currencies) > 1:
            return Cell(parts[0].bucket, key, None, None, currencies=currencies)
        fill_unreported_terms(kpi, sums)
        return Cell(
            parts[0].bucket,
            key,
            kpi.value(sums),
            kpi.volume(sums),
            sums,
            currency=currencies[0] if currencies else None,
        )
    if isinstance(kpi, UniqueKpi):
        lowers = [c.bounds.lower if c.bounds else c.value for c in parts]
        uppers = [c.bounds.upper if c.bounds else c.value for c in parts]
        lower = max(v for v in lowers if v is not None)
        upper = math.fsum(v for v in uppers if v is not None)
        return Cell(parts[0].bucket, key, None, upper, bounds=Bounds(lower, upper))
    values = [c.value for c in parts if c.value is not None]
    total = math.fsum(values) if values else None
    return Cell(parts[0].bucket, key, total, total)
