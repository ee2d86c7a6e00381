"""The canonical format: the bot's own column names, several platforms in one file."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Engine

from tests.importers.store_queries import day, fixture, ingest, nulls, rows, total, totals_by, write


def test_rows_are_split_by_platform(engine: Engine) -> None:
    report = ingest(engine, fixture("canonical_daily.csv"))

    assert report.source == "canonical"
    assert [(c.platform, c.start, c.end) for c in report.coverage] == [
        ("facebook", day("2026-05-01"), day("2026-05-02")),
        ("instagram", day("2026-05-01"), day("2026-05-02")),
    ]
    assert totals_by(engine, "impressions", "platform") == {"facebook": 2100, "instagram": 4100}
    assert totals_by(engine, "spend", "platform") == {
        "facebook": pytest.approx(32.25),
        "instagram": pytest.approx(45.75),
    }
    assert {(r.account, r.campaign, r.currency) for r in rows(engine)} == {
        ("acme", "Spring Sale", "EUR")
    }


def test_empty_cells_are_null_and_net_follows_may_be_negative(engine: Engine) -> None:
    ingest(engine, fixture("canonical_daily.csv"))

    assert nulls(engine, "conversions", platform="instagram") == 1
    assert total(engine, "conversions", platform="instagram") == 3
    assert nulls(engine, "revenue") == 1
    assert totals_by(engine, "follows", "platform") == {"facebook": 5, "instagram": 4}


def test_platform_option_fills_a_missing_platform_column(engine: Engine, tmp_path: Path) -> None:
    path = write(tmp_path, "c.csv", "date,campaign,impressions,clicks\n2026-05-01,A,100,3\n")

    report = ingest(engine, path, platform="Facebook")

    assert report.source == "canonical"
    assert [(r.platform, r.campaign, r["clicks"]) for r in rows(engine, "clicks")] == [
        ("facebook", "A", 3)
    ]


def test_platform_names_are_normalised(engine: Engine, tmp_path: Path) -> None:
    text = "date,platform,clicks\n2026-05-01,Google Ads,1\n2026-05-01,FB,2\n2026-05-01,IG,4\n"

    ingest(engine, write(tmp_path, "c.csv", text))

    assert totals_by(engine, "clicks", "platform") == {
        "google-ads": 1,
        "facebook": 2,
        "instagram": 4,
    }


def test_account_option_names_the_account(engine: Engine, tmp_path: Path) -> None:
    path = write(tmp_path, "c.csv", "date,platform,clicks\n2026-05-01,tiktok,5\n")

    ingest(engine, path, account="acme-fr")

    assert [r.account for r in rows(engine)] == ["acme-fr"]
