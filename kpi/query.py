"""``ask()``: one KPI question answered from the store, with everything an answer shows.

The value, the comparison, the breakdown, the sparkline and the coverage are all computed from
sums the database returns (see :mod:`kpi.aggregate`); nothing loads the fact table whole. The
same code runs on SQLite and PostgreSQL.

What an answer says about its period and scope rather than its KPI (the coverage, the rows only
partly inside the dates) is the same for every KPI asked about them. A caller answering many
questions at once (a digest pass: 145 answers over 12 scopes) passes a :class:`Shared` so that
those are read once per period and scope, not once per answer, and a
:class:`kpi.pass_sums.PassSums` so that the sparklines of all the KPIs over one scope come from
one read of its sums (137 reads of the same scope's sums for different measures before).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Hashable, Sequence
from contextlib import closing
from typing import Protocol, TypeVar

from sqlalchemy import Connection, Engine

from kpi import aggregate, evaluate
from kpi.aggregate import Scope
from kpi.answer import Answer, BreakdownRow, Comparison, Coverage, Point, Verdict
from kpi.catalog import Direction, Kpi, LevelGrowthKpi, UniqueKpi, Unit
from kpi.evaluate import Cell
from kpi.pass_sums import PassSums
from kpi.periods import Grain, Period, grain_periods
from kpi.request import Breakdown, Request
from kpi.targets import Target, applicable, judge

TOP = 10
SPARKLINE = 8
MAX_TIME_BUCKETS = 400

_T = TypeVar("_T")


class Shared(Protocol):
    """Values computed once for several answers (:class:`kpi.digest.DigestCache` is one)."""

    def remember(self, key: Hashable, compute: Callable[[], _T]) -> _T:
        """The value computed for ``key``, computing it on first use."""
        ...


def _once(shared: Shared | None, key: Hashable, compute: Callable[[], _T]) -> _T:
    return compute() if shared is None else shared.remember(key, compute)


class _OnDemand:
    """One connection, checked out of the pool on first use: an answer or a digest whose
    reads are all shared with earlier ones needs none, and on PostgreSQL a checkout is a round
    trip (the pool's ping) and its reads a BEGIN and a ROLLBACK more."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._connection: Connection | None = None

    def __call__(self) -> Connection:
        if self._connection is None:
            self._connection = self._engine.connect()
        return self._connection

    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None


class _Cells:
    """Where an answer's cells come from: its own reads, or the pass's shared sums."""

    def __init__(self, connection: _OnDemand, sums: PassSums | None) -> None:
        self._connection, self._sums = connection, sums

    def series(self, kpi: Kpi, periods: Sequence[Period], scope: Scope) -> list[Cell | None]:
        """The KPI per period (a sparkline: reach only where exact, without bounds)."""
        if self._sums is not None:
            return self._sums.series(kpi, scope, periods)
        found = evaluate.cells(self._connection(), kpi, periods, scope, with_bounds=False)
        by_bucket = {cell.bucket: cell for cell in found}
        return [by_bucket.get(index) for index in range(len(periods))]

    def bounded(self, kpi: Kpi, period: Period, scope: Scope) -> Cell | None:
        """The KPI over one period, with reach's bounds where it is not exact."""
        if self._sums is not None:
            return self._sums.cells(kpi, scope, [period])[0]
        return _single(evaluate.cells(self._connection(), kpi, [period], scope))


def _verdict(kpi: Kpi, change: float | None) -> Verdict:
    if change is None:
        return Verdict.UNKNOWN
    if change == 0:
        return Verdict.FLAT
    if kpi.direction is Direction.NEUTRAL:
        return Verdict.NEUTRAL
    better = change > 0 if kpi.direction is Direction.HIGHER else change < 0
    return Verdict.GOOD if better else Verdict.BAD


def compare(kpi: Kpi, value: float | None, period: Period, before: float | None) -> Comparison:
    """Absolute and relative change (and percentage points for percent KPIs)."""
    change = value - before if value is not None and before is not None else None
    change_pct = change / abs(before) if change is not None and before else None
    change_pp = change if kpi.unit is Unit.PERCENT else None
    return Comparison(period, before, change, change_pct, change_pp, _verdict(kpi, change))


def _single(found: Sequence[Cell]) -> Cell | None:
    return found[0] if found else None


def _low_volume(kpi: Kpi, cell: Cell | None) -> bool:
    if kpi.min_volume <= 0 or isinstance(kpi, UniqueKpi | LevelGrowthKpi):
        return False
    return cell is None or cell.volume is None or cell.volume < kpi.min_volume


def _time_buckets(period: Period, by: Breakdown, week_start: int) -> list[Period]:
    buckets: list[Period] = []
    day = period.start
    while day <= period.end:
        if by is Breakdown.DAY:
            end = day
            label = day.isoformat()
        elif by is Breakdown.WEEK:
            end = day + dt.timedelta(days=6 - (day.weekday() - week_start) % 7)
            year, week, _ = day.isocalendar()
            label = f"{year}-W{week:02d}" if week_start == 0 else f"week of {day.isoformat()}"
        else:
            following = (day.replace(day=1) + dt.timedelta(days=32)).replace(day=1)
            end = following - dt.timedelta(days=1)
            label = day.strftime("%Y-%m")
        end = min(end, period.end)
        buckets.append(Period(day, end, label, Grain.RANGE))
        day = end + dt.timedelta(days=1)
    return buckets


def _row(cell: Cell) -> BreakdownRow:
    return BreakdownRow(cell.key, cell.value, cell.volume, bounds=cell.bounds)


def _warnings(
    kpi: Kpi, main: Cell | None, low: bool, partial: int, period: Period, today: dt.date
) -> list[str]:
    notes: list[str] = []
    if main is not None and main.currencies and len(main.currencies) > 1:
        notes.append(
            f"mixed currencies ({', '.join(main.currencies)}): amounts in different currencies are "
            "never added; filter by account or platform"
        )
    if main is not None and main.bounds is not None:
        notes.append(
            f"the exact {kpi.name} for this window is not available (no row covers exactly these "
            f"dates); it lies between {main.bounds.lower:,.0f} (the largest single value) and "
            f"{main.bounds.upper:,.0f} (their sum)"
        )
    if low:
        volume = 0 if main is None or main.volume is None else main.volume
        notes.append(
            f"low volume: {volume:,.0f} is below the {kpi.min_volume:,.0f} this KPI needs to be "
            "reliable"
        )
    if partial:
        notes.append(
            f"{partial} rows that only partly overlap these dates (period totals) were left out"
        )
    if period.end >= today:
        notes.append("the period is not over yet: figures will still change")
    return notes


def _coverage(connection: Connection, question: Request, scope: Scope) -> Coverage:
    period = question.period
    days = aggregate.window_sums(connection, period.start, period.end, [], scope, ["period_start"])
    return Coverage(
        days_with_data=len(days),
        days_in_window=period.days,
        last_date_by_platform=tuple(sorted(aggregate.last_dates(connection, scope).items())),
    )


def ask(
    engine: Engine,
    question: Request,
    *,
    today: dt.date,
    timezone: str = "UTC",
    week_start: int = 0,
    top: int = TOP,
    targets: Sequence[Target] = (),
    shared: Shared | None = None,
    sums: PassSums | None = None,
) -> Answer:
    """Answer ``question`` as of ``today`` (the caller's date in ``timezone``).

    ``targets`` are the stored targets; the one with the same KPI, scope and kind of period
    gives the answer its target status. ``shared`` keeps what the answers to other KPIs over
    the same period and scope can reuse, and ``sums`` gives the sparkline, the value and the
    comparison from the pass's shared sums (see the module docstring).
    """
    kpi, period = question.kpi, question.period
    scope = Scope(question.filters)
    sparkline = grain_periods(period, SPARKLINE)
    with closing(_OnDemand(engine)) as connection:
        read = _Cells(connection, sums)
        spark = read.series(kpi, sparkline, scope)
        main = spark[-1]
        if isinstance(kpi, UniqueKpi) and main is None:  # not exact: say between what
            main = read.bounded(kpi, period, scope)
        comparison = None
        if question.comparison is not None:
            if question.comparison in sparkline:
                before = spark[sparkline.index(question.comparison)]
            else:
                (before,) = read.series(kpi, [question.comparison], scope)
            comparison = compare(
                kpi,
                main.value if main else None,
                question.comparison,
                before.value if before else None,
            )
        breakdown: tuple[BreakdownRow, ...] = ()
        if question.breakdown is not None:
            breakdown = _breakdown(connection(), question, scope, week_start, top)
        window = (period.start, period.end, scope)
        partial = _once(
            shared,
            ("ask: partial overlaps", *window),
            lambda: aggregate.partial_overlaps(connection(), period.start, period.end, scope),
        )
        coverage = _once(
            shared, ("ask: coverage", *window), lambda: _coverage(connection(), question, scope)
        )
    low = _low_volume(kpi, main)
    target = applicable(targets, kpi, scope, period)
    return Answer(
        kpi=kpi,
        period=period,
        timezone=timezone,
        value=main.value if main else None,
        currency=main.currency if main else None,
        volume=main.volume if main else None,
        low_volume=low,
        bounds=main.bounds if main else None,
        comparison=comparison,
        breakdown_by=question.breakdown.value if question.breakdown else None,
        breakdown=breakdown,
        series=tuple(
            Point(p, cell.value if cell else None) for p, cell in zip(sparkline, spark, strict=True)
        ),
        coverage=coverage,
        target=judge(target, kpi, main) if target is not None else None,
        warnings=tuple(_warnings(kpi, main, low, partial, period, today)),
    )


def _breakdown(
    connection: Connection, question: Request, scope: Scope, week_start: int, top: int
) -> tuple[BreakdownRow, ...]:
    by = question.breakdown
    assert by is not None
    if not by.is_time:
        found, others = evaluate.ranked(
            connection, question.kpi, question.period, scope, [by.value], top
        )
        rows = [_row(cell) for cell in found]
        if others is not None:
            rows.append(BreakdownRow(others.key, others.value, others.volume, True, others.bounds))
        return tuple(rows)
    buckets = _time_buckets(question.period, by, week_start)
    if len(buckets) > MAX_TIME_BUCKETS:
        buckets = buckets[-MAX_TIME_BUCKETS:]
    per_bucket = {c.bucket: c for c in evaluate.cells(connection, question.kpi, buckets, scope)}
    return tuple(
        BreakdownRow(
            ((by.value, bucket.label),),
            per_bucket[i].value if i in per_bucket else None,
            per_bucket[i].volume if i in per_bucket else None,
            bounds=per_bucket[i].bounds if i in per_bucket else None,
        )
        for i, bucket in enumerate(buckets)
    )
