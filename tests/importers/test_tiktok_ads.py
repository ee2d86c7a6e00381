"""TikTok Ads Manager exports: destination clicks, masked ``<5`` cells, currency column."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine

from kpi.errors import IngestError
from tests.importers.store_queries import day, fixture, ingest, nulls, periods, rows, total, zeros

MAY = (day("2026-05-01"), day("2026-05-31"))


def test_daily_export(engine: Engine) -> None:
    report = ingest(engine, fixture("tiktok_ads_daily.csv"))

    assert report.source == "tiktok-ads"
    stored = rows(engine, "spend", "impressions")
    assert [(r.period_start, r.period_end, r.campaign, r.item) for r in stored] == [
        (day("2026-05-01"), day("2026-05-01"), "Launch", "Video A"),
        (day("2026-05-01"), day("2026-05-01"), "Launch", "Video B"),
        (day("2026-05-02"), day("2026-05-02"), "Launch", "Video A"),
    ]
    assert {(r.platform, r.currency) for r in stored} == {("tiktok", "EUR")}
    assert total(engine, "spend") == pytest.approx(70.00)
    assert total(engine, "impressions") == 27000  # "10,000" + "12,000" + 5000


def test_destination_clicks_are_the_clicks(engine: Engine) -> None:
    ingest(engine, fixture("tiktok_ads_daily.csv"))

    assert total(engine, "clicks") == 326  # Clicks (destination); Clicks (all) adds up to 486


def test_masked_small_values_are_null_not_zero(engine: Engine) -> None:
    ingest(engine, fixture("tiktok_ads_daily.csv"))

    assert nulls(engine, "conversions") == 1
    assert total(engine, "conversions") == 17
    assert nulls(engine, "comments") == 2
    assert total(engine, "comments") == 6
    assert nulls(engine, "follows") == 2
    assert zeros(engine, "comments") == 0


def test_range_totals_need_and_use_the_period(engine: Engine) -> None:
    with pytest.raises(IngestError, match="--period"):
        ingest(engine, fixture("tiktok_ads_totals.csv"))

    ingest(engine, fixture("tiktok_ads_totals.csv"), period=MAY)

    assert periods(engine) == {MAY}
    assert {r.currency for r in rows(engine)} == {"USD"}
    assert total(engine, "spend") == pytest.approx(1600.00)
    assert total(engine, "clicks") == 4000
    assert total(engine, "conversions") == 21
    assert nulls(engine, "conversions") == 1
