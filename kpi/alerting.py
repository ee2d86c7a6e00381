"""Judging targets for alerts: which period is ready to judge, the verdict with what drove a
miss, and a replay of the recent past for "/kpi target test".

Alerts judge closed periods only, and only once the data has had time to arrive: a weekly target
in Europe/Paris judges the week ending Sunday, which closes at Monday 00:00 local time; with a
one-day data lag it is judged from Tuesday 00:00. Nothing here reads the clock: ``now`` and
``today`` are passed in.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace
from zoneinfo import ZoneInfo

from sqlalchemy import Engine

from kpi import evaluate
from kpi.answer import TargetState, TargetStatus
from kpi.catalog import Catalog, Direction, Kpi
from kpi.dimensions import Dimension
from kpi.movers import LIMIT, Mover, decomposable
from kpi.pass_sums import PassSums
from kpi.periods import Grain, Period, grain_periods, previous, today_in
from kpi.targets import Target, TargetGrain, judge, window

#: Periods a replay covers by default.
REPLAY_PERIODS = 12
#: Dimensions the drivers of a miss are looked for in.
DRIVER_DIMENSIONS = (Dimension.PLATFORM, Dimension.CAMPAIGN)
_DAY = dt.timedelta(days=1)


@dataclass(frozen=True)
class Evaluation:
    """A target judged over one closed period."""

    target: Target
    period: Period
    #: Met, missed, no data or low volume, with the margin (see :func:`kpi.targets.judge`).
    #: A target not saved yet (no id) is judged with ``target_id`` 0.
    status: TargetStatus
    #: The KPI over ``period`` (None: no value, e.g. no data or a zero denominator).
    value: float | None
    #: When missed: the platforms and campaigns that pulled the KPI the wrong way since the
    #: previous period, most adverse first (see :mod:`kpi.movers`); empty otherwise, and for
    #: KPIs whose change cannot be split (reach, follower growth).
    drivers: tuple[Mover, ...]


def _judgeable(target: Target) -> Target:
    """:func:`kpi.targets.judge` needs an id; a target being tried out has none yet."""
    return target if target.id is not None else replace(target, id=0)


def _adverse(target: Target) -> Direction:
    """The side the target calls good: ``>=`` wants the KPI up, ``<=`` wants it down. A target
    may say so of a neutral KPI (spend <= budget), so its comparator decides, not the KPI."""
    return Direction.HIGHER if target.comparator.startswith(">") else Direction.LOWER


class _Sums:
    """One target's share of the sums its pass (or replay) reads once for all its targets: the
    verdict of a period and, for a miss, what drove it."""

    def __init__(self, shared: PassSums, kpi: Kpi, target: Target) -> None:
        self.shared, self.kpi, self.target = shared, kpi, target

    def evaluation(
        self, period: Period, cell: evaluate.Cell | None, drivers_limit: int
    ) -> Evaluation:
        status = judge(_judgeable(self.target), self.kpi, cell)
        drivers: tuple[Mover, ...] = ()
        if status.state is TargetState.MISSED:
            drivers = self.drivers(period, drivers_limit)
        value = None if cell is None else cell.value
        return Evaluation(self.target, period, status, value, drivers)

    def drivers(self, period: Period, limit: int) -> tuple[Mover, ...]:
        """The platforms and campaigns that pulled the KPI the adverse way since the period
        before, merged, most adverse first."""
        if limit <= 0 or not decomposable(self.kpi):
            return ()
        change = self.shared.change(self.target.scope, period, previous(period), DRIVER_DIMENSIONS)
        side = _adverse(self.target)
        found = [
            mover
            for dimension in DRIVER_DIMENSIONS
            for mover in change.split(self.kpi, dimension.value, limit=limit, direction=side).bad
        ]
        found.sort(key=lambda m: (-abs(m.contribution), m.dimension, m.label))
        return tuple(found[:limit])


def evaluate_for_alert(
    engine: Engine,
    target: Target,
    catalog: Catalog,
    *,
    period: Period,
    drivers_limit: int = LIMIT,
    sums: PassSums | None = None,
) -> Evaluation:
    """The target judged over ``period``; when missed, what drove the miss since the period
    before (at most ``drivers_limit`` platforms and campaigns, merged).

    An alert pass hands every target the same ``sums`` (for all the pass's KPIs), so targets
    that share a scope and period read the store once between them; without, the target reads
    its own.
    """
    kpi = catalog[target.kpi]
    shared = PassSums(engine, [kpi]) if sums is None else sums
    (cell,) = shared.cells(kpi, target.scope, [period])
    return _Sums(shared, kpi, target).evaluation(period, cell, drivers_limit)


def closed_period(
    target: Target,
    now: dt.datetime,
    zone: ZoneInfo,
    data_lag: dt.timedelta,
    week_start: int = 0,
) -> Period | None:
    """The newest period of the target's grain that closed at least ``data_lag`` ago in ``zone``.

    A period closes at local midnight after its last day. The lag is counted on the local clock,
    so a one-day lag always means "from the next midnight but one", whether DST made that day 23
    or 25 hours long. A rolling target's window ends each midnight. None when no period fits
    (dates before the calendar starts).
    """
    if data_lag < dt.timedelta(0):
        raise ValueError(f"data_lag cannot be negative, not {data_lag}")
    day = today_in(now, zone)
    try:
        while True:
            candidate = window(target, day, week_start)
            closes = dt.datetime.combine(candidate.end + _DAY, dt.time(), tzinfo=zone)
            if closes + data_lag <= now:
                return candidate
            day = candidate.end  # the period before this one
    except OverflowError:
        return None


def replay_periods(target: Target, today: dt.date, week_start: int, periods: int) -> list[Period]:
    """The last ``periods`` closed periods as of ``today``, oldest first. A rolling target's
    window moves by a day each day, so its replay is the windows ending on each of the last
    ``periods`` days, as its alert would have judged them."""
    newest = window(target, today, week_start)
    if target.grain is not TargetGrain.ROLLING:
        return list(grain_periods(newest, periods))
    shifted = (dt.timedelta(days=back) for back in range(periods - 1, -1, -1))
    return [Period(newest.start - s, newest.end - s, newest.label, Grain.RANGE) for s in shifted]


def replay(
    engine: Engine,
    target: Target,
    catalog: Catalog,
    *,
    today: dt.date,
    week_start: int = 0,
    periods: int = REPLAY_PERIODS,
    drivers_limit: int = LIMIT,
) -> tuple[Evaluation, ...]:
    """The target judged over each of the last ``periods`` closed periods, oldest first: "would
    have fired on ..." for ``/kpi target test``.

    One grouped query gives the KPI over all the periods (overlapping rolling windows included);
    reach and follower growth, which cannot be summed over days, are computed per period. Each
    missed period then reads the sums per platform and campaign of itself and the period before
    (shared between neighbours) to name its drivers; ``drivers_limit=0`` skips that.
    """
    kpi = catalog[target.kpi]
    windows = replay_periods(target, today, week_start, periods)
    shared = PassSums(engine, [kpi])
    sums = _Sums(shared, kpi, target)
    cells = shared.cells(kpi, target.scope, windows)
    return tuple(
        sums.evaluation(period, cell, drivers_limit)
        for period, cell in zip(windows, cells, strict=True)
    )
