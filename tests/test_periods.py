"""Periods must give the right dates on every boundary: weeks, months, leap days, week 53, DST."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from kpi.errors import KpiError
from kpi.periods import (
    EXAMPLES,
    LAST_N_LIMITS,
    SINCE_WORDS,
    VOCABULARY,
    Grain,
    Period,
    PeriodError,
    grain_periods,
    is_period_word,
    last_closed,
    previous,
    resolve,
    since,
    today_in,
    year_ago,
)

WEDNESDAY = date(2026, 11, 25)
D = date.fromisoformat
PARIS = ZoneInfo("Europe/Paris")
NEW_YORK = ZoneInfo("America/New_York")

todays = st.dates(min_value=date(1950, 1, 1), max_value=date(2200, 12, 31))
week_starts = st.integers(min_value=0, max_value=6)
relative_words = st.sampled_from(VOCABULARY)
last_n_words = st.one_of(
    st.integers(1, LAST_N_LIMITS["days"]).map(lambda n: f"last-{n}-days"),
    st.integers(1, LAST_N_LIMITS["weeks"]).map(lambda n: f"last-{n}w"),
    st.integers(1, LAST_N_LIMITS["months"]).map(lambda n: f"last-{n}-months"),
)


def window(word: str, today: date = WEDNESDAY, week_start: int = 0) -> tuple[str, str]:
    period = resolve(word, today, week_start)
    return period.start.isoformat(), period.end.isoformat()


def months_spanned(period: Period) -> int:
    return (period.end.year - period.start.year) * 12 + period.end.month - period.start.month + 1


def is_whole(period: Period) -> bool:
    """Whole units (or ranges), as opposed to a current unit cut at today."""
    after = period.end + timedelta(days=1)
    if period.grain is Grain.WEEK:
        return period.days % 7 == 0
    if period.grain is Grain.QUARTER:
        return after.day == 1 and after.month % 3 == 1
    if period.grain is Grain.YEAR:
        return after.day == 1 and after.month == 1
    return period.grain is not Grain.MONTH or after.day == 1


# --- relative words ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("word", "week_start", "expected"),
    [
        ("today", 0, ("2026-11-25", "2026-11-25")),
        ("yesterday", 0, ("2026-11-24", "2026-11-24")),
        ("this-week", 0, ("2026-11-23", "2026-11-25")),
        ("last-week", 0, ("2026-11-16", "2026-11-22")),
        ("this-week", 6, ("2026-11-22", "2026-11-25")),
        ("last-week", 6, ("2026-11-15", "2026-11-21")),
        ("wtd", 6, ("2026-11-22", "2026-11-25")),
        ("last-2-weeks", 6, ("2026-11-08", "2026-11-21")),
        ("this-month", 0, ("2026-11-01", "2026-11-25")),
        ("last-month", 0, ("2026-10-01", "2026-10-31")),
        ("this-quarter", 0, ("2026-10-01", "2026-11-25")),
        ("last-quarter", 0, ("2026-07-01", "2026-09-30")),
        ("this-year", 0, ("2026-01-01", "2026-11-25")),
        ("last-year", 0, ("2025-01-01", "2025-12-31")),
        ("mtd", 0, ("2026-11-01", "2026-11-25")),
        ("qtd", 0, ("2026-10-01", "2026-11-25")),
        ("ytd", 0, ("2026-01-01", "2026-11-25")),
        ("last-7-days", 0, ("2026-11-18", "2026-11-24")),
        ("last-30d", 0, ("2026-10-26", "2026-11-24")),
        ("last-4w", 0, ("2026-10-26", "2026-11-22")),
        ("last-3m", 0, ("2026-08-01", "2026-10-31")),
    ],
)
def test_relative_words_on_a_wednesday(
    word: str, week_start: int, expected: tuple[str, str]
) -> None:
    assert window(word, WEDNESDAY, week_start) == expected


@pytest.mark.parametrize(
    ("week_start", "this_week", "last_week"),
    [
        (0, ("2026-11-16", "2026-11-22"), ("2026-11-09", "2026-11-15")),
        (6, ("2026-11-22", "2026-11-22"), ("2026-11-15", "2026-11-21")),
    ],
)
def test_on_a_sunday_the_week_is_ending_or_just_starting(
    week_start: int, this_week: tuple[str, str], last_week: tuple[str, str]
) -> None:
    sunday = D("2026-11-22")
    assert window("this-week", sunday, week_start) == this_week
    assert window("last-week", sunday, week_start) == last_week


def test_new_year_day_crosses_every_boundary() -> None:
    new_year = D("2026-01-01")
    assert window("yesterday", new_year) == ("2025-12-31", "2025-12-31")
    assert window("last-month", new_year) == ("2025-12-01", "2025-12-31")
    assert window("last-quarter", new_year) == ("2025-10-01", "2025-12-31")
    assert window("last-year", new_year) == ("2025-01-01", "2025-12-31")
    assert window("ytd", new_year) == ("2026-01-01", "2026-01-01")
    assert window("this-week", new_year) == ("2025-12-29", "2026-01-01")
    assert window("last-3m", D("2026-01-15")) == ("2025-10-01", "2025-12-31")


@pytest.mark.parametrize(
    ("today", "expected"),
    [
        ("2026-04-01", ("2026-01-01", "2026-03-31")),
        ("2026-03-31", ("2025-10-01", "2025-12-31")),
        ("2026-07-01", ("2026-04-01", "2026-06-30")),
        ("2026-10-01", ("2026-07-01", "2026-09-30")),
    ],
)
def test_last_quarter_on_quarter_boundaries(today: str, expected: tuple[str, str]) -> None:
    assert window("last-quarter", D(today)) == expected


def test_leap_february() -> None:
    last_month = resolve("last-month", D("2024-03-15"))
    assert (last_month.start, last_month.end, last_month.days) == (
        D("2024-02-01"),
        D("2024-02-29"),
        29,
    )
    assert resolve("last-month", D("2023-03-15")).days == 28
    assert year_ago(resolve("2024-02-29", WEDNESDAY)).start == D("2023-02-28")
    assert year_ago(resolve("2024-02", WEDNESDAY)).end == D("2023-02-28")
    assert year_ago(resolve("2025-02", WEDNESDAY)).end == D("2024-02-29")
    assert window("last-2-days", D("2024-03-01")) == ("2024-02-28", "2024-02-29")


def test_labels_say_the_word_and_the_dates() -> None:
    assert resolve("last-week", D("2026-11-23")).label == "last week (2026-11-16 \u2013 2026-11-22)"
    assert resolve("yesterday", WEDNESDAY).label == "yesterday (2026-11-24)"
    assert resolve("2026-W45", WEDNESDAY).label == "2026-W45 (2026-11-02 \u2013 2026-11-08)"
    assert resolve("2026-11-03", WEDNESDAY).label == "2026-11-03"
    assert resolve("last-1-weeks", WEDNESDAY).label.startswith("last 1 week (")
    assert (
        previous(resolve("last-month", WEDNESDAY)).label == "2026-09 (2026-09-01 \u2013 2026-09-30)"
    )
    assert last_closed(Grain.WEEK, WEDNESDAY, 6).label.startswith("week of 2026-11-15 (")


# --- fixed words -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("word", "grain", "expected"),
    [
        ("2026-W45", Grain.WEEK, ("2026-11-02", "2026-11-08")),
        ("2026-w01", Grain.WEEK, ("2025-12-29", "2026-01-04")),
        ("2020-W53", Grain.WEEK, ("2020-12-28", "2021-01-03")),
        ("2026-W53", Grain.WEEK, ("2026-12-28", "2027-01-03")),
        ("2026-10", Grain.MONTH, ("2026-10-01", "2026-10-31")),
        ("2026-2", Grain.MONTH, ("2026-02-01", "2026-02-28")),
        ("2026-Q3", Grain.QUARTER, ("2026-07-01", "2026-09-30")),
        ("2026-q1", Grain.QUARTER, ("2026-01-01", "2026-03-31")),
        ("2026", Grain.YEAR, ("2026-01-01", "2026-12-31")),
        ("2026-11-03", Grain.DAY, ("2026-11-03", "2026-11-03")),
        ("2026-10-01..2026-10-15", Grain.RANGE, ("2026-10-01", "2026-10-15")),
        ("2027-01-01..2027-01-01", Grain.RANGE, ("2027-01-01", "2027-01-01")),
    ],
)
def test_fixed_words(word: str, grain: Grain, expected: tuple[str, str]) -> None:
    assert resolve(word, WEDNESDAY).grain is grain
    assert window(word) == expected


def test_iso_week_ignores_week_start() -> None:
    assert window("2026-W45", week_start=6) == ("2026-11-02", "2026-11-08")


def test_since_runs_to_today() -> None:
    period = since("2026-10-01", WEDNESDAY)
    assert (period.start, period.end, period.grain) == (D("2026-10-01"), WEDNESDAY, Grain.RANGE)
    assert period.label == "since 2026-10-01 (2026-10-01 \u2013 2026-11-25)"
    assert since("2026-11-25", WEDNESDAY).days == 1


@pytest.mark.parametrize("word", ["2026-11-26", "yesterday", "2026-13-01"])
def test_since_refuses_a_future_or_bad_date(word: str) -> None:
    with pytest.raises(PeriodError, match=word):
        since(word, WEDNESDAY)


# --- vocabulary, French, case ------------------------------------------------------------------


@pytest.mark.parametrize("word", VOCABULARY)
@pytest.mark.parametrize("today", ["2026-11-25", "2026-01-01", "2024-02-29", "2026-12-31"])
def test_every_vocabulary_word_resolves(word: str, today: str) -> None:
    for week_start in (0, 6):
        period = resolve(word, D(today), week_start)
        assert period.contains(D(today)) or period.is_closed(D(today))


@pytest.mark.parametrize("word", EXAMPLES)
def test_every_example_resolves(word: str) -> None:
    first, _, rest = word.partition(" ")
    period = since(rest, WEDNESDAY) if first in SINCE_WORDS else resolve(word, WEDNESDAY)
    assert period.start <= period.end
    assert is_period_word(first)


@pytest.mark.parametrize(
    ("french", "english"),
    [
        ("hier", "yesterday"),
        ("aujourd-hui", "today"),
        ("aujourd'hui", "today"),
        ("Aujourd\u2019hui", "today"),
        ("cette-semaine", "this-week"),
        ("semaine-derniere", "last-week"),
        ("semaine-derni\u00e8re", "last-week"),
        ("ce-mois-ci", "this-month"),
        ("mois-dernier", "last-month"),
        ("ce-trimestre", "this-quarter"),
        ("trimestre-dernier", "last-quarter"),
        ("cette-ann\u00e9e", "this-year"),
        ("ann\u00e9e-derni\u00e8re", "last-year"),
        ("annee-derniere", "last-year"),
        ("7-derniers-jours", "last-7-days"),
        ("30-derniers-jours", "last-30-days"),
        ("4-derni\u00e8res-semaines", "last-4-weeks"),
        ("3-derniers-mois", "last-3-months"),
    ],
)
def test_french_equals_english(french: str, english: str) -> None:
    for week_start in (0, 6):
        assert resolve(french, WEDNESDAY, week_start) == resolve(english, WEDNESDAY, week_start)


@pytest.mark.parametrize(
    ("short", "long"),
    [("last-30d", "last-30-days"), ("last-4w", "last-4-weeks"), ("last-3m", "last-3-months")],
)
def test_short_forms_equal_long_forms(short: str, long: str) -> None:
    assert resolve(short, WEDNESDAY) == resolve(long, WEDNESDAY)


@pytest.mark.parametrize("word", ["LAST-WEEK", "Last-Week", " mtd ", "2026-w45", "LAST-7-DAYS"])
def test_words_are_case_insensitive(word: str) -> None:
    assert resolve(word, WEDNESDAY) == resolve(word.strip().lower(), WEDNESDAY)


# --- errors ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "word",
    [
        "lastweek",
        "last-0-days",
        "last-3661-days",
        "last-521-weeks",
        "last-121-months",
        "last-99999-days",
        "last-7-fortnights",
        "2021-W53",
        "2026-W00",
        "2026-13",
        "2026-Q5",
        "2026-02-30",
        "1899",
        "3000-01",
        "2026-10-15..2026-10-01",
        "1900-01-01..2026-01-01",
        "since",
        "ctr",
        "",
    ],
)
def test_errors_name_the_bad_word(word: str) -> None:
    with pytest.raises(PeriodError) as raised:
        resolve(word, WEDNESDAY)
    assert raised.value.word == word
    assert repr(word) in str(raised.value)
    assert isinstance(raised.value, KpiError)


def test_week_53_error_says_which_weeks_exist() -> None:
    with pytest.raises(PeriodError, match="2021 has ISO weeks 01 to 52"):
        resolve("2021-W53", WEDNESDAY)


def test_limits_are_inclusive() -> None:
    assert resolve("last-3660-days", WEDNESDAY).days == 3660
    assert resolve("last-520-weeks", WEDNESDAY).days == 520 * 7
    assert months_spanned(resolve("last-120-months", WEDNESDAY)) == 120


def test_long_input_is_refused_and_not_echoed_whole() -> None:
    word = "last-" + "9" * 10_000
    with pytest.raises(PeriodError) as raised:
        resolve(word, WEDNESDAY)
    assert len(str(raised.value)) < 200
    assert not is_period_word(word)


def test_bad_week_start_and_naive_now_are_programming_errors() -> None:
    with pytest.raises(ValueError, match="week_start"):
        resolve("last-week", WEDNESDAY, 7)
    with pytest.raises(ValueError, match="timezone-aware"):
        today_in(datetime(2026, 11, 25, 12, 0), PARIS)
    with pytest.raises(ValueError, match="range"):
        last_closed(Grain.RANGE, WEDNESDAY)
    with pytest.raises(ValueError, match="before it starts"):
        Period(WEDNESDAY, WEDNESDAY - timedelta(days=1), "backwards", Grain.RANGE)


@pytest.mark.parametrize(
    ("word", "expected"),
    [
        ("last-week", True),
        ("semaine-derni\u00e8re", True),
        ("2021-W53", True),
        ("last-0-days", True),
        ("since", True),
        ("2026-10-01..2026-10-15", True),
        ("ctr", False),
        ("instagram", False),
        ("platform=instagram", False),
        ("by", False),
    ],
)
def test_is_period_word(word: str, expected: bool) -> None:
    assert is_period_word(word) is expected


# --- time zones and DST ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("instant", "tz", "local_date"),
    [
        # Paris, spring forward on 2026-03-29 (UTC+1 -> UTC+2).
        ("2026-03-28T23:30", PARIS, "2026-03-29"),
        ("2026-03-29T21:30", PARIS, "2026-03-29"),
        ("2026-03-29T22:30", PARIS, "2026-03-30"),
        # Paris, fall back on 2026-10-25 (UTC+2 -> UTC+1).
        ("2026-10-24T21:30", PARIS, "2026-10-24"),
        ("2026-10-24T22:30", PARIS, "2026-10-25"),
        ("2026-10-25T22:30", PARIS, "2026-10-25"),
        ("2026-10-25T23:30", PARIS, "2026-10-26"),
        # New York, spring forward on 2026-03-08 (UTC-5 -> UTC-4).
        ("2026-03-08T04:30", NEW_YORK, "2026-03-07"),
        ("2026-03-08T05:30", NEW_YORK, "2026-03-08"),
        ("2026-03-09T03:30", NEW_YORK, "2026-03-08"),
        ("2026-03-09T04:30", NEW_YORK, "2026-03-09"),
        # New York, fall back on 2026-11-01 (UTC-4 -> UTC-5).
        ("2026-11-01T03:30", NEW_YORK, "2026-10-31"),
        ("2026-11-01T04:30", NEW_YORK, "2026-11-01"),
        ("2026-11-02T04:30", NEW_YORK, "2026-11-01"),
        ("2026-11-02T05:30", NEW_YORK, "2026-11-02"),
        # A UTC instant that is already tomorrow in Paris at 00:30 local.
        ("2026-11-24T23:30", PARIS, "2026-11-25"),
    ],
)
def test_today_in_around_dst_changes(instant: str, tz: ZoneInfo, local_date: str) -> None:
    now = datetime.fromisoformat(instant).replace(tzinfo=UTC)
    assert today_in(now, tz) == D(local_date)
    assert today_in(now.astimezone(ZoneInfo("Asia/Tokyo")), tz) == D(local_date)


@pytest.mark.parametrize(
    ("tz", "dst_day", "hours", "month_days"),
    [
        (PARIS, "2026-03-29", 23, 31),
        (PARIS, "2026-10-25", 25, 31),
        (NEW_YORK, "2026-03-08", 23, 31),
        (NEW_YORK, "2026-11-01", 25, 30),
    ],
)
def test_dst_days_do_not_change_windows(
    tz: ZoneInfo, dst_day: str, hours: int, month_days: int
) -> None:
    day = D(dst_day)
    midnight = datetime.combine(day, time(), tz).astimezone(UTC)
    next_midnight = datetime.combine(day + timedelta(days=1), time(), tz).astimezone(UTC)
    assert next_midnight - midnight == timedelta(hours=hours)

    assert today_in(midnight + timedelta(minutes=30), tz) == day
    assert today_in(next_midnight - timedelta(minutes=30), tz) == day
    after = today_in(next_midnight + timedelta(minutes=30), tz)
    assert resolve("yesterday", after) == Period(day, day, f"yesterday ({day})", Grain.DAY)
    week = resolve("last-week", day + timedelta(days=7))
    assert week.contains(day)
    assert week.days == 7
    month = resolve("last-month", _next_month(day))
    assert month.contains(day)
    assert month.days == month_days
    assert resolve("last-7-days", after).days == 7


def _next_month(day: date) -> date:
    return (day.replace(day=28) + timedelta(days=4)).replace(day=1)


# --- comparisons -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("word", "today", "expected"),
    [
        ("last-week", "2026-11-25", ("2026-11-09", "2026-11-15")),
        ("last-month", "2026-11-25", ("2026-09-01", "2026-09-30")),
        ("last-month", "2026-03-15", ("2026-01-01", "2026-01-31")),
        ("2026-03", "2026-11-25", ("2026-02-01", "2026-02-28")),
        ("2026-Q1", "2026-11-25", ("2025-10-01", "2025-12-31")),
        ("2026", "2026-11-25", ("2025-01-01", "2025-12-31")),
        ("2026-10-01..2026-10-15", "2026-11-25", ("2026-09-16", "2026-09-30")),
        ("last-7-days", "2026-11-25", ("2026-11-11", "2026-11-17")),
        ("last-3m", "2026-11-25", ("2026-05-01", "2026-07-31")),
        ("mtd", "2026-11-25", ("2026-10-01", "2026-10-25")),
        ("this-month", "2026-03-30", ("2026-02-01", "2026-02-28")),
        ("this-month", "2024-03-30", ("2024-02-01", "2024-02-29")),
        ("this-week", "2026-11-25", ("2026-11-16", "2026-11-18")),
        ("qtd", "2026-11-30", ("2026-07-01", "2026-08-31")),
        ("2026-11-03", "2026-11-25", ("2026-11-02", "2026-11-02")),
    ],
)
def test_previous(word: str, today: str, expected: tuple[str, str]) -> None:
    period = previous(resolve(word, D(today)))
    assert (period.start.isoformat(), period.end.isoformat()) == expected


@pytest.mark.parametrize(
    ("word", "expected"),
    [
        ("2026-W45", ("2025-11-03", "2025-11-09")),
        ("2021-W01", ("2019-12-30", "2020-01-05")),
        ("2020-W53", ("2019-12-23", "2019-12-29")),
        ("2026-W53", ("2025-12-22", "2025-12-28")),
        ("2021-W52", ("2020-12-21", "2020-12-27")),
        ("2026-10", ("2025-10-01", "2025-10-31")),
        ("2026-Q3", ("2025-07-01", "2025-09-30")),
        ("2026", ("2025-01-01", "2025-12-31")),
        ("2026-11-03", ("2025-11-03", "2025-11-03")),
        ("2024-02-29", ("2023-02-28", "2023-02-28")),
        ("2024-02-10..2024-02-29", ("2023-02-10", "2023-02-28")),
        ("2025-02-28", ("2024-02-28", "2024-02-28")),
    ],
)
def test_year_ago(word: str, expected: tuple[str, str]) -> None:
    period = year_ago(resolve(word, WEDNESDAY))
    assert (period.start.isoformat(), period.end.isoformat()) == expected


def test_year_ago_of_a_sunday_week_keeps_sundays() -> None:
    week = resolve("last-week", WEDNESDAY, week_start=6)
    earlier = year_ago(week)
    assert earlier.start.weekday() == 6
    assert earlier.days == 7
    assert earlier.start.isocalendar().week == week.start.isocalendar().week


def test_grain_periods_of_weeks_are_consecutive() -> None:
    weeks = grain_periods(resolve("last-week", WEDNESDAY))
    assert len(weeks) == 8
    assert weeks[-1].start == D("2026-11-16")
    assert weeks[0].start == D("2026-09-28")
    assert all(later.start == earlier.end + timedelta(days=1) for earlier, later in pairwise(weeks))
    assert [week.label[:8] for week in weeks[:2]] == ["2026-W40", "2026-W41"]


def test_grain_periods_of_a_partial_month_keep_the_day_of_month() -> None:
    months = grain_periods(resolve("this-month", D("2026-03-30")), count=4)
    assert [(m.start.isoformat(), m.end.isoformat()) for m in months] == [
        ("2025-12-01", "2025-12-30"),
        ("2026-01-01", "2026-01-30"),
        ("2026-02-01", "2026-02-28"),
        ("2026-03-01", "2026-03-30"),
    ]
    with pytest.raises(ValueError, match="count"):
        grain_periods(months[0], count=0)


@pytest.mark.parametrize(
    ("grain", "expected"),
    [
        (Grain.DAY, ("2026-11-24", "2026-11-24")),
        (Grain.WEEK, ("2026-11-16", "2026-11-22")),
        (Grain.MONTH, ("2026-10-01", "2026-10-31")),
        (Grain.QUARTER, ("2026-07-01", "2026-09-30")),
        (Grain.YEAR, ("2025-01-01", "2025-12-31")),
    ],
)
def test_last_closed(grain: Grain, expected: tuple[str, str]) -> None:
    period = last_closed(grain, WEDNESDAY)
    assert (period.start.isoformat(), period.end.isoformat()) == expected
    assert period.grain is grain
    assert period.is_closed(WEDNESDAY)


def test_period_basics() -> None:
    period = resolve("2026-10-01..2026-10-15", WEDNESDAY)
    assert period.days == 15
    assert period.contains(D("2026-10-01"))
    assert period.contains(D("2026-10-15"))
    assert not period.contains(D("2026-10-16"))
    assert period.is_closed(D("2026-10-16"))
    assert not period.is_closed(D("2026-10-15"))


# --- properties --------------------------------------------------------------------------------


@given(word=st.one_of(relative_words, last_n_words), today=todays, week_start=week_starts)
def test_relative_words_never_reach_past_today(word: str, today: date, week_start: int) -> None:
    period = resolve(word, today, week_start)
    assert period.start <= period.end <= today
    assert period.label.endswith(f"{period.end})")
    assert period.start.isoformat() in period.label


@given(word=relative_words, today=todays, week_start=week_starts)
def test_this_contains_today_and_last_is_closed(word: str, today: date, week_start: int) -> None:
    period = resolve(word, today, week_start)
    assert period.end == today or period.is_closed(today)
    if period.grain is Grain.WEEK:
        assert period.start.weekday() == week_start


@given(count=st.integers(1, LAST_N_LIMITS["days"]), today=todays)
def test_last_n_days_is_n_days_ending_yesterday(count: int, today: date) -> None:
    period = resolve(f"last-{count}-days", today)
    assert period.days == count
    assert period.end == today - timedelta(days=1)


@given(count=st.integers(1, LAST_N_LIMITS["weeks"]), today=todays, week_start=week_starts)
def test_last_n_weeks_are_whole_weeks_before_this_one(
    count: int, today: date, week_start: int
) -> None:
    period = resolve(f"last-{count}-weeks", today, week_start)
    assert period.days == 7 * count
    assert period.start.weekday() == week_start
    assert resolve("this-week", today, week_start).start == period.end + timedelta(days=1)


@given(count=st.integers(1, LAST_N_LIMITS["months"]), today=todays)
def test_last_n_months_are_whole_months_before_this_one(count: int, today: date) -> None:
    period = resolve(f"last-{count}m", today)
    assert months_spanned(period) == count
    assert period.start.day == 1
    assert period.end + timedelta(days=1) == today.replace(day=1)


@given(word=st.one_of(relative_words, last_n_words), today=todays, week_start=week_starts)
@example(word="last-month", today=date(2024, 3, 15), week_start=0)
def test_previous_has_the_same_size_and_comes_just_before(
    word: str, today: date, week_start: int
) -> None:
    period = resolve(word, today, week_start)
    before = previous(period)
    assert before.grain is period.grain
    assert before.end < period.start
    if is_whole(period):
        assert before.end == period.start - timedelta(days=1)
    if period.grain in {Grain.MONTH, Grain.QUARTER, Grain.YEAR}:
        assert before.start.day == 1
        assert months_spanned(before) == months_spanned(period)
    else:
        assert before.days == period.days


@given(word=st.one_of(relative_words, last_n_words), today=todays, week_start=week_starts)
def test_year_ago_is_about_a_year_earlier(word: str, today: date, week_start: int) -> None:
    period = resolve(word, today, week_start)
    earlier = year_ago(period)
    assert earlier.grain is period.grain
    assert 364 <= (period.start - earlier.start).days <= 371
    if period.grain is Grain.WEEK:
        assert earlier.days == period.days
        assert earlier.start.weekday() == period.start.weekday()
    elif period.grain in {Grain.MONTH, Grain.QUARTER, Grain.YEAR}:
        assert (earlier.start.month, earlier.start.day) == (period.start.month, 1)


@given(day=todays)
def test_year_ago_of_a_week_keeps_the_iso_week_number(day: date) -> None:
    iso = day.isocalendar()
    week = resolve(f"{iso.year}-W{iso.week:02d}", WEDNESDAY)
    earlier = year_ago(week).start.isocalendar()
    assert earlier.year == iso.year - 1
    assert earlier.week == iso.week or (iso.week == 53 and earlier.week == 52)
    assert earlier.weekday == 1


@given(day=todays)
def test_fixed_words_contain_their_day(day: date) -> None:
    iso = day.isocalendar()
    quarter = (day.month + 2) // 3
    words = [
        day.isoformat(),
        f"{iso.year}-W{iso.week:02d}",
        f"{day.year}-{day.month:02d}",
        f"{day.year}-Q{quarter}",
        str(day.year),
    ]
    for word in words:
        assert resolve(word, WEDNESDAY).contains(day), word
    assert resolve(f"{day}..{day + timedelta(days=9)}", WEDNESDAY).days == 10


@given(ending=st.one_of(relative_words, last_n_words), today=todays, count=st.integers(1, 12))
def test_grain_periods_end_with_the_period_and_do_not_overlap(
    ending: str, today: date, count: int
) -> None:
    period = resolve(ending, today)
    series = grain_periods(period, count)
    assert len(series) == count
    assert series[-1] == period
    assert all(earlier.end < later.start for earlier, later in pairwise(series))
    assert all(item.grain is period.grain for item in series)


@given(
    word=st.one_of(
        st.text(max_size=80),
        st.text(alphabet="0123456789-.wWqQlastdymonthe'\u00e9", max_size=30),
    )
)
def test_any_text_resolves_or_raises_period_error(word: str) -> None:
    try:
        period = resolve(word, WEDNESDAY)
    except PeriodError as error:
        assert error.word == word
    else:
        assert period.start <= period.end
        assert is_period_word(word)
