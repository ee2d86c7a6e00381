"""The period vocabulary: turns the words people type into exact, inclusive date windows.

Nothing here reads the clock. Callers turn their own ``now`` into a local date with
:func:`today_in` and pass that ``today`` in, so answers are reproducible (``--as-of``) and tests
need no clock. Windows are whole local dates: a DST change makes a local day 23 or 25 hours
long but never moves a window's first or last date, so windows need no DST handling at all.

Conventions a reader of an answer may need:

* Relative words never reach past ``today``: ``this-week`` is the week so far, the same window
  as ``wtd`` (only the label differs). Future days have no data and would only dilute a figure.
* ``last-N-days`` is the N complete days ending yesterday, because today is not over yet.
  ``last-N-weeks`` and ``last-N-months`` are the N complete weeks or months before the current one.
* ``YYYY-Www`` always means the ISO week (Monday to Sunday), whatever ``week_start`` says,
  because that is what the notation means everywhere else. Other week words follow
  ``week_start`` (0 = Monday ... 6 = Sunday).
* A partial calendar period (``this-month`` on the 23rd) compares with the same part of the
  previous one (the 1st to the 23rd), so that both sides have had the same time to accumulate.
"""

from __future__ import annotations

import calendar
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from kpi.errors import KpiError

MAX_WORD_LENGTH = 64
#: Fixed dates outside these years are typos, and refusing them keeps date arithmetic in range.
MIN_YEAR, MAX_YEAR = 1900, 2999
#: An explicit range or ``since`` may span a century; eight comparisons back still fit the calendar.
MAX_RANGE_DAYS = 36_600
#: Upper bounds of N in last-N-days/weeks/months: ten years, whatever the unit.
LAST_N_LIMITS = {"days": 3660, "weeks": 520, "months": 120}
#: Words that start ``since 2026-10-01``, a two-token phrase the grammar completes with since().
SINCE_WORDS: tuple[str, ...] = ("since", "depuis")

_ONE_DAY = timedelta(days=1)
_SEPARATORS = str.maketrans({"'": "-", "\u2019": "-", "_": "-"})


class Grain(StrEnum):
    """The calendar unit a period is aligned to; RANGE is any other run of days."""

    DAY = "day"
    WEEK = "week"
    MONTH = "month"
    QUARTER = "quarter"
    YEAR = "year"
    RANGE = "range"


_MONTHS_IN = {Grain.MONTH: 1, Grain.QUARTER: 3, Grain.YEAR: 12}


class PeriodError(KpiError):
    """A period word could not be resolved. ``word`` lets the interface suggest a close match."""

    def __init__(self, word: str, reason: str) -> None:
        self.word = word
        self.reason = reason
        shown = word if len(word) <= MAX_WORD_LENGTH else word[:MAX_WORD_LENGTH] + "..."
        super().__init__(f"{shown!r}: {reason}")


@dataclass(frozen=True)
class Period:
    """Inclusive dates, so that a single day is ``start == end``, as in the fact rows.

    A WEEK, MONTH, QUARTER or YEAR period starts on a unit boundary; it may span several units
    (``last-3-months``) or stop part-way through the current one (``this-month``).
    """

    start: date
    end: date
    label: str
    grain: Grain

    def __post_init__(self) -> None:
        if self.end < self.start:
            raise ValueError(f"a period cannot end ({self.end}) before it starts ({self.start})")

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def contains(self, day: date) -> bool:
        return self.start <= day <= self.end

    def is_closed(self, today: date) -> bool:
        """A closed period's figures will not change any more: digests and alerts wait for it."""
        return self.end < today


def today_in(now: datetime, tz: ZoneInfo) -> date:
    """Refuses a naive ``now``: guessing its zone is how a digest reports the wrong day."""
    if now.utcoffset() is None:
        raise ValueError("now must be a timezone-aware datetime")
    return now.astimezone(tz).date()


def _check_week_start(week_start: int) -> None:
    if not 0 <= week_start <= 6:
        raise ValueError(f"week_start must be 0 (Monday) to 6 (Sunday), not {week_start}")


def _add_months(day: date, months: int) -> date:
    """Clamps the day of month, so that 31 March minus one month is the end of February."""
    year, month0 = divmod(day.year * 12 + day.month - 1 + months, 12)
    last = calendar.monthrange(year, month0 + 1)[1]
    return date(year, month0 + 1, min(day.day, last))


def _unit_start(grain: Grain, day: date, week_start: int) -> date:
    if grain is Grain.WEEK:
        return day - timedelta(days=(day.weekday() - week_start) % 7)
    if grain in _MONTHS_IN:
        span = _MONTHS_IN[grain]
        return date(day.year, (day.month - 1) // span * span + 1, 1)
    return day


def _unit_end(grain: Grain, start: date) -> date:
    if grain is Grain.WEEK:
        return start + timedelta(days=6)
    if grain in _MONTHS_IN:
        return _add_months(start, _MONTHS_IN[grain]) - _ONE_DAY
    return start


def _calendar_name(start: date, end: date, grain: Grain) -> str | None:
    """Names a whole unit the way a user would type it, so derived periods read like typed ones."""
    if grain is Grain.RANGE or end != _unit_end(grain, start):
        return None
    if grain is Grain.WEEK:
        iso = start.isocalendar()
        return f"{iso.year}-W{iso.week:02d}" if iso.weekday == 1 else f"week of {start}"
    if grain is Grain.MONTH:
        return f"{start.year}-{start.month:02d}"
    if grain is Grain.QUARTER:
        return f"{start.year}-Q{(start.month + 2) // 3}"
    if grain is Grain.YEAR:
        return str(start.year)
    return None


def _period(start: date, end: date, grain: Grain, name: str | None = None) -> Period:
    """Every label shows the exact dates: answers must say which days they counted."""
    dates = start.isoformat() if start == end else f"{start} \u2013 {end}"
    name = name or _calendar_name(start, end, grain)
    return Period(start, end, f"{name} ({dates})" if name else dates, grain)


def last_closed(grain: Grain, today: date, week_start: int = 0) -> Period:
    """The unit just before the current one: the newest one digests and alerts can judge."""
    _check_week_start(week_start)
    if grain is Grain.RANGE:
        raise ValueError("a range has no unit to close")
    end = _unit_start(grain, today, week_start) - _ONE_DAY
    return _period(_unit_start(grain, end, week_start), end, grain)


def _shift_months(period: Period, months: int) -> tuple[date, date]:
    """Keeps a month-end end at the month end (February has 28 or 29 days, not 31)."""
    after = period.end + _ONE_DAY
    if after.day == 1:
        return _add_months(period.start, months), _add_months(after, months) - _ONE_DAY
    return _add_months(period.start, months), _add_months(period.end, months)


def _round_up(value: int, step: int) -> int:
    return -(-value // step) * step


def _back(period: Period, times: int) -> Period:
    """Shifts by whole units of the period's own size, from the original, so nothing drifts."""
    if period.grain in _MONTHS_IN:
        touched = (period.end.year - period.start.year) * 12 + period.end.month - period.start.month
        months = _round_up(touched + 1, _MONTHS_IN[period.grain])
        start, end = _shift_months(period, -months * times)
    else:
        step = _round_up(period.days, 7 if period.grain is Grain.WEEK else 1)
        shift = timedelta(days=step * times)
        start, end = period.start - shift, period.end - shift
    return _period(start, end, period.grain)


def previous(period: Period) -> Period:
    """The default comparison: the same length just before (previous month, week, N days...)."""
    return _back(period, 1)


def grain_periods(ending_at: Period, count: int = 8) -> tuple[Period, ...]:
    """Oldest first and ending with ``ending_at``, for a sparkline of comparable periods."""
    if count < 1:
        raise ValueError(f"count must be at least 1, not {count}")
    return (*(_back(ending_at, times) for times in range(count - 1, 0, -1)), ending_at)


def _iso_weeks(year: int) -> int:
    return date(year, 12, 28).isocalendar().week


def _iso_year_ago(day: date) -> date:
    """The same ISO week and weekday a year earlier; week 53 becomes 52 if there is no 53."""
    year, week, weekday = day.isocalendar()
    return date.fromisocalendar(year - 1, min(week, _iso_weeks(year - 1)), weekday)


def year_ago(period: Period) -> Period:
    """Weeks by ISO week number, so that weekdays line up; everything else by calendar date."""
    if period.grain is Grain.WEEK:
        shift = _iso_year_ago(period.start) - period.start
        start, end = period.start + shift, period.end + shift
    elif period.grain in _MONTHS_IN:
        start, end = _shift_months(period, -12)
    else:
        start, end = _add_months(period.start, -12), _add_months(period.end, -12)
    return _period(start, end, period.grain)


_Relative = Callable[[date, int], Period]


def _this(grain: Grain, name: str) -> _Relative:
    def build(today: date, week_start: int) -> Period:
        return _period(_unit_start(grain, today, week_start), today, grain, name)

    return build


def _last(grain: Grain, name: str) -> _Relative:
    def build(today: date, week_start: int) -> Period:
        closed = last_closed(grain, today, week_start)
        return _period(closed.start, closed.end, grain, name)

    return build


_RELATIVE: dict[str, _Relative] = {
    "today": _this(Grain.DAY, "today"),
    "yesterday": _last(Grain.DAY, "yesterday"),
    "this-week": _this(Grain.WEEK, "this week"),
    "last-week": _last(Grain.WEEK, "last week"),
    "this-month": _this(Grain.MONTH, "this month"),
    "last-month": _last(Grain.MONTH, "last month"),
    "this-quarter": _this(Grain.QUARTER, "this quarter"),
    "last-quarter": _last(Grain.QUARTER, "last quarter"),
    "this-year": _this(Grain.YEAR, "this year"),
    "last-year": _last(Grain.YEAR, "last year"),
    "wtd": _this(Grain.WEEK, "week to date"),
    "mtd": _this(Grain.MONTH, "month to date"),
    "qtd": _this(Grain.QUARTER, "quarter to date"),
    "ytd": _this(Grain.YEAR, "year to date"),
}
#: French words, without accents or apostrophes: _normalise() strips those from the input.
_FRENCH: dict[str, str] = {
    "aujourd-hui": "today",
    "hier": "yesterday",
    "cette-semaine": "this-week",
    "semaine-derniere": "last-week",
    "ce-mois-ci": "this-month",
    "mois-dernier": "last-month",
    "ce-trimestre": "this-quarter",
    "trimestre-dernier": "last-quarter",
    "cette-annee": "this-year",
    "annee-derniere": "last-year",
}
VOCABULARY: tuple[str, ...] = (*_RELATIVE, *_FRENCH)
EXAMPLES: tuple[str, ...] = (
    "last-week",
    "mtd",
    "last-7-days",
    "last-30d",
    "last-4w",
    "last-3m",
    "7-derniers-jours",
    "2026-W45",
    "2026-10",
    "2026-Q3",
    "2026",
    "2026-11-03",
    "2026-10-01..2026-10-15",
    "since 2026-10-01",
)

_UNITS = {
    **dict.fromkeys(("d", "day", "days", "jour", "jours"), "days"),
    **dict.fromkeys(("w", "week", "weeks", "semaine", "semaines"), "weeks"),
    **dict.fromkeys(("m", "month", "months", "mois"), "months"),
}


def _year(word: str, digits: str) -> int:
    year = int(digits)
    if not MIN_YEAR <= year <= MAX_YEAR:
        raise PeriodError(word, f"the year must be between {MIN_YEAR} and {MAX_YEAR}")
    return year


def _parse_date(word: str, text: str) -> date:
    match = _DATE.fullmatch(text)
    if match is None:
        raise PeriodError(word, "is not a date (YYYY-MM-DD)")
    year = _year(word, match[1])
    try:
        return date(year, int(match[2]), int(match[3]))
    except ValueError:
        raise PeriodError(word, "is not a valid date (YYYY-MM-DD)") from None


def _iso_week(word: str, match: re.Match[str], today: date, week_start: int) -> Period:
    year, week = _year(word, match[1]), int(match[2])
    if not 1 <= week <= _iso_weeks(year):
        raise PeriodError(word, f"{year} has ISO weeks 01 to {_iso_weeks(year)}")
    start = date.fromisocalendar(year, week, 1)
    return _period(start, _unit_end(Grain.WEEK, start), Grain.WEEK)


def _month(word: str, match: re.Match[str], today: date, week_start: int) -> Period:
    year, month = _year(word, match[1]), int(match[2])
    if not 1 <= month <= 12:
        raise PeriodError(word, "the month must be 01 to 12")
    start = date(year, month, 1)
    return _period(start, _unit_end(Grain.MONTH, start), Grain.MONTH)


def _quarter(word: str, match: re.Match[str], today: date, week_start: int) -> Period:
    year, quarter = _year(word, match[1]), int(match[2])
    if not 1 <= quarter <= 4:
        raise PeriodError(word, "the quarter must be Q1 to Q4")
    start = date(year, quarter * 3 - 2, 1)
    return _period(start, _unit_end(Grain.QUARTER, start), Grain.QUARTER)


def _whole_year(word: str, match: re.Match[str], today: date, week_start: int) -> Period:
    start = date(_year(word, match[1]), 1, 1)
    return _period(start, _unit_end(Grain.YEAR, start), Grain.YEAR)


def _day(word: str, match: re.Match[str], today: date, week_start: int) -> Period:
    day = _parse_date(word, match[0])
    return _period(day, day, Grain.DAY)


def _range(word: str, match: re.Match[str], today: date, week_start: int) -> Period:
    start, end = _parse_date(word, match[1]), _parse_date(word, match[2])
    if end < start:
        raise PeriodError(word, "the range ends before it starts")
    return _checked_range(word, start, end, None)


def _checked_range(word: str, start: date, end: date, name: str | None) -> Period:
    if (end - start).days >= MAX_RANGE_DAYS:
        raise PeriodError(word, f"a range may span at most {MAX_RANGE_DAYS} days")
    return _period(start, end, Grain.RANGE, name)


def _last_n(word: str, match: re.Match[str], today: date, week_start: int) -> Period:
    count, unit = int(match[1]), _UNITS.get(match[2])
    if unit is None:
        raise PeriodError(word, f"unknown unit {match[2]!r}: use days (d), weeks (w) or months (m)")
    if not 1 <= count <= LAST_N_LIMITS[unit]:
        raise PeriodError(word, f"the number of {unit} must be 1 to {LAST_N_LIMITS[unit]}")
    name = f"last {count} {unit.removesuffix('s') if count == 1 else unit}"
    if unit == "days":
        end = today - _ONE_DAY
        return _period(end - timedelta(days=count - 1), end, Grain.RANGE, name)
    if unit == "weeks":
        end = _unit_start(Grain.WEEK, today, week_start) - _ONE_DAY
        return _period(end - timedelta(weeks=count) + _ONE_DAY, end, Grain.WEEK, name)
    current = _unit_start(Grain.MONTH, today, week_start)
    return _period(_add_months(current, -count), current - _ONE_DAY, Grain.MONTH, name)


# Anchored (fullmatch), ASCII-only, no nested or overlapping repetition: linear in the input.
_DATE = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})", re.ASCII)
_Builder = Callable[[str, re.Match[str], date, int], Period]
_PATTERNS: tuple[tuple[re.Pattern[str], _Builder], ...] = (
    (re.compile(r"(\d{4})-w(\d{1,2})", re.ASCII), _iso_week),
    (re.compile(r"(\d{4})-q(\d)", re.ASCII), _quarter),
    (re.compile(r"(\d{4})-(\d{1,2})", re.ASCII), _month),
    (re.compile(r"(\d{4})", re.ASCII), _whole_year),
    (_DATE, _day),
    (re.compile(r"(\d{4}-\d{1,2}-\d{1,2})\.\.(\d{4}-\d{1,2}-\d{1,2})", re.ASCII), _range),
    (re.compile(r"last-(\d{1,5})-?([a-z]+)", re.ASCII), _last_n),
    (re.compile(r"(\d{1,5})-(?:derniers|dernieres)-([a-z]+)", re.ASCII), _last_n),
)


def _normalise(word: str) -> str:
    """Folds case, accents and apostrophes, so ``Aujourd'hui`` and ``aujourd-hui`` are one word."""
    if len(word) > MAX_WORD_LENGTH:
        raise PeriodError(word, f"a period word has at most {MAX_WORD_LENGTH} characters")
    decomposed = unicodedata.normalize("NFKD", word.strip().lower())
    bare = "".join(char for char in decomposed if not unicodedata.combining(char))
    return bare.translate(_SEPARATORS)


def resolve(word: str, today: date, week_start: int = 0) -> Period:
    """Resolves one token; ``since DATE`` spans two, so the grammar hands its date to since()."""
    _check_week_start(week_start)
    key = _normalise(word)
    relative = _RELATIVE.get(_FRENCH.get(key, key))
    if relative is not None:
        return relative(today, week_start)
    for pattern, build in _PATTERNS:
        match = pattern.fullmatch(key)
        if match is not None:
            return build(word, match, today, week_start)
    if key in SINCE_WORDS:
        raise PeriodError(word, "needs a date after it, as in: since 2026-10-01")
    raise PeriodError(word, "is not a period I know")


def since(word: str, today: date) -> Period:
    """From a date the user typed up to and including today."""
    start = _parse_date(word, _normalise(word))
    if start > today:
        raise PeriodError(word, f"is after today ({today})")
    return _checked_range(word, start, today, f"since {start}")


def is_period_word(word: str) -> bool:
    """True for anything shaped like a period, even an invalid one (``2021-W53``), so that the
    grammar sends it to resolve() and the user gets the precise reason, not "unknown word"."""
    if len(word) > MAX_WORD_LENGTH:
        return False
    key = _normalise(word)
    known = key in _RELATIVE or key in _FRENCH or key in SINCE_WORDS
    return known or any(pattern.fullmatch(key) for pattern, _ in _PATTERNS)
