"""Alerting: which period is ready to judge, the verdict and its drivers, and replays."""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pandas as pd
import pytest
from sqlalchemy import Engine, event

from kpi import demo
from kpi.aggregate import Scope
from kpi.alerting import (
    Evaluation,
    closed_period,
    evaluate_for_alert,
    replay,
    replay_periods,
)
from kpi.answer import TargetState
from kpi.catalog import BUILTIN
from kpi.dimensions import Dimension
from kpi.movers import movers
from kpi.pass_sums import PassSums
from kpi.periods import Period, previous, resolve
from kpi.targets import Target, TargetGrain, evaluate_target, window
from tests.conftest import NOW
from tests.query_data import load

TODAY = NOW.date()
WEEK = resolve("last-week", TODAY)  # 2026-11-16 .. 2026-11-22
BEFORE = previous(WEEK)
PARIS = ZoneInfo("Europe/Paris")
UTC = ZoneInfo("UTC")


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> dt.datetime:
    return dt.datetime(year, month, day, hour, minute, tzinfo=dt.UTC)


def d(text: str) -> dt.date:
    return dt.date.fromisoformat(text)


def weekly(kpi: str = "ctr", comparator: str = ">=", threshold: float = 0.012, **kw: Any) -> Target:
    return Target(kpi, comparator, threshold, TargetGrain.WEEK, id=kw.pop("id", 1), **kw)


def daily_rows(
    platform: str, start: dt.date, days: int, campaign: str = "", **measures: Any
) -> list[dict[str, Any]]:
    return [
        {
            "period_start": (start + dt.timedelta(days=i)).isoformat(),
            "period_end": (start + dt.timedelta(days=i)).isoformat(),
            "platform": platform,
            "campaign": campaign,
            "currency": "EUR",
            **measures,
        }
        for i in range(days)
    ]


# -- closed_period ---------------------------------------------------------------------------


def test_a_week_closes_at_monday_midnight_local_and_waits_for_the_lag() -> None:
    target = weekly()
    week = (d("2026-01-05"), d("2026-01-11"))
    # Paris is UTC+1 in January: Monday 00:00 local is Sunday 23:00 UTC.
    assert _dates(closed_period(target, utc(2026, 1, 11, 22, 59), PARIS, dt.timedelta(0))) == (
        d("2025-12-29"),
        d("2026-01-04"),
    )
    assert _dates(closed_period(target, utc(2026, 1, 11, 23, 0), PARIS, dt.timedelta(0))) == week
    lag = dt.timedelta(days=1)  # judged from Tuesday 00:00 local
    assert _dates(closed_period(target, utc(2026, 1, 12, 22, 59), PARIS, lag)) != week
    assert _dates(closed_period(target, utc(2026, 1, 12, 23, 0), PARIS, lag)) == week
    # weeks starting on Sunday
    sunday = closed_period(target, utc(2026, 1, 12, 23, 0), PARIS, lag, week_start=6)
    assert _dates(sunday) == (d("2026-01-04"), d("2026-01-10"))


def _dates(period: Period | None) -> tuple[dt.date, dt.date] | None:
    return None if period is None else (period.start, period.end)


def test_closing_across_the_spring_dst_change() -> None:
    """Sunday 29 March 2026: Paris goes from UTC+1 to UTC+2, the day has 23 hours."""
    target = weekly()
    week = (d("2026-03-23"), d("2026-03-29"))
    # Monday 30 March 00:00 CEST is Sunday 22:00 UTC
    assert _dates(closed_period(target, utc(2026, 3, 29, 21, 59), PARIS, dt.timedelta(0))) != week
    assert _dates(closed_period(target, utc(2026, 3, 29, 22, 0), PARIS, dt.timedelta(0))) == week
    lag = dt.timedelta(days=1)  # Tuesday 31 March 00:00 CEST = Monday 22:00 UTC
    assert _dates(closed_period(target, utc(2026, 3, 30, 21, 59), PARIS, lag)) != week
    assert _dates(closed_period(target, utc(2026, 3, 30, 22, 0), PARIS, lag)) == week
    # A daily target: Saturday 28 closes at Sunday 00:00 CET (Saturday 23:00 UTC); a 6-hour lag
    # on the local clock ends at 06:00 CEST (04:00 UTC), only 5 hours later.
    day = Target("ctr", ">=", 0.01, TargetGrain.DAY, id=1)
    six = dt.timedelta(hours=6)
    assert _dates(closed_period(day, utc(2026, 3, 29, 3, 59), PARIS, six)) == (
        d("2026-03-27"),
        d("2026-03-27"),
    )
    assert _dates(closed_period(day, utc(2026, 3, 29, 4, 0), PARIS, six)) == (
        d("2026-03-28"),
        d("2026-03-28"),
    )


def test_closing_across_the_autumn_dst_change() -> None:
    """Sunday 25 October 2026: Paris goes back to UTC+1, the day has 25 hours."""
    target = weekly()
    week = (d("2026-10-19"), d("2026-10-25"))
    # Monday 26 October 00:00 CET is Sunday 23:00 UTC (not 22:00 as the week before)
    assert _dates(closed_period(target, utc(2026, 10, 25, 22, 59), PARIS, dt.timedelta(0))) != week
    assert _dates(closed_period(target, utc(2026, 10, 25, 23, 0), PARIS, dt.timedelta(0))) == week
    lag = dt.timedelta(days=1)
    assert _dates(closed_period(target, utc(2026, 10, 26, 22, 59), PARIS, lag)) != week
    assert _dates(closed_period(target, utc(2026, 10, 26, 23, 0), PARIS, lag)) == week
    # The last day before the change: Saturday 24 closes at Sunday 00:00 CEST (22:00 UTC)
    day = Target("ctr", ">=", 0.01, TargetGrain.DAY, id=1)
    assert _dates(closed_period(day, utc(2026, 10, 24, 22, 0), PARIS, dt.timedelta(0))) == (
        d("2026-10-24"),
        d("2026-10-24"),
    )
    # and Sunday 25, 25 hours long, at Monday 00:00 CET (Sunday 23:00 UTC)
    assert _dates(closed_period(day, utc(2026, 10, 25, 22, 59), PARIS, dt.timedelta(0))) == (
        d("2026-10-24"),
        d("2026-10-24"),
    )


def test_months_rolling_windows_and_long_lags() -> None:
    month = Target("ctr", ">=", 0.01, TargetGrain.MONTH, id=1)
    lag = dt.timedelta(days=2)
    # October closes at 1 November 00:00 CET; with 2 days of lag, from 3 November 00:00 CET.
    assert _dates(closed_period(month, utc(2026, 11, 2, 22, 59), PARIS, lag)) == (
        d("2026-09-01"),
        d("2026-09-30"),
    )
    assert _dates(closed_period(month, utc(2026, 11, 2, 23, 0), PARIS, lag)) == (
        d("2026-10-01"),
        d("2026-10-31"),
    )
    rolling = Target("ctr", ">=", 0.01, TargetGrain.ROLLING, rolling_days=7, id=1)
    found = closed_period(rolling, utc(2026, 11, 23, 9, 30), PARIS, dt.timedelta(days=3))
    assert _dates(found) == (d("2026-11-13"), d("2026-11-19"))  # ends 3 days + 1 before
    week = closed_period(weekly(), utc(2026, 11, 23, 9, 30), UTC, dt.timedelta(days=20))
    assert _dates(week) == (d("2026-10-26"), d("2026-11-01"))
    assert closed_period(weekly(), dt.datetime(1, 1, 3, tzinfo=UTC), UTC, dt.timedelta(0)) is None


def test_closed_period_refuses_a_naive_now_and_a_negative_lag() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        closed_period(weekly(), dt.datetime(2026, 11, 23), PARIS, dt.timedelta(0))
    with pytest.raises(ValueError, match="negative"):
        closed_period(weekly(), utc(2026, 11, 23), PARIS, dt.timedelta(hours=-1))


# -- evaluate_for_alert --------------------------------------------------------------------


def _two_platforms(engine: Engine, tmp_path: Path) -> None:
    rows = [
        *daily_rows("facebook", BEFORE.start, 7, "Fb A", impressions=10_000, clicks=150),
        *daily_rows("tiktok", BEFORE.start, 7, "Tk A", impressions=10_000, clicks=150),
        *daily_rows("tiktok", BEFORE.start, 7, "Tk B", impressions=5_000, clicks=50),
        *daily_rows("facebook", WEEK.start, 7, "Fb A", impressions=10_000, clicks=140),
        *daily_rows("tiktok", WEEK.start, 7, "Tk A", impressions=10_000, clicks=60),  # collapsed
        *daily_rows("tiktok", WEEK.start, 7, "Tk B", impressions=5_000, clicks=55),
    ]
    load(engine, pd.DataFrame(rows), tmp_path)


def test_a_miss_names_the_platforms_and_campaigns_that_drove_it(
    engine: Engine, tmp_path: Path
) -> None:
    _two_platforms(engine, tmp_path)
    target = weekly(threshold=0.012)
    found = evaluate_for_alert(engine, target, BUILTIN, period=WEEK)
    assert found.status.state is TargetState.MISSED
    assert found.value == pytest.approx(255 / 25_000)
    assert found.target == target and found.period == WEEK
    labels = [(m.dimension, m.label) for m in found.drivers]
    assert labels[:2] == [("campaign", "Tk A"), ("platform", "tiktok")]
    assert labels[2] in {("campaign", "Fb A"), ("platform", "facebook")}  # equal parts
    assert all(m.contribution < 0 for m in found.drivers)
    contributions = [abs(m.contribution) for m in found.drivers]
    assert contributions == sorted(contributions, reverse=True)
    # the same as the movers' bad side, merged
    bad = [
        *movers(engine, BUILTIN["ctr"], WEEK, BEFORE, by=Dimension.PLATFORM).bad,
        *movers(engine, BUILTIN["ctr"], WEEK, BEFORE, by=Dimension.CAMPAIGN).bad,
    ]
    assert set(found.drivers) <= set(bad)
    single = evaluate_for_alert(engine, target, BUILTIN, period=WEEK, drivers_limit=1)
    assert single.drivers == found.drivers[:1]


def test_no_drivers_unless_missed(engine: Engine, tmp_path: Path) -> None:
    _two_platforms(engine, tmp_path)
    met = evaluate_for_alert(engine, weekly(threshold=0.01), BUILTIN, period=WEEK)
    assert met.status.state is TargetState.MET and met.drivers == ()
    empty = previous(BEFORE)
    nothing = evaluate_for_alert(engine, weekly(), BUILTIN, period=empty)
    assert nothing.status.state is TargetState.NO_DATA
    assert (nothing.value, nothing.drivers) == (None, ())
    unsaved = evaluate_for_alert(engine, weekly(id=None), BUILTIN, period=WEEK)
    assert unsaved.status.target_id == 0 and unsaved.target.id is None


def test_low_volume_is_not_a_miss(engine: Engine, tmp_path: Path) -> None:
    rows = daily_rows("meta", WEEK.start, 7, impressions=10, clicks=0)
    load(engine, pd.DataFrame(rows), tmp_path)
    found = evaluate_for_alert(engine, weekly(), BUILTIN, period=WEEK)
    assert found.status.state is TargetState.LOW_VOLUME and found.drivers == ()


def test_a_budget_on_a_neutral_kpi_blames_what_spent_more(engine: Engine, tmp_path: Path) -> None:
    rows = [
        *daily_rows("meta", BEFORE.start, 7, "A", spend=10.0),
        *daily_rows("meta", BEFORE.start, 7, "B", spend=10.0),
        *daily_rows("meta", WEEK.start, 7, "A", spend=30.0),
        *daily_rows("meta", WEEK.start, 7, "B", spend=5.0),
    ]
    load(engine, pd.DataFrame(rows), tmp_path)
    budget = weekly("spend", "<=", 200.0)
    found = evaluate_for_alert(engine, budget, BUILTIN, period=WEEK)
    assert found.status.state is TargetState.MISSED
    assert [m.label for m in found.drivers] == ["A", "meta"]
    assert [m.contribution for m in found.drivers] == [pytest.approx(140.0), pytest.approx(105.0)]


# -- replay ----------------------------------------------------------------------------------


@contextmanager
def counted(engine: Engine) -> Iterator[list[str]]:
    statements: list[str] = []

    def record(*args: Any) -> None:
        statements.append(str(args[2]))

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", record)


def _weeks_of_data(engine: Engine, tmp_path: Path) -> None:
    """14 weeks ending last week, CTR going up and down around 1.2 %, one week without data."""
    start = WEEK.start - dt.timedelta(weeks=13)
    rows: list[dict[str, Any]] = []
    for week in range(14):
        if week == 5:
            continue
        first = start + dt.timedelta(weeks=week)
        clicks = (100, 140, 125, 90, 130)[week % 5]
        rows += daily_rows("facebook", first, 7, "A", impressions=10_000, clicks=clicks)
        rows += daily_rows("tiktok", first, 7, "B", impressions=2_000, clicks=20 + week)
    load(engine, pd.DataFrame(rows), tmp_path)


@pytest.mark.parametrize(
    "target",
    [
        weekly(threshold=0.011),
        Target("clicks", ">=", 900.0, TargetGrain.WEEK, id=2),
        Target("ctr", ">=", 0.011, TargetGrain.ROLLING, rolling_days=10, id=3),
        Target("ctr", "<", 0.0115, TargetGrain.DAY, id=4, filters=((Dimension.CAMPAIGN, ("A",)),)),
        Target("ctr", ">=", 0.011, TargetGrain.MONTH, id=5),
        Target("reach", ">=", 10.0, TargetGrain.WEEK, id=6),
    ],
    ids=lambda t: t.describe(),
)
def test_replay_matches_one_evaluation_per_period(
    engine: Engine, tmp_path: Path, target: Target
) -> None:
    _weeks_of_data(engine, tmp_path)
    found = replay(engine, target, BUILTIN, today=TODAY, week_start=0, drivers_limit=0)
    assert len(found) == 12
    assert [e.period for e in found] == replay_periods(target, TODAY, 0, 12)
    assert found[-1].period == window(target, TODAY)
    assert all(a.period.end < b.period.end for a, b in itertools.pairwise(found))
    for evaluation in found:
        expected = evaluate_target(engine, target, BUILTIN, evaluation.period)
        assert evaluation.status.state is expected.state, evaluation.period
        assert evaluation.status.margin == pytest.approx(expected.margin)
        assert evaluation.drivers == ()


def test_replay_of_weeks_reads_the_store_once(engine: Engine, tmp_path: Path) -> None:
    _weeks_of_data(engine, tmp_path)
    target = weekly(threshold=0.011)
    with counted(engine) as statements:
        found = replay(engine, target, BUILTIN, today=TODAY, week_start=0, drivers_limit=0)
    assert len(statements) <= 3  # the daily rollup and the period totals
    states = [e.status.state for e in found]
    assert TargetState.NO_DATA in states and TargetState.MISSED in states
    with counted(engine) as statements:
        with_drivers = replay(engine, target, BUILTIN, today=TODAY, week_start=0)
    missed = [e for e in with_drivers if e.status.state is TargetState.MISSED]
    assert missed and all(e.drivers for e in missed if e.value is not None)
    # two frames per missed period at most, neighbours shared
    assert len(statements) <= 3 + 2 * len(missed)
    for evaluation in missed:
        alone = evaluate_for_alert(engine, target, BUILTIN, period=evaluation.period)
        assert alone.drivers == evaluation.drivers


def test_replay_on_the_demo_fires_for_the_campaign_built_to_miss(demo_store: Engine) -> None:
    scope = ((Dimension.CAMPAIGN, (demo.LOW_CTR_CAMPAIGN,)),)
    target = weekly(threshold=0.01, filters=scope)
    found = replay(demo_store, target, BUILTIN, today=TODAY, week_start=0)
    states = [e.status.state for e in found]
    # the demo holds ten weeks: the two oldest have no data, never a false miss
    assert states[:2] == [TargetState.NO_DATA] * 2
    assert states[2:] == [TargetState.MISSED] * 10
    for evaluation in found[2:]:
        assert evaluation.value is not None and evaluation.value < 0.006
        assert all(m.label in (demo.LOW_CTR_CAMPAIGN, "facebook") for m in evaluation.drivers)
    healthy = weekly(threshold=0.005)
    assert all(
        e.status.state is not TargetState.MISSED
        for e in replay(demo_store, healthy, BUILTIN, today=TODAY, week_start=0)
    )


@pytest.mark.parametrize("name", ["ctr", "roas", "cpa"])
def test_demo_alert_drivers_are_the_adverse_movers(demo_store: Engine, name: str) -> None:
    kpi = BUILTIN[name]
    impossible = 1e9 if kpi.direction.value == "higher" else 1e-9
    comparator = ">=" if kpi.direction.value == "higher" else "<="
    target = weekly(name, comparator, impossible)
    found: Evaluation = evaluate_for_alert(demo_store, target, BUILTIN, period=WEEK)
    assert found.status.state is TargetState.MISSED
    adverse = [
        m
        for by in (Dimension.PLATFORM, Dimension.CAMPAIGN)
        for m in movers(demo_store, kpi, WEEK, BEFORE, by=by).bad
    ]
    adverse.sort(key=lambda m: (-abs(m.contribution), m.dimension, m.label))
    expected = adverse[:3]
    assert [(m.dimension, m.label) for m in found.drivers] == [
        (m.dimension, m.label) for m in expected
    ]
    assert [m.contribution for m in found.drivers] == [
        pytest.approx(m.contribution, rel=1e-9) for m in expected
    ]


# -- targets judged together -----------------------------------------------------------------


def _a_pass_of_data(engine: Engine, tmp_path: Path) -> None:
    """Two weeks: CTR and CPC worse on TikTok last week, and a campaign too small to judge."""
    paid = {"impressions": 10_000, "spend": 40.0}
    rows = [
        *daily_rows("facebook", BEFORE.start, 14, "Fb A", clicks=150, reach=3_000, **paid),
        *daily_rows("tiktok", BEFORE.start, 7, "Tk A", clicks=150, **paid),
        *daily_rows("tiktok", WEEK.start, 7, "Tk A", clicks=60, impressions=10_000, spend=45.0),
        *daily_rows("tiktok", BEFORE.start, 14, "Tiny", impressions=10, clicks=1, spend=0.5),
    ]
    load(engine, pd.DataFrame(rows), tmp_path)


def _campaign(name: str) -> tuple[tuple[Dimension, tuple[str, ...]], ...]:
    return ((Dimension.CAMPAIGN, (name,)),)


#: Targets sharing scopes and periods: several KPIs of last week (a rolling week on the same
#: days), yesterday, October (no data), a campaign too small to judge and one without data, and
#: misses within a platform and a campaign (their drivers: groups of the whole store's sums).
TOGETHER = (
    weekly("ctr", ">=", 0.012, id=1),
    weekly("cpc", "<=", 0.25, id=2),
    weekly("clicks", ">=", 1_000.0, id=3),
    weekly("spend", "<=", 1_000.0, id=4),
    Target("ctr", ">=", 0.01, TargetGrain.ROLLING, rolling_days=7, id=5),
    Target("ctr", ">=", 0.02, TargetGrain.DAY, id=6),
    Target("ctr", ">=", 0.01, TargetGrain.MONTH, id=7),
    weekly("ctr", ">=", 0.012, id=8, filters=_campaign("Tiny")),
    weekly("ctr", ">=", 0.012, id=9, filters=_campaign("Gone")),
    weekly("reach", ">=", 1.0, id=10, filters=_campaign("Fb A")),
    weekly("ctr", ">=", 0.012, id=11, filters=((Dimension.PLATFORM, ("tiktok",)),)),
    weekly("cpc", "<=", 0.25, id=12, filters=((Dimension.PLATFORM, ("tiktok",)),)),
    weekly("ctr", ">=", 0.012, id=13, filters=_campaign("Tk A")),
)


def test_targets_judged_together_match_each_judged_alone(engine: Engine, tmp_path: Path) -> None:
    _a_pass_of_data(engine, tmp_path)
    periods = [window(target, TODAY) for target in TOGETHER]
    with counted(engine) as alone_statements:
        alone = [
            evaluate_for_alert(engine, target, BUILTIN, period=period)
            for target, period in zip(TOGETHER, periods, strict=True)
        ]
    shared = PassSums.judging(engine, BUILTIN, zip(TOGETHER, periods, strict=True))
    with counted(engine) as together_statements:
        together = [
            evaluate_for_alert(engine, target, BUILTIN, period=period, sums=shared)
            for target, period in zip(TOGETHER, periods, strict=True)
        ]
    assert together == alone  # statuses, margins, values and drivers, exactly
    states = {e.target.id: e.status.state for e in together}
    assert {states[i] for i in (1, 2, 6, 11, 12, 13)} == {TargetState.MISSED}
    assert {states[3], states[4], states[5]} == {TargetState.MET}
    assert {states[7], states[9], states[10]} == {TargetState.NO_DATA}
    assert states[8] is TargetState.LOW_VOLUME
    # Yesterday was like the day before: a miss, but nothing moved.
    assert [e.target.id for e in together if e.drivers] == [1, 2, 11, 12, 13]
    assert ("campaign", "Tk A") in [(m.dimension, m.label) for m in together[0].drivers]
    # The same verdicts as the KPI computed on its own for each target (ask()'s evaluation).
    for evaluation in together:
        expected = evaluate_target(engine, evaluation.target, BUILTIN, evaluation.period)
        assert evaluation.status.state is expected.state, evaluation.target.describe()
        assert evaluation.status.margin == pytest.approx(expected.margin)
    assert len(together_statements) < len(alone_statements)


def test_a_pass_reads_each_scope_and_period_once(engine: Engine, tmp_path: Path) -> None:
    _a_pass_of_data(engine, tmp_path)
    kpis = [BUILTIN[name] for name in ("ctr", "cpc", "clicks", "spend")]
    shared = PassSums(engine, kpis)
    with counted(engine) as first:
        cells = [shared.cells(kpi, Scope(), [WEEK])[0] for kpi in kpis]
        change = shared.change(Scope(), WEEK, BEFORE, (Dimension.PLATFORM,))
    with counted(engine) as again:
        assert [shared.cells(kpi, Scope(), [WEEK])[0] for kpi in kpis] == cells
        assert shared.change(Scope(), WEEK, BEFORE, (Dimension.PLATFORM,)) is change
        assert shared.change(Scope(), BEFORE, previous(BEFORE), (Dimension.PLATFORM,))
    # Each read is the daily rollup and the period totals: the week, then the week and the week
    # before by platform; then only the week before last is new.
    assert 0 < len(again) <= 2 and len(first) <= 6
    with pytest.raises(ValueError, match="revenue"):
        shared.cells(BUILTIN["roas"], Scope(), [WEEK])


def test_a_planned_scope_is_read_once_for_all_its_windows(engine: Engine, tmp_path: Path) -> None:
    _a_pass_of_data(engine, tmp_path)
    ctr = BUILTIN["ctr"]
    yesterday = window(Target("ctr", ">=", 0.01, TargetGrain.DAY), TODAY)
    windows = [BEFORE, WEEK, yesterday]
    planned = PassSums(engine, [ctr], [(Scope(), w) for w in windows])
    with counted(engine) as statements:
        found = [planned.cells(ctr, Scope(), [w])[0] for w in windows]
    assert 0 < len(statements) <= 2  # the daily rollup and the period totals, once
    assert found == [PassSums(engine, [ctr]).cells(ctr, Scope(), [w])[0] for w in windows]
    # A window outside the plan is read on its own.
    with counted(engine) as statements:
        planned.cells(ctr, Scope(), [previous(BEFORE)])
    assert statements
