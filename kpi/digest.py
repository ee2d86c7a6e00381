"""The content of one scheduled digest: each KPI over the last closed period, what drove its
change, how fresh each platform's data is, and a chart series. Rendering is ``bot/``'s job.

A digest is computed for a channel's ``today`` (its local date: the caller turns its ``now`` into
one with :func:`kpi.periods.today_in`), so it always reports the newest *closed* day, week or
month, never one still filling up.

Cost. Each KPI's line is a full ``ask()`` (value, comparison, sparkline, coverage, target),
whose coverage is read once per scope and period for all the KPIs (``ask``'s ``shared``). The
rest is shared by all the KPIs of the digest: one query per period for the sums per platform and
campaign (both splits of every KPI's movers, and which platforms have rows in the period), one
query over the 12 periods of the charts (daily rollup when the scope allows it), and the newest
date per platform. Reach and follower growth, which cannot be summed over days, have their
chart computed by :func:`kpi.evaluate.cells` instead.

The digests of one pass (every channel's Monday digest) mostly repeat each other: the same week,
the default KPIs, a handful of scopes. A :class:`DigestCache` passed to each of them computes
every answer and every frame once for the whole pass.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable, Hashable, Sequence
from contextlib import closing
from dataclasses import dataclass
from functools import partial
from typing import TypeVar, cast

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

_T = TypeVar("_T")

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


class DigestCache:
    """What the digests of one pass share, so that each is computed once whatever the number of
    channels asking: a KPI's answer for a scope and period (and what answers for the same scope
    and period share), the sums per platform and campaign of a period, the chart's sums and the
    platforms' newest dates.

    Pass one cache to the :func:`build_digest` calls of one pass (the digests due at one time)
    and drop it afterwards: a value is the store's as of the first digest that needed it, so a
    cache kept longer would not see later imports. Safe to share between threads (at worst a
    value is computed twice).
    """

    def __init__(self) -> None:
        self._values: dict[Hashable, object] = {}
        self._lock = threading.Lock()

    def remember(self, key: Hashable, compute: Callable[[], _T]) -> _T:
        """The value computed for ``key``, computing it on first use."""
        with self._lock:
            if key in self._values:
                return cast(_T, self._values[key])
        value = compute()
        with self._lock:
            return cast(_T, self._values.setdefault(key, value))


class _OnDemand:
    """One connection for a digest's reads, checked out of the pool on first use: in a pass,
    most digests find everything in the :class:`DigestCache` and need none, and on PostgreSQL a
    checkout is a round trip (the pool's ping)."""

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
    cache: DigestCache | None = None,
) -> Digest:
    """The digest of ``kpis`` for the last closed ``grain`` (day, week or month) before ``today``.

    ``filters`` scope every figure (a channel following one platform); ``targets`` are the stored
    targets, from which each KPI takes the one with its KPI, scope and grain. ``cache`` shares
    the work between the digests of one pass (see :class:`DigestCache`).
    """
    if grain not in DIGEST_GRAINS:
        raise ValueError(f"a digest covers a day, a week or a month, not a {grain.value}")
    period = last_closed(grain, today, week_start)
    before = previous(period)
    scope = Scope(tuple(filters))
    cache = DigestCache() if cache is None else cache
    lines = tuple(
        DigestLine(
            kpi, _answer(engine, cache, kpi, period, filters, today, timezone, week_start, targets)
        )
        for kpi in kpis
    )
    split = [kpi for kpi in kpis if decomposable(kpi)]
    charted = grain_periods(period, SERIES_PERIODS)
    dimensions = (Dimension.PLATFORM, Dimension.CAMPAIGN) if split else (Dimension.PLATFORM,)
    measures = frozenset(_measures(split))
    with closing(_OnDemand(engine)) as connection:

        def sums(when: Period) -> PeriodSums:
            key = ("sums", when.start, when.end, scope, dimensions, measures)
            return cache.remember(
                key, lambda: period_sums(connection(), measures, when, scope, dimensions)
            )

        now = sums(period)
        prior = sums(before) if split else now
        values = _series_values(connection, cache, kpis, charted, scope)
        newest = cache.remember(
            ("newest", scope), lambda: aggregate.last_dates(connection(), scope)
        )
    change = cache.remember(("change", now, prior), lambda: Change(now, prior))
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


def _answer(
    engine: Engine,
    cache: DigestCache,
    kpi: Kpi,
    period: Period,
    filters: Filters,
    today: dt.date,
    timezone: str,
    week_start: int,
    targets: Sequence[Target],
) -> Answer:
    request = Request(kpi, period, previous(period), filters=filters)
    target = applicable(targets, kpi, Scope(tuple(filters)), period)
    judged = () if target is None else (target,)
    key = ("answer", request, today, timezone, week_start, target, target and target.id)
    return cache.remember(
        key,
        lambda: ask(
            engine,
            request,
            today=today,
            timezone=timezone,
            week_start=week_start,
            targets=judged,
            shared=cache,
        ),
    )


def _series_values(
    connection: Callable[[], Connection],
    cache: DigestCache,
    kpis: Sequence[Kpi],
    charted: Sequence[Period],
    scope: Scope,
) -> dict[str, list[float | None]]:
    """Each KPI's value per charted period: the sums and ratios from one dated query."""
    summed = frozenset(_measures([k for k in kpis if isinstance(k, SumKpi | RatioKpi)]))
    start, end = charted[0].start, charted[-1].end
    values: dict[str, list[float | None]] = {}
    for kpi in kpis:
        if isinstance(kpi, SumKpi | RatioKpi):
            dated = cache.remember(
                ("dated", start, end, scope, summed),
                lambda: dated_sums(connection(), summed, start, end, scope),
            )
            found = window_cells(kpi, dated, charted)
            values[kpi.name] = [None if cell is None else cell.value for cell in found]
        else:
            cells = cache.remember(
                ("cells", kpi, tuple(charted), scope),
                partial(_chart_cells, connection, kpi, charted, scope),
            )
            by_bucket = {cell.bucket: cell.value for cell in cells}
            values[kpi.name] = [by_bucket.get(i) for i in range(len(charted))]
    return values


def _chart_cells(
    connection: Callable[[], Connection], kpi: Kpi, charted: Sequence[Period], scope: Scope
) -> list[evaluate.Cell]:
    return evaluate.cells(connection(), kpi, charted, scope, with_bounds=False)


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
