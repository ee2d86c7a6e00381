"""Movers: the change of a KPI split exactly over platforms or campaigns."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine

from kpi.catalog import BUILTIN, Kpi, RatioKpi, SumKpi, Unit
from kpi.dimensions import Dimension
from kpi.formula import parse
from kpi.movers import Mover, Movers, decomposable, movers
from kpi.periods import previous, resolve
from kpi.query import ask
from kpi.request import Request
from tests.conftest import NOW
from tests.query_data import load

TODAY = NOW.date()
WEEK = resolve("last-week", TODAY)  # 2026-11-16 .. 2026-11-22
BEFORE = previous(WEEK)  # 2026-11-09 .. 2026-11-15
PLATFORMS = ("facebook", "tiktok", "linkedin", "google-ads")


def row(day: dt.date, platform: str, campaign: str = "", **measures: object) -> dict[str, object]:
    return {
        "period_start": day.isoformat(),
        "period_end": day.isoformat(),
        "platform": platform,
        "campaign": campaign,
        "currency": measures.pop("currency", "EUR"),
        **measures,
    }


def frame(*rows: dict[str, object]) -> pd.DataFrame:
    return pd.DataFrame(list(rows))


def everything(found: Movers) -> list[Mover]:
    return [*found.good, *found.bad]


def change(engine: Engine, kpi: Kpi) -> float | None:
    answer = ask(engine, Request(kpi, WEEK, BEFORE), today=TODAY)
    assert answer.comparison is not None
    return answer.comparison.change


# -- the exact decomposition, against a brute-force computation ---------------------------------

MEASURES = ("impressions", "clicks", "likes", "comments", "shares", "saves", "spend", "revenue")


def _maybe(values: st.SearchStrategy[float]) -> st.SearchStrategy[float | None]:
    return st.one_of(st.none(), values, values, values)


_ROW = st.fixed_dictionaries(
    {
        "impressions": st.integers(0, 5000).map(float),
        "clicks": _maybe(st.integers(0, 300).map(float)),
        "likes": _maybe(st.integers(0, 50).map(float)),
        "comments": _maybe(st.integers(0, 20).map(float)),
        "shares": st.integers(0, 10).map(float),
        "saves": st.none(),
        "spend": _maybe(st.integers(0, 100_000).map(lambda cents: cents / 100)),
        "revenue": _maybe(st.integers(0, 300_000).map(lambda cents: cents / 100)),
    }
)
#: Per platform, per period: no data, or one or two daily rows.
_GROUP = st.tuples(*(st.lists(_ROW, max_size=2) for _ in ("now", "before")))
_DATA = st.fixed_dictionaries({p: _GROUP for p in PLATFORMS})

Sums = dict[str, float | None]


def _sums(rows: pd.DataFrame) -> Sums:
    return {
        m: None if pd.isna(total := rows[m].sum(min_count=1)) else float(total) for m in MEASURES
    }


def _plain(sums: Sums, *names: str) -> float | None:
    """A plain sum of measures: unreported terms are 0 when any is reported."""
    if all(sums[n] is None for n in names):
        return None
    return sum(sums[n] or 0.0 for n in names)


def _diff(sums: Sums, left: str, right: str) -> float | None:
    a, b = sums[left], sums[right]
    return None if a is None or b is None else a - b


#: name -> (numerator or sum, denominator (None: a sum KPI), scale), computed by hand.
Part = Callable[[Sums], float | None]
BRUTE: dict[str, tuple[Part, Part | None, float]] = {
    "clicks": (lambda s: s["clicks"], None, 1.0),
    "engagements": (lambda s: _plain(s, "likes", "comments", "shares", "saves"), None, 1.0),
    "ctr": (lambda s: s["clicks"], lambda s: s["impressions"], 1.0),
    "cpm": (lambda s: s["spend"], lambda s: s["impressions"], 1000.0),
    "roi": (lambda s: _diff(s, "revenue", "spend"), lambda s: s["spend"], 1.0),
    "engagement_rate": (
        lambda s: _plain(s, "likes", "comments", "shares", "saves"),
        lambda s: s["impressions"],
        1.0,
    ),
}


def _zeroed(group: Sums, total: Sums) -> Sums:
    """A group's sums with what it does not report as 0 where the total has a value."""
    return {m: (group[m] or 0.0) if total[m] is not None else group[m] for m in MEASURES}


def _total_value(name: str, total: Sums) -> float | None:
    top, bottom, scale = BRUTE[name]
    n = top(total)
    if bottom is None:
        return n
    d = bottom(total)
    return None if n is None or d is None or d == 0 else scale * n / d


def brute_force(name: str, facts: pd.DataFrame) -> tuple[float | None, dict[str, float]]:
    """The total change and each platform's contribution, straight from the rows."""
    top, bottom, scale = BRUTE[name]
    inside = {
        key: facts[facts["period_start"].between(p.start.isoformat(), p.end.isoformat())]
        for key, p in (("now", WEEK), ("before", BEFORE))
    }
    totals = {key: _sums(rows) for key, rows in inside.items()}
    values = {key: _total_value(name, totals[key]) for key in inside}
    if values["now"] is None or values["before"] is None:
        return None, {}
    parts: dict[str, float] = {}
    for platform in PLATFORMS:
        group = {
            key: _zeroed(_sums(rows[rows["platform"] == platform]), totals[key])
            for key, rows in inside.items()
        }
        if bottom is None:
            now, before = top(group["now"]), top(group["before"])
            parts[platform] = (now or 0.0) - (before or 0.0)
            continue
        ratio = values["before"] / scale
        shares = []
        for key in ("now", "before"):
            n, d = top(group[key]) or 0.0, bottom(group[key]) or 0.0
            shares.append((n - ratio * d) / (bottom(totals[key]) or math.nan))
        parts[platform] = scale * (shares[0] - shares[1])
    return values["now"] - values["before"], parts


Rows = list[dict[str, float | None]]


def _facts(data: dict[str, tuple[Rows, Rows]]) -> pd.DataFrame:
    rows = []
    for platform, periods in data.items():
        for period, found in zip((WEEK, BEFORE), periods, strict=True):
            for offset, measures in enumerate(found):
                day = period.start + dt.timedelta(days=offset * 3)
                rows.append(row(day, platform, "c", **measures))
    columns = ["period_start", "period_end", "platform", "campaign", "currency", *MEASURES]
    return pd.DataFrame(rows, columns=columns)


@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=_DATA)
def test_contributions_add_up_to_the_change_exactly(
    engine: Engine, tmp_path: Path, data: dict[str, tuple[Rows, Rows]]
) -> None:
    facts = _facts(data)
    if facts.empty:
        return
    load(engine, facts, tmp_path)
    for name in BRUTE:
        kpi = BUILTIN[name]
        expected_change, expected = brute_force(name, facts)
        found = movers(engine, kpi, WEEK, BEFORE, by=Dimension.PLATFORM, limit=len(PLATFORMS))
        parts = {m.label: m.contribution for m in everything(found)}
        if expected_change is None:
            assert parts == {}, name
            assert change(engine, kpi) is None, name
            continue
        assert change(engine, kpi) == pytest.approx(expected_change, rel=1e-9, abs=1e-12), name
        scale = sum(abs(v) for v in expected.values()) + abs(expected_change) + 1e-300
        assert set(parts) >= {p for p, v in expected.items() if abs(v) > 1e-9 * scale}
        for platform, contribution in parts.items():
            assert contribution == pytest.approx(expected[platform], rel=1e-9, abs=1e-12 * scale)
        assert math.fsum(parts.values()) == pytest.approx(expected_change, abs=1e-9 * scale)


# -- rules ----------------------------------------------------------------------------------


def test_ctr_split_by_platform_with_mix_and_rate_effects(engine: Engine, tmp_path: Path) -> None:
    day, before = WEEK.start, BEFORE.start
    load(
        engine,
        frame(
            row(before, "facebook", impressions=10_000, clicks=200),  # 2 %
            row(before, "tiktok", impressions=10_000, clicks=100),  # 1 %
            row(day, "facebook", impressions=10_000, clicks=100),  # 1 %: rate fell
            row(day, "tiktok", impressions=30_000, clicks=300),  # 1 %: more volume, low rate
        ),
        tmp_path,
    )
    found = movers(engine, BUILTIN["ctr"], WEEK, BEFORE, by=Dimension.PLATFORM)
    # R_b = 300 / 20000 = 1.5 %; now 400 / 40000 = 1 %: -0.5 pp in all.
    assert found.good == ()
    assert [m.label for m in found.bad] == ["facebook", "tiktok"]  # its rate halved
    facebook, tiktok = found.bad
    assert facebook.contribution == pytest.approx((100 - 150) / 40_000 - (200 - 150) / 20_000)
    assert tiktok.contribution == pytest.approx((300 - 450) / 40_000 - (100 - 150) / 20_000)
    assert tiktok.contribution + facebook.contribution == pytest.approx(-0.005)
    assert facebook.value == pytest.approx(0.01)
    assert facebook.baseline_value == pytest.approx(0.02)
    assert tiktok.dimension == "platform"


def test_good_and_bad_follow_the_kpi_direction(engine: Engine, tmp_path: Path) -> None:
    day, before = WEEK.start, BEFORE.start
    load(
        engine,
        frame(
            row(before, "facebook", clicks=100, spend=100.0, impressions=1000),
            row(before, "tiktok", clicks=100, spend=100.0, impressions=1000),
            row(day, "facebook", clicks=100, spend=50.0, impressions=1000),  # cheaper clicks
            row(day, "tiktok", clicks=100, spend=200.0, impressions=1000),  # dearer clicks
        ),
        tmp_path,
    )
    cpc = movers(engine, BUILTIN["cpc"], WEEK, BEFORE, by=Dimension.PLATFORM)  # lower is better
    assert [m.label for m in cpc.good] == ["facebook"]
    assert [m.label for m in cpc.bad] == ["tiktok"]
    assert cpc.good[0].contribution < 0 < cpc.bad[0].contribution
    clicks = movers(engine, BUILTIN["clicks"], WEEK, BEFORE, by=Dimension.PLATFORM)
    assert clicks == Movers()  # no group changed: zero contributions are left out
    # spend is neutral: no good or bad side, so no movers
    assert movers(engine, BUILTIN["spend"], WEEK, BEFORE, by=Dimension.PLATFORM) == Movers()


def test_groups_in_one_period_only_count_as_zero_on_the_other_side(
    engine: Engine, tmp_path: Path
) -> None:
    day, before = WEEK.start, BEFORE.start
    load(
        engine,
        frame(
            row(before, "meta", "Old", clicks=40),
            row(before, "meta", "Kept", clicks=10),
            row(day, "meta", "Kept", clicks=15),
            row(day, "meta", "New", clicks=70),
        ),
        tmp_path,
    )
    found = movers(engine, BUILTIN["clicks"], WEEK, BEFORE, by=Dimension.CAMPAIGN)
    assert [(m.label, m.contribution) for m in found.good] == [("New", 70), ("Kept", 5)]
    assert [(m.label, m.contribution) for m in found.bad] == [("Old", -40)]
    assert (found.good[0].value, found.good[0].baseline_value) == (70, None)
    assert (found.bad[0].value, found.bad[0].baseline_value) == (None, 40)
    assert change(engine, BUILTIN["clicks"]) == 70 + 5 - 40


def test_rows_without_a_campaign_are_one_group(engine: Engine, tmp_path: Path) -> None:
    load(
        engine,
        frame(row(BEFORE.start, "meta", "", likes=5), row(WEEK.start, "meta", "", likes=9)),
        tmp_path,
    )
    found = movers(engine, BUILTIN["engagements"], WEEK, BEFORE, by=Dimension.CAMPAIGN)
    assert [(m.label, m.contribution) for m in found.good] == [("(no campaign)", 4)]


def test_limit_order_and_ties(engine: Engine, tmp_path: Path) -> None:
    rows = [row(BEFORE.start, "meta", name, clicks=10) for name in "ABCDE"]
    rows += [
        row(WEEK.start, "meta", name, clicks=10 + up)
        for name, up in zip("ABCDE", (1, 5, 5, 3, 2), strict=True)
    ]
    load(engine, frame(*rows), tmp_path)
    found = movers(engine, BUILTIN["clicks"], WEEK, BEFORE, by=Dimension.CAMPAIGN, limit=3)
    assert [m.label for m in found.good] == ["B", "C", "D"]  # B and C tie: by label
    assert (
        movers(engine, BUILTIN["clicks"], WEEK, BEFORE, by=Dimension.CAMPAIGN, limit=0) == Movers()
    )


def test_zero_denominator_or_no_data_gives_no_movers(engine: Engine, tmp_path: Path) -> None:
    load(
        engine,
        frame(
            row(BEFORE.start, "meta", impressions=0, clicks=0),
            row(WEEK.start, "meta", impressions=1000, clicks=10),
        ),
        tmp_path,
    )
    assert movers(engine, BUILTIN["ctr"], WEEK, BEFORE, by=Dimension.PLATFORM) == Movers()
    earlier = previous(BEFORE)  # no rows at all
    assert movers(engine, BUILTIN["clicks"], BEFORE, earlier, by=Dimension.PLATFORM) == Movers()


def test_mixed_currencies_give_no_movers(engine: Engine, tmp_path: Path) -> None:
    rows = [
        row(BEFORE.start, "meta", clicks=10, spend=10.0, impressions=100),
        row(WEEK.start, "meta", clicks=10, spend=20.0, impressions=100),
        row(WEEK.start, "google-ads", clicks=30, spend=5.0, impressions=100, currency="USD"),
    ]
    load(engine, frame(*rows), tmp_path)
    for name in ("cpc", "revenue"):
        found = movers(engine, BUILTIN[name], WEEK, BEFORE, by=Dimension.PLATFORM)
        assert found == Movers(), name
    # KPIs without money are not concerned
    ctr = movers(engine, BUILTIN["ctr"], WEEK, BEFORE, by=Dimension.PLATFORM)
    assert ctr != Movers()
    # a currency that changed between the periods is not comparable either
    load(engine, frame(rows[0], {**rows[2], "platform": "meta"}), tmp_path)
    assert movers(engine, BUILTIN["cpc"], WEEK, BEFORE, by=Dimension.PLATFORM) == Movers()


def test_filters_scope_the_split(engine: Engine, tmp_path: Path) -> None:
    load(
        engine,
        frame(
            row(BEFORE.start, "meta", "A", clicks=10),
            row(WEEK.start, "meta", "A", clicks=30),
            row(WEEK.start, "tiktok", "B", clicks=99),
        ),
        tmp_path,
    )
    filters = ((Dimension.PLATFORM, ("meta",)),)
    found = movers(engine, BUILTIN["clicks"], WEEK, BEFORE, filters=filters, by=Dimension.CAMPAIGN)
    assert [(m.label, m.contribution) for m in found.good] == [("A", 20)]


def test_reach_follower_growth_and_non_linear_formulas_are_not_split() -> None:
    assert not decomposable(BUILTIN["reach"])
    assert not decomposable(BUILTIN["follower_growth"])
    squared = SumKpi(
        name="squared", description="x", unit=Unit.COUNT, formula=parse("clicks * clicks")
    )
    shifted = RatioKpi(
        name="shifted",
        description="x",
        unit=Unit.COUNT,
        numerator=parse("clicks + 1"),
        denominator=parse("impressions"),
    )
    scaled = RatioKpi(
        name="scaled",
        description="x",
        unit=Unit.COUNT,
        numerator=parse("2 * clicks - shares / 4"),
        denominator=parse("-(0 - impressions)"),
    )
    assert not decomposable(squared)
    assert not decomposable(shifted)
    assert decomposable(scaled)
    assert all(decomposable(k) for k in BUILTIN if isinstance(k, SumKpi | RatioKpi))


def test_reach_gives_no_movers(engine: Engine, tmp_path: Path) -> None:
    load(
        engine,
        frame(row(WEEK.start, "meta", reach=10), row(BEFORE.start, "meta", reach=5)),
        tmp_path,
    )
    for name in ("reach", "follower_growth"):
        assert movers(engine, BUILTIN[name], WEEK, BEFORE, by=Dimension.PLATFORM) == Movers()


# -- realistic data ------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["ctr", "cpc", "roas", "engagements", "conversion_rate", "roi"])
@pytest.mark.parametrize("by", [Dimension.PLATFORM, Dimension.CAMPAIGN])
def test_demo_contributions_add_up_to_the_answer_change(
    demo_store: Engine, name: str, by: Dimension
) -> None:
    kpi = BUILTIN[name]
    found = movers(demo_store, kpi, WEEK, BEFORE, by=by, limit=10_000)
    total = change(demo_store, kpi)
    assert total is not None
    parts = [m.contribution for m in everything(found)]
    assert len(parts) > 1
    assert math.fsum(parts) == pytest.approx(total, rel=1e-9, abs=1e-12)
    biggest = max(parts, key=abs)
    shown = movers(demo_store, kpi, WEEK, BEFORE, by=by)
    assert biggest in [m.contribution for m in everything(shown)]
    assert len(shown.good) <= 3 and len(shown.bad) <= 3
