"""The command grammar shared by Slack (``/kpi ...``) and the CLI (``kpibot ask "..."``)::

    <kpi> [period] [vs <comparison>] [by <breakdown>] [filters]        or: help | list

After the KPI the parts come in any order, so a question can be typed the way it is thought of.
:func:`parse` turns one line into a :class:`Request` whose windows are already resolved, so the
query layer never sees words. Choices a reader of the code (or of an answer) may need:

* No period means :data:`DEFAULT_PERIOD`, ``last-week``: the last closed week is what a marketing
  team means by "how is CTR doing", and a closed week will not change under their feet.
* No ``vs`` means the previous period of the same length. ``vs last-year`` is the same period a
  year earlier (:func:`kpi.periods.year_ago`), not the calendar year: inside ``vs``, ``last-year``
  and ``annee-derniere`` name a comparison; elsewhere they are periods.
* Filter values are kept as typed, minus the quotes, except where the store spells them one way:
  platforms go through the store's :func:`~kpi.dimensions.normalise_platform` (``fb``,
  ``Google Ads``), and creators start with ``@`` as in the exports. ``platform=`` takes any name,
  so platforms the bot does not know can still be filtered; a bare word must be a known platform.
  Values of one key form a set: repeated keys merge, order and duplicates do not matter.
* Slack sends ``&``, ``<`` and ``>`` of command text as ``&amp;``, ``&lt;`` and ``&gt;``; they are
  undone first, or ``campaign="A & B"`` would match nothing and error positions would be off. The
  CLI gets the same treatment, so one line means the same thing in both.
* A quote opens a value only at the start of a token and closes only before a space, ``,``,
  ``=`` or the end, so apostrophes inside words need no quoting (``aujourd'hui``, ``L'Oréal``,
  ``"Women's Day"``). Straight and Slack's smart quotes both work.

The tokenizer is a single walk over the characters, with no regular expression over user text,
and the parser a single pass over the tokens: time is linear in the input, which is capped at
:data:`MAX_LENGTH` characters anyway. Every refusal is a :class:`GrammarError` naming the word and,
where one is close, what the user probably meant.
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from enum import Enum

from kpi.catalog import Catalog, Kpi, normalize
from kpi.dimensions import PLATFORMS, Dimension, normalise_platform
from kpi.errors import KpiError
from kpi.periods import EXAMPLES as PERIOD_EXAMPLES
from kpi.periods import (
    SINCE_WORDS,
    VOCABULARY,
    Period,
    PeriodError,
    is_period_word,
    previous,
    resolve,
    since,
    year_ago,
)
from kpi.request import Breakdown, ComparisonKind, Filters, Request
from kpi.targets import (
    COMPARATORS,
    GRAIN_WORDS,
    Target,
    TargetError,
    TargetGrain,
    default_comparator,
    parse_threshold,
)

#: Longer text is refused before parsing: no real question needs more, and it bounds the work.
MAX_LENGTH = 500
DEFAULT_PERIOD = "last-week"


@dataclass(frozen=True)
class HelpCommand:
    """``help`` / ``aide``, or nothing at all: show :data:`GRAMMAR_HELP`."""


@dataclass(frozen=True)
class ListCommand:
    """``list`` / ``liste``: show the catalog's KPIs."""


class GrammarError(KpiError):
    """The text is not a question; ``word`` is the offending word, ``suggestions`` close ones."""

    def __init__(self, problem: str, word: str = "", suggestions: Sequence[str] = ()) -> None:
        self.problem = problem
        self.word = word
        self.suggestions = tuple(suggestions)
        hint = f" — did you mean {_alternatives(self.suggestions)}?" if self.suggestions else ""
        super().__init__(problem + hint)


def _alternatives(words: Sequence[str]) -> str:
    return words[0] if len(words) == 1 else f"{', '.join(words[:-1])} or {words[-1]}"


# Lookup tables, keyed by catalog.normalize() of the word (no accents, case-folded, _ as -).
_COMMANDS: dict[str, HelpCommand | ListCommand] = {
    "help": HelpCommand(),
    "aide": HelpCommand(),
    "list": ListCommand(),
    "liste": ListCommand(),
}
_VS = ("vs", "contre")
_BY = ("by", "par")
_COMPARISONS: dict[str, ComparisonKind] = {
    "previous": ComparisonKind.PREVIOUS,
    "prev": ComparisonKind.PREVIOUS,
    "periode-precedente": ComparisonKind.PREVIOUS,
    "last-year": ComparisonKind.YEAR_AGO,
    "year-ago": ComparisonKind.YEAR_AGO,
    "annee-derniere": ComparisonKind.YEAR_AGO,
    "none": ComparisonKind.NONE,
}
_BREAKDOWNS: dict[str, Breakdown] = {
    **{breakdown.value: breakdown for breakdown in Breakdown},
    "plateforme": Breakdown.PLATFORM,
    "campagne": Breakdown.CAMPAIGN,
    "createur": Breakdown.CREATOR,
    "compte": Breakdown.ACCOUNT,
    "jour": Breakdown.DAY,
    "semaine": Breakdown.WEEK,
    "mois": Breakdown.MONTH,
}
_FILTER_KEYS: dict[str, Dimension] = {
    "platform": Dimension.PLATFORM,
    "plateforme": Dimension.PLATFORM,
    "campaign": Dimension.CAMPAIGN,
    "campagne": Dimension.CAMPAIGN,
    "creator": Dimension.CREATOR,
    "createur": Dimension.CREATOR,
    "account": Dimension.ACCOUNT,
    "compte": Dimension.ACCOUNT,
}
#: What an unknown word after the KPI may have been meant as; a bare breakdown lacks its ``by``.
_LATER_WORDS: tuple[str, ...] = (
    *VOCABULARY,
    *_VS,
    *_BY,
    *SINCE_WORDS,
    *PLATFORMS,
    *(f"by {breakdown}" for breakdown in Breakdown),
    *(f"par {word}" for word, breakdown in _BREAKDOWNS.items() if word != breakdown),
)

EXAMPLES: tuple[str, ...] = (
    "ctr last-week by platform",
    "roi last-month vs last-year",
    'cpc 2026-10 campaign="Black Friday"',
    "engagement_rate this-month instagram,tiktok",
    "reach 2026-W45",
    "spend since 2026-10-01 by day vs none",
    "cpa last-quarter by campaign creator=lena.makes,@sam.cooks",
    "clicks 2026-10 vs 2025-10 platform=linkedin account='Acme FR'",
    "taux-de-clic semaine-derniere par plateforme",
    "roas mois-dernier contre année-dernière plateforme=facebook",
)

GRAMMAR_HELP = f"""\
<kpi> [period] [vs comparison] [by breakdown] [filters]   (after the KPI, in any order)
  period      {", ".join(PERIOD_EXAMPLES)}; {DEFAULT_PERIOD} when not given
  vs          previous|prev (default), last-year|year-ago (the same period a year earlier),
              none, or another period
  by          {", ".join(Breakdown)}
  filters     platform=instagram,tiktok  campaign="Black Friday"  creator=@name  account="Acme FR"
              or just a platform: instagram (values with spaces go in quotes)
  help, list  this help; the KPIs
  In French: aide, liste, contre (période-précédente, année-dernière), depuis,
  par plateforme|campagne|créateur|compte|jour|semaine|mois, plateforme=, campagne=, créateur=,
  compte=
Examples:
{chr(10).join(f"  {example}" for example in EXAMPLES)}"""


class _Kind(Enum):
    WORD = "word"
    """A word, or a quoted value (quotes stripped)."""
    EQUALS = "="
    COMMA = ","


@dataclass(frozen=True)
class _Token:
    text: str
    kind: _Kind
    position: int
    """1-based character position, as a user counts."""


_SYMBOLS = {"=": _Kind.EQUALS, ",": _Kind.COMMA}
_DOUBLE, _SINGLE = '"\u201c\u201d', "'\u2018\u2019"
#: Each opening quote and the quotes that may close it: phones turn one into another.
_QUOTES = {**dict.fromkeys(_DOUBLE, _DOUBLE), **dict.fromkeys(_SINGLE, _SINGLE)}


def _unescape_slack(text: str) -> str:
    """``&amp;`` goes last, so that a typed ``&lt;`` (sent as ``&amp;lt;``) stays ``&lt;``."""
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def _ends_token(text: str, at: int) -> bool:
    return at == len(text) or text[at].isspace() or text[at] in _SYMBOLS


def _tokenize(text: str) -> list[_Token]:
    tokens: list[_Token] = []
    at = 0
    while at < len(text):
        char = text[at]
        if char.isspace():
            at += 1
        elif char in _SYMBOLS:
            tokens.append(_Token(char, _SYMBOLS[char], at + 1))
            at += 1
        elif char in _QUOTES:
            end = at + 1
            while end < len(text) and not (
                text[end] in _QUOTES[char] and _ends_token(text, end + 1)
            ):
                end += 1
            if end == len(text):
                raise GrammarError(f"unterminated quote at character {at + 1}", text[at:])
            tokens.append(_Token(text[at + 1 : end], _Kind.WORD, at + 1))
            at = end + 1
        else:
            start = at
            while not _ends_token(text, at):
                at += 1
            tokens.append(_Token(text[start:at], _Kind.WORD, start + 1))
    return tokens


def _filter_value(dimension: Dimension, value: str) -> str:
    """The value as the store spells it (see the module docstring)."""
    if not value.strip():
        raise GrammarError(f"the {dimension} filter has an empty value", value)
    if dimension is Dimension.PLATFORM:
        return normalise_platform(value)
    if dimension is Dimension.CREATOR and not value.startswith("@"):
        return f"@{value}"
    return value


class _Parser:
    """One pass over the tokens after the KPI; each part of the grammar has one method."""

    def __init__(self, tokens: list[_Token], catalog: Catalog, today: date, week_start: int):
        self._tokens = tokens
        self._at = 0
        self._catalog = catalog
        self._today = today
        self._week_start = week_start
        # Each part remembers the words that set it, to name both when it is given twice.
        self._period: tuple[str, Period] | None = None
        self._comparison: tuple[str, ComparisonKind, Period | None] | None = None
        self._breakdown: tuple[str, Breakdown] | None = None
        self._filters: dict[Dimension, set[str]] = {}

    def _peek(self) -> _Token | None:
        return self._tokens[self._at] if self._at < len(self._tokens) else None

    def _take(self) -> _Token | None:
        token = self._peek()
        if token is not None:
            self._at += 1
        return token

    def _value(self, after: str, what: str = "a value", suggestions: Sequence[str] = ()) -> str:
        token = self._take()
        if token is None or token.kind is not _Kind.WORD:
            raise GrammarError(f"{after!r} needs {what} after it", after, suggestions)
        return token.text

    def _values(self, first: str) -> list[str]:
        """``first`` and the values that follow it after commas."""
        values = [first]
        while (token := self._peek()) is not None and token.kind is _Kind.COMMA:
            self._take()
            values.append(self._value(","))
        return values

    def request(self, kpi: Kpi, text: str) -> Request:
        after_filter = False  # then an unknown word is most likely the rest of an unquoted value
        while (token := self._take()) is not None:
            if token.kind is not _Kind.WORD:
                message = f"unexpected {token.text!r} at character {token.position}"
                raise GrammarError(message, token.text)
            follower = self._peek()
            key = normalize(token.text)
            if follower is not None and follower.kind is _Kind.EQUALS:
                self._take()
                self._filter(token.text, key)
                after_filter = True
                continue
            if key in _VS:
                self._compare(token.text)
            elif key in _BY:
                self._break_down(token.text)
            elif is_period_word(token.text):
                self._set_period(token.text)
            elif normalise_platform(token.text) in PLATFORMS:
                self._platforms(token.text)
            elif token.text in self._catalog:
                message = f"one KPI per question: {token.text!r} is a second one"
                raise GrammarError(message, token.text)
            else:
                hint = " (quote a value that has spaces)" if after_filter else ""
                close = difflib.get_close_matches(key, _LATER_WORDS)
                raise GrammarError(f"unknown word {token.text!r}{hint}", token.text, close)
            after_filter = False
        return self._resolved(kpi, text)

    def _read_period(self, word: str) -> tuple[str, Period]:
        """The words and window of a period; ``since``/``depuis`` takes the next word too."""
        try:
            follower = self._peek()
            if normalize(word) in SINCE_WORDS and follower and follower.kind is _Kind.WORD:
                self._take()
                return f"{word} {follower.text}", since(follower.text, self._today)
            return word, resolve(word, self._today, self._week_start)
        except PeriodError as error:
            raise GrammarError(str(error), error.word) from error

    def _set_period(self, word: str) -> None:
        words, period = self._read_period(word)
        if self._period is not None:
            raise GrammarError(f"two periods, {self._period[0]!r} and {words!r}: keep one", word)
        self._period = words, period

    def _compare(self, word: str) -> None:
        target = self._value(word, "a comparison", ("previous", "last-year", "none"))
        kind = _COMPARISONS.get(normalize(target))
        explicit = None
        if kind is None and is_period_word(target):
            kind = ComparisonKind.EXPLICIT
            target, explicit = self._read_period(target)
        if kind is None:
            close = difflib.get_close_matches(normalize(target), (*_COMPARISONS, *VOCABULARY))
            raise GrammarError(f"cannot compare with {target!r}", target, close)
        phrase = f"{word} {target}"
        if self._comparison is not None:
            first = self._comparison[0]
            raise GrammarError(f"two comparisons, {first!r} and {phrase!r}: keep one", word)
        self._comparison = phrase, kind, explicit

    def _break_down(self, word: str) -> None:
        target = self._value(word, "a breakdown", [breakdown.value for breakdown in Breakdown])
        breakdown = _BREAKDOWNS.get(normalize(target))
        if breakdown is None:
            close = difflib.get_close_matches(normalize(target), _BREAKDOWNS)
            raise GrammarError(f"cannot break down by {target!r}", target, close)
        phrase = f"{word} {target}"
        if self._breakdown is not None:
            first = self._breakdown[0]
            raise GrammarError(f"two breakdowns, {first!r} and {phrase!r}: keep one", word)
        self._breakdown = phrase, breakdown

    def _filter(self, name: str, key: str) -> None:
        dimension = _FILTER_KEYS.get(key)
        if dimension is None:
            close = difflib.get_close_matches(key, _FILTER_KEYS)
            raise GrammarError(f"cannot filter on {name!r}", name, close)
        for value in self._values(self._value(f"{name}=")):
            self._filters.setdefault(dimension, set()).add(_filter_value(dimension, value))

    def _platforms(self, first: str) -> None:
        for word in self._values(first):
            platform = normalise_platform(word)
            if platform not in PLATFORMS:
                close = difflib.get_close_matches(normalize(word), PLATFORMS)
                raise GrammarError(f"unknown platform {word!r}", word, close)
            self._filters.setdefault(Dimension.PLATFORM, set()).add(platform)

    def target(self, kpi: Kpi) -> Target:
        """``[comparator] threshold [grain] [filters] [#channel]`` after the KPI."""
        comparator = default_comparator(kpi)
        first = self._take()
        if first is not None and first.text in ("<", ">") and self._peek_kind(_Kind.EQUALS):
            self._take()
            comparator, first = first.text + "=", self._take()
        elif first is not None and first.text in COMPARATORS:
            comparator, first = first.text, self._take()
        if first is None or first.kind is not _Kind.WORD:
            raise GrammarError("a target needs a threshold, e.g. ctr >= 1.2% weekly")
        try:
            threshold = parse_threshold(kpi, first.text)
        except TargetError as exc:
            raise GrammarError(str(exc), first.text) from None
        grain, rolling, channel = TargetGrain.WEEK, None, None
        while (token := self._take()) is not None:
            key = normalize(token.text)
            if self._peek_kind(_Kind.EQUALS):
                self._take()
                self._filter(token.text, key)
            elif key in GRAIN_WORDS:
                grain = GRAIN_WORDS[key]
            elif (days := _rolling_days(key)) is not None:
                grain, rolling = TargetGrain.ROLLING, days
            elif token.text.startswith(("#", "<#")):
                channel = _channel(token.text)
            elif normalise_platform(token.text) in PLATFORMS:
                self._platforms(token.text)
            else:
                close = difflib.get_close_matches(key, [*GRAIN_WORDS, "rolling-28-days"])
                raise GrammarError(f"unknown word {token.text!r} in a target", token.text, close)
        filters = self._filter_tuple()
        try:
            return Target(kpi.name, comparator, threshold, grain, rolling, filters, channel)
        except TargetError as exc:
            raise GrammarError(str(exc)) from None

    def _filter_tuple(self) -> Filters:
        return tuple(
            (dimension, tuple(sorted(self._filters[dimension])))
            for dimension in Dimension
            if dimension in self._filters
        )

    def _peek_kind(self, kind: _Kind) -> bool:
        token = self._peek()
        return token is not None and token.kind is kind

    def _resolved(self, kpi: Kpi, text: str) -> Request:
        if self._period is None:
            period = resolve(DEFAULT_PERIOD, self._today, self._week_start)
        else:
            period = self._period[1]
        kind, explicit = ComparisonKind.PREVIOUS, None
        if self._comparison is not None:
            _, kind, explicit = self._comparison
        comparison: Period | None
        match kind:
            case ComparisonKind.PREVIOUS:
                comparison = previous(period)
            case ComparisonKind.YEAR_AGO:
                comparison = year_ago(period)
            case _:  # EXPLICIT holds its period, NONE holds None
                comparison = explicit
        filters = self._filter_tuple()
        breakdown = self._breakdown[1] if self._breakdown else None
        return Request(
            kpi=kpi,
            period=period,
            comparison=comparison,
            breakdown=breakdown,
            filters=filters,
            comparison_kind=kind,
            text=text,
        )


def _rolling_days(key: str) -> int | None:
    """``rolling-28-days`` or ``rolling-28d``: the number of days, else None."""
    if not key.startswith("rolling-"):
        return None
    number = key.removeprefix("rolling-").removesuffix("-days").removesuffix("d")
    return int(number) if number.isdigit() else None


def _channel(word: str) -> str:
    """``#general`` as typed, or the id of Slack's escaped ``<#C024BE7LR|general>``."""
    if word.startswith("<#"):
        return word[2:].rstrip(">").split("|", 1)[0]
    return word


def _checked_tokens(text: str) -> tuple[str, list[_Token]]:
    plain = _unescape_slack(text)
    if len(plain) > MAX_LENGTH:
        raise GrammarError(f"a question has at most {MAX_LENGTH} characters, not {len(plain)}")
    return plain, _tokenize(plain)


def _kpi(token: _Token, catalog: Catalog) -> Kpi:
    kpi = catalog.get(token.text)
    if kpi is None:
        suggestions = catalog.suggest(token.text)
        hint = "" if suggestions else " (list shows them all)"
        raise GrammarError(f"unknown KPI {token.text!r}{hint}", token.text, suggestions)
    return kpi


def parse_target(text: str, catalog: Catalog) -> Target:
    """A target spec: ``ctr >= 1.2% weekly platform=tiktok #marketing``.

    The comparator defaults to the KPI's direction and the grain to weekly; ``rolling-28-days``
    judges the last 28 closed days. Filters are written as in questions.
    """
    _plain, tokens = _checked_tokens(text)
    if not tokens:
        raise GrammarError("a target needs a KPI and a threshold, e.g. ctr >= 1.2% weekly")
    kpi = _kpi(tokens[0], catalog)
    return _Parser(tokens[1:], catalog, date.min, 0).target(kpi)


def parse(
    text: str, catalog: Catalog, today: date, week_start: int = 0
) -> Request | HelpCommand | ListCommand:
    """One line of ``/kpi`` or ``kpibot ask``; empty text asks for help.

    ``week_start`` (0 = Monday) is passed to :func:`kpi.periods.resolve` for the week words.
    Raises :class:`GrammarError` for anything that is not a question.
    """
    plain, tokens = _checked_tokens(text)
    if not tokens:
        return HelpCommand()
    first, rest = tokens[0], tokens[1:]
    command = _COMMANDS.get(normalize(first.text))
    if command is not None:
        if rest:
            raise GrammarError(f"{first.text!r} takes nothing after it", rest[0].text)
        return command
    kpi = _kpi(first, catalog)
    return _Parser(rest, catalog, today, week_start).request(kpi, " ".join(plain.split()))
