"""LinkedIn Campaign Manager reports: UTF-16/tab or UTF-8/comma, preamble, US dates, Total row."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine

from kpi.importers.text import detect_encoding
from tests.importers.store_queries import day, fixture, ingest, periods, rows, total

VARIANTS = ["linkedin_ads_daily_utf16.csv", "linkedin_ads_daily_utf8.csv"]


def test_the_excel_variant_is_utf16_with_tabs() -> None:
    raw = fixture("linkedin_ads_daily_utf16.csv").read_bytes()
    assert raw.startswith(b"\xff\xfe")
    assert "\t".encode("utf-16-le") in raw
    assert detect_encoding(fixture("linkedin_ads_daily_utf16.csv")) == "utf-16"


@pytest.mark.parametrize("name", VARIANTS)
def test_daily_report(engine: Engine, name: str) -> None:
    report = ingest(engine, fixture(name))

    assert report.source == "linkedin-ads"
    assert (report.rows_written, report.rows_skipped) == (3, 1)  # the final Total row
    stored = rows(engine, "spend", "impressions", "clicks")
    assert [(r.period_start, r.period_end, r.item) for r in stored] == [
        (day("2026-05-03"), day("2026-05-03"), "Webinar carousel"),  # 5/3/2026 is May 3
        (day("2026-05-03"), day("2026-05-03"), "Webinar video"),
        (day("2026-05-12"), day("2026-05-12"), "Webinar carousel"),
    ]
    assert {(r.platform, r.account, r.campaign, r.currency) for r in stored} == {
        ("linkedin", "Acme B2B", "CFO webinar", "USD")
    }


@pytest.mark.parametrize("name", VARIANTS)
def test_daily_report_totals(engine: Engine, name: str) -> None:
    ingest(engine, fixture(name))

    assert total(engine, "spend") == pytest.approx(454.00)
    assert total(engine, "impressions") == 15590
    assert total(engine, "clicks") == 176
    assert total(engine, "likes") == 117  # Reactions
    assert total(engine, "conversions") == 14  # Leads
    assert total(engine, "reach") == 11700


def test_report_without_daily_breakdown_covers_the_preamble_window(engine: Engine) -> None:
    ingest(engine, fixture("linkedin_ads_totals.csv"))

    assert periods(engine) == {(day("2026-05-04"), day("2026-05-10"))}
