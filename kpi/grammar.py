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

The subcommands of :mod:`kpi.commands` are read with the same pieces, so quoting, filters, channels
and target specs mean the same in both: :func:`tokenize`, :class:`Token` and :class:`TokenKind`,
:class:`Parser` (subclassed there), :func:`kpi_named` and :func:`channel_of`. The rest is private.
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


class TokenKind(Enum):
    """What a :class:`Token` is: only ``=`` and ``,`` are symbols, everything else is a word."""

    WORD = "word"
    """A word, or a quoted value (quotes stripped)."""
    EQUALS = "="
    COMMA = ","


@dataclass(frozen=True)
class Token:
    """One token of :func:`tokenize`, with its position so that refusals can point at it."""

    text: str
    kind: TokenKind
    position: int
    """1-based character position, as a user counts."""


_SYMBOLS = {"=": TokenKind.EQUALS, ",": TokenKind.COMMA}
_DOUBLE, _SINGLE = '"\u201c\u201d', "'\u2018\u2019"
#: Each opening quote and the quotes that may close it: phones turn one into another.
_QUOTES = {**dict.fromkeys(_DOUBLE, _DOUBLE), **dict.fromkeys(_SINGLE, _SINGLE)}


def tokenize(text: str) -> list[Token]:
    """The tokens of one line of ``/kpi`` or ``kpibot ask``, questions and subcommands alike.

    Slack's escaping is undone first and the length checked on what the user typed (see the
    module docstring), so every reader of a line sees the same tokens and the same refusals.
    Raises :class:`GrammarError` for text over :data:`MAX_LENGTH` or an unterminated quote.
    """
    return _tokenize(_plain(text))


def _plain(text: str) -> str:
    """The text as typed: Slack's escapes undone, and at most :data:`MAX_LENGTH` characters."""
    plain = _unescape_slack(text)
    if len(plain) > MAX_LENGTH:
        raise GrammarError(f"a command has at most {MAX_LENGTH} characters, not {len(plain)}")
    return plain


def _unescape_slack(text: str) -> str:
    """``&amp;`` goes last, so that a typed ``&lt;`` (sent as ``&amp;lt;``) stays ``&lt;``."""
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def _ends_token(text: str, at: int) -> bool:
    return at == len(text) or text[at].isspace() or text[at] in _SYMBOLS


def _tokenize(text: str) -> list[Token]:
    tokens: list[Token] = []
    at = 0
    while at < len(text):
        char = text[at]
        if char.isspace():
            at += 1
        elif char in _SYMBOLS:
            tokens.append(Token(char, _SYMBOLS[char], at + 1))
            at += 1
        elif char in _QUOTES:
            end = at + 1
            while end < len(text) and not (
                text[end] in _QUOTES[char] and _ends_token(text, end + 1)
            ):
                end += 1
            if end == len(text):
                raise GrammarError(f"unterminated quote at character {at + 1}", text[at:])
            tokens.append(Token(text[at + 1 : end], TokenKind.WORD, at + 1))
            at = end + 1
        else:
            start = at
            while not _ends_token(text, at):
                at += 1
            tokens.append(Token(text[start:at], TokenKind.WORD, start + 1))
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


class Parser:
    """One pass over the tokens after the KPI; each part of the grammar has one method.

    :meth:`request` reads a question and :meth:`target` a target spec. The reading steps are
    public so that another grammar (the subcommands of :mod:`kpi.commands`) can subclass this one
    and read filters, platforms and targets with the very same rules and refusals: filters
    collect into one set per dimension (see :meth:`filters`), whichever method added them.
    """

    def __init__(self, tokens: list[Token], catalog: Catalog, today: date, week_start: int):
        self._tokens = tokens
        self._at = 0
        self.catalog = catalog
        """The KPIs a word may name."""
        self._today = today
        self.week_start = week_start
        """The first day of a week, 0 = Monday, as :func:`kpi.periods.resolve` takes it."""
        # Each part remembers the words that set it, to name both when it is given twice.
        self._period: tuple[str, Period] | None = None
        self._comparison: tuple[str, ComparisonKind, Period | None] | None = None
        self._breakdown: tuple[str, Breakdown] | None = None
        self._filters: dict[Dimension, set[str]] = {}

    def peek(self) -> Token | None:
        """The next token, left in place; None at the end."""
        return self._tokens[self._at] if self._at < len(self._tokens) else None

    def next_is(self, kind: TokenKind) -> bool:
        """Whether the next token is of ``kind``, e.g. the ``=`` that makes a word a filter key."""
        token = self.peek()
        return token is not None and token.kind is kind

    def take(self) -> Token | None:
        """The next token, consumed; None at the end."""
        token = self.peek()
        if token is not None:
            self._at += 1
        return token

    def word(self) -> Token | None:
        """The next token, consumed; None at the end, and a refusal for a stray ``=`` or ``,``."""
        token = self.take()
        if token is not None and token.kind is not TokenKind.WORD:
            message = f"unexpected {token.text!r} at character {token.position}"
            raise GrammarError(message, token.text)
        return token

    def value_after(
        self, after: str, what: str = "a value", suggestions: Sequence[str] = ()
    ) -> str:
        """The word that ``after`` needs (``by`` a breakdown, ``platform=`` a value...).

        The refusal names ``after``, not what came instead, since the missing part is the problem.
        """
        token = self.take()
        if token is None or token.kind is not TokenKind.WORD:
            raise GrammarError(f"{after!r} needs {what} after it", after, suggestions)
        return token.text

    def values_from(self, first: str) -> list[str]:
        """``first`` and the values that follow it after commas: ``instagram,tiktok``."""
        values = [first]
        while self.next_is(TokenKind.COMMA):
            self.take()
            values.append(self.value_after(","))
        return values

    def request(self, kpi: Kpi, text: str) -> Request:
        """The rest of a question about ``kpi``; ``text`` is kept in the request as asked."""
        after_filter = False  # then an unknown word is most likely the rest of an unquoted value
        while (token := self.word()) is not None:
            key = normalize(token.text)
            if self.next_is(TokenKind.EQUALS):
                self.take()
                self.add_filter(token.text, key)
                after_filter = True
                continue
            if key in _VS:
                self._compare(token.text)
            elif key in _BY:
                self._break_down(token.text)
            elif is_period_word(token.text):
                self._set_period(token.text)
            elif normalise_platform(token.text) in PLATFORMS:
                self.add_platforms(token.text)
            elif token.text in self.catalog:
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
            follower = self.peek()
            if normalize(word) in SINCE_WORDS and follower and follower.kind is TokenKind.WORD:
                self.take()
                return f"{word} {follower.text}", since(follower.text, self._today)
            return word, resolve(word, self._today, self.week_start)
        except PeriodError as error:
            raise GrammarError(str(error), error.word) from error

    def _set_period(self, word: str) -> None:
        words, period = self._read_period(word)
        if self._period is not None:
            raise GrammarError(f"two periods, {self._period[0]!r} and {words!r}: keep one", word)
        self._period = words, period

    def _compare(self, word: str) -> None:
        target = self.value_after(word, "a comparison", ("previous", "last-year", "none"))
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
        target = self.value_after(word, "a breakdown", [breakdown.value for breakdown in Breakdown])
        breakdown = _BREAKDOWNS.get(normalize(target))
        if breakdown is None:
            close = difflib.get_close_matches(normalize(target), _BREAKDOWNS)
            raise GrammarError(f"cannot break down by {target!r}", target, close)
        phrase = f"{word} {target}"
        if self._breakdown is not None:
            first = self._breakdown[0]
            raise GrammarError(f"two breakdowns, {first!r} and {phrase!r}: keep one", word)
        self._breakdown = phrase, breakdown

    def add_filter(self, name: str, key: str) -> None:
        """The values of ``name=`` (``key`` is its normalised spelling), added to :meth:`filters`.

        Values are stored as the store spells them, so ``platform=fb`` matches ``facebook`` rows.
        """
        dimension = _FILTER_KEYS.get(key)
        if dimension is None:
            close = difflib.get_close_matches(key, _FILTER_KEYS)
            raise GrammarError(f"cannot filter on {name!r}", name, close)
        for value in self.values_from(self.value_after(f"{name}=")):
            self._filters.setdefault(dimension, set()).add(_filter_value(dimension, value))

    def add_platforms(self, first: str) -> None:
        """A bare platform and those after it with commas, added to the platform filter.

        Unlike ``platform=``, a bare word must be a known platform: it could be a typo for anything.
        """
        for word in self.values_from(first):
            platform = normalise_platform(word)
            if platform not in PLATFORMS:
                close = difflib.get_close_matches(normalize(word), PLATFORMS)
                raise GrammarError(f"unknown platform {word!r}", word, close)
            self._filters.setdefault(Dimension.PLATFORM, set()).add(platform)

    def target(self, kpi: Kpi) -> Target:
        """``[comparator] threshold [grain] [filters] [#channel]`` after the KPI."""
        comparator = default_comparator(kpi)
        first = self.take()
        if first is not None and first.text in ("<", ">") and self.next_is(TokenKind.EQUALS):
            self.take()
            comparator, first = first.text + "=", self.take()
        elif first is not None and first.text in COMPARATORS:
            comparator, first = first.text, self.take()
        if first is None or first.kind is not TokenKind.WORD:
            raise GrammarError("a target needs a threshold, e.g. ctr >= 1.2% weekly")
        try:
            threshold = parse_threshold(kpi, first.text)
        except TargetError as exc:
            raise GrammarError(str(exc), first.text) from None
        grain, rolling, channel = TargetGrain.WEEK, None, None
        while (token := self.take()) is not None:
            key = normalize(token.text)
            if self.next_is(TokenKind.EQUALS):
                self.take()
                self.add_filter(token.text, key)
            elif key in GRAIN_WORDS:
                grain = GRAIN_WORDS[key]
            elif (days := _rolling_days(key)) is not None:
                grain, rolling = TargetGrain.ROLLING, days
            elif token.text.startswith(("#", "<#")):
                channel = channel_of(token.text)
            elif normalise_platform(token.text) in PLATFORMS:
                self.add_platforms(token.text)
            else:
                close = difflib.get_close_matches(key, [*GRAIN_WORDS, "rolling-28-days"])
                raise GrammarError(f"unknown word {token.text!r} in a target", token.text, close)
        filters = self.filters()
        try:
            return Target(kpi.name, comparator, threshold, grain, rolling, filters, channel)
        except TargetError as exc:
            raise GrammarError(str(exc)) from None

    def filters(self) -> Filters:
        """The filters read so far, in a canonical order: dimensions as declared, values sorted.

        Canonical, so that equal filters typed differently make equal requests and targets.
        """
        return tuple(
            (dimension, tuple(sorted(self._filters[dimension])))
            for dimension in Dimension
            if dimension in self._filters
        )

    def _resolved(self, kpi: Kpi, text: str) -> Request:
        if self._period is None:
            period = resolve(DEFAULT_PERIOD, self._today, self.week_start)
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
        filters = self.filters()
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


def channel_of(word: str) -> str:
    """``#general`` as typed, or the id of Slack's escaped ``<#C024BE7LR|general>``.

    Only the id is reliable in an escaped reference (the name may be stale, or absent); a typed
    name is left for the caller to resolve, since only Slack knows which channel it names.
    """
    if word.startswith("<#"):
        return word[2:].rstrip(">").split("|", 1)[0]
    return word


def kpi_named(token: Token, catalog: Catalog) -> Kpi:
    """The KPI ``token`` names, or a :class:`GrammarError` pointing at it with close names.

    Unlike ``catalog[name]``, the refusal is the grammar's own, so a wrong KPI reads the same
    whether it starts a question, a target spec or a subcommand's target.
    """
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
    tokens = tokenize(text)
    if not tokens:
        raise GrammarError("a target needs a KPI and a threshold, e.g. ctr >= 1.2% weekly")
    kpi = kpi_named(tokens[0], catalog)
    return Parser(tokens[1:], catalog, date.min, 0).target(kpi)


def parse(
    text: str, catalog: Catalog, today: date, week_start: int = 0
) -> Request | HelpCommand | ListCommand:
    """One line of ``/kpi`` or ``kpibot ask``; empty text asks for help.

    ``week_start`` (0 = Monday) is passed to :func:`kpi.periods.resolve` for the week words.
    Raises :class:`GrammarError` for anything that is not a question.
    """
    plain = _plain(text)
    tokens = _tokenize(plain)
    if not tokens:
        return HelpCommand()
    first, rest = tokens[0], tokens[1:]
    command = _COMMANDS.get(normalize(first.text))
    if command is not None:
        if rest:
            raise GrammarError(f"{first.text!r} takes nothing after it", rest[0].text)
        return command
    kpi = kpi_named(first, catalog)
    return Parser(rest, catalog, today, week_start).request(kpi, " ".join(plain.split()))
