"""``ask()`` on hand-made data: the rules a marketer would check by hand."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import Engine, update

from kpi.aggregate import Scope, window_sums
from kpi.answer import TargetState, Verdict
from kpi.catalog import BUILTIN
from kpi.dimensions import Dimension
from kpi.measures import Measure
from kpi.periods import Grain, Period, previous, resolve
from kpi.query import ask
from kpi.request import Breakdown, Request
from kpi.store.schema import rollup_year
from kpi.targets import Target, TargetGrain, save
from kpi.targets import load as load_targets
from tests.conftest import NOW
from tests.query_data import load

TODAY = dt.date(2026, 11, 23)
LAST_WEEK = resolve("last-week", TODAY)  # 2026-11-16 .. 2026-11-22


def days(start: str, count: int) -> list[str]:
    first = dt.date.fromisoformat(start)
    return [(first + dt.timedelta(days=i)).isoformat() for i in range(count)]


def daily(platform: str, start: str, count: int, **measures: float | None) -> pd.DataFrame:
    rows = [
        {"period_start": d, "period_end": d, "platform": platform, "currency": "EUR", **measures}
        for d in days(start, count)
    ]
    return pd.DataFrame(rows)


def test_ctr_is_a_ratio_of_sums_with_change_and_verdict(engine: Engine, tmp_path: Path) -> None:
    frame = pd.concat(
        [
            daily("meta", "2026-11-09", 7, impressions=1000, clicks=10),  # week before: 1.00 %
            daily("meta", "2026-11-16", 7, impressions=1000, clicks=20),
            daily("tiktok", "2026-11-16", 7, impressions=9000, clicks=9),
        ]
    )
    load(engine, frame, tmp_path)
    question = Request(BUILTIN["ctr"], LAST_WEEK, previous(LAST_WEEK), Breakdown.PLATFORM)

    answer = ask(engine, question, today=TODAY)

    assert answer.value == pytest.approx(29 * 7 / (10_000 * 7))  # not the mean of 2 % and 0.1 %
    assert answer.comparison is not None
    assert answer.comparison.value == pytest.approx(0.01)
    assert answer.comparison.change_pp == pytest.approx(0.0029 - 0.01)
    assert answer.comparison.verdict is Verdict.BAD
    assert [row.label for row in answer.breakdown] == ["tiktok", "meta"]  # by impressions
    assert answer.coverage is not None and answer.coverage.days_with_data == 7
    assert len(answer.series) == 8 and answer.series[-1].value == answer.value


def test_lower_is_better_kpis_read_a_drop_as_good(engine: Engine, tmp_path: Path) -> None:
    frame = pd.concat(
        [
            daily("meta", "2026-11-09", 7, clicks=100, spend=200.0),
            daily("meta", "2026-11-16", 7, clicks=100, spend=100.0),
        ]
    )
    load(engine, frame, tmp_path)
    answer = ask(engine, Request(BUILTIN["cpc"], LAST_WEEK, previous(LAST_WEEK)), today=TODAY)
    assert answer.value == pytest.approx(1.0)
    assert answer.currency == "EUR"
    assert answer.comparison is not None and answer.comparison.verdict is Verdict.GOOD


def test_zero_denominator_is_no_value(engine: Engine, tmp_path: Path) -> None:
    load(engine, daily("meta", "2026-11-16", 7, impressions=0, clicks=0), tmp_path)
    answer = ask(engine, Request(BUILTIN["ctr"], LAST_WEEK), today=TODAY)
    assert answer.value is None


def test_reach_is_exact_only_for_an_exact_window_row(engine: Engine, tmp_path: Path) -> None:
    week = pd.DataFrame(
        [
            {
                "period_start": "2026-11-16",
                "period_end": "2026-11-22",
                "platform": "meta",
                "item": "weekly",
                "reach": 5000,
            }
        ]
    )
    load(engine, week, tmp_path)
    assert ask(engine, Request(BUILTIN["reach"], LAST_WEEK), today=TODAY).value == 5000

    load(engine, daily("meta", "2026-11-16", 7, reach=1000), tmp_path)
    answer = ask(engine, Request(BUILTIN["reach"], LAST_WEEK), today=TODAY)
    assert answer.value is None
    assert answer.bounds is not None
    assert (answer.bounds.lower, answer.bounds.upper) == (1000, 7000)
    assert any("not available" in warning for warning in answer.warnings)


def test_partial_overlaps_are_left_out_and_said(engine: Engine, tmp_path: Path) -> None:
    frame = pd.DataFrame(
        [
            {
                "period_start": "2026-11-10",
                "period_end": "2026-11-18",
                "platform": "meta",
                "clicks": 90,
            },
            {
                "period_start": "2026-11-17",
                "period_end": "2026-11-17",
                "platform": "meta",
                "clicks": 5,
            },
        ]
    )
    load(engine, frame, tmp_path)
    answer = ask(engine, Request(BUILTIN["clicks"], LAST_WEEK), today=TODAY)
    assert answer.value == 5
    assert any("1 rows that only partly overlap" in w for w in answer.warnings)


def test_mixed_currencies_are_never_added(engine: Engine, tmp_path: Path) -> None:
    frame = pd.concat(
        [
            daily("meta", "2026-11-16", 7, spend=10.0, clicks=5),
            daily("google-ads", "2026-11-16", 7, spend=10.0, clicks=5).assign(currency="USD"),
        ]
    )
    load(engine, frame, tmp_path)
    answer = ask(
        engine, Request(BUILTIN["spend"], LAST_WEEK, None, Breakdown.PLATFORM), today=TODAY
    )
    assert answer.value is None
    assert any("mixed currencies (EUR, USD)" in w for w in answer.warnings)
    assert {row.label: row.value for row in answer.breakdown} == {
        "meta": pytest.approx(70.0),
        "google-ads": pytest.approx(70.0),
    }


def test_engagements_count_an_unreported_measure_as_zero(engine: Engine, tmp_path: Path) -> None:
    frame = daily("linkedin", "2026-11-16", 7, likes=3, comments=1, shares=1, saves=None)
    load(engine, frame, tmp_path)
    answer = ask(engine, Request(BUILTIN["engagements"], LAST_WEEK), today=TODAY)
    assert answer.value == 35


def test_follower_growth_from_the_followers_level(engine: Engine, tmp_path: Path) -> None:
    levels = pd.DataFrame(
        {
            "period_start": days("2026-11-14", 9),
            "period_end": days("2026-11-14", 9),
            "platform": "instagram",
            "followers": [100, 110, 120, 121, 122, 130, 131, 135, 140],
        }
    )
    load(engine, levels, tmp_path)
    answer = ask(engine, Request(BUILTIN["follower_growth"], LAST_WEEK), today=TODAY)
    assert answer.value == 140 - 110  # level on 11-22 minus level on 11-15


def test_low_volume_is_flagged(engine: Engine, tmp_path: Path) -> None:
    load(engine, daily("meta", "2026-11-16", 7, impressions=10, clicks=1), tmp_path)
    answer = ask(engine, Request(BUILTIN["ctr"], LAST_WEEK), today=TODAY)
    assert answer.low_volume
    assert any("low volume" in w for w in answer.warnings)


def test_top_n_then_others(engine: Engine, tmp_path: Path) -> None:
    frame = pd.concat(
        daily("meta", "2026-11-16", 1, clicks=100 - i).assign(campaign=f"C{i:02d}")
        for i in range(13)
    )
    load(engine, frame, tmp_path)
    question = Request(BUILTIN["clicks"], LAST_WEEK, breakdown=Breakdown.CAMPAIGN)
    answer = ask(engine, question, today=TODAY, top=10)
    assert [r.label for r in answer.breakdown[:3]] == ["C00", "C01", "C02"]
    assert answer.breakdown[-1].others and answer.breakdown[-1].value == 90 + 89 + 88
    assert len(answer.breakdown) == 11


def test_time_breakdown_and_filters(engine: Engine, tmp_path: Path) -> None:
    frame = pd.concat(
        [daily("meta", "2026-10-01", 31, clicks=1), daily("tiktok", "2026-10-01", 31, clicks=5)]
    )
    load(engine, frame, tmp_path)
    october = resolve("2026-10", TODAY)
    question = Request(
        BUILTIN["clicks"],
        october,
        breakdown=Breakdown.WEEK,
        filters=((Dimension.PLATFORM, ("meta",)),),
    )
    answer = ask(engine, question, today=TODAY)
    assert answer.value == 31
    assert [r.label for r in answer.breakdown][:2] == ["2026-W40", "2026-W41"]
    assert [r.value for r in answer.breakdown] == [4, 7, 7, 7, 6]


def test_target_status_applies_to_the_same_kpi_scope_and_grain(
    engine: Engine, tmp_path: Path
) -> None:
    load(engine, daily("meta", "2026-11-16", 7, impressions=10_000, clicks=100), tmp_path)
    save(engine, Target("ctr", ">=", 0.012, TargetGrain.WEEK), now=NOW)
    answer = ask(
        engine, Request(BUILTIN["ctr"], LAST_WEEK), today=TODAY, targets=load_targets(engine)
    )
    assert answer.target is not None
    assert answer.target.state is TargetState.MISSED
    assert answer.target.margin == pytest.approx(0.01 - 0.012)
    month = Period(dt.date(2026, 11, 1), dt.date(2026, 11, 22), "mtd", Grain.MONTH)
    other = ask(engine, Request(BUILTIN["ctr"], month), today=TODAY, targets=load_targets(engine))
    assert other.target is None  # a week target does not judge a month


def test_campaign_breakdown_over_whole_months_and_edges(engine: Engine, tmp_path: Path) -> None:
    frame = pd.concat(
        [
            daily("meta", "2026-01-15", 86, clicks=1).assign(campaign="A"),
            daily("tiktok", "2026-01-15", 86, clicks=2).assign(campaign="B"),
            pd.DataFrame(  # a period total inside the window counts once, whole
                [
                    {
                        "period_start": "2026-02-03",
                        "period_end": "2026-02-09",
                        "platform": "meta",
                        "campaign": "A",
                        "item": "weekly",
                        "clicks": 100,
                    }
                ]
            ),
        ]
    )
    load(engine, frame, tmp_path)
    window = Period(dt.date(2026, 1, 20), dt.date(2026, 4, 5), "window", Grain.RANGE)
    request = Request(BUILTIN["clicks"], window, breakdown=Breakdown.CAMPAIGN)
    answer = ask(engine, request, today=TODAY)
    days = (window.end - window.start).days + 1
    assert {row.label: row.value for row in answer.breakdown} == {"A": days + 100, "B": 2 * days}
    assert answer.value == 3 * days + 100


def test_campaign_breakdown_over_whole_years_months_and_edges(
    engine: Engine, tmp_path: Path
) -> None:
    """A window from mid-November 2024 to early February 2026 reads the year 2025 from the yearly
    rollup, December 2024 and January 2026 from the monthly one, and its edge days from the
    facts; a year by campaign reads the yearly rollup alone. Both must equal day counting."""
    frame = pd.concat(
        [
            daily("meta", "2024-11-01", 480, clicks=1).assign(campaign="A"),
            daily("tiktok", "2024-11-01", 480, clicks=2, spend=1.5).assign(campaign="B"),
            pd.DataFrame(  # a period total inside 2025 counts once, whole
                [
                    {
                        "period_start": "2025-06-02",
                        "period_end": "2025-06-08",
                        "platform": "meta",
                        "campaign": "A",
                        "item": "weekly",
                        "clicks": 100,
                    }
                ]
            ),
        ]
    )
    load(engine, frame, tmp_path)
    for start, end, extra in (
        (dt.date(2024, 11, 20), dt.date(2026, 2, 5), 100),
        (dt.date(2025, 1, 1), dt.date(2025, 12, 31), 100),
        (dt.date(2024, 12, 1), dt.date(2026, 1, 31), 100),
    ):
        window = Period(start, end, "window", Grain.RANGE)
        answer = ask(
            engine, Request(BUILTIN["clicks"], window, breakdown=Breakdown.CAMPAIGN), today=TODAY
        )
        days = (end - start).days + 1
        assert {row.label: row.value for row in answer.breakdown} == {
            "A": days + extra,
            "B": 2 * days,
        }
        cpc = ask(
            engine, Request(BUILTIN["cpc"], window, breakdown=Breakdown.CAMPAIGN), today=TODAY
        )
        assert {row.label: row.value for row in cpc.breakdown}["B"] == pytest.approx(0.75)
    with engine.begin() as connection:  # the year 2025 is read from its rollup, not its months
        connection.execute(update(rollup_year).values(clicks=rollup_year.c.clicks + 1000))
    year = Period(dt.date(2025, 1, 1), dt.date(2025, 12, 31), "window", Grain.RANGE)
    answer = ask(
        engine, Request(BUILTIN["clicks"], year, breakdown=Breakdown.CAMPAIGN), today=TODAY
    )
    assert {row.label: row.value for row in answer.breakdown} == {"A": 1465, "B": 1730}


def test_sums_by_campaign_and_day_keep_each_days_row_over_whole_months(
    engine: Engine, tmp_path: Path
) -> None:
    """Grouped by period, the sums come back as the rows' own dates even when the window holds
    whole months: a caller sharing them out to weeks must not meet a month-long row."""
    frame = pd.concat(
        [
            daily("meta", "2026-01-01", 90, clicks=1).assign(campaign="A"),
            daily("tiktok", "2026-01-01", 90, clicks=2).assign(campaign="B"),
        ]
    )
    load(engine, frame, tmp_path)
    with engine.connect() as connection:
        sums = window_sums(
            connection,
            dt.date(2026, 1, 1),
            dt.date(2026, 3, 31),
            [Measure.CLICKS],
            Scope(),
            ["period_start", "period_end", "campaign"],
        )
    assert len(sums) == 180
    assert (sums["period_start"] == sums["period_end"]).all()
    assert sums.groupby("campaign")["clicks"].sum().to_dict() == {"A": 90, "B": 180}


def _campaigns(**clicks: float) -> pd.DataFrame:
    return pd.concat(
        daily("meta", "2026-11-16", 1, clicks=count).assign(campaign=name)
        for name, count in clicks.items()
    )


def test_equal_weights_rank_by_name_whatever_the_order_rows_come_in(
    engine: Engine, tmp_path: Path
) -> None:
    question = Request(BUILTIN["clicks"], LAST_WEEK, breakdown=Breakdown.CAMPAIGN)
    tied = {"b": 5, "B": 5, "Éte": 5, "A": 5, "top": 9, "zz": 1}
    found = []
    for order in (list(tied), list(reversed(tied))):
        load(engine, _campaigns(**{name: tied[name] for name in order}), tmp_path)
        answer = ask(engine, question, today=TODAY, top=3)
        found.append([(row.label, row.value) for row in answer.breakdown])
    # Code-point order, as Python compares strings: "A" < "B" < "b" < "Éte".
    assert found[0] == [("top", 9), ("A", 5), ("B", 5), ("3 others", 5 + 5 + 1)]
    assert found[1] == found[0]


def test_others_is_the_ratio_of_the_rests_sums_never_an_average(
    engine: Engine, tmp_path: Path
) -> None:
    frame = pd.concat(
        [
            daily("meta", "2026-11-16", 1, impressions=5000, clicks=50).assign(campaign="big"),
            daily("meta", "2026-11-16", 1, impressions=100, clicks=1).assign(campaign="1%"),
            daily("meta", "2026-11-16", 1, impressions=900, clicks=90).assign(campaign="10%"),
            daily("meta", "2026-11-16", 1, impressions=0, clicks=0).assign(campaign="none"),
        ]
    )
    load(engine, frame, tmp_path)
    question = Request(BUILTIN["ctr"], LAST_WEEK, breakdown=Breakdown.CAMPAIGN)
    answer = ask(engine, question, today=TODAY, top=1)
    big, others = answer.breakdown
    assert big.label == "big" and big.value == pytest.approx(0.01)
    assert others.others and others.label == "3 others"
    assert others.value == pytest.approx(91 / 1000)  # the mean of 1 %, 10 % and none is not it
    assert others.volume == 1000
    everything = ask(engine, question, today=TODAY, top=10)
    # By volume (impressions): a zero denominator has no value and ranks after the others.
    assert [(r.label, r.value) for r in everything.breakdown][2:] == [("1%", 0.01), ("none", None)]


def test_others_never_add_amounts_in_different_currencies(engine: Engine, tmp_path: Path) -> None:
    frame = pd.concat(
        [
            daily("meta", "2026-11-16", 1, spend=500.0).assign(campaign="A"),
            daily("meta", "2026-11-16", 1, spend=20.0).assign(campaign="B"),
            daily("meta", "2026-11-16", 1, spend=10.0).assign(campaign="C"),
            daily("google-ads", "2026-11-16", 1, spend=10.0).assign(campaign="C", currency="USD"),
        ]
    )
    load(engine, frame, tmp_path)
    question = Request(BUILTIN["spend"], LAST_WEEK, breakdown=Breakdown.CAMPAIGN)
    answer = ask(engine, question, today=TODAY, top=1)
    # C mixes EUR and USD: it has no value, and neither has any total that includes it.
    assert [(row.label, row.value) for row in answer.breakdown] == [
        ("A", 500.0),
        ("2 others", None),
    ]
    shown = ask(engine, question, today=TODAY, top=2)
    assert [(row.label, row.value) for row in shown.breakdown] == [
        ("A", 500.0),
        ("B", 20.0),
        ("1 others", None),
    ]


def test_reach_others_when_some_groups_report_no_reach(engine: Engine, tmp_path: Path) -> None:
    frame = pd.concat(
        [
            daily("meta", "2026-11-16", 7, reach=100).assign(campaign="seen"),
            daily("google-ads", "2026-11-16", 7, impressions=10).assign(campaign="search 1"),
            daily("google-ads", "2026-11-16", 7, impressions=10).assign(campaign="search 2"),
        ]
    )
    load(engine, frame, tmp_path)
    question = Request(BUILTIN["reach"], LAST_WEEK, breakdown=Breakdown.CAMPAIGN)
    answer = ask(engine, question, today=TODAY, top=1)
    seen, others = answer.breakdown
    assert seen.label == "seen" and seen.bounds is not None and seen.bounds.upper == 700
    assert others.others and others.value is None and others.bounds is None
