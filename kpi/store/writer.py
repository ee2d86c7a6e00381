"""Bulk writes of fact and rollup rows: SQLite ``executemany`` and PostgreSQL ``COPY``.

Both run on the caller's connection, inside the import's transaction, so an error anywhere in the
file rolls every chunk back. Series (dimension combinations) are created on first sight and cached
for the rest of the import.
"""

from __future__ import annotations

import io
import sqlite3
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import cast

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pa_csv
from psycopg.errors import UniqueViolation
from sqlalchemy import Connection, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError

from kpi.importers.dates import iso_strings
from kpi.store.schema import series

DIMENSIONS: tuple[str, ...] = ("platform", "account", "campaign", "creator", "item", "currency")

SeriesKey = tuple[str, str, str, str, str, str]


class SeriesIds:
    """Maps dimension combinations of one source to series ids, creating missing ones."""

    def __init__(self, connection: Connection, source: str) -> None:
        self._connection = connection
        self._source = source
        self._ids: dict[SeriesKey, int] = {}
        self._loaded: set[str] = set()

    def of(self, combinations: Combinations) -> np.ndarray:
        """The series id of each of a chunk's :func:`combinations` (index them with its codes for
        the id of every row)."""
        keys = combinations.keys
        self._ensure([key for key in keys if key not in self._ids])
        return np.fromiter((self._ids[key] for key in keys), dtype=np.int64, count=len(keys))

    def _ensure(self, missing: Sequence[SeriesKey]) -> None:
        if not missing:
            return
        self._load(sorted({key[0] for key in missing} - self._loaded))
        missing = [key for key in missing if key not in self._ids]
        if not missing:  # a re-import: every series exists already
            return
        rows = [
            dict(zip(("source", *DIMENSIONS), (self._source, *key), strict=True)) for key in missing
        ]
        dialect = self._connection.dialect.name
        insert = postgresql.insert(series) if dialect == "postgresql" else sqlite.insert(series)
        for start in range(0, len(rows), 5000):
            self._connection.execute(insert.on_conflict_do_nothing(), rows[start : start + 5000])
        self._load(sorted({key[0] for key in missing}))

    def _load(self, platforms: Sequence[str]) -> None:
        """Cache the ids of this source's series on these platforms."""
        self._loaded.update(platforms)
        found = self._connection.execute(
            select(series.c.id, *(series.c[name] for name in DIMENSIONS)).where(
                series.c.source == self._source, series.c.platform.in_(platforms)
            )
        )
        for row in found:
            self._ids[(row[1], row[2], row[3], row[4], row[5], row[6])] = row[0]


@dataclass(frozen=True)
class Combinations:
    """Each row's dimension combination as a code into ``keys``, the distinct combinations, and
    for each key the code of each of its dimensions' values (a column per name in
    :data:`DIMENSIONS`)."""

    codes: np.ndarray
    keys: list[SeriesKey]
    key_codes: np.ndarray

    def coarser(self, *dimensions: str) -> tuple[np.ndarray, list[tuple[str, ...]]]:
        """Each row's code among the distinct values of some ``dimensions`` (say platform and
        account), and those values: worked out from the keys' codes, never per row, so a chunk
        can be grouped by them as integers instead of strings."""
        positions = [DIMENSIONS.index(name) for name in dimensions]
        of_key = _mixed(self.key_codes[:, position] for position in positions)
        first = _first_of_each(of_key)
        values = [tuple(self.keys[key][p] for p in positions) for key in first]
        return of_key[self.codes], values


def _mixed(parts: Iterable[np.ndarray]) -> np.ndarray:
    """One code per row for its combination of ``parts`` (integer codes), numbered in order of
    first appearance. Factorising after each part keeps the codes below the row count, so
    mixing in the next part never overflows."""
    mixed: np.ndarray | None = None
    for codes in parts:
        if mixed is None:
            mixed = codes
        else:
            mixed, _ = pd.factorize(mixed * (int(codes.max(initial=0)) + 2) + codes + 1)
    assert mixed is not None, "no parts to mix"
    codes, _ = pd.factorize(mixed)
    return codes


def _first_of_each(codes: np.ndarray) -> np.ndarray:
    """The position of each code's first row, codes numbered in order of first appearance."""
    return np.flatnonzero(~pd.Series(codes).duplicated().to_numpy())


def combinations(frame: pd.DataFrame) -> Combinations:
    """The dimension combinations of a chunk: the series of its rows, before any database look-up
    (so the reader process can compute them while the importer writes).

    Factorising each column and mixing the codes into one integer is much faster than grouping
    by six string columns. Codes follow the order of first appearance, so each combination's
    strings are those of its first row.
    """
    per_dimension = [pd.factorize(frame[name])[0] for name in DIMENSIONS]
    mixed = _mixed(per_dimension)
    first = _first_of_each(mixed)
    columns = [np.asarray(frame[name].iloc[first], dtype=object) for name in DIMENSIONS]
    keys = cast(list[SeriesKey], list(zip(*columns, strict=True)))
    return Combinations(mixed, keys, np.column_stack([codes[first] for codes in per_dimension]))


class DuplicateRowsError(Exception):
    """A fact with the same series and dates as one already written in this import."""


Column = pd.Series | np.ndarray


def write_facts(
    connection: Connection,
    frame: pd.DataFrame,
    series_ids: np.ndarray,
    import_id: int,
    measures: Sequence[str],
) -> None:
    """Insert canonical rows (``period_start``, ``period_end``, measures) for one import.

    A clash with a row written by an earlier chunk of the same import raises
    :class:`DuplicateRowsError` whatever the engine's own exception.
    """
    start = frame["period_start"]
    end = frame["period_end"]
    columns: dict[str, Column] = {
        "period_start": start,
        "series_id": series_ids,
        # daily rows: the same dates, converted and bound once per row instead of twice
        "period_end": start if start.equals(end) else end,
        **{m: frame[m] for m in measures},
    }
    try:
        bulk_insert(connection, "facts", columns, import_id=import_id)
    except (IntegrityError, UniqueViolation, sqlite3.IntegrityError) as exc:
        raise DuplicateRowsError(str(exc)) from exc


def bulk_insert(
    connection: Connection, table: str, columns: Mapping[str, Column], *, import_id: int
) -> None:
    """Append rows given column by column, stamped with ``import_id``, on the caller's connection.

    Dates (``datetime64``) are written as ISO days, NaN as NULL (not reported). SQLite gets
    multi-row ``INSERT`` statements (:data:`ROWS_PER_STATEMENT`); PostgreSQL gets ``COPY``. A
    column object passed under two names is converted and bound once.
    """
    if connection.dialect.name == "postgresql":
        _copy(connection, table, columns, import_id)
    else:
        _execute_many(connection, table, columns, import_id)


def _distinct(columns: Mapping[str, Column]) -> tuple[list[Column], list[int]]:
    """The distinct column objects, and for each name the position of its object among them."""
    objects: list[Column] = []
    positions = []
    for column in columns.values():
        position = next((i for i, seen in enumerate(objects) if seen is column), len(objects))
        if position == len(objects):
            objects.append(column)
        positions.append(position)
    return objects, positions


def _is_date(column: Column) -> bool:
    return pd.api.types.is_datetime64_any_dtype(column.dtype)


#: Rows per SQLite INSERT. Stepping and resetting a statement once per row cost about as much
#: as binding the row's values: a statement of 200 rows bound from one flat list wrote a million
#: facts in 2.3 s against 3.5 s one row at a time (per statement, a few thousand parameters, far
#: below SQLite's limit of 32,766). One statement per chunk is slower again: SQLite then parses
#: a statement of hundreds of thousands of rows.
ROWS_PER_STATEMENT = 200


def _execute_many(
    connection: Connection, table: str, columns: Mapping[str, Column], import_id: int
) -> None:
    # SQLite stores a bound NaN as NULL, so "not reported" needs no conversion; the import id
    # is an integer of ours, written into the statement instead of bound a million times. The
    # values go into one object matrix, a row per fact, that reshapes into the flat parameter
    # lists of the multi-row statements without a Python loop over the rows.
    objects, positions = _distinct(columns)
    rows = len(objects[0])
    matrix = np.empty((rows, len(objects)), dtype=object)
    for index, column in enumerate(objects):
        matrix[:, index] = iso_strings(pd.Series(column)) if _is_date(column) else column
    dbapi = connection.connection.driver_connection
    assert isinstance(dbapi, sqlite3.Connection)
    # builds of SQLite older than 3.32 allow only 999 parameters per statement
    per_statement = min(
        ROWS_PER_STATEMENT, dbapi.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER) // len(objects)
    )
    cursor = dbapi.cursor()
    try:
        whole = rows - rows % per_statement
        if whole:
            cursor.executemany(
                _multi_row_insert(
                    table, columns, positions, len(objects), import_id, per_statement
                ),
                matrix[:whole].reshape(-1, per_statement * len(objects)).tolist(),
            )
        if whole < rows:
            cursor.execute(
                _multi_row_insert(table, columns, positions, len(objects), import_id, rows - whole),
                matrix[whole:].reshape(-1).tolist(),
            )
    finally:
        cursor.close()


def _multi_row_insert(
    table: str,
    columns: Mapping[str, Column],
    positions: Sequence[int],
    width: int,
    import_id: int,
    rows: int,
) -> str:
    """``INSERT … VALUES (…), (…)`` of ``rows`` rows, each taking ``width`` parameters in turn
    (numbered, so a column object given under two names is bound once per row)."""
    values = ", ".join(
        f"({', '.join(f'?{row * width + p + 1}' for p in positions)}, {int(import_id)})"
        for row in range(rows)
    )
    return f"INSERT INTO {table} ({', '.join(columns)}, import_id) VALUES {values}"


def _copy(
    connection: Connection, table: str, columns: Mapping[str, Column], import_id: int
) -> None:
    """COPY in CSV written by Arrow's C++ writer: NULL as an unquoted empty cell, strings quoted,
    floats in their shortest exact form, an order of magnitude faster than pandas' to_csv."""
    objects, positions = _distinct(columns)
    converted = [
        pa.array(iso_strings(pd.Series(c)))
        if _is_date(c)
        else pa.array(np.asarray(c), from_pandas=True)
        for c in objects
    ]
    arrays = {name: converted[p] for name, p in zip(columns, positions, strict=True)}
    arrays["import_id"] = pa.array(np.full(len(converted[0]), import_id))
    buffer = io.BytesIO()
    # "needed" quotes every string, so an empty dimension stays "" while NULL is an empty cell
    pa_csv.write_csv(pa.table(arrays), buffer, pa_csv.WriteOptions(include_header=False))
    dbapi = connection.connection.driver_connection
    assert dbapi is not None
    with (
        dbapi.cursor() as cursor,
        cursor.copy(f"COPY {table} ({', '.join(arrays)}) FROM STDIN WITH (FORMAT csv)") as copy,
    ):
        copy.write(buffer.getvalue())
