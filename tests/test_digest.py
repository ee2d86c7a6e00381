"""Digests: each KPI over the last closed period, its movers, freshness and chart series."""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from sqlalchemy import Engine, event

from kpi import demo, evaluate
from kpi import digest as digest_module
from kpi.aggregate import Scope
from kpi.answer import Answer, TargetState
from kpi.catalog import BUILTIN, Kpi
from kpi.digest import SERIES_PERIODS, Digest, DigestCache, build_digest
from kpi.dimensions import Dimension
from kpi.movers import Movers, movers
from kpi.periods import Grain, Period, grain_periods, last_closed, previous
from kpi.query import ask
from kpi.request import Request
from kpi.targets import Target, TargetGrain
from tests.conftest import NOW
from tests.query_data import load

TODAY = NOW.date()  # Monday 2026-11-23
WEEK = last_closed(Grain.WEEK, TODAY)  # 2026-11-16 .. 2026-11-22
BEFORE = previous(WEEK)
CTR, CPC, CLICKS = BUILTIN["ctr"], BUILTIN["cpc"], BUILTIN["clicks"]


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


def weekly_digest(engine: Engine, kpis: list[Kpi], **kw: Any) -> Digest:
    return build_digest(
        engine,
        kpis,
        grain=kw.pop("grain", Grain.WEEK),
        today=kw.pop("today", TODAY),
        timezone="Europe/Paris",
        week_start=kw.pop("week_start", 0),
        **kw,
    )


def _store(engine: Engine, tmp_path: Path) -> None:
    """20 weeks of meta; tiktok until two weeks ago (its export stopped)."""
    start = WEEK.start - dt.timedelta(weeks=19)
    rows = daily_rows("meta", start, 140, "Spring", impressions=10_000, clicks=120, spend=60.0)
    rows += daily_rows("tiktok", start, 133, "Reels", impressions=4_000, clicks=30, spend=20.0)
    rows += daily_rows("meta", WEEK.start, 7, "Launch", impressions=5_000, clicks=25, spend=30.0)
    load(engine, pd.DataFrame(rows), tmp_path)


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


def test_a_weekly_digest(engine: Engine, tmp_path: Path) -> None:
    _store(engine, tmp_path)
    targets = [Target("ctr", ">=", 0.012, TargetGrain.WEEK, id=7)]
    found = weekly_digest(engine, [CTR, CPC, CLICKS], targets=targets)
    assert (found.period, found.previous, found.timezone) == (WEEK, BEFORE, "Europe/Paris")
    assert [line.kpi for line in found.lines] == [CTR, CPC, CLICKS]
    for line in found.lines:
        expected = ask(
            engine,
            Request(line.kpi, WEEK, BEFORE),
            today=TODAY,
            timezone="Europe/Paris",
            targets=targets,
        )
        assert line.answer == expected
        assert len(line.answer.series) == 8
    ctr = found.lines[0].answer
    assert ctr.value == pytest.approx((840 + 175) / (70_000 + 35_000))
    assert ctr.target is not None and ctr.target.state is TargetState.MISSED
    assert found.lines[1].answer.target is None  # no target for cpc


def test_series_cover_twelve_periods_and_match_the_answers(engine: Engine, tmp_path: Path) -> None:
    _store(engine, tmp_path)
    targets = [Target("ctr", ">=", 0.012, TargetGrain.WEEK, id=7)]
    found = weekly_digest(engine, [CTR, CPC, CLICKS, BUILTIN["roas"]], targets=targets)
    charted = grain_periods(WEEK, SERIES_PERIODS)
    for series, line in zip(found.series, found.lines, strict=True):
        assert series.kpi == line.kpi
        assert [p.period for p in series.points] == list(charted)
        assert [p.value for p in series.points[-8:]] == [
            pytest.approx(p.value) if p.value is not None else None for p in line.answer.series
        ]
        with engine.connect() as connection:
            cells = evaluate.cells(connection, series.kpi, charted, Scope())
        by_bucket = {c.bucket: c.value for c in cells}
        for i, point in enumerate(series.points):
            expected = by_bucket.get(i)
            assert point.value == (None if expected is None else pytest.approx(expected))
    assert found.series[0].threshold == 0.012
    assert found.series[1].threshold is None
    assert found.series[3].points[-1].value is None  # roas: no revenue reported


def test_movers_are_those_of_the_kpi_against_the_previous_period(
    engine: Engine, tmp_path: Path
) -> None:
    _store(engine, tmp_path)
    found = weekly_digest(engine, [CTR, CPC, CLICKS, BUILTIN["spend"]])
    assert [m.kpi for m in found.movers] == [CTR, CPC, CLICKS, BUILTIN["spend"]]
    for kpi_movers in found.movers:
        for by, split in (
            (Dimension.PLATFORM, kpi_movers.by_platform),
            (Dimension.CAMPAIGN, kpi_movers.by_campaign),
        ):
            alone = movers(engine, kpi_movers.kpi, WEEK, BEFORE, by=by)
            assert _shape(split) == _shape(alone)
    clicks = found.movers[2]
    # tiktok sent nothing last week: -210 clicks; Launch is new: +175
    assert [(m.label, m.contribution) for m in clicks.by_platform.bad] == [("tiktok", -210)]
    assert [(m.label, m.contribution) for m in clicks.by_campaign.good] == [("Launch", 175)]
    assert found.movers[3].by_platform == Movers()  # spend is neutral


def _shape(found: Movers) -> list[tuple[str, str, float]]:
    return [(m.dimension, m.label, round(m.contribution, 12)) for m in (*found.good, *found.bad)]


def test_freshness_flags_a_platform_missing_in_the_period(engine: Engine, tmp_path: Path) -> None:
    _store(engine, tmp_path)
    found = weekly_digest(engine, [CLICKS])
    assert [(f.platform, f.last_date, f.missing_in_period) for f in found.freshness] == [
        ("meta", WEEK.end, False),
        ("tiktok", BEFORE.end, True),
    ]
    scoped = weekly_digest(engine, [CLICKS], filters=((Dimension.PLATFORM, ("linkedin", "meta")),))
    assert [(f.platform, f.last_date, f.missing_in_period) for f in scoped.freshness] == [
        ("linkedin", None, True),  # named by the channel, never any data
        ("meta", WEEK.end, False),
    ]


def test_a_platform_with_data_after_the_period_only_is_still_missing_in_it(
    engine: Engine, tmp_path: Path
) -> None:
    rows = daily_rows("meta", BEFORE.start, 14, impressions=10, clicks=1)
    rows += daily_rows("tiktok", BEFORE.start, 7, impressions=10, clicks=1)
    rows += daily_rows("tiktok", WEEK.end + dt.timedelta(days=1), 1, impressions=10, clicks=1)
    load(engine, pd.DataFrame(rows), tmp_path)
    found = weekly_digest(engine, [BUILTIN["reach"]])  # no summed KPI: the cheap check
    tiktok = next(f for f in found.freshness if f.platform == "tiktok")
    assert tiktok.missing_in_period and tiktok.last_date == TODAY


def test_low_volume_and_no_data(engine: Engine, tmp_path: Path) -> None:
    load(
        engine, pd.DataFrame(daily_rows("meta", WEEK.start, 7, impressions=10, clicks=1)), tmp_path
    )
    found = weekly_digest(engine, [CTR, CLICKS])
    assert found.lines[0].answer.low_volume
    assert not found.lines[1].answer.low_volume
    empty = weekly_digest(engine, [CTR], today=TODAY - dt.timedelta(weeks=5))
    assert empty.lines[0].answer.value is None
    assert empty.movers[0].by_platform == Movers() and empty.movers[0].by_campaign == Movers()
    assert all(p.value is None for p in empty.series[0].points)
    assert [f.platform for f in empty.freshness] == ["meta"]
    assert empty.freshness[0].missing_in_period


def test_an_empty_store(engine: Engine) -> None:
    found = weekly_digest(engine, [CTR, BUILTIN["reach"], BUILTIN["follower_growth"]])
    assert all(line.answer.value is None for line in found.lines)
    assert found.freshness == ()
    assert all(p.value is None for s in found.series for p in s.points)


@pytest.mark.parametrize(
    ("grain", "period"),
    [
        (
            Grain.DAY,
            Period(TODAY - dt.timedelta(days=1), TODAY - dt.timedelta(days=1), "", Grain.DAY),
        ),
        (Grain.MONTH, Period(dt.date(2026, 10, 1), dt.date(2026, 10, 31), "", Grain.MONTH)),
    ],
)
def test_daily_and_monthly_digests(
    engine: Engine, tmp_path: Path, grain: Grain, period: Period
) -> None:
    _store(engine, tmp_path)
    targets = [Target("clicks", ">=", 1.0, TargetGrain(grain.value), id=1)]
    found = weekly_digest(engine, [CLICKS], grain=grain, targets=targets)
    assert (found.period.start, found.period.end) == (period.start, period.end)
    assert found.previous == previous(found.period)
    points = found.series[0].points
    assert [p.period for p in points] == list(grain_periods(found.period, SERIES_PERIODS))
    assert points[-1].value == found.lines[0].answer.value
    assert found.series[0].threshold == 1.0
    assert found.lines[0].answer.target is not None


def test_a_digest_refuses_other_grains(engine: Engine) -> None:
    with pytest.raises(ValueError, match="a day, a week or a month"):
        weekly_digest(engine, [CTR], grain=Grain.QUARTER)


def test_weeks_starting_on_sunday(engine: Engine, tmp_path: Path) -> None:
    _store(engine, tmp_path)
    found = weekly_digest(engine, [CLICKS], week_start=6)
    assert (found.period.start, found.period.end) == (dt.date(2026, 11, 15), dt.date(2026, 11, 21))


def test_shared_queries_do_not_grow_with_the_kpis(
    engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Besides each KPI's ask(), a digest reads the store a fixed number of times."""
    _store(engine, tmp_path)
    many = [CTR, CPC, CLICKS, BUILTIN["roas"], BUILTIN["engagement_rate"]]
    answers = {k.name: ask(engine, Request(k, WEEK, BEFORE), today=TODAY) for k in many}

    def answered(_engine: Engine, request: Request, **_kwargs: Any) -> Answer:
        return answers[request.kpi.name]

    monkeypatch.setattr(digest_module, "ask", answered)
    counts = []
    for kpis in ([CTR], many):
        with counted(engine) as statements:
            weekly_digest(engine, kpis)
        counts.append(len(statements))
    assert counts[0] == counts[1]
    assert counts[0] <= 10


def test_answers_over_one_scope_and_period_read_their_coverage_once(
    engine: Engine, tmp_path: Path
) -> None:
    _store(engine, tmp_path)
    shared = DigestCache()
    ask(engine, Request(CTR, WEEK, BEFORE), today=TODAY, shared=shared)
    with counted(engine) as alone:
        expected = ask(engine, Request(CPC, WEEK, BEFORE), today=TODAY)
    with counted(engine) as sharing:
        found = ask(engine, Request(CPC, WEEK, BEFORE), today=TODAY, shared=shared)
    assert found == expected
    assert 0 < len(sharing) < len(alone)


def test_a_cache_shares_the_work_of_one_pass(engine: Engine, tmp_path: Path) -> None:
    _store(engine, tmp_path)
    targets = [Target("ctr", ">=", 0.012, TargetGrain.WEEK, id=7)]
    meta = ((Dimension.PLATFORM, ("meta",)),)
    kpis = [CTR, CPC, BUILTIN["reach"]]
    cache = DigestCache()
    assert weekly_digest(engine, kpis, targets=targets, cache=cache) == weekly_digest(
        engine, kpis, targets=targets
    )
    with counted(engine) as statements:
        again = weekly_digest(engine, kpis, targets=targets, cache=cache)
    assert statements == []
    assert again == weekly_digest(engine, kpis, targets=targets)
    scoped = weekly_digest(engine, [CTR], filters=meta, cache=cache)
    assert scoped == weekly_digest(engine, [CTR], filters=meta)
    assert scoped.freshness[0].platform == "meta" and len(scoped.freshness) == 1
    renumbered = [Target("ctr", ">=", 0.012, TargetGrain.WEEK, id=8)]
    other = weekly_digest(engine, [CTR], targets=renumbered, cache=cache)
    assert other.lines[0].answer.target is not None
    assert other.lines[0].answer.target.target_id == 8


@pytest.mark.parametrize("filters", [(), ((Dimension.PLATFORM, ("facebook", "tiktok")),)])
def test_demo_digest_of_every_kpi(demo_store: Engine, filters: Any) -> None:
    kpis = list(BUILTIN)
    targets = [Target("roas", ">=", 3.0, TargetGrain.WEEK, filters=filters, id=1)]
    found = weekly_digest(demo_store, kpis, filters=filters, targets=targets)
    assert len(found.lines) == len(found.movers) == len(found.series) == len(kpis)
    platforms = (
        {"facebook", "tiktok"}
        if filters
        else {"facebook", "instagram", "tiktok", "linkedin", "google-ads"}
    )
    assert {f.platform for f in found.freshness} == platforms
    assert not any(f.missing_in_period for f in found.freshness)
    for line, series, split in zip(found.lines, found.series, found.movers, strict=True):
        answer = line.answer
        assert series.points[-1].value == (
            None if answer.value is None else pytest.approx(answer.value)
        ), line.kpi.name
        sparkline = [p.value for p in answer.series]
        assert [p.value for p in series.points[-8:]] == [
            None if v is None else pytest.approx(v) for v in sparkline
        ], line.kpi.name
        # the demo holds ten weeks: the two oldest charted weeks have no data
        assert [p.value for p in series.points[:2]] == [None, None], line.kpi.name
        if line.kpi.name in ("reach", "follower_growth", "spend"):
            assert split.by_platform == Movers() and split.by_campaign == Movers()
        elif answer.comparison is not None and answer.comparison.change:
            assert split.by_campaign.good or split.by_campaign.bad, line.kpi.name
    roas = kpis.index(BUILTIN["roas"])
    assert found.series[roas].threshold == 3.0
    assert found.lines[roas].answer.target is not None


def _close(found: object, expected: object, where: str = "") -> None:
    """``found == expected``, floats up to rounding: a pass computes ratios from the sums per
    day with ``math.fsum``, ``ask()`` alone from the database's running sums."""
    if isinstance(expected, float) and isinstance(found, float):
        assert math.isclose(found, expected, rel_tol=1e-12, abs_tol=1e-15), where
    elif dataclasses.is_dataclass(expected) and not isinstance(expected, type):
        assert type(found) is type(expected), where
        for field in dataclasses.fields(expected):
            _close(
                getattr(found, field.name), getattr(expected, field.name), f"{where}.{field.name}"
            )
    elif isinstance(expected, tuple | list):
        assert isinstance(found, tuple | list) and len(found) == len(expected), where
        for index, (a, b) in enumerate(zip(found, expected, strict=True)):
            _close(a, b, f"{where}[{index}]")
    else:
        assert found == expected, where


DEMO_SCOPES = [
    (),
    ((Dimension.PLATFORM, ("tiktok",)),),
    ((Dimension.PLATFORM, ("facebook", "instagram")),),
    ((Dimension.CAMPAIGN, ("Black Friday 2026",)),),
    ((Dimension.ACCOUNT, ("acme",)),),
]


def test_a_pass_of_digests_shows_what_each_kpi_shows_alone(engine: Engine, tmp_path: Path) -> None:
    """The pass's shared sums (one read per scope for every KPI's chart, sparkline, value and
    comparison; the movers of platform and campaign scopes from the whole store's sums) give
    each line, chart, mover and freshness what the per-KPI path gives: ``ask()`` alone,
    ``evaluate.cells`` over the chart's periods, ``movers()`` and a digest built alone."""
    load(engine, demo.generate(TODAY - dt.timedelta(days=1), days=70), tmp_path)
    kpis = list(BUILTIN)
    targets = [
        Target("roas", ">=", 3.0, TargetGrain.WEEK, id=1),
        Target("ctr", ">=", 0.012, TargetGrain.WEEK, filters=DEMO_SCOPES[1], id=2),
        Target("reach", ">=", 1000.0, TargetGrain.WEEK, id=3),
    ]
    charted = grain_periods(WEEK, SERIES_PERIODS)
    cache = DigestCache(BUILTIN)
    judged = []
    for filters in DEMO_SCOPES:
        scope = Scope(filters)
        found = weekly_digest(engine, kpis, filters=filters, targets=targets, cache=cache)
        _close(found, weekly_digest(engine, kpis, filters=filters, targets=targets), str(filters))
        judged += [line.answer.target.state for line in found.lines if line.answer.target]
        for line, series, split in zip(found.lines, found.series, found.movers, strict=True):
            kpi = line.kpi
            where = f"{kpi.name} {filters}"
            alone = ask(
                engine,
                Request(kpi, WEEK, BEFORE, filters=filters),
                today=TODAY,
                timezone="Europe/Paris",
                targets=targets,
            )
            _close(line.answer, alone, where)
            with engine.connect() as connection:
                cells = evaluate.cells(connection, kpi, charted, scope, with_bounds=False)
            by_bucket = {cell.bucket: cell.value for cell in cells}
            _close([p.value for p in series.points], [by_bucket.get(i) for i in range(12)], where)
            for by, movers_found in (
                (Dimension.PLATFORM, split.by_platform),
                (Dimension.CAMPAIGN, split.by_campaign),
            ):
                expected = movers(engine, kpi, WEEK, BEFORE, filters=filters, by=by)
                _close(movers_found, expected, f"{where} by {by.value}")
    assert len(judged) == 3, judged  # roas and reach unfiltered, ctr on tiktok


def test_digests_of_other_kpis_over_a_scope_read_no_more_sums(
    engine: Engine, tmp_path: Path
) -> None:
    _store(engine, tmp_path)
    cache = DigestCache(BUILTIN)
    weekly_digest(engine, [CTR, CPC], cache=cache)
    others = [CLICKS, BUILTIN["roas"], BUILTIN["cpm"], BUILTIN["engagement_rate"]]
    with counted(engine) as statements:
        found = weekly_digest(engine, others, cache=cache)
    assert statements == []  # every sum and ratio follows from the scope's sums read once
    _close(found, weekly_digest(engine, others))


def test_a_cache_made_without_the_catalog_reads_what_a_kpi_needs(
    engine: Engine, tmp_path: Path
) -> None:
    _store(engine, tmp_path)
    cache = DigestCache()
    weekly_digest(engine, [CTR], cache=cache)
    roas = weekly_digest(engine, [CTR, BUILTIN["roas"]], cache=cache)  # revenue: not read yet
    _close(roas, weekly_digest(engine, [CTR, BUILTIN["roas"]]))
