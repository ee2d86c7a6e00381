"""SQL aggregation over the fact table: the database sums, pandas only sees the small result.

Every function returns at most (days x requested groups) rows. A row counts in a window only if it
lies entirely inside it; rows that merely overlap are counted separately so the answer can say
they were left out.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd
from sqlalchemy import ColumnElement, Connection, Table, and_, case, distinct, func, not_, select

from kpi.dimensions import Dimension
from kpi.measures import ADDITIVE, Measure
from kpi.store import rollups
from kpi.store.schema import facts, rollup_day, rollup_month, rollup_year, series

PERIOD_COLUMNS = ("period_start", "period_end")
ROLLUP_DIMENSIONS = frozenset({"platform", "account", "currency"})
ALL_ROWS, TOTALS, DAILY = "all", "totals", "daily"
_DAY = dt.timedelta(days=1)
#: A scope matching at most this many series is read by point lookups (see _inside_scope).
MAX_LOOKUP_SERIES = 100
MAX_LOOKUP_DAYS = 3700


@dataclass(frozen=True)
class Scope:
    """Filters on series dimensions: each dimension matches any of its values."""

    filters: tuple[tuple[Dimension, tuple[str, ...]], ...] = ()

    def clauses(self, table: Table = series) -> list[ColumnElement[bool]]:
        return [table.c[dimension.value].in_(values) for dimension, values in self.filters]


def _grouping(name: str) -> ColumnElement[Any]:
    return facts.c[name] if name in PERIOD_COLUMNS else series.c[name]


def _inside(start: dt.date, end: dt.date) -> ColumnElement[bool]:
    """Rows within [start, end]. ``period_start <= end`` is implied, but stating it bounds the
    range scan of the clustered key at both ends."""
    return and_(
        facts.c.period_start >= start, facts.c.period_start <= end, facts.c.period_end <= end
    )


def _joined(*columns: ColumnElement[Any]) -> Any:
    return select(*columns).select_from(facts.join(series, series.c.id == facts.c.series_id))


def _from_facts(scope: Scope, group: Sequence[str], *columns: ColumnElement[Any]) -> Any:
    """``columns`` of the facts, joined to ``series`` only when the scope or a group needs it.

    Every fact has its series (a foreign key), so the join only ever adds columns. Without it,
    PostgreSQL reads period totals from their partial index alone; with it, it needs each row's
    series id and scanned the primary key's whole window instead (0.4 s at 10 M rows).
    """
    if scope.filters or any(name not in PERIOD_COLUMNS for name in group):
        return _joined(*columns)
    return select(*columns).select_from(facts)


#: Rows fetched at a time: few enough that they are freed before the garbage collector's
#: youngest generation fills up (700 objects; each row is a tuple and a Row).
FETCH_ROWS = 256


def _frame(connection: Connection, statement: Any) -> pd.DataFrame:
    """The result as a frame, built column by column a few hundred rows at a time.

    Column by column, from plain tuples: pandas probes Row objects attribute by attribute, which
    costs more than the query on a breakdown of thousands of campaigns. A few hundred rows at a
    time: holding 13,700 rows at once made the collector promote them and run a full collection
    every other question (60 ms each on a 10 M-row store).
    """
    result = connection.execute(statement)
    names = list(result.keys())
    columns: list[list[Any]] = [[] for _ in names]
    while rows := result.fetchmany(FETCH_ROWS):
        for column, values in zip(columns, zip(*rows, strict=True), strict=True):
            column.extend(values)
    return pd.DataFrame(dict(zip(names, columns, strict=True)))


def _uses_rollup(scope: Scope, group: Sequence[str]) -> bool:
    """Questions about platforms and accounts only (no campaign detail) can read the rollup."""
    return all(d.value in ROLLUP_DIMENSIONS for d, _ in scope.filters) and all(
        name in ROLLUP_DIMENSIONS or name in PERIOD_COLUMNS for name in group
    )


def window_sums(
    connection: Connection,
    start: dt.date,
    end: dt.date,
    measures: Sequence[Measure],
    scope: Scope,
    group: Sequence[str] = (),
) -> pd.DataFrame:
    """Σ of each measure over rows inside [start, end], per group (series columns, periods).

    SUM over only NULLs is NULL, so "not reported" survives aggregation as NaN. Daily rows come
    from the daily rollup when no campaign detail is asked, from the yearly and monthly rollups
    for whole years and months otherwise; period totals and the remaining days come from the
    facts. ``rows`` counts the stored rows summed (fact rows, or rollup rows), so it is positive
    exactly when a group has data; it is not a count of days.

    A group by period always gets rows of their true dates, never a month or year row: a caller
    sharing rows out to weeks would drop a row spanning a whole month without a word.
    """
    additive = all(m in ADDITIVE for m in measures)
    narrow = any(d.value not in ROLLUP_DIMENSIONS for d, _ in scope.filters)
    dated = any(name in PERIOD_COLUMNS for name in group)
    months = None if dated else _whole_months(start, end)
    if additive and _uses_rollup(scope, group):
        parts = [
            _frame(connection, _rollup_sums(start, end, measures, scope, group)),
            _frame(connection, _fact_sums(connection, start, end, measures, scope, group, TOTALS)),
        ]
    elif additive and months is not None and not narrow:
        first, last = months
        parts = [
            *_calendar_frames(connection, first, last, measures, scope, group),
            _frame(connection, _fact_sums(connection, start, end, measures, scope, group, TOTALS)),
            *(
                _frame(connection, _fact_sums(connection, a, b, measures, scope, group, DAILY))
                for a, b in ((start, first - _DAY), (rollups.month_end(last) + _DAY, end))
                if a <= b
            ),
        ]
    else:
        parts = [
            _frame(connection, _fact_sums(connection, start, end, measures, scope, group, ALL_ROWS))
        ]
    found = [part for part in parts if not part.empty]
    frame = pd.concat(found, ignore_index=True) if len(found) > 1 else (found or parts)[0]
    if len(found) > 1:  # each part is already grouped: only sums of several need adding up
        if group:
            frame = frame.groupby(list(group), sort=False).sum(min_count=1).reset_index()
        else:
            frame = frame.sum(min_count=1).to_frame().T
    for measure in measures:
        frame[measure.value] = pd.to_numeric(frame[measure.value], errors="coerce").astype(float)
    return frame.loc[frame["rows"].fillna(0) > 0] if not frame.empty else frame


def _rollup_sums(
    start: dt.date, end: dt.date, measures: Sequence[Measure], scope: Scope, group: Sequence[str]
) -> Any:
    keys = [
        (rollup_day.c.day if name in PERIOD_COLUMNS else rollup_day.c[name]).label(name)
        for name in group
    ]
    sums = [func.sum(rollup_day.c[m.value]).label(m.value) for m in measures]
    return (
        select(*keys, *sums, func.sum(rollup_day.c.rows).label("rows"))
        .where(rollup_day.c.day >= start, rollup_day.c.day <= end, *scope.clauses(rollup_day))
        .group_by(*keys)
    )


def _inside_scope(
    connection: Connection, start: dt.date, end: dt.date, scope: Scope
) -> list[ColumnElement[bool]]:
    """Rows inside the window and the scope.

    A narrow scope (one campaign, a creator) becomes point lookups on the clustered key, each
    day times each matching series, instead of a scan of every series' rows in the window.
    """
    inside = _inside(start, end)
    days = (end - start).days + 1
    narrow = any(d.value not in ROLLUP_DIMENSIONS for d, _ in scope.filters)
    if narrow and days <= MAX_LOOKUP_DAYS:
        ids = (
            connection.execute(
                select(series.c.id).where(*scope.clauses()).limit(MAX_LOOKUP_SERIES + 1)
            )
            .scalars()
            .all()
        )
        if len(ids) <= MAX_LOOKUP_SERIES:
            every_day = [start + dt.timedelta(days=offset) for offset in range(days)]
            return [inside, facts.c.series_id.in_(ids), facts.c.period_start.in_(every_day)]
    return [inside, *scope.clauses()]


def _whole_months(start: dt.date, end: dt.date) -> tuple[dt.date, dt.date] | None:
    """The first and last calendar months lying entirely inside [start, end], if any."""
    first = start if start.day == 1 else rollups.month_end(start) + _DAY
    last = rollups.month_end(end) if rollups.month_end(end) == end else end.replace(day=1) - _DAY
    last = last.replace(day=1)
    return (first, last) if first <= last else None


def _whole_years(first: dt.date, last: dt.date) -> tuple[int, int] | None:
    """The first and last calendar years whose months all lie in [first, last] (months)."""
    low = first.year if first.month == 1 else first.year + 1
    high = last.year if last.month == 12 else last.year - 1
    return (low, high) if low <= high else None


def _calendar_frames(
    connection: Connection,
    first: dt.date,
    last: dt.date,
    measures: Sequence[Measure],
    scope: Scope,
    group: Sequence[str],
) -> list[pd.DataFrame]:
    """Sums of the whole months [first, last]: whole years from the yearly rollup, the months
    around them from the monthly one."""
    years = _whole_years(first, last)
    if years is None:
        return [_rollup_frame(connection, rollup_month, first, last, measures, scope, group)]
    low, high = dt.date(years[0], 1, 1), dt.date(years[1], 1, 1)
    before, after = (first, dt.date(years[0] - 1, 12, 1)), (dt.date(years[1] + 1, 1, 1), last)
    return [
        _rollup_frame(connection, rollup_year, low, high, measures, scope, group),
        *(
            _rollup_frame(connection, rollup_month, a, b, measures, scope, group)
            for a, b in (before, after)
            if a <= b
        ),
    ]


def _rollup_frame(
    connection: Connection,
    table: Table,
    first: dt.date,
    last: dt.date,
    measures: Sequence[Measure],
    scope: Scope,
    group: Sequence[str],
) -> pd.DataFrame:
    """Sums of whole months (``rollup_month``) or years (``rollup_year``) from [first, last].

    The database sums per series id (integer keys, no join while it scans the rollup), then
    labels those few thousand rows with a join to ``series``; pandas adds up the series that
    share a label, if any do. Grouping by the labels in SQL instead sorts strings and was slower
    on SQLite. Only the KPI's measures are read, and ``rows`` counts the rollup rows rather than
    summing their column: on SQLite each column read costs per rollup row (a year by campaign
    read 12 x 13,700 month rows before the yearly rollup).
    """
    period = table.c.month if table is rollup_month else table.c.year
    sums = [func.sum(table.c[m.value]).label(m.value) for m in measures]
    in_scope = [table.c.series_id.in_(select(series.c.id).where(*scope.clauses()))]
    per_series = (
        select(table.c.series_id, *sums, func.count().label("rows"))
        .where(period >= first, period <= last, *(in_scope if scope.filters else []))
        .group_by(table.c.series_id)
        .subquery()
    )
    values = [*(m.value for m in measures), "rows"]
    statement = select(
        *(series.c[name] for name in group), *(per_series.c[name] for name in values)
    )
    if group:
        statement = statement.join_from(per_series, series, series.c.id == per_series.c.series_id)
    frame = _frame(connection, statement)
    if frame.empty:
        return pd.DataFrame(columns=[*group, *values])
    if not group:
        return frame[values].sum(min_count=1).to_frame().T
    if not frame.duplicated(list(group)).any():  # one series per label, as campaigns mostly are
        return frame
    return frame.groupby(list(group), sort=False)[values].sum(min_count=1).reset_index()


def _fact_sums(
    connection: Connection,
    start: dt.date,
    end: dt.date,
    measures: Sequence[Measure],
    scope: Scope,
    group: Sequence[str],
    rows: str,
) -> Any:
    """Sums over the facts: ALL_ROWS inside the window, only period TOTALS (the daily rows are in
    a rollup), or only DAILY rows (the days a monthly rollup does not cover)."""
    keys = [_grouping(name).label(name) for name in group]
    sums = [func.sum(facts.c[m.value]).label(m.value) for m in measures]
    if rows == TOTALS:
        where = [*_totals_inside(start, end), *scope.clauses()]
    elif rows == DAILY:
        where = [
            *_inside_scope(connection, start, end, scope),
            facts.c.period_start == facts.c.period_end,
        ]
    else:
        where = _inside_scope(connection, start, end, scope)
    statement = _from_facts(scope, group, *keys, *sums, func.count().label("rows"))
    return statement.where(*where).group_by(*keys)


def _totals_inside(start: dt.date, end: dt.date) -> list[ColumnElement[bool]]:
    """Period totals within [start, end], worded so that the planner reads them through their
    small partial index (bounded ``period_end``) rather than scanning every day's rows."""
    return [
        facts.c.period_start != facts.c.period_end,
        facts.c.period_end >= start,
        facts.c.period_end <= end,
        facts.c.period_start >= start,
    ]


def unique_stats(
    connection: Connection,
    start: dt.date,
    end: dt.date,
    measure: Measure,
    scope: Scope,
    group: Sequence[str] = (),
) -> pd.DataFrame:
    """For a non-additive measure: max, sum and count of the rows inside the window, how many
    series report it, and the value and count of rows covering exactly the window."""
    column = facts.c[measure.value]
    exact = and_(facts.c.period_start == start, facts.c.period_end == end, column.is_not(None))
    keys = [_grouping(name).label(name) for name in group]
    statement = (
        _joined(
            *keys,
            func.max(column).label("lower"),
            func.sum(column).label("upper"),
            func.count(column).label("rows"),
            func.count(distinct(case((column.is_not(None), facts.c.series_id)))).label("series"),
            func.sum(case((exact, column), else_=None)).label("exact"),
            func.sum(case((exact, 1), else_=0)).label("exact_rows"),
        )
        .where(*_inside_scope(connection, start, end, scope))
        .group_by(*keys)
    )
    return _frame(connection, statement)


def exact_value(
    connection: Connection, start: dt.date, end: dt.date, measure: Measure, scope: Scope
) -> float | None:
    """The non-additive value when one series reports it inside the window and has a row
    covering it exactly (the rule of :func:`unique_stats`); otherwise None. Two ``LIMIT 2``
    probes, so a sparkline never scans whole weeks."""
    column = facts.c[measure.value]
    reporting = (
        _joined(facts.c.series_id)
        .where(*_inside_scope(connection, start, end, scope), column.is_not(None))
        .distinct()
        .limit(2)
    )
    if len(connection.execute(reporting).scalars().all()) != 1:
        return None
    exact = _joined(column).where(
        facts.c.period_start == start,
        facts.c.period_end == end,
        column.is_not(None),
        *scope.clauses(),
    )
    values = connection.execute(exact.limit(2)).scalars().all()
    return float(values[0]) if len(values) == 1 else None


def partial_overlaps(connection: Connection, start: dt.date, end: dt.date, scope: Scope) -> int:
    """Rows (period totals) that overlap the window without lying inside it."""
    statement = _from_facts(scope, (), func.count()).where(
        facts.c.period_start != facts.c.period_end,
        facts.c.period_end >= start,
        facts.c.period_start <= end,
        not_(_inside(start, end)),
        *scope.clauses(),
    )
    return int(connection.execute(statement).scalar_one())


def levels_at(
    connection: Connection,
    day: dt.date,
    measure: Measure,
    scope: Scope,
    group: Sequence[str] = (),
) -> pd.DataFrame:
    """Σ over series of each series' last reported level on or before ``day`` (followers)."""
    column = facts.c[measure.value]
    ranked = (
        _joined(
            facts.c.series_id,
            column.label("level"),
            *(series.c[name].label(name) for name in group),
            func.row_number()
            .over(partition_by=facts.c.series_id, order_by=facts.c.period_end.desc())
            .label("position"),
        )
        .where(column.is_not(None), facts.c.period_end <= day, *scope.clauses())
        .subquery()
    )
    keys = [ranked.c[name] for name in group]
    statement = (
        select(*keys, func.sum(ranked.c.level).label("level"))
        .where(ranked.c.position == 1)
        .group_by(*keys)
    )
    result = connection.execute(statement)
    return pd.DataFrame(result.fetchall(), columns=list(result.keys()))


def last_dates(connection: Connection, scope: Scope) -> dict[str, dt.date]:
    """The newest day with data per platform in scope (for "data as of" and freshness)."""
    platforms = connection.execute(
        select(series.c.platform).where(*scope.clauses()).distinct()
    ).scalars()
    newest: dict[str, dt.date] = {}
    for platform in sorted(platforms):
        latest = connection.execute(
            _joined(facts.c.period_end)
            .where(series.c.platform == platform, *scope.clauses())
            .order_by(facts.c.period_start.desc())
            .limit(1)
        ).scalar_one_or_none()
        if latest is not None:
            newest[platform] = latest
    return newest
