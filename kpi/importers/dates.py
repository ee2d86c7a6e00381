"""Date parsing for export cells, vectorised, with an explicit list of formats per source.

Day-first and month-first dates are ambiguous for the first twelve days of a month, so a source
lists the formats it may use in order of preference, and a column is parsed with the first format
that reads every present cell. Nothing is guessed per cell.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

import numpy as np
import pandas as pd

ISO = "%Y-%m-%d"
COMMON_FORMATS: tuple[str, ...] = (
    ISO,
    "%Y%m%d",
    "%Y-%m-%dT%H:%M:%S",
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%d %H:%M",
    "%d/%m/%Y",
    "%m/%d/%Y",
    "%m/%d/%Y %H:%M",
    "%d.%m.%Y",
    "%b %d, %Y",
    "%B %d, %Y",
)

_FRENCH_MONTHS = {
    "janvier": "January",
    "janv.": "January",
    "février": "February",
    "fevrier": "February",
    "févr.": "February",
    "mars": "March",
    "avril": "April",
    "avr.": "April",
    "mai": "May",
    "juin": "June",
    "juillet": "July",
    "juil.": "July",
    "août": "August",
    "aout": "August",
    "septembre": "September",
    "sept.": "September",
    "octobre": "October",
    "oct.": "October",
    "novembre": "November",
    "nov.": "November",
    "décembre": "December",
    "decembre": "December",
    "déc.": "December",
}


@dataclass(frozen=True)
class ParsedDates:
    """Dates as ``datetime64`` (NaT where absent) and the mask of present but unreadable cells."""

    values: pd.Series
    bad: pd.Series
    format: str | None


def parse_dates(column: pd.Series, formats: tuple[str, ...] = COMMON_FORMATS) -> ParsedDates:
    """Parse a column with the first format that reads all its present cells.

    When no format reads them all, the format that reads the most rows is used so that the
    reported bad cell is the one a person would also call wrong. Each distinct cell is parsed
    once: a chunk of a million daily rows holds a few hundred dates.
    """
    codes, distinct = pd.factorize(column)
    counts = np.bincount(codes[codes >= 0], minlength=len(distinct))
    text = pd.Series(distinct, dtype="string").str.strip()
    absent = (text.isna() | (text == "")).to_numpy(dtype=bool)
    best: tuple[pd.Series, np.ndarray, str] | None = None
    for fmt in formats:
        values = pd.to_datetime(text.where(~absent), format=fmt, errors="coerce")
        bad = values.isna().to_numpy(dtype=bool) & ~absent
        if best is None or counts[bad].sum() < counts[best[1]].sum():
            best = (values, bad, fmt)
        if not bad.any():
            break
    assert best is not None
    values, bad, fmt = best
    # a blank cell (code -1) reads the extra slot at the end: no date, not bad
    picks = np.where(codes < 0, len(distinct), codes)
    days = pd.DatetimeIndex(values).normalize().to_numpy()
    return ParsedDates(
        pd.Series(np.append(days, np.array("NaT", dtype=days.dtype))[picks], index=column.index),
        pd.Series(np.append(bad, False)[picks], index=column.index),
        fmt,
    )


def iso_strings(values: pd.Series) -> list[str]:
    """``YYYY-MM-DD`` strings for a datetime column, formatting each distinct day once."""
    codes, uniques = pd.factorize(values)
    labels = [ts.strftime(ISO) for ts in pd.DatetimeIndex(uniques)]
    return [labels[code] for code in codes.tolist()]


def parse_one(text: str, formats: tuple[str, ...] = COMMON_FORMATS) -> dt.date | None:
    """A single date written by a person or a report title, in English or French.

    ``formats`` come first, in order, so a source can say whether ``5/4/2026`` is May or April.
    """
    cleaned = text.strip().strip('"').strip()
    lowered = cleaned.lower()
    for french, english in _FRENCH_MONTHS.items():
        if re.search(rf"\b{re.escape(french)}", lowered):
            lowered = lowered.replace(french, english.lower())
            cleaned = lowered
            break
    for fmt in (*formats, *COMMON_FORMATS, "%d %B %Y", "%d %b %Y"):
        try:
            return dt.datetime.strptime(cleaned, fmt).date()
        except ValueError:
            continue
    return None


def parse_range(text: str) -> tuple[dt.date, dt.date] | None:
    """A ``START - END`` or ``START..END`` range as written in report preambles and on the CLI."""
    for separator in ("..", " - ", " \u2013 ", " au ", " to "):
        if separator in text:
            left, _, right = text.partition(separator)
            start, end = parse_one(left), parse_one(right)
            if start is not None and end is not None:
                return start, end
    return None
