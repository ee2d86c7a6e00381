"""Real Google Ads downloads (shared/data/real): preamble window, Total rows, per-item rows."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Engine

from tests.importers.store_queries import day, ingest, periods, rows, total

LANDING = "google_ads_landing_page_report.csv"
AGE = "google_ads_age_report_sample.csv"
WINDOW = (day("2025-05-18"), day("2025-08-15"))
#: What the file's own ``Total: Landing pages`` row says.
REPORTED_IMPRESSIONS = 1_755_879


def test_landing_page_report_skips_total_rows(engine: Engine, real_data: Path) -> None:
    report = ingest(engine, real_data / LANDING)

    assert report.source == "google-ads"
    assert (report.rows_read, report.rows_written, report.rows_skipped) == (22, 15, 7)
    assert periods(engine) == {WINDOW}
    assert total(engine, "clicks") == 127_896
    assert total(engine, "spend") == pytest.approx(234_932.11)
    assert {r.currency for r in rows(engine)} == {"USD"}


def test_landing_page_impressions_are_not_additive(engine: Engine, real_data: Path) -> None:
    ingest(engine, real_data / LANDING)

    stored = rows(engine, "impressions")
    assert len(stored) == len({r.item for r in stored}) == 15  # one row per landing page
    assert all(r.item.startswith("http") for r in stored)
    by_page = {r.item: r["impressions"] for r in stored}
    assert by_page["https://fitnessconnection.com/"] == 1_414_877
    assert by_page["https://fitnessconnection.com/join-now/"] == 1
    # The same impression is counted under several landing pages: the rows add up to more than
    # the report's own total, so the sum of stored rows is not the account's impressions.
    assert total(engine, "impressions") == 2_709_020
    assert total(engine, "impressions") != REPORTED_IMPRESSIONS


def test_age_report_totals(engine: Engine, real_data: Path) -> None:
    report = ingest(engine, real_data / AGE)

    assert (report.rows_written, report.rows_skipped) == (17, 0)
    assert periods(engine) == {WINDOW}
    assert total(engine, "impressions") == 16_055
    assert total(engine, "clicks") == 1_559  # Interactions
    assert total(engine, "spend") == pytest.approx(1_365.71)
    assert total(engine, "conversions") == pytest.approx(72.58)


def test_age_report_rows_are_per_ad_group_and_age(engine: Engine, real_data: Path) -> None:
    ingest(engine, real_data / AGE)

    stored = rows(engine, "impressions")
    assert len({(r.campaign, r.item) for r in stored}) == 17
    assert (
        "PP_FIT_SRCH_Google_CON_GEN_General_SanAntonioBlanco",
        "General_Gyms / 45 - 54",
    ) in {(r.campaign, r.item) for r in stored}
