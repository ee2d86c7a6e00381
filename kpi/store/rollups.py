"""Rollups: sums of daily rows kept beside the facts so that long questions read few rows.

- ``rollup_day``: per day, platform, account and currency (questions without campaign detail);
- ``rollup_month``: per calendar month and series (campaign-level questions over long windows);
- ``rollup_year``: ``rollup_month`` summed per calendar year and series (a year by campaign).

All hold additive measures only (reach and followers are never summed). The daily and monthly
rollups are keyed by import: when an import replaces earlier facts, :func:`forget_replaced`
removes exactly the rollup rows of the facts it deleted, recomputing the months that were only
partly replaced. The yearly rollup is then rebuilt from the months by :func:`refresh_years`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import (
    Connection,
    Date,
    Select,
    Table,
    delete,
    func,
    insert,
    literal,
    select,
    tuple_,
)

from kpi.measures import ADDITIVE, Measure
from kpi.store.schema import facts, rollup_day, rollup_month, rollup_year
from kpi.store.writer import Combinations, bulk_insert

DAY_KEYS = ["period_start", "platform", "account", "currency"]
MONTH_KEYS = ["month", "series_id"]
ADDITIVE_NAMES = [m.value for m in Measure if m in ADDITIVE]


def _sums(frame: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    values = [c for c in frame.columns if c in ADDITIVE_NAMES or c == "rows"]
    return frame.groupby(keys, sort=False)[values].sum(min_count=1).reset_index()


@dataclass(frozen=True)
class ChunkSums:
    """One chunk's rollup sums; the monthly ones keyed by the chunk's combination codes (column
    ``series_id``) until the series ids are known."""

    days: pd.DataFrame
    months: pd.DataFrame


def chunk_sums(chunk: pd.DataFrame, found: Combinations) -> ChunkSums | None:
    """The rollup sums of a chunk's daily rows (None if it has none). It needs no database, so
    the importer computes it in the reader process; ``found`` names each row's series.

    Both sums group by integers: the day rollup by the day and the code of each series'
    (platform, account, currency), whose strings are put back on the few result rows.
    """
    daily_mask = (chunk["period_start"] == chunk["period_end"]).to_numpy()
    if not daily_mask.any():
        return None
    codes = found.codes[daily_mask]
    places, named = found.coarser("platform", "account", "currency")
    measures = [c for c in chunk.columns if c in ADDITIVE_NAMES]
    daily = chunk.loc[daily_mask, ["period_start", *measures]].assign(rows=1)
    days = _sums(daily.assign(place=places[daily_mask]), ["period_start", "place"])
    place = days.pop("place").to_numpy()
    columns = ["platform", "account", "currency"]
    days = pd.concat(
        [days, pd.DataFrame(named, columns=columns).iloc[place].reset_index(drop=True)], axis=1
    )
    month = daily["period_start"].to_numpy().astype("datetime64[M]").astype("datetime64[ns]")
    return ChunkSums(days, _sums(daily.assign(month=month, series_id=codes), MONTH_KEYS))


@dataclass
class ImportRollups:
    """One import's rollups, accumulated chunk by chunk (sums of sums), written at the end."""

    days: list[pd.DataFrame] = field(default_factory=list)
    months: list[pd.DataFrame] = field(default_factory=list)

    def add(self, sums: ChunkSums, ids: np.ndarray) -> None:
        """Add a chunk's sums; ``ids`` are the series ids of its combination codes."""
        self.days.append(sums.days)
        months = sums.months
        self.months.append(months.assign(series_id=ids[months["series_id"].to_numpy()]))

    def write(self, connection: Connection, import_id: int, source: str) -> None:
        if self.days:
            day = _sums(pd.concat(self.days, ignore_index=True), DAY_KEYS)
            day = day.assign(day=day.pop("period_start"), source=source)
            _insert(connection, rollup_day, day, import_id)
        if self.months:
            month = _sums(pd.concat(self.months, ignore_index=True), MONTH_KEYS)
            _insert(connection, rollup_month, month, import_id)


def _insert(connection: Connection, table: Table, frame: pd.DataFrame, import_id: int) -> None:
    frame = frame.assign(rows=frame["rows"].fillna(0).astype(np.int64))
    bulk_insert(
        connection,
        table.name,
        {str(k): frame[k] for k in frame.columns},
        import_id=import_id,
    )


def _months(start: dt.date, end: dt.date) -> list[dt.date]:
    month = start.replace(day=1)
    found = []
    while month <= end:
        found.append(month)
        month = (month + dt.timedelta(days=32)).replace(day=1)
    return found


def month_end(day: dt.date) -> dt.date:
    """The last day of ``day``'s month."""
    return (day.replace(day=1) + dt.timedelta(days=32)).replace(day=1) - dt.timedelta(days=1)


def forget_replaced(
    connection: Connection,
    *,
    source: str,
    pairs: Sequence[tuple[str, str]],
    series_ids: Select[Any],
    start: dt.date,
    end: dt.date,
    import_id: int,
) -> None:
    """Drop the rollup rows of earlier imports' facts just deleted in [start, end].

    Run after the facts are deleted: a month only partly inside [start, end] is recomputed from
    the facts that remain, so it keeps the earlier import's days outside the window.
    """
    connection.execute(
        delete(rollup_day).where(
            rollup_day.c.source == source,
            tuple_(rollup_day.c.platform, rollup_day.c.account).in_(pairs),
            rollup_day.c.day >= start,
            rollup_day.c.day <= end,
            rollup_day.c.import_id != import_id,
        )
    )
    for month in _months(start, end):
        earlier = (
            rollup_month.c.month == month,
            rollup_month.c.series_id.in_(series_ids),
            rollup_month.c.import_id != import_id,
        )
        connection.execute(delete(rollup_month).where(*earlier))
        if month >= start and month_end(month) <= end:
            continue
        remaining = (
            select(
                facts.c.series_id,
                facts.c.import_id,
                func.count().label("rows"),
                *(func.sum(facts.c[name]).label(name) for name in ADDITIVE_NAMES),
            )
            .where(
                facts.c.period_start >= month,
                facts.c.period_start <= month_end(month),
                facts.c.period_start == facts.c.period_end,
                facts.c.series_id.in_(series_ids),
                facts.c.import_id != import_id,
            )
            .group_by(facts.c.series_id, facts.c.import_id)
        )
        rows = [dict(row, month=month) for row in connection.execute(remaining).mappings()]
        if rows:
            connection.execute(insert(rollup_month), rows)


def refresh_years(
    connection: Connection, *, series_ids: Select[Any], start: dt.date, end: dt.date
) -> None:
    """Rebuild the yearly rollup of these series for every year touching [start, end].

    Run last in an import, once the monthly rollup is right: a year is re-summed from its (at
    most twelve) month rows per series, whichever imports wrote them, so replaced and partly
    replaced months need no bookkeeping here.
    """
    for year in range(start.year, end.year + 1):
        first = dt.date(year, 1, 1)
        connection.execute(
            delete(rollup_year).where(
                rollup_year.c.year == first, rollup_year.c.series_id.in_(series_ids)
            )
        )
        sums = (
            select(
                literal(first, Date).label("year"),
                rollup_month.c.series_id,
                func.sum(rollup_month.c.rows).label("rows"),
                *(func.sum(rollup_month.c[name]).label(name) for name in ADDITIVE_NAMES),
            )
            .where(
                rollup_month.c.month >= first,
                rollup_month.c.month < dt.date(year + 1, 1, 1),
                rollup_month.c.series_id.in_(series_ids),
            )
            .group_by(rollup_month.c.series_id)
        )
        connection.execute(
            insert(rollup_year).from_select(["year", "series_id", "rows", *ADDITIVE_NAMES], sums)
        )
