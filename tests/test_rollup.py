"""The daily rollup always equals the daily facts it summarises, across replacing imports."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import hypothesis.strategies as st
import pandas as pd
from hypothesis import HealthCheck, given, settings
from sqlalchemy import Engine, delete, func, select

from kpi.importers.reader import ReadOptions
from kpi.ingest import ingest_file
from kpi.store.schema import facts, imports, rollup_day, rollup_month, rollup_year, series
from tests.conftest import NOW

FIRST = dt.date(2025, 12, 1)  # exports may cross a year's end


def _export(start: int, length: int, account: str, clicks: int) -> pd.DataFrame:
    days = [(FIRST + dt.timedelta(days=start + i)).isoformat() for i in range(length)]
    return pd.DataFrame(
        {"date": days, "platform": "meta", "account": account, "campaign": "A", "clicks": clicks}
    )


def _daily_facts(engine: Engine) -> dict[tuple[str, str], float]:
    statement = (
        select(facts.c.period_start, series.c.account, func.sum(facts.c.clicks))
        .select_from(facts.join(series, series.c.id == facts.c.series_id))
        .where(facts.c.period_start == facts.c.period_end)
        .group_by(facts.c.period_start, series.c.account)
    )
    with engine.connect() as connection:
        return {(str(d), a): float(c) for d, a, c in connection.execute(statement)}


def _rollup(engine: Engine) -> dict[tuple[str, str], float]:
    statement = select(
        rollup_day.c.day, rollup_day.c.account, func.sum(rollup_day.c.clicks)
    ).group_by(rollup_day.c.day, rollup_day.c.account)
    with engine.connect() as connection:
        return {(str(d), a): float(c) for d, a, c in connection.execute(statement)}


def _monthly_facts(engine: Engine) -> dict[tuple[str, int], float]:
    statement = select(facts.c.period_start, facts.c.series_id, facts.c.clicks).where(
        facts.c.period_start == facts.c.period_end
    )
    totals: dict[tuple[str, int], float] = {}
    with engine.connect() as connection:
        for day, series_id, clicks in connection.execute(statement):
            key = (str(day)[:7], int(series_id))
            totals[key] = totals.get(key, 0.0) + float(clicks)
    return totals


def _monthly_rollup(engine: Engine) -> dict[tuple[str, int], float]:
    statement = select(
        rollup_month.c.month, rollup_month.c.series_id, func.sum(rollup_month.c.clicks)
    ).group_by(rollup_month.c.month, rollup_month.c.series_id)
    with engine.connect() as connection:
        return {(str(m)[:7], int(s)): float(c) for m, s, c in connection.execute(statement)}


def _yearly(totals: dict[tuple[str, int], float]) -> dict[tuple[str, int], float]:
    years: dict[tuple[str, int], float] = {}
    for (month, series_id), clicks in totals.items():
        key = (month[:4], series_id)
        years[key] = years.get(key, 0.0) + clicks
    return years


def _yearly_rollup(engine: Engine) -> dict[tuple[str, int], float]:
    statement = select(rollup_year.c.year, rollup_year.c.series_id, rollup_year.c.clicks)
    with engine.connect() as connection:
        return {(str(y)[:4], int(s)): float(c) for y, s, c in connection.execute(statement)}


@settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    exports=st.lists(
        st.tuples(
            st.integers(0, 50),
            st.integers(1, 40),
            st.sampled_from(["eu", "us"]),
            st.integers(0, 99),
        ),
        min_size=1,
        max_size=5,
    )
)
def test_rollup_matches_facts_after_any_sequence_of_imports(
    engine: Engine, tmp_path: Path, exports: list[tuple[int, int, str, int]]
) -> None:
    with engine.begin() as connection:
        for table in (rollup_day, rollup_month, rollup_year, facts, series, imports):
            connection.execute(delete(table))
    for number, (start, length, account, clicks) in enumerate(exports):
        path = tmp_path / f"export{number}.csv"
        _export(start, length, account, clicks).to_csv(path, index=False)
        ingest_file(engine, path, ReadOptions(today=NOW.date()), now=NOW, source="canonical")
    assert _rollup(engine) == _daily_facts(engine)
    assert _monthly_rollup(engine) == _monthly_facts(engine)
    assert _yearly_rollup(engine) == _yearly(_monthly_facts(engine))


def test_month_end_of_any_day() -> None:
    from kpi.store.rollups import month_end

    assert month_end(dt.date(2025, 12, 31)) == dt.date(2025, 12, 31)
    assert month_end(dt.date(2024, 2, 10)) == dt.date(2024, 2, 29)
    assert month_end(dt.date(2026, 1, 1)) == dt.date(2026, 1, 31)
