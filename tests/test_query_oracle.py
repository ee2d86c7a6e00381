"""``ask()`` against a brute-force pandas oracle on random data, on SQLite and PostgreSQL.

The oracle reads the generated rows directly: a row counts in a window only if it lies inside
it, rates are ratios of sums, reach is exact only for a row covering exactly the window.
"""

from __future__ import annotations

import datetime as dt
import math
from pathlib import Path

import hypothesis.strategies as st
import pandas as pd
from hypothesis import HealthCheck, given, settings
from sqlalchemy import Engine

from kpi.catalog import BUILTIN, Kpi, RatioKpi, SumKpi, UniqueKpi
from kpi.dimensions import Dimension
from kpi.evaluate import fill_unreported_terms
from kpi.measures import Measure
from kpi.periods import Grain, Period, previous
from kpi.query import ask
from kpi.request import Breakdown, Request
from tests.query_data import load, row_keys

FIRST = dt.date(2026, 1, 1)
DAYS = 100
PLATFORMS = ("meta", "tiktok", "linkedin")
CAMPAIGNS = ("A", "B", "C")
KPIS = ("clicks", "ctr", "cpc", "engagements", "engagement_rate", "roas", "reach", "spend")


@st.composite
def frames(draw: st.DrawFn) -> pd.DataFrame:
    keys = draw(row_keys(PLATFORMS, CAMPAIGNS, DAYS, 80))
    rows = []
    for platform, campaign, offset, length in keys:
        start = FIRST + dt.timedelta(days=offset)
        impressions = draw(st.integers(0, 5000))
        optional = st.one_of(st.none(), st.integers(0, 300))
        rows.append(
            {
                "period_start": start.isoformat(),
                "period_end": (start + dt.timedelta(days=length)).isoformat(),
                "platform": platform,
                "campaign": campaign,
                "currency": "EUR",
                "impressions": impressions,
                "clicks": draw(st.integers(0, impressions)),
                "spend": draw(st.one_of(st.none(), st.integers(0, 50_000).map(lambda c: c / 100))),
                "revenue": draw(
                    st.one_of(st.none(), st.integers(0, 90_000).map(lambda c: c / 100))
                ),
                "likes": draw(optional),
                "comments": draw(optional),
                "shares": draw(optional),
                "saves": None if platform == "linkedin" else draw(optional),
                "reach": draw(st.one_of(st.none(), st.integers(0, impressions))),
            }
        )
    return pd.DataFrame(rows)


def _inside(frame: pd.DataFrame, period: Period, platforms: tuple[str, ...]) -> pd.DataFrame:
    start, end = pd.to_datetime(frame["period_start"]), pd.to_datetime(frame["period_end"])
    mask = (start >= pd.Timestamp(period.start)) & (end <= pd.Timestamp(period.end))
    if platforms:
        mask &= frame["platform"].isin(platforms)
    return frame[mask]


def _sums(kpi: SumKpi | RatioKpi, rows: pd.DataFrame) -> dict[Measure, float | None]:
    sums: dict[Measure, float | None] = {}
    for measure in kpi.measures():
        column = pd.to_numeric(rows[measure.value], errors="coerce") if len(rows) else pd.Series()
        total = column.sum(min_count=1)
        sums[measure] = None if pd.isna(total) else float(total)
    fill_unreported_terms(kpi, sums)
    return sums


def oracle(kpi: Kpi, rows: pd.DataFrame, period: Period) -> float | None:
    if isinstance(kpi, UniqueKpi):
        present = rows[rows["reach"].notna()]
        exact = present[
            (present["period_start"] == period.start.isoformat())
            & (present["period_end"] == period.end.isoformat())
        ]
        one_series = present[["platform", "campaign"]].drop_duplicates().shape[0] == 1
        return float(exact["reach"].iloc[0]) if len(exact) == 1 and one_series else None
    assert isinstance(kpi, SumKpi | RatioKpi)
    return kpi.value(_sums(kpi, rows))


def weight(kpi: Kpi, rows: pd.DataFrame, period: Period) -> float:
    """What a breakdown ranks a group by: the denominator's sum for ratios, else the value; for
    reach without an exact value, the sum of the rows' reach (the upper bound)."""
    if isinstance(kpi, RatioKpi):
        measure = kpi.volume(_sums(kpi, rows))
    else:
        measure = oracle(kpi, rows, period)
        if measure is None and isinstance(kpi, UniqueKpi) and rows["reach"].notna().any():
            measure = float(pd.to_numeric(rows["reach"]).sum())
    return float("-inf") if measure is None else measure


def close(left: float | None, right: float | None) -> bool:
    if left is None or right is None:
        return left is right
    return math.isclose(left, right, rel_tol=1e-9, abs_tol=1e-9)


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    frame=frames(),
    name=st.sampled_from(KPIS),
    first=st.integers(0, DAYS - 1),
    length=st.integers(0, 70),
    platforms=st.sampled_from([(), ("meta",), ("meta", "tiktok")]),
    by=st.sampled_from([None, Breakdown.PLATFORM, Breakdown.CAMPAIGN]),
    top=st.sampled_from([10, 1, 2]),
)
def test_ask_matches_the_oracle(
    engine: Engine,
    tmp_path: Path,
    frame: pd.DataFrame,
    name: str,
    first: int,
    length: int,
    platforms: tuple[str, ...],
    by: Breakdown | None,
    top: int,
) -> None:
    load(engine, frame, tmp_path)
    kpi = BUILTIN[name]
    start = FIRST + dt.timedelta(days=first)
    period = Period(start, start + dt.timedelta(days=length), "window", Grain.RANGE)
    filters = ((Dimension.PLATFORM, platforms),) if platforms else ()
    before = previous(period)
    question = Request(
        kpi,
        period,
        comparison=before,
        breakdown=by,
        filters=filters,
    )

    answer = ask(engine, question, today=dt.date(2026, 6, 1), top=top)

    rows = _inside(frame, period, platforms)
    assert close(answer.value, oracle(kpi, rows, period)), (answer.value, oracle(kpi, rows, period))
    assert answer.comparison is not None
    earlier = oracle(kpi, _inside(frame, before, platforms), before)
    assert close(answer.comparison.value, earlier)
    if isinstance(kpi, UniqueKpi) and answer.value is None and rows["reach"].notna().any():
        assert answer.bounds is not None
        reach = pd.to_numeric(rows["reach"])
        assert (answer.bounds.lower, answer.bounds.upper) == (reach.max(), reach.sum())
    if by is not None:
        groups = {str(name): group for name, group in rows.groupby(by.value)}
        ranking = sorted(groups, key=lambda name: (-weight(kpi, groups[name], period), name))
        shown, rest = ranking[:top], ranking[top:]
        assert [row.label for row in answer.breakdown if not row.others] == shown
        for row in answer.breakdown[: len(shown)]:
            assert close(row.value, oracle(kpi, groups[row.label], period)), row.label
        others = [row for row in answer.breakdown if row.others]
        assert len(others) == (1 if rest else 0)
        if rest and not isinstance(kpi, UniqueKpi):  # the ratio of the rest's sums
            together = pd.concat([groups[name] for name in rest])
            assert others[0].label == f"{len(rest)} others"
            assert close(others[0].value, oracle(kpi, together, period))
    overlapping = frame[
        (pd.to_datetime(frame["period_end"]) >= pd.Timestamp(period.start))
        & (pd.to_datetime(frame["period_start"]) <= pd.Timestamp(period.end))
        & (frame["platform"].isin(platforms) if platforms else True)
    ]
    partial = len(overlapping) - len(rows)
    assert any("partly overlap" in w for w in answer.warnings) == (partial > 0)
