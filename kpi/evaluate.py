"""Computing one KPI per window and group, for each kind of KPI.

Sums and ratios aggregate each measure in SQL, then divide (a ratio of sums, never an average of
rates). Unique counts (reach) are exact only for a row covering exactly the window; otherwise they
come with bounds. Follower growth is Σfollows, or the change in the followers level.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
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
        if len(terms) > 1:  # with one term, nothing is missing beside a reported term
            values = sums[terms].to_numpy(dtype=float)
            missing = np.isnan(values)
            reported = ~missing.all(axis=1, keepdims=True)
            sums[terms] = np.where(missing & reported, 0.0, values)


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


def _keys(frame: pd.DataFrame, group: Sequence[str]) -> list[Key]:
    """The key of each row of ``frame``: its ``group`` columns, as text."""
    rows = frame[list(group)].itertuples(index=False, name=None)
    return [
        tuple((name, str(value)) for name, value in zip(group, row, strict=True)) for row in rows
    ]


def _bucket_of(starts: pd.Series, ends: pd.Series, buckets: Sequence[Period]) -> pd.Series:
    """The first bucket each row lies inside, or -1. Compared as numpy days: comparing the
    date objects one by one costs more than the sparkline's query."""
    first = starts.to_numpy(dtype="datetime64[D]")
    last = ends.to_numpy(dtype="datetime64[D]")
    assigned = np.full(len(starts), -1)
    for index, bucket in enumerate(buckets):
        inside = (first >= np.datetime64(bucket.start)) & (last <= np.datetime64(bucket.end))
        assigned[inside & (assigned < 0)] = index
    return pd.Series(assigned, index=starts.index)


def _ratio_sums(
    connection: Connection,
    kpi: SumKpi | RatioKpi,
    buckets: Sequence[Period],
    scope: Scope,
    group: Sequence[str],
) -> pd.DataFrame:
    """One row per bucket and group with data: the sums of the KPI's measures, ``currency`` (of
    its money, "" without), ``mixed`` (the currencies of a group whose money is in several,
    else None) and the KPI's ``_value`` and ``_volume``, computed for all groups at once.

    One query over the buckets' span. Several buckets (a sparkline) need the rows' dates to share
    them out; a single bucket never does, so a year by campaign comes back from the database as
    one row per campaign, already grouped.
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
    if dated and not frame.empty:
        frame["bucket"] = _bucket_of(frame["period_start"], frame["period_end"], buckets)
        frame = frame[frame["bucket"] >= 0]
        sums = frame.groupby(["bucket", *keys], sort=False)[names].sum(min_count=1).reset_index()
    else:
        sums = frame.reindex(columns=[*keys, *names]).assign(bucket=0)
    if money:
        sums = _one_currency_per_group(sums, ["bucket", *group], money)
    else:
        sums = sums.assign(currency="", mixed=None)
    _fill_unreported_columns(kpi, sums)
    single = sums["mixed"].isna()
    volume = kpi.formula if isinstance(kpi, SumKpi) else kpi.denominator
    return sums.assign(
        _value=_vector(kpi.formula, sums).where(single),
        _volume=_vector(volume, sums).where(single),
    )


def _ratio_cells_of(kpi: SumKpi | RatioKpi, sums: pd.DataFrame, group: Sequence[str]) -> list[Cell]:
    """Cells of rows of :func:`_ratio_sums` (a sparkline's buckets, a breakdown's top rows)."""
    measures = sorted(kpi.measures())
    columns = ["bucket", *(m.value for m in measures), "currency", "mixed", "_value", "_volume"]
    cells: list[Cell] = []
    for key, values in zip(_keys(sums, group), sums[columns].to_dict("records"), strict=True):
        bucket = int(values["bucket"])
        if isinstance(values["mixed"], tuple):
            cells.append(Cell(bucket, key, None, None, currencies=values["mixed"]))
            continue
        currency = str(values["currency"]) or None
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


def ratio_cells(
    connection: Connection,
    kpi: SumKpi | RatioKpi,
    buckets: Sequence[Period],
    scope: Scope,
    group: Sequence[str],
) -> list[Cell]:
    """Sums and ratios per bucket and group: the database sums each measure, then one division
    per group (a ratio of sums, never an average of rates)."""
    return _ratio_cells_of(kpi, _ratio_sums(connection, kpi, buckets, scope, group), group)


def _one_currency_per_group(sums: pd.DataFrame, keys: list[str], money: list[str]) -> pd.DataFrame:
    """Collapse each group's currency rows; groups with money in several currencies are kept
    apart (never added) and name the currencies involved in ``mixed``."""
    with_money = sums[money].notna().any(axis=1) & (sums["currency"] != "")
    if not sums.duplicated(keys).any():  # one currency per group: nothing to collapse
        return sums.assign(currency=sums["currency"].where(with_money, ""), mixed=None)
    paid = sums[with_money]
    counts = paid.groupby(keys, sort=False)["currency"].nunique()
    by_key = paid.set_index(keys)["currency"]
    mixed = {
        key: tuple(sorted(by_key.loc[key].astype(str).unique())) for key in counts[counts > 1].index
    }
    measures = [c for c in sums.columns if c not in (*keys, "currency")]
    collapsed = sums.groupby(keys, sort=False)[measures].sum(min_count=1)
    currency = paid.groupby(keys, sort=False)["currency"].first()
    collapsed["currency"] = currency.reindex(collapsed.index).fillna("")
    collapsed["mixed"] = None
    if mixed:
        collapsed["mixed"] = pd.Series(
            [mixed.get(key) for key in collapsed.index], index=collapsed.index, dtype=object
        )
    return collapsed.reset_index()


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
        for key, (_, row) in zip(_keys(frame, group), frame.iterrows(), strict=True):
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
    """Σ of the flow where reported; else the level at the end minus the level before the start.

    The levels are read only for the buckets where they can change a cell: each ``levels_at`` is
    a window function over every level row up to its day, 0.2 s at 1 M rows, and a sparkline of
    12 buckets needed 24 of them even where the flow (reported by every demo platform) made them
    unused. The groups with any level by the last bucket's end (one ``levels_at``) are a superset
    of the groups with a level in any bucket; a bucket whose flow has a value for each of them
    cannot differ from its flow alone. Ungrouped, a reported flow settles the bucket without
    asking. The levels of a day are read once: a bucket's start level is its predecessor's end.
    """
    flows = _flows(connection, kpi, buckets, scope, group)
    valued = [{key for key, value in flow.items() if value is not None} for flow in flows]
    levels: dict[dt.date, dict[Key, float]] = {}

    def level(day: dt.date) -> dict[Key, float]:
        if day not in levels:
            levels[day] = _levels(connection, day, kpi, scope, group)
        return levels[day]

    leveled: set[Key] = set()
    if buckets and (group or any(() not in keys for keys in valued)):
        leveled = set(level(max(b.end for b in buckets)))
    cells: list[Cell] = []
    for index, (bucket, flow) in enumerate(zip(buckets, flows, strict=True)):
        if not leveled - valued[index]:
            cells.extend(Cell(index, key, flow[key], flow[key]) for key in sorted(flow))
            continue
        ends = level(bucket.end)
        starts = level(bucket.start - dt.timedelta(days=1))
        for key in sorted(set(flow) | set(ends)):
            value = flow.get(key)
            if value is None and key in ends and key in starts:
                value = ends[key] - starts[key]
            cells.append(Cell(index, key, value, value))
    return cells


def _flows(
    connection: Connection,
    kpi: LevelGrowthKpi,
    buckets: Sequence[Period],
    scope: Scope,
    group: Sequence[str],
) -> list[dict[Key, float | None]]:
    """Per bucket, Σ of the flow per group with rows inside it; None where none reports it.

    Ungrouped, several buckets (a sparkline) are read in one query over their span, per period,
    as :func:`_ratio_sums` reads them, and each bucket adds up the periods inside it: a query
    per bucket cost more than the rest of the KPI once the levels were no longer read.
    """
    name = kpi.flow.value
    if group or len(buckets) <= 1:
        frames = [
            aggregate.window_sums(connection, b.start, b.end, [kpi.flow], scope, group)
            for b in buckets
        ]
        return [
            dict(zip(_keys(frame, group), map(_number, frame[name]), strict=True))
            for frame in frames
        ]
    dated = aggregate.window_sums(
        connection,
        min(b.start for b in buckets),
        max(b.end for b in buckets),
        [kpi.flow],
        scope,
        ["period_start", "period_end"],
    )
    first = dated["period_start"].to_numpy(dtype="datetime64[D]")
    last = dated["period_end"].to_numpy(dtype="datetime64[D]")
    values = dated[name].to_numpy(dtype=float)
    flows: list[dict[Key, float | None]] = []
    for bucket in buckets:
        inside = values[
            (first >= np.datetime64(bucket.start)) & (last <= np.datetime64(bucket.end))
        ]
        reported = inside[~np.isnan(inside)]
        total = math.fsum(reported.tolist()) if len(reported) else None
        flows.append({(): total} if len(inside) else {})
    return flows


def _levels(
    connection: Connection, day: dt.date, kpi: LevelGrowthKpi, scope: Scope, group: Sequence[str]
) -> dict[Key, float]:
    frame = aggregate.levels_at(connection, day, kpi.level, scope, group)
    levels = dict(zip(_keys(frame, group), map(_number, frame["level"]), strict=True))
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


def ranked(
    connection: Connection,
    kpi: Kpi,
    period: Period,
    scope: Scope,
    group: Sequence[str],
    top: int,
) -> tuple[list[Cell], Cell | None]:
    """The ``top`` groups of ``period``, biggest first, and one cell for all the others.

    Sums and ratios rank every group on the sums computed for all groups at once and build cells
    for the ``top`` and "others" only: a year by campaign has thousands of groups, and a cell per
    group cost more than the query.
    """
    if isinstance(kpi, SumKpi | RatioKpi):
        sums = _ratio_sums(connection, kpi, [period], scope, group)
        nothing = np.full(len(sums), np.nan)
        leaders = _leaders(
            _weights(kpi, sums["_value"].to_numpy(), sums["_volume"].to_numpy(), nothing),
            lambda positions: _keys(sums.iloc[positions], group),
            top,
        )
        shown = np.zeros(len(sums), dtype=bool)
        shown[leaders] = True
        rest = sums[~shown]
        others = _combine_sums(kpi, rest, _others_key(len(rest))) if len(rest) else None
        return _ratio_cells_of(kpi, sums.iloc[leaders], group), others
    every = cells(connection, kpi, [period], scope, group)

    def floats(values: Sequence[float | None]) -> npt.NDArray[np.float64]:
        return np.array([np.nan if v is None else v for v in values], dtype=float)

    leaders = _leaders(
        _weights(
            kpi,
            floats([c.value for c in every]),
            floats([c.volume for c in every]),
            floats([c.bounds.upper if c.bounds else None for c in every]),
        ),
        lambda positions: [every[i].key for i in positions],
        top,
    )
    leading = set(leaders.tolist())
    parts = [cell for i, cell in enumerate(every) if i not in leading]
    others = _combine(kpi, parts, _others_key(len(parts))) if parts else None
    return [every[i] for i in leaders], others


def _weights(
    kpi: Kpi,
    values: npt.NDArray[np.float64],
    volumes: npt.NDArray[np.float64],
    uppers: npt.NDArray[np.float64],
) -> npt.NDArray[np.float64]:
    """What a group is ranked by: its volume for ratios (the rows that weigh most lead), else its
    value, or the upper bound where only bounds are known (reach); NaN when none is known."""
    measure = volumes if isinstance(kpi, RatioKpi) else values
    return np.where(np.isnan(measure), uppers, measure)


def _leaders(
    weights: npt.NDArray[np.float64],
    keys: Callable[[npt.NDArray[np.intp]], Sequence[Key]],
    top: int,
) -> npt.NDArray[np.intp]:
    """Positions of the ``top`` biggest weights, biggest first; groups without a weight come
    last, and equal weights are ordered by key, so the order never depends on the order the
    database returned the groups in.

    Only the groups that can be among the ``top`` (weight at least the top-th biggest) are
    sorted, with their keys: the others are summed, in any order.
    """
    if top <= 0:
        return np.empty(0, dtype=np.intp)
    known = np.where(np.isnan(weights), -np.inf, weights)
    candidates = np.arange(len(known))
    if len(known) > top:
        threshold = np.partition(known, len(known) - top)[len(known) - top]
        candidates = np.flatnonzero(known >= threshold)
    ranked = sorted(
        zip(candidates.tolist(), keys(candidates), strict=True),
        key=lambda pair: (-known[pair[0]], pair[1]),
    )
    return np.array([position for position, _ in ranked[:top]], dtype=np.intp)


def _others_key(count: int) -> Key:
    return (("others", f"{count} others"),)


def _fsum(values: pd.Series) -> float | None:
    """Σ of the values reported (exact, so the same whatever their order); None if none is."""
    numbers = values.to_numpy(dtype=float)
    present = numbers[~np.isnan(numbers)]
    return math.fsum(present.tolist()) if len(present) else None


def _combine_sums(kpi: SumKpi | RatioKpi, rest: pd.DataFrame, key: Key) -> Cell:
    """One cell for several groups' rows of :func:`_ratio_sums`: the KPI of the sums of their
    sums (a ratio of sums, never an average of their ratios). Amounts in different currencies
    are never added, including those of a group that is itself mixed."""
    currencies = {str(c) for c in rest["currency"].unique() if c}
    currencies.update(c for mixed in rest["mixed"].dropna() for c in mixed)
    if len(currencies) > 1:
        return Cell(0, key, None, None, currencies=tuple(sorted(currencies)))
    sums = {measure: _fsum(rest[measure.value]) for measure in sorted(kpi.measures())}
    fill_unreported_terms(kpi, sums)
    currency = currencies.pop() if currencies else None
    return Cell(
        0,
        key,
        kpi.value(sums),
        kpi.volume(sums),
        sums,
        currency=currency,
        currencies=(currency,) if currency else (),
    )


def _combine(kpi: UniqueKpi | LevelGrowthKpi, parts: Sequence[Cell], key: Key) -> Cell:
    """One cell for several groups' cells: bounds of bounds for unique counts, sums otherwise."""
    if isinstance(kpi, UniqueKpi):
        lowers = [v for c in parts if (v := c.bounds.lower if c.bounds else c.value) is not None]
        uppers = [v for c in parts if (v := c.bounds.upper if c.bounds else c.value) is not None]
        if not uppers:  # none of them reports it (search campaigns have no reach)
            return Cell(parts[0].bucket, key, None, None)
        upper = math.fsum(uppers)
        return Cell(parts[0].bucket, key, None, upper, bounds=Bounds(max(lowers), upper))
    values = [c.value for c in parts if c.value is not None]
    total = math.fsum(values) if values else None
    return Cell(parts[0].bucket, key, total, total)
