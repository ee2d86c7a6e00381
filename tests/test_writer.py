"""Bulk writes: every row and every NULL lands as given, however the rows are batched."""

from __future__ import annotations

import datetime as dt
import math
import sqlite3

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import Connection, Engine, insert, select

from kpi.store import writer
from kpi.store.schema import facts, imports, series
from tests.conftest import NOW


def _setup(connection: Connection) -> tuple[int, list[int]]:
    import_id = connection.execute(
        insert(imports)
        .values(source="canonical", file_name="f.csv", file_sha256="0" * 64, imported_at=NOW)
        .returning(imports.c.id)
    ).scalar_one()
    ids = [
        connection.execute(
            insert(series)
            .values(source="canonical", platform="tiktok", campaign=f"c{i}")
            .returning(series.c.id)
        ).scalar_one()
        for i in range(3)
    ]
    return import_id, ids


def _facts(rows: int, ids: list[int]) -> tuple[pd.DataFrame, np.ndarray]:
    """``rows`` daily facts over three series, with a measure NULL on every third row."""
    days = pd.to_datetime(dt.date(2026, 1, 1)) + pd.to_timedelta(np.arange(rows) // 3, unit="D")
    clicks = np.arange(rows, dtype=float)
    clicks[::3] = np.nan
    frame = pd.DataFrame(
        {
            "period_start": days,
            "period_end": days,
            "impressions": np.arange(rows, dtype=float) * 10.5,
            "clicks": clicks,
        }
    )
    return frame, np.array(ids * (rows // 3 + 1))[:rows]


def _stored(connection: Connection) -> list[tuple[object, ...]]:
    return [
        tuple(row)
        for row in connection.execute(
            select(
                facts.c.period_start,
                facts.c.series_id,
                facts.c.period_end,
                facts.c.impressions,
                facts.c.clicks,
            ).order_by(facts.c.period_start, facts.c.series_id)
        )
    ]


def _expected(frame: pd.DataFrame, series_ids: np.ndarray) -> list[tuple[object, ...]]:
    return [
        (
            start.date(),
            int(series_id),
            start.date(),
            impressions,
            None if math.isnan(clicks) else clicks,
        )
        for start, series_id, impressions, clicks in zip(
            frame["period_start"], series_ids, frame["impressions"], frame["clicks"], strict=True
        )
    ]


@pytest.mark.parametrize("rows", [1, writer.ROWS_PER_STATEMENT, 2 * writer.ROWS_PER_STATEMENT + 7])
def test_facts_round_trip_whatever_the_batching(engine: Engine, rows: int) -> None:
    """Whole multi-row statements, a short last one, or only a short one: the same rows."""
    with engine.begin() as connection:
        import_id, ids = _setup(connection)
        frame, series_ids = _facts(rows, ids)
        writer.write_facts(connection, frame, series_ids, import_id, ["impressions", "clicks"])
        assert _stored(connection) == _expected(frame, series_ids)


def test_sqlite_with_few_parameters_per_statement(sqlite_engine: Engine) -> None:
    """A SQLite built with a low parameter limit gets shorter statements, not an error."""
    with sqlite_engine.begin() as connection:
        dbapi = connection.connection.driver_connection
        assert isinstance(dbapi, sqlite3.Connection)
        dbapi.setlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER, 20)
        import_id, ids = _setup(connection)
        frame, series_ids = _facts(50, ids)
        writer.write_facts(connection, frame, series_ids, import_id, ["impressions", "clicks"])
        assert _stored(connection) == _expected(frame, series_ids)


def test_a_repeated_fact_is_a_duplicate_error(engine: Engine) -> None:
    with engine.begin() as connection:
        import_id, ids = _setup(connection)
        frame, series_ids = _facts(6, ids)
        doubled = pd.concat([frame, frame.iloc[:1]], ignore_index=True)
        with pytest.raises(writer.DuplicateRowsError):
            writer.write_facts(
                connection, doubled, np.append(series_ids, series_ids[0]), import_id, ["clicks"]
            )
