"""GA4 downloads: ``#`` preamble window, period totals or daily rows, several tables."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Engine

from tests.importers.store_queries import day, fixture, ingest, periods, rows, total, write

MAY = (day("2026-05-01"), day("2026-05-31"))


def test_report_without_date_is_a_total_for_the_preamble_window(engine: Engine) -> None:
    report = ingest(engine, fixture("ga4_channels.csv"))

    assert report.source == "ga4"
    assert (report.rows_written, report.rows_skipped) == (4, 1)  # "Grand total"
    assert periods(engine) == {MAY}
    assert [r.campaign for r in rows(engine)] == [
        "(not set)",
        "Direct",
        "Organic Search",
        "Paid Social",
    ]
    assert {r.platform for r in rows(engine)} == {"ga4"}
    assert total(engine, "sessions") == 19447
    assert total(engine, "engaged_sessions") == 11502
    assert total(engine, "conversions") == 234  # Key events
    assert total(engine, "revenue") == pytest.approx(9010.75)


def test_users_are_stored_per_row_with_their_window(engine: Engine) -> None:
    ingest(engine, fixture("ga4_channels.csv"))

    users = {r.campaign: r["users"] for r in rows(engine, "users")}
    assert users == {"Direct": 8327, "Organic Search": 6100, "Paid Social": 2950, "(not set)": 12}


def test_date_dimension_makes_daily_rows(engine: Engine) -> None:
    ingest(engine, fixture("ga4_daily.csv"))

    assert [(r.period_start, r.period_end, r.campaign) for r in rows(engine)] == [
        (day("2026-05-01"), day("2026-05-01"), "Direct"),
        (day("2026-05-01"), day("2026-05-01"), "Organic Search"),
        (day("2026-05-02"), day("2026-05-02"), "Direct"),
        (day("2026-05-03"), day("2026-05-03"), "Direct"),
    ]
    assert total(engine, "sessions") == 1160
    assert total(engine, "revenue") == pytest.approx(475.75)


def test_only_the_first_matching_table_is_read(engine: Engine) -> None:
    report = ingest(engine, fixture("ga4_two_tables.csv"))

    assert report.rows_read == 2
    assert periods(engine) == {(day("2026-06-01"), day("2026-06-30"))}
    assert [r.campaign for r in rows(engine)] == ["Direct", "Email"]
    assert total(engine, "sessions") == 5600  # not the 350 of the second, daily table


def test_a_leading_table_that_does_not_match_is_passed_over(engine: Engine, tmp_path: Path) -> None:
    chart = "# ----\n# Chart\n# ----\nNth day,Active users\n0000,10\n0001,12\n\n"
    text = chart + fixture("ga4_channels.csv").read_text(encoding="utf-8")

    ingest(engine, write(tmp_path, "ga4.csv", text))

    assert periods(engine) == {MAY}
    assert total(engine, "sessions") == 19447


def test_french_preamble_and_headers(engine: Engine) -> None:
    report = ingest(engine, fixture("ga4_fr.csv"))

    assert report.source == "ga4"
    assert report.rows_skipped == 1  # "Total général"
    assert periods(engine) == {(day("2026-04-01"), day("2026-04-30"))}
    stored = rows(engine, "sessions", "engaged_sessions", "users", "conversions")
    assert [r.campaign for r in stored] == ["Direct", "Réseaux sociaux naturels"]
    assert total(engine, "sessions") == 2420
    assert total(engine, "engaged_sessions") == 1480
    assert total(engine, "conversions") == 31
    assert total(engine, "revenue") == pytest.approx(1100.50)
