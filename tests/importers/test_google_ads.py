"""Google Ads report downloads: title and date-range lines, quoted thousands, ` --`, Total rows."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine

from tests.importers.store_queries import day, fixture, ingest, nulls, periods, rows, total, zeros

WINDOW = (day("2025-05-18"), day("2025-08-15"))


def test_campaign_report_is_a_period_total_for_the_preamble_range(engine: Engine) -> None:
    report = ingest(engine, fixture("google_ads_campaign.csv"))

    assert report.source == "google-ads"
    assert (report.rows_written, report.rows_skipped) == (3, 3)  # three "Total: ..." rows
    assert periods(engine) == {WINDOW}
    assert [r.campaign for r in rows(engine)] == [
        "Brand - Search",
        "Display - Remarketing",
        "Generic - Search",
    ]
    assert {(r.platform, r.currency) for r in rows(engine)} == {("google-ads", "USD")}


def test_campaign_report_numbers(engine: Engine) -> None:
    ingest(engine, fixture("google_ads_campaign.csv"))

    assert total(engine, "spend") == pytest.approx(1550.44)  # "1,038.34" + 512.10 + 0.00
    assert total(engine, "impressions") == 20360
    assert total(engine, "clicks") == 1285
    assert total(engine, "conversions") == pytest.approx(54.75)  # fractional conversions
    assert total(engine, "revenue") == pytest.approx(4130.00)


def test_not_applicable_cells_are_null_and_zeros_stay_zero(engine: Engine) -> None:
    ingest(engine, fixture("google_ads_campaign.csv"))

    assert nulls(engine, "conversions") == 1  # " --"
    assert nulls(engine, "revenue") == 1
    assert zeros(engine, "conversions") == 0
    assert zeros(engine, "spend") == 1  # 0.00 is a value
    assert nulls(engine, "spend") == 0


def test_report_segmented_by_day_is_daily(engine: Engine) -> None:
    report = ingest(engine, fixture("google_ads_daily.csv"))

    assert report.rows_skipped == 1
    assert [r.period for r in rows(engine)] == [
        (day("2025-05-18"), day("2025-05-18")),
        (day("2025-05-19"), day("2025-05-19")),
        (day("2025-05-20"), day("2025-05-20")),
    ]
    assert total(engine, "spend") == pytest.approx(1038.34)
    assert total(engine, "impressions") == 12356
    assert total(engine, "conversions") == pytest.approx(42.50)


def test_excel_csv_download_is_utf16_with_tabs(engine: Engine) -> None:
    raw = fixture("google_ads_excel_utf16.csv").read_bytes()
    assert raw.startswith(b"\xff\xfe")

    report = ingest(engine, fixture("google_ads_excel_utf16.csv"))

    assert report.source == "google-ads"
    assert report.rows_skipped == 1
    assert periods(engine) == {WINDOW}  # the unquoted date-range line
    assert [r.campaign for r in rows(engine)] == ["Brand - Search", "Généric \N{EN DASH} Search"]
    assert total(engine, "spend") == pytest.approx(1550.44)  # 1,038.34 unquoted in a tab file
    assert total(engine, "impressions") == 20360


def test_french_report(engine: Engine) -> None:
    report = ingest(engine, fixture("google_ads_fr.csv"))

    assert report.source == "google-ads"
    assert report.rows_skipped == 1
    assert periods(engine) == {WINDOW}  # "18 mai 2025 - 15 août 2025"
    stored = rows(engine, "spend", "clicks")
    assert [(r.campaign, r.currency, r["clicks"]) for r in stored] == [
        ("Marque - Réseau de Recherche", "EUR", 984)
    ]
    assert total(engine, "spend") == pytest.approx(1038.34)  # Coût
