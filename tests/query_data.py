"""Loading a small canonical frame into a store, and generating one, for query tests."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import hypothesis.strategies as st
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


def row_keys(
    platforms: Sequence[str], campaigns: Sequence[str], days: int, max_size: int
) -> st.SearchStrategy[list[tuple[str, str, int, int]]]:
    """Distinct (platform, campaign, first day's offset, days after it) of generated rows:
    mostly daily rows, some 7-day period totals."""
    return st.lists(
        st.tuples(
            st.sampled_from(platforms),
            st.sampled_from(campaigns),
            st.integers(0, days - 1),
            st.sampled_from([0, 0, 0, 0, 6]),
        ),
        min_size=1,
        max_size=max_size,
        unique=True,
    )
