"""The content of one scheduled digest: each KPI over the last closed period, what drove its
change, how fresh each platform's data is, and a chart series. Rendering is ``bot/``'s job.

A digest is computed for a channel's ``today`` (its local date: the caller turns its ``now`` into
one with :func:`kpi.periods.today_in`), so it always reports the newest *closed* day, week or
month, never one still filling up.

Cost. Each KPI's line is a full ``ask()`` (value, comparison, sparkline, coverage, target),
but its cells come from the sums the digest reads for its chart: one query over the 12 periods
of the chart for every summed KPI and ratio of the scope (daily rollup when the scope allows
it), from which each KPI's chart, sparkline, value and comparison follow (a ratio of sums).
Reach and follower growth, which cannot be summed over days, keep their exact-window path
(:func:`kpi.evaluate.cells`), once over the chart's periods. Coverage is read once per scope and
period for all the KPIs (``ask``'s ``shared``). The rest is shared by all the KPIs of the digest:
one query per period for the sums per platform and campaign (both splits of every KPI's movers,
and which platforms have rows in the period) and the newest date per platform.

The digests of one pass (every channel's Monday digest) mostly repeat each other: the same week,
the default KPIs, a handful of scopes. A :class:`DigestCache` passed to each of them computes
every answer and every frame once for the whole pass.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable, Hashable, Iterable, Sequence
from dataclasses import dataclass
from functools import partial
from typing import TypeVar, cast

from sqlalchemy import Engine

from kpi import aggregate
from kpi.aggregate import Scope
from kpi.answer import Answer, Point
from kpi.catalog import Kpi
from kpi.dimensions import Dimension
from kpi.movers import LIMIT, NO_MOVERS, Change, Movers, PeriodSums, decomposable
from kpi.pass_sums import PassSums
from kpi.periods import Grain, Period, grain_periods, last_closed, previous
from kpi.query import ask
from kpi.request import Filters, Request
from kpi.targets import Target, applicable

_T = TypeVar("_T")

#: Periods in a digest's chart.
SERIES_PERIODS = 12
DIGEST_GRAINS = (Grain.DAY, Grain.WEEK, Grain.MONTH)
#: What each KPI's change is split by, and the platforms with data in the period.
MOVER_DIMENSIONS = (Dimension.PLATFORM, Dimension.CAMPAIGN)


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
    channels asking: the pass's sums (:class:`kpi.pass_sums.PassSums`: each scope's sums read
    once for every KPI's chart, sparkline, value and comparison, and each period's sums per
    platform and campaign), a KPI's answer for a scope and period (and what answers for the
    same scope and period share), each KPI's movers and the platforms' newest dates.

    ``kpis`` are the KPIs the pass may show (the catalog), whose measures every read of sums
    includes, so that digests of different KPIs over one scope share it. Pass one cache to the
    :func:`build_digest` calls of one pass (the digests due at one time) and drop it
    afterwards: a value is the store's as of the first digest that needed it, so a cache kept
    longer would not see later imports. Safe to share between threads (at worst a value is
    computed twice).
    """

    def __init__(self, kpis: Iterable[Kpi] = (), *, whole_store_groups: bool = True) -> None:
        """``whole_store_groups``: see :class:`kpi.pass_sums.PassSums` (a pass covers several
        scopes; a single digest does not)."""
        self._values: dict[Hashable, object] = {}
        self._lock = threading.Lock()
        self._kpis = list(kpis)
        self._whole_store_groups = whole_store_groups
        self._sums: dict[Engine, PassSums] = {}

    def remember(self, key: Hashable, compute: Callable[[], _T]) -> _T:
        """The value computed for ``key``, computing it on first use."""
        with self._lock:
            if key in self._values:
                return cast(_T, self._values[key])
        value = compute()
        with self._lock:
            return cast(_T, self._values.setdefault(key, value))

    def sums(self, engine: Engine, kpis: Sequence[Kpi]) -> PassSums:
        """The pass's sums on ``engine``, reading the measures of the cache's KPIs and of
        ``kpis``. A KPI outside them (not in the catalog the cache was made for) gets new sums
        that read its measures too, used from then on."""
        with self._lock:
            found = self._sums.get(engine)
            if found is None or not found.covers(kpis):
                self._kpis.extend(kpis)
                found = PassSums(engine, self._kpis, whole_store_groups=self._whole_store_groups)
                self._sums[engine] = found
            return found


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
    cache = DigestCache(kpis, whole_store_groups=False) if cache is None else cache
    sums = cache.sums(engine, kpis)
    charted = grain_periods(period, SERIES_PERIODS)
    # The chart first: its periods hold every sparkline's and comparison's, so that the answers
    # below find their cells in the pass's sums.
    series = tuple(
        KpiSeries(
            kpi,
            tuple(
                Point(p, None if cell is None else cell.value)
                for p, cell in zip(charted, sums.series(kpi, scope, charted), strict=True)
            ),
            _threshold(targets, kpi, scope, period),
        )
        for kpi in kpis
    )
    lines = tuple(
        DigestLine(
            kpi,
            _answer(
                engine, cache, sums, kpi, period, filters, today, timezone, week_start, targets
            ),
        )
        for kpi in kpis
    )
    change = sums.change(scope, period, before, MOVER_DIMENSIONS)
    newest = cache.remember(("newest", scope), partial(_last_dates, engine, scope))
    return Digest(
        period=period,
        previous=before,
        timezone=timezone,
        lines=lines,
        movers=tuple(
            cache.remember(
                ("movers", kpi, change, movers_limit), partial(_movers, kpi, change, movers_limit)
            )
            for kpi in kpis
        ),
        freshness=_freshness(newest, change.now, filters),
        series=series,
    )


def _answer(
    engine: Engine,
    cache: DigestCache,
    sums: PassSums,
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
            sums=sums,
        ),
    )


def _last_dates(engine: Engine, scope: Scope) -> dict[str, dt.date]:
    with engine.connect() as connection:
        return aggregate.last_dates(connection, scope)


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
