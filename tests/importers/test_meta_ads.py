"""Meta Ads Manager table exports: daily and range totals, English and French headers."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Engine

from tests.importers.store_queries import day, fixture, ingest, nulls, periods, rows, total, write


def test_daily_export_in_english(engine: Engine) -> None:
    report = ingest(engine, fixture("meta_ads_daily_en.csv"))

    assert report.source == "meta-ads"
    assert (report.rows_read, report.rows_written, report.rows_skipped) == (5, 4, 1)
    stored = rows(engine, "spend", "impressions", "clicks")
    assert {r.period for r in stored} == {
        (day("2026-05-01"), day("2026-05-01")),
        (day("2026-05-02"), day("2026-05-02")),
    }
    assert {(r.platform, r.account, r.campaign, r.currency) for r in stored} == {
        ("meta", "Acme EU", "Spring Sale", "EUR")
    }
    assert len({r.item for r in stored}) == 2
    assert total(engine, "spend") == pytest.approx(1280.50)
    assert total(engine, "impressions") == 5200
    assert total(engine, "reach") == 3700


def test_link_clicks_are_the_clicks_and_purchases_the_conversions(engine: Engine) -> None:
    ingest(engine, fixture("meta_ads_daily_en.csv"))

    assert total(engine, "clicks") == 100  # Link clicks; Clicks (all) would be 148
    assert total(engine, "conversions") == 6  # Purchases, not Results
    assert nulls(engine, "conversions") == 1  # the blank Purchases cell
    assert total(engine, "revenue") == pytest.approx(590.50)


def test_summary_row_is_not_stored(engine: Engine) -> None:
    report = ingest(engine, fixture("meta_ads_totals_en.csv"))

    assert report.rows_skipped == 1
    assert [r.campaign for r in rows(engine)] == ["Summer", "Summer"]
    assert total(engine, "spend") == pytest.approx(2345.67)  # the summary row says the same


def test_range_totals_keep_their_true_start_and_end(engine: Engine) -> None:
    report = ingest(engine, fixture("meta_ads_totals_en.csv"))

    assert periods(engine) == {(day("2026-05-01"), day("2026-05-31"))}
    assert [(c.start, c.end) for c in report.coverage] == [(day("2026-05-01"), day("2026-05-31"))]
    assert {r.currency for r in rows(engine)} == {"USD"}  # from "Amount spent (USD)"
    assert total(engine, "impressions") == 30000
    assert total(engine, "conversions") == 25


def test_daily_export_in_french_with_decimal_commas(engine: Engine) -> None:
    report = ingest(engine, fixture("meta_ads_daily_fr.csv"))

    assert report.source == "meta-ads"
    assert report.rows_skipped == 1
    stored = rows(engine, "spend", "impressions", "reach", "clicks", "conversions")
    assert [(r.period_start, r.campaign, r.item, r.currency) for r in stored] == [
        (day("2026-05-01"), "Promo été", "Pub 1", "EUR"),
        (day("2026-05-02"), "Promo été", "Pub 1", "EUR"),
    ]
    assert [r["spend"] for r in stored] == [pytest.approx(1000.50), pytest.approx(234.06)]
    assert [r["impressions"] for r in stored] == [2000, 1500]  # "2 000"
    assert total(engine, "reach") == 2100
    assert total(engine, "clicks") == 70
    assert total(engine, "conversions") == 5


def test_range_totals_in_french(engine: Engine) -> None:
    ingest(engine, fixture("meta_ads_totals_fr.csv"))

    assert periods(engine) == {(day("2026-04-01"), day("2026-04-30"))}
    assert total(engine, "spend") == pytest.approx(2000.00)  # 1.234,56 + 765,44
    assert total(engine, "impressions") == 18500  # 12.500 + 6.000
    assert total(engine, "reach") == 6150
    assert {r.currency for r in rows(engine)} == {"EUR"}


def test_ad_set_level_export_skips_the_summary_row(engine: Engine, tmp_path: Path) -> None:
    text = (
        "Reporting starts,Reporting ends,Ad set name,Amount spent (EUR),Impressions,Link clicks\n"
        "2026-05-01,2026-05-31,,300.00,3000,30\n"
        "2026-05-01,2026-05-31,Set A,100.00,1000,10\n"
        "2026-05-01,2026-05-31,Set B,200.00,2000,20\n"
    )

    report = ingest(engine, write(tmp_path, "adsets.csv", text))

    assert report.rows_skipped == 1
    assert total(engine, "spend") == pytest.approx(300.00)
    assert {"Set A", "Set B"} <= {v for r in rows(engine) for v in (r.campaign, r.item)}
