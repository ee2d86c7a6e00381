"""Loading a small canonical frame into a store, for query tests."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from sqlalchemy import Engine, delete

from kpi.importers.reader import ReadOptions
from kpi.ingest import ingest_file
from kpi.store.schema import facts, imports, rollup_day, rollup_month, rollup_year, series
from tests.conftest import NOW


def load(engine: Engine, frame: pd.DataFrame, folder: Path) -> None:
    """Replace the store's content with ``frame`` (canonical columns), through the importer."""
    with engine.begin() as connection:
        for table in (rollup_day, rollup_month, rollup_year, facts, series, imports):
            connection.execute(delete(table))
    path = folder / "facts.csv"
    frame.to_csv(path, index=False)
    ingest_file(engine, path, ReadOptions(today=NOW.date()), now=NOW, source="canonical")
