"""Digest schedules: every form and refusal, the stored text, and firing times across DST."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from apscheduler.triggers.cron import CronTrigger
from hypothesis import given, settings
from hypothesis import strategies as st

from kpi.grammar import GrammarError
from kpi.periods import Grain
from kpi.schedules import (
    WEEKDAYS,
    Cadence,
    Schedule,
    is_schedule_part,
    is_schedule_word,
    next_fire,
    parse_schedule,
    previous_fire,
)

PARIS = ZoneInfo("Europe/Paris")
NEW_YORK = ZoneInfo("America/New_York")
#: Zones with an hour, a half hour, a 45-minute offset, midnight changes, negative DST, none.
ZONES = [
    PARIS,
    NEW_YORK,
    ZoneInfo("Australia/Lord_Howe"),
    ZoneInfo("Pacific/Chatham"),
    ZoneInfo("America/Santiago"),
    ZoneInfo("Europe/Dublin"),
    ZoneInfo("Asia/Kolkata"),
    ZoneInfo("UTC"),
]


def weekly(weekday: int, hour: int = 9, minute: int = 0) -> Schedule:
    return Schedule(Cadence.WEEKLY, hour, minute, weekday=weekday)


def daily(hour: int, minute: int = 0) -> Schedule:
    return Schedule(Cadence.DAILY, hour, minute)


def monthly(day: int, hour: int = 9, minute: int = 0) -> Schedule:
    return Schedule(Cadence.MONTHLY, hour, minute, day=day)


# --- Parsing ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("weekly mon 09:00", weekly(0)),
        ("weekly monday 9:00", weekly(0)),
        ("weekly Monday 9:00", weekly(0)),
        ("weekly 09:00 mon", weekly(0)),
        ("weekly on monday at 9:00", weekly(0)),
        ("weekly fri 17:45", weekly(4, 17, 45)),
        ("weekly sunday 23:59", weekly(6, 23, 59)),
        ("weekly", weekly(0)),
        ("weekly 10:30", weekly(0, 10, 30)),
        ("weekly wed", weekly(2)),
        ("daily 08:30", daily(8, 30)),
        ("daily 0:00", daily(0)),
        ("daily", daily(9)),
        ("monthly 1 09:00", monthly(1)),
        ("monthly 28 18:00", monthly(28, 18)),
        ("monthly 09:00 15", monthly(15)),
        ("monthly", monthly(1)),
        ("monthly 03", monthly(3)),
        ("monthly \uff11 \uff10\uff19:\uff10\uff10", monthly(1)),  # fullwidth digits
        ("hebdo lun 9h", weekly(0)),
        ("hebdomadaire le mardi à 9h30", weekly(1, 9, 30)),
        ("quotidien 8h05", daily(8, 5)),
        ("mensuel 1 9H00", monthly(1)),
        ("WEEKLY SAM 07:00", weekly(5, 7)),
    ],
)
def test_forms(text: str, expected: Schedule) -> None:
    assert parse_schedule(text) == expected
    assert parse_schedule(text.split()) == expected


@pytest.mark.parametrize(
    "names",
    [
        ("mon", "tue", "wed", "thu", "fri", "sat", "sun"),
        ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"),
        ("lun", "mar", "mer", "jeu", "ven", "sam", "dim"),
        ("lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche"),
    ],
)
def test_every_weekday_name(names: tuple[str, ...]) -> None:
    assert [parse_schedule(["weekly", name]).weekday for name in names] == list(range(7))


@pytest.mark.parametrize("week_start", range(7))
def test_weekly_alone_runs_on_the_week_start_at_nine(week_start: int) -> None:
    assert parse_schedule("weekly", week_start) == weekly(week_start)
    assert parse_schedule("weekly fri", week_start) == weekly(4)


def test_week_start_out_of_range_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="week_start"):
        parse_schedule("weekly", 7)


@pytest.mark.parametrize(
    ("text", "problem", "word", "suggestions"),
    [
        ("", "a schedule starts with daily, weekly or monthly", "", ()),
        ("wekly mon", "unknown schedule 'wekly'", "wekly", ("weekly",)),
        ("dayly", "unknown schedule 'dayly'", "dayly", ("daily",)),
        ("often", "unknown schedule 'often'", "often", ()),
        ("weekly mnday 09:00", "unknown word 'mnday' in a weekly schedule", "mnday", ("mon",)),
        ("weekly tusday", "unknown word 'tusday' in a weekly schedule", "tusday", ("tue",)),
        ("hebdo lundii", "unknown word 'lundii' in a weekly schedule", "lundii", ("lun",)),
        ("weekly soon", "unknown word 'soon' in a weekly schedule", "soon", ()),
        ("daily soon", "unknown word 'soon' in a daily schedule", "soon", ()),
        ("daily mon", "a daily digest has no weekday ('mon')", "mon", ("weekly mon",)),
        ("monthly lundi", "a monthly digest has no weekday", "lundi", ("weekly mon",)),
        ("weekly mon tue", "two weekdays, 'mon' and 'tue': keep one", "tue", ()),
        ("daily 08:00 09:00", "two times, '08:00' and '09:00': keep one", "09:00", ()),
        ("monthly 1 2", "two days, '1' and '2': keep one", "2", ()),
        ("weekly 9", "a weekly digest takes no day number ('9')", "9", ("09:00",)),
        ("daily 30", "a daily digest takes no day number ('30')", "30", ()),
        ("weekly 0900", "write times as HH:MM ('0900')", "0900", ("09:00",)),
        ("monthly 1 0930", "write times as HH:MM ('0930')", "0930", ("09:30",)),
        ("daily 9am", "write times as HH:MM, e.g. 09:00 ('9am')", "9am", ()),
        ("daily 9:5", "write times as HH:MM, e.g. 09:00 ('9:5')", "9:5", ()),
        ("daily 09:00:00", "write times as HH:MM", "09:00:00", ()),
        ("daily 123:00", "write times as HH:MM", "123:00", ()),
        ("daily 24:00", "'24:00': hours go from 00 to 23", "24:00", ()),
        ("daily 9h60", "'9h60': minutes go from 00 to 59", "9h60", ()),
        ("monthly 29", "not every month has a 29th", "29", ("28",)),
        ("monthly 30", "not every month has a 30th", "30", ("28",)),
        ("monthly 31 09:00", "not every month has a 31st", "31", ("28",)),
        ("monthly 0", "'0': the day of the month goes from 1 to 28", "0", ()),
        ("monthly 32", "'32': the day of the month goes from 1 to 28", "32", ()),
        ("monthly 100", "'100': the day of the month goes from 1 to 28", "100", ()),
    ],
)
def test_refusals(text: str, problem: str, word: str, suggestions: tuple[str, ...]) -> None:
    with pytest.raises(GrammarError) as caught:
        parse_schedule(text)
    assert problem in caught.value.problem
    assert caught.value.word == word
    assert caught.value.suggestions == suggestions


def test_refusal_names_the_suggestion_in_the_message() -> None:
    with pytest.raises(GrammarError, match="did you mean mon"):
        parse_schedule("weekly mnday")


@pytest.mark.parametrize(
    ("word", "starts", "part"),
    [
        ("weekly", True, False),
        ("Mensuel", True, False),
        ("mon", False, True),
        ("mnday", False, True),
        ("9:00", False, True),
        ("15", False, True),
        ("at", False, True),
        ("instagram", False, False),
        ("kpis", False, False),
    ],
)
def test_schedule_words(word: str, starts: bool, part: bool) -> None:
    assert is_schedule_word(word) is starts
    assert is_schedule_part(word) is part


# --- The schedule itself ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("schedule", "described", "stored", "cron", "grain"),
    [
        (
            weekly(0),
            "weekly on Monday at 09:00",
            "weekly mon 09:00",
            {"day_of_week": "mon", "hour": "9", "minute": "0"},
            Grain.WEEK,
        ),
        (
            weekly(6, 18, 5),
            "weekly on Sunday at 18:05",
            "weekly sun 18:05",
            {"day_of_week": "sun", "hour": "18", "minute": "5"},
            Grain.WEEK,
        ),
        (daily(8, 30), "daily at 08:30", "daily 08:30", {"hour": "8", "minute": "30"}, Grain.DAY),
        (
            monthly(1),
            "monthly on the 1st at 09:00",
            "monthly 1 09:00",
            {"day": "1", "hour": "9", "minute": "0"},
            Grain.MONTH,
        ),
        (
            monthly(22, 0, 0),
            "monthly on the 22nd at 00:00",
            "monthly 22 00:00",
            {"day": "22", "hour": "0", "minute": "0"},
            Grain.MONTH,
        ),
    ],
)
def test_describe_store_and_cron(
    schedule: Schedule, described: str, stored: str, cron: dict[str, str], grain: Grain
) -> None:
    assert schedule.describe() == described
    assert schedule.to_text() == stored
    assert Schedule.from_text(stored) == schedule
    assert schedule.cron_fields() == cron
    assert schedule.grain is grain


@pytest.mark.parametrize(
    ("day", "ordinal"),
    [
        (1, "1st"),
        (2, "2nd"),
        (3, "3rd"),
        (4, "4th"),
        (11, "11th"),
        (12, "12th"),
        (13, "13th"),
        (21, "21st"),
        (22, "22nd"),
        (23, "23rd"),
        (28, "28th"),
    ],
)
def test_monthly_ordinals(day: int, ordinal: str) -> None:
    assert monthly(day).describe() == f"monthly on the {ordinal} at 09:00"


def schedules() -> st.SearchStrategy[Schedule]:
    hours, minutes = st.integers(0, 23), st.integers(0, 59)
    return st.one_of(
        st.builds(daily, hours, minutes),
        st.builds(weekly, st.integers(0, 6), hours, minutes),
        st.builds(monthly, st.integers(1, 28), hours, minutes),
    )


@given(schedules())
def test_stored_text_round_trips(schedule: Schedule) -> None:
    text = schedule.to_text()
    assert Schedule.from_text(text) == schedule
    assert Schedule.from_text(text).to_text() == text
    assert parse_schedule(text) == schedule


@given(schedules())
def test_described_text_reads_back(schedule: Schedule) -> None:
    """``weekly on Monday at 09:00`` is itself a valid schedule (days need no ordinal)."""
    if schedule.day is None:
        assert parse_schedule(schedule.describe()) == schedule


@pytest.mark.parametrize(
    "text",
    [
        "weekly monday 09:00",
        "weekly mon 9:00",
        "weekly  mon 09:00",
        " daily 08:30",
        "DAILY 08:30",
        "daily 8h30",
        "monthly 01 09:00",
        "weekly mon",
        "weekly mon 09:00 extra",
        "",
        "nonsense",
    ],
)
def test_from_text_accepts_only_the_stored_form(text: str) -> None:
    with pytest.raises(ValueError, match="not a stored schedule"):
        Schedule.from_text(text)


@pytest.mark.parametrize(
    "arguments",
    [
        (Cadence.DAILY, 24, 0, None, None),
        (Cadence.DAILY, 9, 60, None, None),
        (Cadence.DAILY, 9, 0, 0, None),
        (Cadence.WEEKLY, 9, 0, None, None),
        (Cadence.WEEKLY, 9, 0, 7, None),
        (Cadence.WEEKLY, 9, 0, 0, 1),
        (Cadence.MONTHLY, 9, 0, None, None),
        (Cadence.MONTHLY, 9, 0, None, 29),
        (Cadence.MONTHLY, 9, 0, None, 0),
    ],
)
def test_invalid_schedules_cannot_be_built(
    arguments: tuple[Cadence, int, int, int | None, int | None],
) -> None:
    with pytest.raises(ValueError):
        Schedule(*arguments)


def test_cron_fields_agree_with_apscheduler_on_ordinary_days() -> None:
    now = datetime(2026, 6, 10, 12, 0, 1, tzinfo=PARIS)
    for schedule in (weekly(0), weekly(2, 12, 0), daily(8, 30), monthly(28, 23, 59)):
        trigger = CronTrigger(**schedule.cron_fields(), timezone=PARIS)
        assert trigger.get_next_fire_time(None, now) == next_fire(schedule, now)


def test_weekdays_are_apschedulers_names() -> None:
    assert WEEKDAYS == ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


# --- Firing times -------------------------------------------------------------------------------


def local(
    zone: ZoneInfo, year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0
) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=zone)


def utc(moment: datetime) -> datetime:
    return moment.astimezone(UTC)


@pytest.mark.parametrize(
    ("now", "expected_utc"),
    [
        # Monday 09:00 Paris: 08:00 UTC in winter, 07:00 UTC in summer, around both changes.
        (local(PARIS, 2026, 3, 23, 8), datetime(2026, 3, 23, 8, tzinfo=UTC)),
        (local(PARIS, 2026, 3, 28, 12), datetime(2026, 3, 30, 7, tzinfo=UTC)),
        (local(PARIS, 2026, 3, 29, 2, 30), datetime(2026, 3, 30, 7, tzinfo=UTC)),
        (local(PARIS, 2026, 10, 24, 12), datetime(2026, 10, 26, 8, tzinfo=UTC)),
        (local(PARIS, 2026, 10, 19, 9, 0, 1), datetime(2026, 10, 26, 8, tzinfo=UTC)),
    ],
)
def test_monday_nine_in_paris_is_nine_local_across_dst(
    now: datetime, expected_utc: datetime
) -> None:
    fired = next_fire(weekly(0), now)
    assert utc(fired) == expected_utc
    assert fired.astimezone(PARIS).time() == time(9, 0)
    assert fired.astimezone(PARIS).weekday() == 0


def test_consecutive_monday_firings_are_a_local_week_apart() -> None:
    schedule = weekly(0)
    before = next_fire(schedule, local(PARIS, 2026, 3, 18))
    after = next_fire(schedule, before)
    assert after - before == timedelta(days=7)  # wall-clock difference in one zone
    assert utc(after) - utc(before) == timedelta(days=7, hours=-1)
    autumn = next_fire(schedule, local(PARIS, 2026, 10, 14))
    assert utc(next_fire(schedule, autumn)) - utc(autumn) == timedelta(days=7, hours=1)


@pytest.mark.parametrize(
    ("zone", "schedule", "now", "expected_local", "expected_utc"),
    [
        # Spring forward: 02:30 does not exist; the first valid instant after it is 03:00.
        (
            PARIS,
            daily(2, 30),
            datetime(2026, 3, 29, 0),
            datetime(2026, 3, 29, 3, 0),
            datetime(2026, 3, 29, 1, 0),
        ),
        (
            PARIS,
            daily(2, 0),
            datetime(2026, 3, 29, 0),
            datetime(2026, 3, 29, 3, 0),
            datetime(2026, 3, 29, 1, 0),
        ),
        (
            PARIS,
            daily(2, 59),
            datetime(2026, 3, 29, 0),
            datetime(2026, 3, 29, 3, 0),
            datetime(2026, 3, 29, 1, 0),
        ),
        (
            PARIS,
            daily(3, 0),
            datetime(2026, 3, 29, 0),
            datetime(2026, 3, 29, 3, 0),
            datetime(2026, 3, 29, 1, 0),
        ),
        (
            PARIS,
            weekly(6, 2, 30),
            datetime(2026, 3, 27, 0),
            datetime(2026, 3, 29, 3, 0),
            datetime(2026, 3, 29, 1, 0),
        ),
        (
            NEW_YORK,
            daily(2, 30),
            datetime(2026, 3, 8, 0),
            datetime(2026, 3, 8, 3, 0),
            datetime(2026, 3, 8, 7, 0),
        ),
        # Fall back: 02:30 Paris happens twice; the first one (summer time) fires.
        (
            PARIS,
            daily(2, 30),
            datetime(2026, 10, 25, 0),
            datetime(2026, 10, 25, 2, 30),
            datetime(2026, 10, 25, 0, 30),
        ),
        (
            PARIS,
            weekly(6, 2, 30),
            datetime(2026, 10, 20),
            datetime(2026, 10, 25, 2, 30),
            datetime(2026, 10, 25, 0, 30),
        ),
        # New York repeats 01:00-02:00; 02:30 there happens once, in standard time.
        (
            NEW_YORK,
            daily(1, 30),
            datetime(2026, 11, 1, 0),
            datetime(2026, 11, 1, 1, 30),
            datetime(2026, 11, 1, 5, 30),
        ),
        (
            NEW_YORK,
            daily(2, 30),
            datetime(2026, 11, 1, 0),
            datetime(2026, 11, 1, 2, 30),
            datetime(2026, 11, 1, 7, 30),
        ),
        (
            NEW_YORK,
            weekly(0),
            datetime(2026, 3, 7, 0),
            datetime(2026, 3, 9, 9, 0),
            datetime(2026, 3, 9, 13, 0),
        ),
        (
            NEW_YORK,
            weekly(0),
            datetime(2026, 10, 31, 0),
            datetime(2026, 11, 2, 9, 0),
            datetime(2026, 11, 2, 14, 0),
        ),
        # Lord Howe moves by half an hour: 02:00-02:30 is skipped.
        (
            ZoneInfo("Australia/Lord_Howe"),
            daily(2, 15),
            datetime(2026, 10, 4, 0),
            datetime(2026, 10, 4, 2, 30),
            datetime(2026, 10, 3, 15, 30),
        ),
    ],
)
def test_dst_days(
    zone: ZoneInfo,
    schedule: Schedule,
    now: datetime,
    expected_local: datetime,
    expected_utc: datetime,
) -> None:
    fired = next_fire(schedule, now.replace(tzinfo=zone))
    assert fired.tzinfo is zone
    assert fired.replace(tzinfo=None) == expected_local
    assert fired.fold == 0
    assert utc(fired) == expected_utc.replace(tzinfo=UTC)
    assert utc(previous_fire(schedule, fired)) == utc(fired)


@pytest.mark.parametrize(
    ("zone", "day"), [(PARIS, date(2026, 10, 25)), (NEW_YORK, date(2026, 11, 1))]
)
def test_a_repeated_time_fires_once(zone: ZoneInfo, day: date) -> None:
    schedule = daily(2, 30) if zone is PARIS else daily(1, 30)
    first = next_fire(schedule, datetime.combine(day, time(0), zone))
    second_occurrence = datetime.combine(day, time(schedule.hour, schedule.minute), zone).replace(
        fold=1
    )
    assert utc(second_occurrence) - utc(first) == timedelta(hours=1)
    # Just before, at and after the second occurrence, the next firing is the next day's.
    just_before = (utc(second_occurrence) - timedelta(seconds=1)).astimezone(zone)
    for moment in (first, just_before, second_occurrence):
        following = next_fire(schedule, moment)
        assert following.date() == day + timedelta(days=1)
        assert following.time() == time(schedule.hour, schedule.minute)
    assert utc(previous_fire(schedule, second_occurrence)) == utc(first)


def test_a_skipped_time_fires_once() -> None:
    schedule = daily(2, 30)
    fired = next_fire(schedule, local(PARIS, 2026, 3, 28, 12))
    assert fired == local(PARIS, 2026, 3, 29, 3)
    assert next_fire(schedule, fired) == local(PARIS, 2026, 3, 30, 2, 30)
    just_before = utc(fired) - timedelta(seconds=1)  # 01:59:59 local, the clock's last second
    assert previous_fire(schedule, just_before.astimezone(PARIS)) == local(
        PARIS, 2026, 3, 28, 2, 30
    )


def test_monthly_firings_skip_to_the_next_month() -> None:
    schedule = monthly(28, 23, 0)
    assert next_fire(schedule, local(PARIS, 2026, 2, 28, 23)) == local(PARIS, 2026, 3, 28, 23)
    assert previous_fire(schedule, local(PARIS, 2026, 2, 28, 23)) == local(PARIS, 2026, 2, 28, 23)
    assert next_fire(schedule, local(PARIS, 2026, 12, 29)) == local(PARIS, 2027, 1, 28, 23)
    assert previous_fire(schedule, local(PARIS, 2027, 1, 2)) == local(PARIS, 2026, 12, 28, 23)


def test_fixed_offsets_work_too() -> None:
    plus_two = timezone(timedelta(hours=2))
    fired = next_fire(daily(9), datetime(2026, 3, 29, 10, tzinfo=plus_two))
    assert fired == datetime(2026, 3, 30, 9, tzinfo=plus_two)
    assert fired.tzinfo is plus_two


def test_now_must_be_aware() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        next_fire(daily(9), datetime(2026, 3, 29, 10))
    with pytest.raises(ValueError, match="timezone-aware"):
        previous_fire(daily(9), datetime(2026, 3, 29, 10))


def oracle(schedule: Schedule, day: date, zone: ZoneInfo) -> datetime:
    """The first whole minute whose wall time is at or after ``day``'s time, found by walking."""
    wall = datetime.combine(day, time(schedule.hour, schedule.minute))
    guess = wall.replace(tzinfo=zone).utcoffset()
    assert guess is not None
    moment = (wall - guess - timedelta(hours=4)).replace(tzinfo=UTC)
    assert moment.astimezone(zone).replace(tzinfo=None) < wall
    while moment.astimezone(zone).replace(tzinfo=None) < wall:
        moment += timedelta(minutes=1)
    return moment


def following_date(schedule: Schedule, day: date) -> date:
    if schedule.cadence is Cadence.DAILY:
        return day + timedelta(days=1)
    if schedule.cadence is Cadence.WEEKLY:
        return day + timedelta(days=7)
    year, month0 = divmod(day.year * 12 + day.month, 12)
    return date(year, month0 + 1, day.day)


nows = st.datetimes(
    min_value=datetime(1990, 1, 1),
    max_value=datetime(2060, 1, 1),
    timezones=st.sampled_from(ZONES),
    allow_imaginary=False,
)


def check_firings(schedule: Schedule, now: datetime) -> None:
    zone = now.tzinfo
    assert isinstance(zone, ZoneInfo)
    upcoming, last = next_fire(schedule, now), previous_fire(schedule, now)
    assert upcoming.tzinfo is zone and last.tzinfo is zone
    assert utc(last) <= utc(now) < utc(upcoming)
    # Each is its date's firing, on one of the schedule's dates ...
    for fired in (upcoming, last):
        assert schedule.runs_on(fired.date())
        assert utc(fired) == oracle(schedule, fired.date(), zone)
    # ... and no date of the schedule lies between them: nothing is skipped or fired twice.
    assert following_date(schedule, last.date()) == upcoming.date()
    assert utc(next_fire(schedule, last)) == utc(upcoming)
    assert utc(previous_fire(schedule, upcoming)) == utc(upcoming)
    just_before = utc(upcoming) - timedelta(microseconds=1)
    assert utc(previous_fire(schedule, just_before.astimezone(zone))) == utc(last)


@settings(deadline=None)  # the oracle walks minute by minute: a loaded machine may be slow
@given(schedules(), nows)
def test_firings_match_a_minute_by_minute_walk(schedule: Schedule, now: datetime) -> None:
    check_firings(schedule, now)


#: Clock changes of 2026, as UTC instants (Lord Howe's is half an hour).
CHANGES = [
    (PARIS, datetime(2026, 3, 29, 1)),
    (PARIS, datetime(2026, 10, 25, 1)),
    (NEW_YORK, datetime(2026, 3, 8, 7)),
    (NEW_YORK, datetime(2026, 11, 1, 6)),
    (ZoneInfo("Australia/Lord_Howe"), datetime(2026, 4, 4, 15)),
    (ZoneInfo("Australia/Lord_Howe"), datetime(2026, 10, 3, 15, 30)),
]
near_changes = st.builds(
    lambda change, minutes: (
        (change[1] + timedelta(minutes=minutes)).replace(tzinfo=UTC).astimezone(change[0])
    ),
    st.sampled_from(CHANGES),
    st.integers(-3 * 24 * 60, 3 * 24 * 60),
)
night_schedules = st.builds(
    lambda cadence, weekday, hour, minute: Schedule(
        cadence, hour, minute, weekday if cadence is Cadence.WEEKLY else None
    ),
    st.sampled_from([Cadence.DAILY, Cadence.WEEKLY]),
    st.integers(0, 6),
    st.integers(0, 3),
    st.sampled_from([0, 15, 29, 30, 31, 45, 59]),
)


@settings(deadline=None)
@given(night_schedules, near_changes)
def test_firings_near_clock_changes(schedule: Schedule, now: datetime) -> None:
    check_firings(schedule, now)
