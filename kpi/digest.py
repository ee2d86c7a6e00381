"""The content of one scheduled digest: each KPI over the last closed period, what drove its
change, how fresh each platform's data is, and a chart series. Rendering is ``bot/``'s job.

A digest is computed for a channel's ``today`` (its local date: the caller turns its ``now`` into
one with :func:`kpi.periods.today_in`), so it always reports the newest *closed* day, week or
month, never one still filling up.

Cost. Each KPI's line is a full ``ask()`` (value, comparison, sparkline, coverage, target). The
rest is shared by all the KPIs of the digest: one query per period for the sums per platform and
campaign (both splits of every KPI's movers, and which platforms have rows in the period), one
query over the 12 periods of the charts (daily rollup when the scope allows it), and the newest
date per platform. Reach and follower growth, which cannot be summed over days, have their
chart computed by :func:`kpi.evaluate.cells` instead.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import Connection, Engine

from kpi import aggregate, evaluate
from kpi.aggregate import Scope
from kpi.answer import Answer, Point
from kpi.catalog import Kpi, RatioKpi, SumKpi
from kpi.dimensions import Dimension
from kpi.measures import Measure
from kpi.movers import (
    LIMIT,
    NO_MOVERS,
    Change,
    Movers,
    PeriodSums,
    dated_sums,
    decomposable,
    period_sums,
    window_cells,
)
from kpi.periods import Grain, Period, grain_periods, last_closed, previous
from kpi.query import ask
from kpi.request import Filters, Request
from kpi.targets import Target, applicable

#: Periods in a digest's chart.
SERIES_PERIODS = 12
DIGEST_GRAINS = (Grain.DAY, Grain.WEEK, Grain.MONTH)


@dataclass(frozen=True)
class DigestLine:
    """One KPI of the digest."""

    kpi: Kpi
    #: ``ask()``'s answer for the closed period compared with the one before: value,
    #: comparison, ``series`` (the 8-period sparkline), ``target`` (the status of the target
    #: with the same KPI, scope and grain, if any), ``low_volume``, coverage and warnings.
    answer: Answer


@dataclass(frozen=True)
class KpiMovers:
    """What drove one KPI's change from the previous period to the digest's period."""

    kpi: Kpi
    #: Split by platform (empty for reach, follower growth, neutral KPIs, mixed currencies or
    #: a change without value; see :mod:`kpi.movers`).
    by_platform: Movers
    #: Split by campaign; rows without a campaign are one group, "(no campaign)".
    by_campaign: Movers


@dataclass(frozen=True)
class Freshness:
    """How current one platform's data is, for a "data as of" line and a missing-data warning."""

    platform: str
    #: The newest day with data for this platform in the digest's scope; None for a platform the
    #: digest's filters name but that never had any row.
    last_date: dt.date | None
    #: True when no row of this platform lies within the digest's period (an export that did
    #: not arrive): its figures then leave this platform out.
    missing_in_period: bool


@dataclass(frozen=True)
class KpiSeries:
    """One KPI's chart: its value over the last closed periods, and the target line."""

    kpi: Kpi
    #: The last :data:`SERIES_PERIODS` periods of the digest's grain, oldest first, ending with
    #: the digest's period; ``value`` is None where there is no value.
    points: tuple[Point, ...]
    #: The threshold of the target that applies to the KPI, scope and grain; None without one.
    threshold: float | None


@dataclass(frozen=True)
class Digest:
    """Everything one digest message shows, in the order of the KPIs asked for."""

    #: The closed period reported (the last day, week or month before ``today``).
    period: Period
    #: The period it is compared with (the one just before).
    previous: Period
    #: The channel's timezone, in which ``period`` is a run of local dates.
    timezone: str
    lines: tuple[DigestLine, ...]
    movers: tuple[KpiMovers, ...]
    #: Every platform that ever had data in the digest's scope, by name.
    freshness: tuple[Freshness, ...]
    series: tuple[KpiSeries, ...]


def build_digest(
    engine: Engine,
    kpis: Sequence[Kpi],
    *,
    grain: Grain,
    today: dt.date,
    timezone: str,
    week_start: int,
    filters: Filters = (),
    targets: Sequence[Target] = (),
    movers_limit: int = LIMIT,
) -> Digest:
    """The digest of ``kpis`` for the last closed ``grain`` (day, week or month) before ``today``.

    ``filters`` scope every figure (a channel following one platform); ``targets`` are the stored
    targets, from which each KPI takes the one with its KPI, scope and grain.
    """
    if grain not in DIGEST_GRAINS:
        raise ValueError(f"a digest covers a day, a week or a month, not a {grain.value}")
    period = last_closed(grain, today, week_start)
    before = previous(period)
    scope = Scope(tuple(filters))
    lines = tuple(
        DigestLine(
            kpi,
            ask(
                engine,
                Request(kpi, period, before, filters=filters),
                today=today,
                timezone=timezone,
                week_start=week_start,
                targets=targets,
            ),
        )
        for kpi in kpis
    )
    split = [kpi for kpi in kpis if decomposable(kpi)]
    charted = grain_periods(period, SERIES_PERIODS)
    with engine.connect() as connection:
        dimensions = [Dimension.PLATFORM, Dimension.CAMPAIGN] if split else [Dimension.PLATFORM]
        now = period_sums(connection, _measures(split), period, scope, dimensions)
        prior = (
            period_sums(connection, _measures(split), before, scope, dimensions) if split else now
        )
        values = _series_values(connection, kpis, charted, scope)
        newest = aggregate.last_dates(connection, scope)
    change = Change(now, prior)
    return Digest(
        period=period,
        previous=before,
        timezone=timezone,
        lines=lines,
        movers=tuple(_movers(kpi, change, movers_limit) for kpi in kpis),
        freshness=_freshness(newest, now, filters),
        series=tuple(
            KpiSeries(
                kpi,
                tuple(Point(p, v) for p, v in zip(charted, values[kpi.name], strict=True)),
                _threshold(targets, kpi, scope, period),
            )
            for kpi in kpis
        ),
    )


def _series_values(
    connection: Connection, kpis: Sequence[Kpi], charted: Sequence[Period], scope: Scope
) -> dict[str, list[float | None]]:
    """Each KPI's value per charted period: the sums and ratios from one dated query."""
    summed = [kpi for kpi in kpis if isinstance(kpi, SumKpi | RatioKpi)]
    if summed:
        start, end = charted[0].start, charted[-1].end
        dated = dated_sums(connection, _measures(summed), start, end, scope)
    values: dict[str, list[float | None]] = {}
    for kpi in kpis:
        if isinstance(kpi, SumKpi | RatioKpi):
            found = window_cells(kpi, dated, charted)
            values[kpi.name] = [None if cell is None else cell.value for cell in found]
        else:
            cells = evaluate.cells(connection, kpi, charted, scope, with_bounds=False)
            by_bucket = {cell.bucket: cell.value for cell in cells}
            values[kpi.name] = [by_bucket.get(i) for i in range(len(charted))]
    return values


def _measures(kpis: Sequence[Kpi]) -> set[Measure]:
    return {measure for kpi in kpis for measure in kpi.measures()}


def _movers(kpi: Kpi, change: Change, limit: int) -> KpiMovers:
    if not decomposable(kpi):
        return KpiMovers(kpi, NO_MOVERS, NO_MOVERS)
    return KpiMovers(
        kpi,
        change.split(kpi, Dimension.PLATFORM.value, limit=limit),
        change.split(kpi, Dimension.CAMPAIGN.value, limit=limit),
    )


def _freshness(
    newest: dict[str, dt.date], now: PeriodSums, filters: Filters
) -> tuple[Freshness, ...]:
    present = now.values(Dimension.PLATFORM.value)
    named = {v for d, values in filters if d is Dimension.PLATFORM for v in values}
    return tuple(
        Freshness(platform, newest.get(platform), platform not in present)
        for platform in sorted(set(newest) | named)
    )


def _threshold(targets: Sequence[Target], kpi: Kpi, scope: Scope, period: Period) -> float | None:
    target = applicable(targets, kpi, scope, period)
    return None if target is None else target.threshold
