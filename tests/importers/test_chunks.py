"""Files are read in chunks; what is stored must not depend on the chunk size."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Engine

from kpi.errors import IngestError
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


@pytest.mark.parametrize("name", NAMES)
def test_a_reader_process_stores_the_same_rows_and_warnings(engine: Engine, name: str) -> None:
    """Large files are parsed in a forked reader process: the store, the counts and the warnings
    are those of parsing in the importer's own process."""
    measures = ("impressions", "clicks", "spend", "sessions", "conversions")
    inline = ingest(engine, fixture(name), chunk_rows=2, worker=False)
    stored = rows(engine, *measures)

    forked = ingest(engine, fixture(name), chunk_rows=2, worker=True)

    assert rows(engine, *measures) == stored
    assert forked.rows_replaced == inline.rows_written
    assert (forked.rows_read, forked.rows_written, forked.rows_skipped) == (
        inline.rows_read,
        inline.rows_written,
        inline.rows_skipped,
    )
    assert forked.warnings == inline.warnings
    assert forked.coverage == inline.coverage


def test_warnings_found_in_several_chunks_count_every_chunk(engine: Engine, tmp_path: Path) -> None:
    lines = [f"2026-03-0{d},meta,ad{d},10,{20 + d}\n" for d in range(1, 6)]
    path = write(tmp_path, "clicks.csv", "date,platform,item,impressions,clicks\n" + "".join(lines))

    for worker in (False, True):
        report = ingest(engine, path, chunk_rows=2, worker=worker)
        assert report.warnings == (
            "5 rows have more clicks than impressions (line 2, 3, 4 and 2 more)",
        )


def test_an_error_in_the_reader_process_names_its_line_and_writes_nothing(
    engine: Engine, tmp_path: Path
) -> None:
    good = "".join(f"2026-03-0{d},meta,ad{d},10,1\n" for d in range(1, 6))
    path = write(
        tmp_path,
        "bad.csv",
        "date,platform,item,impressions,clicks\n" + good + "2026-03-09,meta,x,ten,1\n",
    )

    with pytest.raises(IngestError) as raised:
        ingest(engine, path, chunk_rows=2, worker=True)

    assert (raised.value.line, raised.value.column, raised.value.value) == (7, "impressions", "ten")
    assert rows(engine) == []
