"""Exports arrive as UTF-8, UTF-8 with a BOM, UTF-16 with a BOM or Windows-1252."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Engine

from kpi.importers.text import detect_encoding
from tests.importers.store_queries import ingest, rows, total, write

TEXT = (
    "date,platform,account,campaign,item,currency,impressions,spend\r\n"
    "2026-05-01,meta,Café Crème,Été promo,Pâques « spécial »,EUR,1000,€12.50\r\n"
    "2026-05-02,meta,Café Crème,Été promo,Noël,EUR,500,7.25\r\n"
)
ENCODINGS = {
    "utf-8": "utf-8",
    "utf-8-sig": "utf-8-sig",
    "utf-16": "utf-16",
    "cp1252": "cp1252",
}


@pytest.mark.parametrize("encoding", ENCODINGS)
def test_encoding_is_detected(tmp_path: Path, encoding: str) -> None:
    path = write(tmp_path, "export.csv", TEXT, encoding)

    assert detect_encoding(path) == ENCODINGS[encoding]


@pytest.mark.parametrize("encoding", ENCODINGS)
def test_text_round_trips(engine: Engine, tmp_path: Path, encoding: str) -> None:
    ingest(engine, write(tmp_path, "export.csv", TEXT, encoding))

    stored = rows(engine, "impressions")
    assert {(r.account, r.campaign) for r in stored} == {("Café Crème", "Été promo")}
    assert [r.item for r in stored] == ["Pâques « spécial »", "Noël"]
    assert total(engine, "spend", campaign="Été promo") == pytest.approx(19.75)
    assert total(engine, "impressions") == 1500
