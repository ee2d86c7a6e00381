"""Files are read in chunks; what is stored must not depend on the chunk size."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Engine

from kpi.importers import reader
from tests.importers.store_queries import day, fixture, ingest, rows, total, write

NAMES = ["canonical_daily.csv", "meta_ads_daily_en.csv", "ga4_channels.csv", "tiktok_ads_daily.csv"]


@pytest.mark.parametrize("name", NAMES)
def test_one_row_chunks_store_the_same_rows(engine: Engine, name: str) -> None:
    measures = ("impressions", "clicks", "spend", "sessions", "conversions")
    ingest(engine, fixture(name))
    whole = rows(engine, *measures)

    report = ingest(engine, fixture(name), chunk_rows=1)

    assert report.rows_replaced == len(whole)
    assert rows(engine, *measures) == whole


def test_realigned_rows_do_not_depend_on_the_chunk_size(engine: Engine, real_data: Path) -> None:
    path = real_data / "meta_ads_kaggle_facebook_ad_campaign_2017.csv"

    ingest(engine, path, source="canonical", platform="facebook", chunk_rows=100)

    assert total(engine, "impressions") == 213_434_828
    assert total(engine, "clicks") == 38_165


def test_date_format_does_not_depend_on_the_chunk_size(engine: Engine, tmp_path: Path) -> None:
    text = "date,platform,item,clicks\n05/03/2026,meta,a,1\n05/13/2026,meta,b,2\n"

    ingest(engine, write(tmp_path, "us.csv", text), chunk_rows=1)

    assert [(r.item, r.period_start) for r in rows(engine)] == [
        ("a", day("2026-05-03")),
        ("b", day("2026-05-13")),
    ]


def test_a_smaller_first_chunk_still_settles_the_date_format(
    engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The first chunk is smaller than the rest (the writer starts sooner); its dates alone fit
    day-first, so the format is still chosen from the whole file."""
    monkeypatch.setattr(reader, "FIRST_CHUNK_ROWS", 1)
    text = (
        "date,platform,item,clicks\n05/03/2026,meta,a,1\n05/13/2026,meta,b,2\n06/01/2026,meta,c,3\n"
    )

    report = ingest(engine, write(tmp_path, "us.csv", text), chunk_rows=1000)

    assert report.rows_written == 3
    assert [(r.item, r.period_start) for r in rows(engine)] == [
        ("a", day("2026-05-03")),
        ("b", day("2026-05-13")),
        ("c", day("2026-06-01")),
    ]
