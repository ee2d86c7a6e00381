"""Canonical files as Parquet or JSON Lines load like CSV, with located errors."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import Engine

from kpi.errors import IngestError
from tests.importers.store_queries import ingest, snapshot, total

FRAME = pd.DataFrame(
    {
        "date": ["2026-11-01", "2026-11-02", "2026-11-02"],
        "platform": ["meta", "meta", "tiktok"],
        "campaign": ["A", "B", "A"],
        "clicks": [3, 4, 5],
        "impressions": [100, 200, 300],
        "spend": [1.5, None, 2.25],
        "currency": ["EUR", "EUR", "EUR"],
    }
)


@pytest.mark.parametrize("suffix", [".parquet", ".jsonl"])
def test_records_load_like_csv(engine: Engine, tmp_path: Path, suffix: str) -> None:
    path = tmp_path / f"facts{suffix}"
    if suffix == ".parquet":
        FRAME.to_parquet(path)
    else:
        FRAME.to_json(path, orient="records", lines=True)
    report = ingest(engine, path)
    assert report.source == "canonical" and report.rows_written == 3
    assert total(engine, "clicks") == 12
    assert total(engine, "spend") == pytest.approx(3.75)
    assert ingest(engine, path).rows_replaced == 3  # idempotent like CSV


def test_json_lines_errors_name_the_line_and_write_nothing(engine: Engine, tmp_path: Path) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text(
        '{"date": "2026-11-01", "platform": "meta", "clicks": 1}\n'
        '{"date": "2026-11-02", "platform": "meta", "clicks": "lots"}\n',
        encoding="utf-8",
    )
    before = snapshot(engine)
    with pytest.raises(IngestError) as caught:
        ingest(engine, path)
    assert (caught.value.line, caught.value.column, caught.value.value) == (2, "clicks", "lots")
    assert snapshot(engine) == before
    path.write_text('{"date": "2026-11-01", "platform": "meta", "clicks": 1}\n{oops\n')
    with pytest.raises(IngestError, match="cannot read the records"):
        ingest(engine, path)
