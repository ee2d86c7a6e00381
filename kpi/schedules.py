"""When a digest is sent: ``daily 08:30``, ``weekly mon 09:00``, ``monthly 1 09:00``.

A :class:`Schedule` is a local wall-clock time; the zone is the one of the ``now`` it is asked
about, so the same row means 09:00 in Paris for a bot running in Paris, summer and winter alike.
Choices a reader may need:

* Monthly digests run on day 1 to 28 only: a "31st" would silently skip most months.
* A time that the clock skips (02:30 on the spring-forward day) fires once, at the first instant
  after it (03:00 in Paris); a time that happens twice (02:30 on the fall-back day) fires once, at
  its first occurrence. Put differently, the digest of a date fires at the first instant whose
  local wall time is at or after the scheduled one. APScheduler 3's cron trigger fires 0 or 2
  times in those hours, which is why :func:`next_fire` exists.
* :meth:`Schedule.to_text` is the stored form; :meth:`Schedule.from_text` accepts that form only,
  so a row edited by hand into something else is refused rather than guessed at.

Nothing here reads the clock: ``now`` is passed in, and must be timezone-aware.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from enum import StrEnum

from kpi.catalog import normalize
from kpi.grammar import GrammarError
from kpi.periods import Grain

DEFAULT_HOUR, DEFAULT_MINUTE = 9, 0
#: Monthly digests run on one of these days, which every month has.
MAX_DAY = 28


class Cadence(StrEnum):
    DAILY = "daily"
    WEEKLY = "weekly"
    MONTHLY = "monthly"


#: Words that start a schedule, keyed by catalog.normalize() (French included).
CADENCE_WORDS: dict[str, Cadence] = {
    "daily": Cadence.DAILY,
    "quotidien": Cadence.DAILY,
    "weekly": Cadence.WEEKLY,
    "hebdo": Cadence.WEEKLY,
    "hebdomadaire": Cadence.WEEKLY,
    "monthly": Cadence.MONTHLY,
    "mensuel": Cadence.MONTHLY,
}
_GRAINS = {Cadence.DAILY: Grain.DAY, Cadence.WEEKLY: Grain.WEEK, Cadence.MONTHLY: Grain.MONTH}

_ENGLISH = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_FRENCH = ("lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche")
#: The short names, as stored and as given to APScheduler.
WEEKDAYS: tuple[str, ...] = tuple(name[:3] for name in _ENGLISH)
_FRENCH_SHORT = tuple(name[:3] for name in _FRENCH)
#: Every weekday word, and the short name of the same language to suggest for a typo of it.
_WEEKDAY_WORDS: dict[str, tuple[int, str]] = {
    word: (number, short)
    for names, shorts in ((_ENGLISH, WEEKDAYS), (_FRENCH, _FRENCH_SHORT))
    for number, (name, short) in enumerate(zip(names, shorts, strict=True))
    for word in (name, short)
}
#: Filler words a user may put in ("weekly on monday at 9:00", "hebdo le lundi à 9h").
_FILLERS = frozenset({"on", "at", "le", "a"})
#: How close a word must be to a weekday to be read as a misspelt one (mnday, tusday, mo).
_TYPO_CUTOFF = 0.75


@dataclass(frozen=True)
class Schedule:
    """A local wall-clock time: every day, on a weekday (0 = Monday), or on a day of the month."""

    cadence: Cadence
    hour: int
    minute: int
    weekday: int | None = None
    day: int | None = None

    def __post_init__(self) -> None:
        if not (0 <= self.hour <= 23 and 0 <= self.minute <= 59):
            raise ValueError(f"no such time of day: {self.hour}:{self.minute}")
        weekly, monthly = self.cadence is Cadence.WEEKLY, self.cadence is Cadence.MONTHLY
        if weekly != (self.weekday is not None) or monthly != (self.day is not None):
            raise ValueError("a weekly schedule has a weekday, a monthly one a day, and only they")
        if self.weekday is not None and not 0 <= self.weekday <= 6:
            raise ValueError(f"weekday must be 0 (Monday) to 6 (Sunday), not {self.weekday}")
        if self.day is not None and not 1 <= self.day <= MAX_DAY:
            raise ValueError(f"day must be 1 to {MAX_DAY}, not {self.day}")

    @property
    def grain(self) -> Grain:
        """The period a digest of this cadence covers: the last closed day, week or month."""
        return _GRAINS[self.cadence]

    @property
    def clock(self) -> str:
        return f"{self.hour:02d}:{self.minute:02d}"

    def describe(self) -> str:
        """``weekly on Monday at 09:00``, ``daily at 08:30``, ``monthly on the 1st at 09:00``."""
        if self.weekday is not None:
            return f"weekly on {_ENGLISH[self.weekday].title()} at {self.clock}"
        if self.day is not None:
            return f"monthly on the {_ordinal(self.day)} at {self.clock}"
        return f"daily at {self.clock}"

    def to_text(self) -> str:
        """The stored form: ``daily 08:30``, ``weekly mon 09:00``, ``monthly 1 09:00``."""
        if self.weekday is not None:
            return f"weekly {WEEKDAYS[self.weekday]} {self.clock}"
        if self.day is not None:
            return f"monthly {self.day} {self.clock}"
        return f"daily {self.clock}"

    @classmethod
    def from_text(cls, text: str) -> Schedule:
        """The inverse of :meth:`to_text`; ValueError for anything but that exact form."""
        try:
            schedule = parse_schedule(text.split(" "))
        except GrammarError as exc:
            raise ValueError(f"not a stored schedule: {text!r} ({exc})") from None
        if schedule.to_text() != text:
            raise ValueError(f"not a stored schedule: {text!r} (expected {schedule.to_text()!r})")
        return schedule

    def cron_fields(self) -> dict[str, str]:
        """Keyword arguments of APScheduler 3's ``CronTrigger`` (without the timezone)."""
        fields = {"hour": str(self.hour), "minute": str(self.minute)}
        if self.weekday is not None:
            fields["day_of_week"] = WEEKDAYS[self.weekday]
        if self.day is not None:
            fields["day"] = str(self.day)
        return fields

    def runs_on(self, day: date) -> bool:
        """Whether ``day`` is one of this schedule's dates."""
        if self.weekday is not None:
            return day.weekday() == self.weekday
        if self.day is not None:
            return day.day == self.day
        return True


def _ordinal(number: int) -> str:
    suffix = "th" if 11 <= number % 100 <= 13 else {1: "st", 2: "nd", 3: "rd"}.get(number % 10)
    return f"{number}{suffix or 'th'}"


def is_schedule_word(word: str) -> bool:
    """Whether ``word`` starts a schedule (``weekly``, ``daily``, ``mensuel``...)."""
    return normalize(word) in CADENCE_WORDS


def is_schedule_part(word: str) -> bool:
    """Whether ``word`` may follow the cadence: a weekday, a time (even a malformed one: it gets
    a precise message), a day number, a filler such as ``at``, or a typo of a weekday.
    """
    key = normalize(word)
    if key in _WEEKDAY_WORDS or key in _FILLERS or key[:1].isdigit() or ":" in key:
        return True
    return bool(difflib.get_close_matches(key, _WEEKDAY_WORDS, n=1, cutoff=_TYPO_CUTOFF))


#: What to suggest for each schedule word: cadences as typed, weekdays as their short name.
SCHEDULE_SUGGESTIONS: dict[str, str] = {
    **{word: word for word in CADENCE_WORDS},
    **{word: short for word, (_, short) in _WEEKDAY_WORDS.items()},
}


def _time(word: str) -> tuple[int, int] | None:
    """``09:00``, ``9:00``, ``9h``, ``9h30``: hour and minute as typed (unchecked), else None."""
    key = normalize(word)
    hours, separator, minutes = key.partition(":")
    if not separator:
        hours, separator, minutes = key.partition("h")
        minutes = minutes or "00"
    if not separator or not hours or len(hours) > 2 or len(minutes) != 2:
        return None
    if not (hours + minutes).isascii() or not (hours + minutes).isdigit():
        return None
    return int(hours), int(minutes)


def _is_number(word: str) -> bool:
    return word.isascii() and word.isdigit()


class _Reader:
    """The words after the cadence; each kind of word may come once, in any order."""

    def __init__(self, cadence: Cadence) -> None:
        self.cadence = cadence
        self.clock: tuple[str, tuple[int, int]] | None = None
        self.weekday: tuple[str, int] | None = None
        self.day: tuple[str, int] | None = None

    def read(self, word: str) -> None:
        key = normalize(word)
        if key in _FILLERS:
            return
        if (clock := _time(word)) is not None:
            self._clock(word, clock)
        elif key in _WEEKDAY_WORDS:
            self._weekday(word, _WEEKDAY_WORDS[key][0])
        elif _is_number(key) and len(key) <= 2:
            self._day(word, int(key))
        else:
            self._unknown(word, key)

    def _clock(self, word: str, clock: tuple[int, int]) -> None:
        if self.clock is not None:
            raise GrammarError(f"two times, {self.clock[0]!r} and {word!r}: keep one", word)
        hour, minute = clock
        if hour > 23:
            raise GrammarError(f"{word!r}: hours go from 00 to 23", word)
        if minute > 59:
            raise GrammarError(f"{word!r}: minutes go from 00 to 59", word)
        self.clock = word, clock

    def _weekday(self, word: str, number: int) -> None:
        if self.cadence is not Cadence.WEEKLY:
            suggestion = f"weekly {WEEKDAYS[number]}"
            problem = f"a {self.cadence} digest has no weekday ({word!r})"
            raise GrammarError(problem, word, (suggestion,))
        if self.weekday is not None:
            raise GrammarError(f"two weekdays, {self.weekday[0]!r} and {word!r}: keep one", word)
        self.weekday = word, number

    def _day(self, word: str, number: int) -> None:
        if self.cadence is not Cadence.MONTHLY:
            time_like = f"{number:02d}:00" if number <= 23 else None
            example = "weekly mon 09:00" if self.cadence is Cadence.WEEKLY else "daily 08:30"
            problem = f"a {self.cadence} digest takes no day number ({word!r}), e.g. {example}"
            raise GrammarError(problem, word, (time_like,) if time_like else ())
        if self.day is not None:
            raise GrammarError(f"two days, {self.day[0]!r} and {word!r}: keep one", word)
        if MAX_DAY < number <= 31:
            problem = f"monthly digests run on day 1 to {MAX_DAY}: not every month has a "
            raise GrammarError(problem + _ordinal(number), word, (str(MAX_DAY),))
        if not 1 <= number <= MAX_DAY:
            raise GrammarError(f"{word!r}: the day of the month goes from 1 to {MAX_DAY}", word)
        self.day = word, number

    def _unknown(self, word: str, key: str) -> None:
        if len(key) == 4 and _is_number(key) and int(key[:2]) <= 23 and int(key[2:]) <= 59:
            # 0900 is a time whatever the cadence (day numbers have at most two digits)
            raise GrammarError(f"write times as HH:MM ({word!r})", word, (f"{key[:2]}:{key[2:]}",))
        if _is_number(key) and self.cadence is Cadence.MONTHLY:
            raise GrammarError(f"{word!r}: the day of the month goes from 1 to {MAX_DAY}", word)
        if ":" in key or key[:1].isdigit():
            raise GrammarError(f"write times as HH:MM, e.g. 09:00 ({word!r})", word)
        words: list[str] = []
        if self.cadence is Cadence.WEEKLY:
            words = list(_WEEKDAY_WORDS)
        close = difflib.get_close_matches(key, words, n=1)
        shorts = tuple(dict.fromkeys(_WEEKDAY_WORDS[match][1] for match in close))
        raise GrammarError(f"unknown word {word!r} in a {self.cadence} schedule", word, shorts)

    def schedule(self, week_start: int) -> Schedule:
        hour, minute = self.clock[1] if self.clock else (DEFAULT_HOUR, DEFAULT_MINUTE)
        weekday: int | None = None
        day: int | None = None
        if self.cadence is Cadence.WEEKLY:
            weekday = self.weekday[1] if self.weekday else week_start
        if self.cadence is Cadence.MONTHLY:
            day = self.day[1] if self.day else 1
        return Schedule(self.cadence, hour, minute, weekday, day)


def parse_schedule(words: str | Sequence[str], week_start: int = 0) -> Schedule:
    """``weekly mon 09:00``, ``weekly monday 9:00``, ``daily 08:30``, ``monthly 1 09:00``...

    A schedule word alone runs at 09:00, weekly ones on ``week_start`` (0 = Monday) and monthly
    ones on the 1st. Weekdays may be English or French, long or short; times ``09:00`` or ``9h30``.
    Raises :class:`GrammarError` naming the word and, where one is close, what was meant.
    """
    if not 0 <= week_start <= 6:
        raise ValueError(f"week_start must be 0 (Monday) to 6 (Sunday), not {week_start}")
    if isinstance(words, str):
        words = words.split()
    if not words:
        raise GrammarError("a schedule starts with daily, weekly or monthly", "")
    first, *rest = words
    cadence = CADENCE_WORDS.get(normalize(first))
    if cadence is None:
        close = difflib.get_close_matches(normalize(first), CADENCE_WORDS)
        suggestions = tuple(dict.fromkeys(CADENCE_WORDS[word].value for word in close))
        raise GrammarError(f"unknown schedule {first!r}", first, suggestions)
    reader = _Reader(cadence)
    for word in rest:
        reader.read(word)
    return reader.schedule(week_start)


# --- Firing times -------------------------------------------------------------------------------


def _zone(now: datetime) -> tzinfo:
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("now must be a timezone-aware datetime")
    return now.tzinfo


def _fire(schedule: Schedule, day: date, zone: tzinfo) -> datetime:
    """The instant (in UTC) of ``day``'s firing: the first whose wall time is at or after it."""
    wall = datetime.combine(day, time(schedule.hour, schedule.minute))
    first = wall.replace(tzinfo=zone, fold=0).astimezone(UTC)
    if first.astimezone(zone).replace(tzinfo=None) == wall:
        return first  # exists; for a repeated time, fold=0 is the first occurrence
    # Skipped by the clock: the change happens between reading ``wall`` with the offset after
    # it (too early) and with the offset before it (at or after the change). Find that second.
    ends = sorted((first, wall.replace(tzinfo=zone, fold=1).astimezone(UTC)))
    low, high = (int(end.timestamp()) for end in ends)
    before = ends[0].astimezone(zone).utcoffset()
    while high - low > 1:
        middle = (low + high) // 2
        if datetime.fromtimestamp(middle, zone).utcoffset() == before:
            low = middle
        else:
            high = middle
    return datetime.fromtimestamp(high, UTC)


def _dates(schedule: Schedule, around: date, step: int) -> Iterator[date]:
    """The schedule's dates, from two days or months on the far side of ``around``, towards
    the future (step 1) or the past (step -1): a firing never moves a day from its date."""
    if schedule.day is None:
        day = around - timedelta(days=step * 2)
        while True:
            if schedule.runs_on(day):
                yield day
            day += timedelta(days=step)
    months = around.year * 12 + around.month - 1 - step * 2
    while True:
        year, month0 = divmod(months, 12)
        yield date(year, month0 + 1, schedule.day)
        months += step


def next_fire(schedule: Schedule, now: datetime) -> datetime:
    """The first firing strictly after ``now``, in ``now``'s zone."""
    zone = _zone(now)
    instant = now.astimezone(UTC)
    for day in _dates(schedule, now.date(), 1):
        fire = _fire(schedule, day, zone)
        if fire > instant:
            return fire.astimezone(zone)
    raise AssertionError("unreachable")  # pragma: no cover


def previous_fire(schedule: Schedule, now: datetime) -> datetime:
    """The last firing at or before ``now``, in ``now``'s zone."""
    zone = _zone(now)
    instant = now.astimezone(UTC)
    for day in _dates(schedule, now.date(), -1):
        fire = _fire(schedule, day, zone)
        if fire <= instant:
            return fire.astimezone(zone)
    raise AssertionError("unreachable")  # pragma: no cover
