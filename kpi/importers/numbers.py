"""Turning exported number cells into floats, vectorised.

Exports write numbers for people: ``"6,114"``, ``6.20%``, ``€1 234,56``, `` --`` or TikTok's masked
``<5``. Parsing is column-at-a-time with pandas so a million-row file stays fast; the mask of cells
that are present but not numbers lets the caller name the first bad cell exactly.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

#: Cells that mean "not reported". They become NULL, never 0.
NULL_TOKENS: frozenset[str] = frozenset({"", "--", "-", "—", "<5", "n/a", "na", "null", "none"})

_CURRENCY_AND_PERCENT = r"[€$£¥₹%]|\b(?:EUR|USD|GBP|CHF|CAD|AUD|JPY)\b"
_SPACES = r"[\s\u00a0\u202f']"
#: In decimal-comma files a dot groups thousands only in this shape (``1.234.567,89``); any other
#: dot (``12.50``, written by a machine) is a decimal point, never silently dropped.
_DOT_GROUPED = r"[+-]?\d{1,3}(?:\.\d{3})+(?:,\d*)?"


@dataclass(frozen=True)
class Parsed:
    """Parsed values (NaN where absent) and the mask of cells that held something unparseable."""

    values: pd.Series
    bad: pd.Series


def parse_numbers(column: pd.Series, *, decimal_comma: bool = False) -> Parsed:
    """Parse one column; numeric dtypes pass straight through."""
    if pd.api.types.is_numeric_dtype(column) and not pd.api.types.is_bool_dtype(column):
        values = column.astype("float64")
        return Parsed(values, pd.Series(False, index=column.index))
    text = column.astype("string").str.strip()
    absent = text.isna() | text.str.lower().isin(NULL_TOKENS)
    cleaned = text.str.replace(_CURRENCY_AND_PERCENT, "", regex=True).str.replace(
        _SPACES, "", regex=True
    )
    if decimal_comma:
        grouped = cleaned.str.fullmatch(_DOT_GROUPED).fillna(False).astype(bool)
        cleaned = cleaned.where(~grouped, cleaned.str.replace(".", "", regex=False))
        cleaned = cleaned.str.replace(",", ".", regex=False)
    else:
        cleaned = cleaned.str.replace(",", "", regex=False)
    values = pd.to_numeric(cleaned.where(~absent), errors="coerce").astype("float64")
    bad = values.isna() & ~absent
    return Parsed(values.where(~absent, np.nan), bad.fillna(False).astype(bool))
