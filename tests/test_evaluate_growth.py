"""Follower growth reads the followers levels only where the follows flow leaves a cell open.

``levels_path`` is how :func:`kpi.evaluate.growth_cells` computed every bucket before: the flow
and both levels, always. The lazy function must give exactly its cells, with or without groups,
whichever platforms report the flow, the level, both or neither.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence
from pathlib import Path

import hypothesis.strategies as st
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from sqlalchemy import Connection, Engine

from kpi import aggregate, evaluate
from kpi.aggregate import Scope
from kpi.catalog import BUILTIN, LevelGrowthKpi
from kpi.dimensions import Dimension
from kpi.evaluate import Cell, growth_cells
from kpi.periods import Grain, Period, grain_periods, resolve
from tests.query_data import load, row_keys


def _follower_growth() -> LevelGrowthKpi:
    kpi = BUILTIN["follower_growth"]
    assert isinstance(kpi, LevelGrowthKpi)
    return kpi


GROWTH = _follower_growth()
TODAY = dt.date(2026, 11, 23)
WEEKS = grain_periods(resolve("last-week", TODAY), 6)  # 2026-10-12 .. 2026-11-22
FIRST = WEEKS[0].start - dt.timedelta(days=10)
DAYS = (WEEKS[-1].end - FIRST).days + 1
PLATFORMS = ("instagram", "tiktok", "facebook")
SCOPES = (
    Scope(),
    Scope(((Dimension.PLATFORM, ("tiktok",)),)),
    Scope(((Dimension.CAMPAIGN, ("A",)),)),  # not in the daily rollup: read from the facts
)
GROUPS: tuple[tuple[str, ...], ...] = ((), ("platform",), ("platform", "campaign"))


def levels_path(
    connection: Connection, buckets: Sequence[Period], scope: Scope, group: Sequence[str]
) -> list[Cell]:
    """The flow where reported, else the change of level, with both levels read per bucket."""
    cells: list[Cell] = []
    for index, bucket in enumerate(buckets):
        frame = aggregate.window_sums(
            connection, bucket.start, bucket.end, [GROWTH.flow], scope, group
        )
        flow = dict(
            zip(
                evaluate._keys(frame, group),
                map(evaluate._number, frame[GROWTH.flow.value]),
                strict=True,
            )
        )
        ends = evaluate._levels(connection, bucket.end, GROWTH, scope, group)
        before = bucket.start - dt.timedelta(days=1)
        starts = evaluate._levels(connection, before, GROWTH, scope, group)
        for key in sorted(set(flow) | set(ends)):
            value = flow.get(key)
            if value is None and key in ends and key in starts:
                value = ends[key] - starts[key]
            cells.append(Cell(index, key, value, value))
    return cells


@pytest.fixture
def level_reads(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[dt.date]]:
    """The days for which ``growth_cells`` read the followers levels."""
    days: list[dt.date] = []
    read = aggregate.levels_at

    def counted(
        connection: Connection, day: dt.date, *args: object, **kwargs: object
    ) -> pd.DataFrame:
        days.append(day)
        return read(connection, day, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(aggregate, "levels_at", counted)
    yield days


def page(platform: str, first: dt.date, count: int, **measures: Sequence[float]) -> pd.DataFrame:
    """Daily page rows (no campaign) of ``platform`` from ``first``."""
    return pd.DataFrame(
        {
            "period_start": [(first + dt.timedelta(days=i)).isoformat() for i in range(count)],
            "period_end": [(first + dt.timedelta(days=i)).isoformat() for i in range(count)],
            "platform": platform,
            "campaign": "",
            **measures,
        }
    )


def _same(connection: Connection, scope: Scope, group: Sequence[str]) -> list[Cell]:
    lazy = growth_cells(connection, GROWTH, WEEKS, scope, group)
    assert lazy == levels_path(connection, WEEKS, scope, group)
    return lazy


def test_reported_follows_need_no_levels(
    engine: Engine, tmp_path: Path, level_reads: list[dt.date]
) -> None:
    follows = [float(i % 5) for i in range(DAYS)]
    load(engine, page("instagram", FIRST, DAYS, follows=follows), tmp_path)
    with engine.connect() as connection:
        cells = growth_cells(connection, GROWTH, WEEKS, Scope(), ())
        assert level_reads == []
        assert [c.value for c in cells] == [
            sum(follows[(w.start - FIRST).days : (w.end - FIRST).days + 1]) for w in WEEKS
        ]
        assert cells == levels_path(connection, WEEKS, Scope(), ())


def test_followers_levels_alone(engine: Engine, tmp_path: Path, level_reads: list[dt.date]) -> None:
    followers = [1000.0 + 3 * i for i in range(DAYS)]
    load(engine, page("tiktok", FIRST, DAYS, followers=followers), tmp_path)
    with engine.connect() as connection:
        for group in GROUPS:
            level_reads.clear()
            cells = growth_cells(connection, GROWTH, WEEKS, Scope(), group)
            assert len(level_reads) == len(set(level_reads)) == len(WEEKS) + 1  # each day once
            assert [c.value for c in cells] == [21.0] * len(WEEKS)  # 7 days x 3
            assert cells == levels_path(connection, WEEKS, Scope(), group)


def test_a_mix_of_follows_levels_and_neither(
    engine: Engine, tmp_path: Path, level_reads: list[dt.date]
) -> None:
    """Instagram reports follows, TikTok only its followers, Facebook stopped exporting before
    the weeks (a level, no rows), and a campaign's rows report neither."""
    frame = pd.concat(
        [
            page("instagram", FIRST, DAYS, follows=[2.0] * DAYS, followers=[50.0] * DAYS),
            page("tiktok", FIRST, DAYS, followers=[100.0 + i for i in range(DAYS)]),
            page("facebook", FIRST, 5, followers=[7.0, 8.0, 9.0, 10.0, 11.0]),
            page("instagram", FIRST, DAYS, likes=[1.0] * DAYS).assign(campaign="spring"),
        ]
    )
    load(engine, frame, tmp_path)
    with engine.connect() as connection:
        for scope in SCOPES:
            for group in GROUPS:
                _same(connection, scope, group)
        by_platform = {c.key: c.value for c in _same(connection, Scope(), ("platform",))}
        assert by_platform == {
            (("platform", "facebook"),): 0.0,
            (("platform", "instagram"),): 14.0,
            (("platform", "tiktok"),): 7.0,
        }
        level_reads.clear()
        assert {c.value for c in growth_cells(connection, GROWTH, WEEKS, Scope(), ())} == {14.0}
        assert level_reads == []  # Instagram's follows settle every week
        spring = Scope(((Dimension.CAMPAIGN, ("spring",)),))
        level_reads.clear()
        assert {c.value for c in growth_cells(connection, GROWTH, WEEKS, spring, ())} == {None}
        assert level_reads == [WEEKS[-1].end]  # no level in scope at all: one read settles it


@st.composite
def frames(draw: st.DrawFn) -> pd.DataFrame:
    keys = draw(row_keys(PLATFORMS, ["", "", "A"], DAYS, 60))
    rows = []
    for platform, campaign, offset, length in keys:
        start = FIRST + dt.timedelta(days=offset)
        rows.append(
            {
                "period_start": start.isoformat(),
                "period_end": (start + dt.timedelta(days=length)).isoformat(),
                "platform": platform,
                "campaign": campaign,
                "follows": draw(st.one_of(st.none(), st.integers(-5, 20))),
                "followers": draw(st.one_of(st.none(), st.integers(0, 10_000))),
                "likes": 1,
            }
        )
    return pd.DataFrame(rows)


@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    frame=frames(),
    scope=st.sampled_from(SCOPES),
    group=st.sampled_from(GROUPS),
    grain=st.sampled_from([Grain.WEEK, Grain.DAY]),
)
def test_same_cells_as_reading_every_level(
    engine: Engine,
    tmp_path: Path,
    frame: pd.DataFrame,
    scope: Scope,
    group: tuple[str, ...],
    grain: Grain,
) -> None:
    load(engine, frame, tmp_path)
    buckets = WEEKS if grain is Grain.WEEK else grain_periods(resolve("yesterday", TODAY), 12)
    with engine.connect() as connection:
        assert growth_cells(connection, GROWTH, buckets, scope, group) == levels_path(
            connection, buckets, scope, group
        )
