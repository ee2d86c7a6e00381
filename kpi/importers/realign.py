"""Repairing rows that an export wrote shifted left, with empty cells at the end.

The Kaggle "Facebook ad campaign" file has 382 rows whose two campaign id cells are missing, so
every later value sits two columns left and the last two cells are empty. Such rows still parse
(an age band lands in ``campaign``, a spend in ``impressions``), so they must be caught by their
shape: each column has a kind (integer, number, text) set by the well-formed rows, and a row that
breaks those kinds in place but fits them exactly once when its trailing blanks are moved to some
earlier position is re-aligned there. A row that fits nowhere, or in more than one place, is left
alone for the normal cell checks to report.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

import numpy as np
import pandas as pd

MAX_REPAIRS = 100_000
SAMPLE = 1_000


class Kind(Enum):
    INTEGER = "integer"
    NUMBER = "number"
    TEXT = "text"


@dataclass(frozen=True)
class Realigned:
    """Records that were moved, and how far (their first blank position and width)."""

    records: tuple[int, ...]
    shifts: tuple[tuple[int, int], ...]


def _numeric(column: pd.Series) -> pd.Series:
    if pd.api.types.is_numeric_dtype(column):
        return column.astype("float64")
    return pd.to_numeric(column.astype("string").str.strip(), errors="coerce").astype("float64")


def _kind(column: pd.Series) -> Kind:
    present = column.dropna()
    if present.empty:
        return Kind.TEXT
    if _numeric(present.head(SAMPLE)).isna().any():  # text is told apart from a few cells
        return Kind.TEXT
    values = _numeric(present)
    if values.isna().any():
        return Kind.TEXT
    return Kind.INTEGER if bool((values == np.floor(values)).all()) else Kind.NUMBER


def _fits(values: list[object], kinds: list[Kind]) -> bool:
    for value, kind in zip(values, kinds, strict=True):
        if kind is Kind.TEXT or value is None or (isinstance(value, float) and np.isnan(value)):
            continue
        try:
            number = float(str(value).strip())
        except ValueError:
            return False
        if kind is Kind.INTEGER and not number.is_integer():
            return False
    return True


def _blank(value: object) -> bool:
    return value is None or (isinstance(value, float) and np.isnan(value)) or value == ""


def column_kinds(frame: pd.DataFrame) -> list[Kind] | None:
    """The kind of each column, set by rows whose last cell is filled; None if there are none.

    A file's kinds are fixed once, from its first chunk with such rows, so that a later chunk
    made only of shifted rows is judged by the same standard.
    """
    well_formed = frame.iloc[:, -1].notna()
    if not well_formed.any():
        return None
    return [_kind(frame.loc[well_formed, column]) for column in frame.columns]


def realign(
    frame: pd.DataFrame, kinds: list[Kind], protected: int = 1
) -> tuple[pd.DataFrame, Realigned]:
    """Return ``frame`` with shifted rows moved back, and which records moved.

    ``protected`` leading columns (identifiers) are never shifted.
    """
    width = frame.shape[1]
    trailing_blank = frame.iloc[:, -1].isna()
    if not trailing_blank.any():
        return frame, Realigned((), ())
    suspects = frame.loc[trailing_blank]
    misfit = pd.Series(False, index=suspects.index)
    for position, kind in enumerate(kinds):
        if kind is Kind.TEXT:
            continue
        column = suspects.iloc[:, position]
        values = _numeric(column)
        broken = values.isna() & column.notna()
        if kind is Kind.INTEGER:
            broken |= values.notna() & (values != np.floor(values))
        misfit |= broken
    if not misfit.any() or misfit.sum() > MAX_REPAIRS:
        return frame, Realigned((), ())
    repaired = frame.astype(object)
    moved: list[int] = []
    shifts: list[tuple[int, int]] = []
    for record in misfit[misfit].index:
        row = list(repaired.loc[record])
        blanks = 0
        while blanks < width and _blank(row[width - 1 - blanks]):
            blanks += 1
        fits = [
            (start, shift)
            for shift in range(1, blanks + 1)
            for start in range(protected, width - shift + 1)
            if _fits(row[:start] + [None] * shift + row[start : width - shift], kinds)
        ]
        if len(fits) != 1:
            continue
        start, shift = fits[0]
        repaired.loc[record] = row[:start] + [np.nan] * shift + row[start : width - shift]
        moved.append(int(record))
        shifts.append((start, shift))
    if not moved:
        return frame, Realigned((), ())
    return repaired, Realigned(tuple(moved), tuple(shifts))
