"""The configuration subcommands of ``/kpi``: digests, targets and alerts.

:func:`parse_command` turns ``digest on #marketing weekly mon 09:00 kpis ctr,cpc`` into a
:class:`DigestOn`, and so on; text that does not start with a subcommand word gives None, and the
caller reads it as a question with :func:`kpi.grammar.parse`. The words are read by the
question grammar's tokenizer (quotes, Slack's ``&lt;`` escaping and ``<#C024BE7LR|general>``
channel references included), and filters and target specs by its parser, so they mean the same
thing in a question, a target and a digest. Choices a reader may need:

* Subcommand words come first and win over a KPI of the same name in ``kpis.toml``.
* After ``digest on``, the channel, the schedule, ``kpis ...`` and the filters come in any order.
  No schedule means weekly on the week start at 09:00; no ``kpis`` means an empty tuple, which
  the caller reads as "the configured default KPIs" (so changing the default changes them).
* A channel typed as ``#general`` is kept as typed, for the caller to resolve; Slack's escaped
  ``<#C024BE7LR|general>`` gives the id ``C024BE7LR``.
* :attr:`changes_configuration` marks the commands only admins may run.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from datetime import date
from typing import ClassVar, TypeAlias

from kpi.catalog import Catalog, UnknownKpiError, normalize
from kpi.dimensions import PLATFORMS, Dimension, normalise_platform
from kpi.grammar import GrammarError, Parser, Token, TokenKind, channel_of, kpi_named, tokenize
from kpi.request import Filters
from kpi.schedules import (
    SCHEDULE_SUGGESTIONS,
    Schedule,
    is_schedule_part,
    is_schedule_word,
    parse_schedule,
)
from kpi.targets import Target


@dataclass(frozen=True)
class DigestOn:
    """Send ``channel`` a digest on ``schedule``, of ``kpis`` (empty: the default ones) within
    ``filters``."""

    channel: str
    schedule: Schedule
    kpis: tuple[str, ...] = ()
    filters: Filters = ()
    changes_configuration: ClassVar[bool] = True


@dataclass(frozen=True)
class DigestOff:
    channel: str
    changes_configuration: ClassVar[bool] = True


@dataclass(frozen=True)
class DigestList:
    changes_configuration: ClassVar[bool] = False


@dataclass(frozen=True)
class DigestPreview:
    """Show the channel's digest (None: the default digest) to the user who asked."""

    channel: str | None = None
    changes_configuration: ClassVar[bool] = False


@dataclass(frozen=True)
class DigestNow:
    """Post the channel's digest now (None: no channel was named)."""

    channel: str | None = None
    changes_configuration: ClassVar[bool] = True


@dataclass(frozen=True)
class TargetSet:
    target: Target
    changes_configuration: ClassVar[bool] = True


@dataclass(frozen=True)
class TargetList:
    changes_configuration: ClassVar[bool] = False


@dataclass(frozen=True)
class TargetRemove:
    target_id: int
    changes_configuration: ClassVar[bool] = True


@dataclass(frozen=True)
class TargetTest:
    """Judge ``target`` against the data now, without saving it."""

    target: Target
    changes_configuration: ClassVar[bool] = False


@dataclass(frozen=True)
class AlertsList:
    changes_configuration: ClassVar[bool] = False


Command: TypeAlias = (
    DigestOn
    | DigestOff
    | DigestList
    | DigestPreview
    | DigestNow
    | TargetSet
    | TargetList
    | TargetRemove
    | TargetTest
    | AlertsList
)

#: The first word of each subcommand, as documented.
SUBCOMMANDS: tuple[str, ...] = ("digest", "target", "alerts")
# Lookup tables keyed by catalog.normalize() of the word, French included.
_GROUPS = {
    "digest": "digest",
    "resume": "digest",
    "target": "target",
    "cible": "target",
    "alerts": "alerts",
    "alertes": "alerts",
}
_ACTIONS = {
    "digest": {
        "on": "on",
        "off": "off",
        "list": "list",
        "liste": "list",
        "preview": "preview",
        "apercu": "preview",
        "now": "now",
        "maintenant": "now",
    },
    "target": {
        "set": "set",
        "definir": "set",
        "list": "list",
        "liste": "list",
        "remove": "remove",
        "supprimer": "remove",
        "test": "test",
        "tester": "test",
    },
    "alerts": {"list": "list", "liste": "list"},
}
_KPIS_WORDS = ("kpis", "kpi", "indicateurs")
_FILTER_DIMENSIONS = (Dimension.PLATFORM, Dimension.CAMPAIGN, Dimension.CREATOR, Dimension.ACCOUNT)
#: What an unknown word after ``digest on`` may have been meant as.
_DIGEST_WORDS: dict[str, str] = {
    **SCHEDULE_SUGGESTIONS,
    "kpis": "kpis",
    **{dimension.value: f"{dimension}=" for dimension in _FILTER_DIMENSIONS},
    **{platform: platform for platform in PLATFORMS},
}
#: The example given when a subcommand word comes alone.
_EXAMPLES = {
    "digest": "digest on #marketing",
    "target": "target set ctr >= 1.2% weekly",
    "alerts": "alerts",
}
_LARGEST_ID = 2**63 - 1

SUBCOMMAND_HELP = """\
digest on #channel [schedule] [kpis ctr,cpc,roi] [filters]   (admins; after on, in any order)
  schedule    weekly mon 09:00 (default: the week start at 09:00), daily 08:30, monthly 1 09:00
              (day 1 to 28); times in the workspace's timezone
  kpis        the KPIs of the digest; the configured default ones when not given
  filters     as in questions: platform=instagram,tiktok campaign="Black Friday" creator=@name
digest off #channel          stop a channel's digest (admins)
digest list                  the channels that get a digest, and when
digest preview [#channel]    show that channel's digest (or the default one) to you only
digest now [#channel]        post the digest now (admins)
target set <spec>            add a target, or change its threshold (admins)
  spec        <kpi> [>=|>|<=|<] <threshold> [daily|weekly|monthly|quarterly|rolling-28-days]
              [filters] [#channel], e.g. ctr >= 1.2% weekly platform=tiktok #marketing
target list                  the targets, with their ids
target remove <id>           remove a target (admins)
target test <spec>           how a target would fare now, without saving it
alerts                       the KPIs that are off target
  In French: résumé (digest), cible (target), alertes, liste, aperçu, maintenant, définir,
  supprimer, tester, indicateurs (kpis), quotidien, hebdo, mensuel, lundi...dimanche, 9h30"""


class _Reader(Parser):
    """The question grammar's parser (filters, targets), plus the subcommands' own words."""

    def __init__(self, tokens: list[Token], catalog: Catalog, week_start: int) -> None:
        super().__init__(tokens, catalog, date.min, week_start)

    def command(self) -> Command:
        group_token = self.take()
        assert group_token is not None
        group = _GROUPS[normalize(group_token.text)]
        if group == "alerts" and self.peek() is None:
            return AlertsList()
        actions = _ACTIONS[group]
        action_token = self.take()
        if action_token is None:
            names = ", ".join(dict.fromkeys(actions.values()))
            problem = f"{group_token.text!r} needs one of {names}, e.g. {_EXAMPLES[group]}"
            raise GrammarError(problem, group_token.text)
        action = actions.get(normalize(action_token.text))
        if action is None:
            close = difflib.get_close_matches(normalize(action_token.text), actions)
            problem = f"unknown {group} action {action_token.text!r}"
            if group == "alerts":
                problem = f"{group_token.text!r} takes nothing after it"
            suggestions = tuple(dict.fromkeys(actions[word] for word in close))
            raise GrammarError(problem, action_token.text, suggestions)
        phrase = f"{group_token.text} {action_token.text}"
        match group, action:
            case "digest", "on":
                return self._digest_on(phrase)
            case "digest", "off":
                return DigestOff(self._only_channel(phrase))
            case "digest", "preview":
                return DigestPreview(self._optional_channel(phrase))
            case "digest", "now":
                return DigestNow(self._optional_channel(phrase))
            case "target", "set":
                return TargetSet(self._target(phrase))
            case "target", "test":
                return TargetTest(self._target(phrase))
            case "target", "remove":
                return TargetRemove(self._target_id(phrase))
        self._nothing_after(phrase)
        listing: dict[str, Command] = {
            "digest": DigestList(),
            "target": TargetList(),
            "alerts": AlertsList(),
        }
        return listing[group]

    def _nothing_after(self, phrase: str) -> None:
        token = self.peek()
        if token is not None:
            raise GrammarError(f"{phrase!r} takes nothing after it", token.text)

    def _optional_channel(self, phrase: str) -> str | None:
        token = self.word()
        if token is None:
            return None
        if not _is_channel(token.text):
            problem = f"{phrase!r} takes a #channel or nothing, not {token.text!r}"
            raise GrammarError(problem, token.text)
        self._nothing_after(phrase)
        return _checked_channel(token.text)

    def _only_channel(self, phrase: str) -> str:
        channel = self._optional_channel(phrase)
        if channel is None:
            raise GrammarError(f"which channel? e.g. {phrase} #marketing", phrase)
        return channel

    def _digest_on(self, phrase: str) -> DigestOn:
        channel: tuple[str, str] | None = None
        schedule: tuple[str, Schedule] | None = None
        kpis: list[str] = []
        while (token := self.word()) is not None:
            key = normalize(token.text)
            if key in _KPIS_WORDS:
                if self.next_is(TokenKind.EQUALS):
                    self.take()
                kpis += self._kpi_names(token.text)
            elif self.next_is(TokenKind.EQUALS):
                self.take()
                self.add_filter(token.text, key)
            elif _is_channel(token.text):
                if channel is not None:
                    problem = f"two channels, {channel[0]!r} and {token.text!r}: keep one"
                    raise GrammarError(problem, token.text)
                channel = token.text, _checked_channel(token.text)
            elif is_schedule_word(token.text):
                words = self._schedule_words(token.text)
                phrase_words = " ".join(words)
                if schedule is not None:
                    problem = f"two schedules, {schedule[0]!r} and {phrase_words!r}: keep one"
                    raise GrammarError(problem, token.text)
                schedule = phrase_words, parse_schedule(words, self.week_start)
            elif normalise_platform(token.text) in PLATFORMS:
                self.add_platforms(token.text)
            elif is_schedule_part(token.text) and schedule is not None:
                together = f"{schedule[0]} {token.text}"
                problem = f"{token.text!r} belongs with {schedule[0]!r}: write them together"
                raise GrammarError(problem, token.text, (together,))
            elif is_schedule_part(token.text):
                problem = f"a schedule starts with daily, weekly or monthly ({token.text!r})"
                raise GrammarError(problem, token.text, _weekly(token.text, self.week_start))
            else:
                close = difflib.get_close_matches(key, _DIGEST_WORDS)
                suggestions = tuple(dict.fromkeys(_DIGEST_WORDS[word] for word in close))
                raise GrammarError(f"unknown word {token.text!r}", token.text, suggestions)
        if channel is None:
            raise GrammarError(f"which channel? e.g. {phrase} #marketing", phrase)
        chosen = schedule[1] if schedule else parse_schedule(["weekly"], self.week_start)
        return DigestOn(channel[1], chosen, tuple(dict.fromkeys(kpis)), self.filters())

    def _schedule_words(self, first: str) -> list[str]:
        """The cadence and the words after it that belong to it (typos included)."""
        words = [first]
        while (token := self.peek()) is not None and token.kind is TokenKind.WORD:
            if not is_schedule_part(token.text):
                break
            words.append(token.text)
            self.take()
        return words

    def _kpi_names(self, word: str) -> list[str]:
        names = []
        for name in self.values_from(self.value_after(word, "KPI names, e.g. kpis ctr,cpc")):
            try:
                names.append(self.catalog[name].name)
            except UnknownKpiError as exc:
                hint = "" if exc.suggestions else " (/kpi list shows them all)"
                raise GrammarError(f"unknown KPI {name!r}{hint}", name, exc.suggestions) from None
        return names

    def _target(self, phrase: str) -> Target:
        token = self.word()
        if token is None:
            problem = f"{phrase!r} needs a target, e.g. {phrase} ctr >= 1.2% weekly"
            raise GrammarError(problem, phrase)
        target = self.target(kpi_named(token, self.catalog))
        if target.channel is not None:
            _check_channel(target.channel, target.channel)
        return target

    def _target_id(self, phrase: str) -> int:
        token = self.word()
        if token is None:
            raise GrammarError(f"which target? e.g. {phrase} 3 (see /kpi target list)", phrase)
        digits = token.text.removeprefix("#")
        if not (digits.isascii() and digits.isdigit()) or not 0 < int(digits) <= _LARGEST_ID:
            raise GrammarError("target ids are numbers, see /kpi target list", token.text)
        self._nothing_after(phrase)
        return int(digits)


def _weekly(word: str, week_start: int) -> tuple[str, ...]:
    """``weekly <word>`` if that is a valid schedule (``mon``, ``09:00``), else nothing."""
    try:
        parse_schedule(["weekly", word], week_start)
    except GrammarError:
        return ()
    return (f"weekly {word}",)


def _is_channel(word: str) -> bool:
    return word.startswith(("#", "<#"))


def _checked_channel(word: str) -> str:
    """The channel of ``#name`` or ``<#C024BE7LR|name>`` (see :func:`kpi.grammar.channel_of`)."""
    return _check_channel(channel_of(word), word)


def _check_channel(channel: str, word: str) -> str:
    """A ``#name`` with a name, or an id such as ``C024BE7LR``."""
    name = channel.removeprefix("#")
    if not name or (channel == name and not (name.isascii() and name.isalnum())):
        raise GrammarError(f"{word!r} is not a channel, e.g. #marketing", word)
    return channel


def parse_command(text: str, catalog: Catalog, week_start: int = 0) -> Command | None:
    """A configuration subcommand, or None when ``text`` does not start with one.

    ``week_start`` (0 = Monday) is the weekday of a weekly digest given without one. Raises
    :class:`GrammarError` (the problem, the word, close alternatives) for a malformed subcommand,
    including text longer than :data:`~kpi.grammar.MAX_LENGTH` characters.
    """
    first = text.split(maxsplit=1)
    if not first or normalize(first[0]) not in _GROUPS:
        return None
    return _Reader(tokenize(text), catalog, week_start).command()
