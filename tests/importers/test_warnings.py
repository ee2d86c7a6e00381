"""Legal but unlikely rows are imported with a warning that names their lines."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine

from tests.importers.store_queries import ingest, total, write

HEADER = "date,platform,currency,impressions,clicks,spend\n"


def test_more_clicks_than_impressions(engine: Engine, tmp_path: Path) -> None:
    text = HEADER + "2026-05-01,meta,EUR,100,5,1.00\n2026-05-02,meta,EUR,10,50,1.00\n"

    report = ingest(engine, write(tmp_path, "w.csv", text))

    assert report.rows_written == 2
    assert [w for w in report.warnings if "more clicks than impressions" in w] == [
        "1 rows have more clicks than impressions (line 3)"
    ]
    assert total(engine, "clicks") == 55


def test_spend_without_impressions(engine: Engine, tmp_path: Path) -> None:
    text = HEADER + "2026-05-01,meta,EUR,0,0,3.00\n2026-05-02,meta,EUR,,,4.00\n"

    report = ingest(engine, write(tmp_path, "w.csv", text))

    assert report.rows_written == 2
    assert "2 rows have spend but no impressions (line 2, 3)" in report.warnings
    assert total(engine, "spend") == 7.00


def test_spend_without_currency(engine: Engine, tmp_path: Path) -> None:
    text = "date,platform,impressions,spend\n2026-05-01,meta,100,3.00\n"

    report = ingest(engine, write(tmp_path, "w.csv", text))

    assert any("spend but no currency" in w for w in report.warnings)


def test_clean_file_has_no_warnings(engine: Engine, tmp_path: Path) -> None:
    text = HEADER + "2026-05-01,meta,EUR,100,5,1.00\n"

    assert ingest(engine, write(tmp_path, "w.csv", text)).warnings == ()
