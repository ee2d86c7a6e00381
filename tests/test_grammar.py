"""The /kpi grammar: every form a user may type, every refusal naming the word, and no crash."""

from __future__ import annotations

import contextlib
import time
from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kpi.catalog import BUILTIN, normalize
from kpi.dimensions import PLATFORMS, Dimension
from kpi.errors import KpiError
from kpi.grammar import (
    _BREAKDOWNS,
    _BY,
    _COMMANDS,
    _COMPARISONS,
    _FILTER_KEYS,
    _VS,
    DEFAULT_PERIOD,
    EXAMPLES,
    GRAMMAR_HELP,
    MAX_LENGTH,
    GrammarError,
    HelpCommand,
    ListCommand,
    Token,
    TokenKind,
    channel_of,
    kpi_named,
    parse,
    parse_target,
    tokenize,
)
from kpi.periods import SINCE_WORDS, Grain, Period, PeriodError, previous, resolve, year_ago
from kpi.request import Breakdown, ComparisonKind, Request

WEDNESDAY = date(2026, 11, 25)
LAST_WEEK = (date(2026, 11, 16), date(2026, 11, 22))


def ask(text: str, week_start: int = 0) -> Request:
    result = parse(text, BUILTIN, WEDNESDAY, week_start)
    assert isinstance(result, Request), result
    return result


def window(period: Period | None) -> tuple[date, date] | None:
    return None if period is None else (period.start, period.end)


def refusal(text: str) -> GrammarError:
    with pytest.raises(GrammarError) as caught:
        parse(text, BUILTIN, WEDNESDAY)
    return caught.value


@pytest.mark.parametrize("text", EXAMPLES)
def test_every_example_parses(text: str) -> None:
    assert isinstance(parse(text, BUILTIN, WEDNESDAY), Request)


def test_defaults_are_last_week_against_the_week_before() -> None:
    request = ask("ctr")
    assert request.kpi is BUILTIN["ctr"]
    assert request.period == resolve(DEFAULT_PERIOD, WEDNESDAY)
    assert window(request.period) == LAST_WEEK
    assert request.comparison_kind is ComparisonKind.PREVIOUS
    assert window(request.comparison) == (date(2026, 11, 9), date(2026, 11, 15))
    assert request.breakdown is None
    assert request.filters == ()


def test_week_start_reaches_the_period_words() -> None:
    sunday_weeks = ask("ctr last-week", week_start=6)
    assert window(sunday_weeks.period) == (date(2026, 11, 15), date(2026, 11, 21))


PARTS = (
    "last-month",
    "vs last-year",
    "by campaign",
    "platform=instagram,tiktok",
    'campaign="Black Friday"',
    "creator=lena.makes",
    "account='Acme FR'",
)


@given(st.permutations(PARTS))
def test_parts_after_the_kpi_come_in_any_order(parts: list[str]) -> None:
    assert ask("roas " + " ".join(parts)) == ask("roas " + " ".join(PARTS))


def test_a_full_question_resolves_every_part() -> None:
    request = ask("roas " + " ".join(PARTS))
    assert window(request.period) == (date(2026, 10, 1), date(2026, 10, 31))
    assert request.comparison_kind is ComparisonKind.YEAR_AGO
    assert window(request.comparison) == (date(2025, 10, 1), date(2025, 10, 31))
    assert request.breakdown is Breakdown.CAMPAIGN
    assert request.filters == (
        (Dimension.PLATFORM, ("instagram", "tiktok")),
        (Dimension.ACCOUNT, ("Acme FR",)),
        (Dimension.CAMPAIGN, ("Black Friday",)),
        (Dimension.CREATOR, ("@lena.makes",)),
    )
    assert hash(request) == hash(ask("roas " + " ".join(reversed(PARTS))))


@pytest.mark.parametrize(
    ("french", "english"),
    [
        ("taux-de-clic semaine-derniere par plateforme", "ctr last-week by platform"),
        ("Taux_De_Clic Semaine-Dernière PAR Plateforme", "ctr last-week by platform"),
        ("ctr contre année-dernière", "ctr vs last-year"),
        ("ctr contre annee-derniere", "ctr vs year-ago"),
        ("ctr vs période-précédente", "ctr vs previous"),
        ("ctr contre mois-dernier", "ctr vs last-month"),
        ("ctr depuis 2026-10-01", "ctr since 2026-10-01"),
        ("ctr aujourd'hui", "ctr today"),
        ("ctr aujourd\u2019hui", "ctr today"),
        ("ctr par créateur", "ctr by creator"),
        ("ctr par createur", "ctr by creator"),
        ("ctr par compte", "ctr by account"),
        ("ctr par campagne", "ctr by campaign"),
        ("ctr par jour", "ctr by day"),
        ("ctr par semaine", "ctr by week"),
        ("ctr par mois", "ctr by month"),
        ("ctr plateforme=tiktok", "ctr platform=tiktok"),
        ('ctr campagne="Black Friday"', 'ctr campaign="Black Friday"'),
        ("ctr créateur=@lena.makes", "ctr creator=@lena.makes"),
        ("ctr createur=lena.makes", "ctr creator=@lena.makes"),
        ("ctr compte=acme", "ctr account=acme"),
    ],
)
def test_french_forms_mean_the_same(french: str, english: str) -> None:
    assert ask(french) == ask(english)


@pytest.mark.parametrize(
    ("text", "command"),
    [
        ("", HelpCommand()),
        ("   \t ", HelpCommand()),
        ("help", HelpCommand()),
        ("HELP", HelpCommand()),
        ("aide", HelpCommand()),
        ("list", ListCommand()),
        ("liste", ListCommand()),
    ],
)
def test_commands(text: str, command: HelpCommand | ListCommand) -> None:
    assert parse(text, BUILTIN, WEDNESDAY) == command


P, C, R, A = Dimension.PLATFORM, Dimension.CAMPAIGN, Dimension.CREATOR, Dimension.ACCOUNT


@pytest.mark.parametrize(
    ("text", "filters"),
    [
        ("platform=instagram", ((P, ("instagram",)),)),
        ("PLATFORM=Instagram", ((P, ("instagram",)),)),
        ("instagram", ((P, ("instagram",)),)),
        ("Instagram,TikTok", ((P, ("instagram", "tiktok")),)),
        ("instagram , tiktok", ((P, ("instagram", "tiktok")),)),
        ("tiktok instagram", ((P, ("instagram", "tiktok")),)),
        ("instagram platform=tiktok platform=instagram", ((P, ("instagram", "tiktok")),)),
        ("platform=fb", ((P, ("facebook",)),)),
        ("ig", ((P, ("instagram",)),)),
        ('platform="Google Ads"', ((P, ("google-ads",)),)),
        ("google_ads", ((P, ("google-ads",)),)),
        ("platform=pinterest", ((P, ("pinterest",)),)),
        ('campaign="Black Friday"', ((C, ("Black Friday",)),)),
        ("campaign = 'Black Friday'", ((C, ("Black Friday",)),)),
        ("campaign=“Black Friday”", ((C, ("Black Friday",)),)),
        ("campaign=”Black Friday”", ((C, ("Black Friday",)),)),
        ("campaign=\u2018Black Friday\u2019", ((C, ("Black Friday",)),)),
        ('campaign="Summer Sale","Black Friday"', ((C, ("Black Friday", "Summer Sale")),)),
        ("campaign=“Summer Sale”,“Black Friday”", ((C, ("Black Friday", "Summer Sale")),)),
        ("campaign=Summer campaign=Winter", ((C, ("Summer", "Winter")),)),
        ('campaign="Women\'s Day"', ((C, ("Women's Day",)),)),
        ("campaign=L'Oréal", ((C, ("L'Oréal",)),)),
        ('campaign="a=b, c"', ((C, ("a=b, c",)),)),
        ("creator=@lena.makes", ((R, ("@lena.makes",)),)),
        ("creator=lena.makes", ((R, ("@lena.makes",)),)),
        ("creator=lena.makes,@sam.cooks", ((R, ("@lena.makes", "@sam.cooks")),)),
        ("account='Acme FR'", ((A, ("Acme FR",)),)),
        ("Account=acme", ((A, ("acme",)),)),
    ],
)
def test_filters(text: str, filters: object) -> None:
    assert ask(f"ctr {text}").filters == filters


@pytest.mark.parametrize(
    ("text", "campaign"),
    [
        ('campaign="A &amp; B"', "A & B"),
        ("campaign=&lt;launch&gt;", "<launch>"),
        ("campaign=&amp;lt;", "&lt;"),
    ],
)
def test_slack_escapes_are_undone(text: str, campaign: str) -> None:
    assert ask(f"ctr {text}").filters == ((C, (campaign,)),)


def test_text_is_the_normalised_original_and_not_part_of_equality() -> None:
    request = ask('  ctr \t last-week   campaign="A &amp; B"  ')
    assert request.text == 'ctr last-week campaign="A & B"'
    assert request == ask('ctr campaign="A & B" last-week')


@pytest.mark.parametrize("word", list(_BREAKDOWNS))
def test_every_breakdown_word(word: str) -> None:
    breakdown = ask(f"ctr by {word}").breakdown
    assert breakdown is _BREAKDOWNS[word]
    assert breakdown.is_time == (breakdown in (Breakdown.DAY, Breakdown.WEEK, Breakdown.MONTH))


@pytest.mark.parametrize(
    ("text", "kind", "expected"),
    [
        ("ctr last-week", ComparisonKind.PREVIOUS, (date(2026, 11, 9), date(2026, 11, 15))),
        (
            "ctr last-week vs previous",
            ComparisonKind.PREVIOUS,
            (date(2026, 11, 9), date(2026, 11, 15)),
        ),
        ("ctr last-week vs prev", ComparisonKind.PREVIOUS, (date(2026, 11, 9), date(2026, 11, 15))),
        (
            "reach 2026-W45 vs last-year",
            ComparisonKind.YEAR_AGO,
            (date(2025, 11, 3), date(2025, 11, 9)),
        ),
        (
            "reach 2026-W45 vs year-ago",
            ComparisonKind.YEAR_AGO,
            (date(2025, 11, 3), date(2025, 11, 9)),
        ),
        ("ctr 2026-10 vs 2026-08", ComparisonKind.EXPLICIT, (date(2026, 8, 1), date(2026, 8, 31))),
        ("ctr vs 2026-W40", ComparisonKind.EXPLICIT, (date(2026, 9, 28), date(2026, 10, 4))),
        ("ctr vs since 2026-11-20", ComparisonKind.EXPLICIT, (date(2026, 11, 20), WEDNESDAY)),
        ("ctr vs none", ComparisonKind.NONE, None),
        ("ctr VS NONE", ComparisonKind.NONE, None),
    ],
)
def test_comparisons(text: str, kind: ComparisonKind, expected: tuple[date, date] | None) -> None:
    request = ask(text)
    assert request.comparison_kind is kind
    assert window(request.comparison) == expected


def test_comparisons_reuse_the_period_helpers() -> None:
    week = ask("reach 2026-W45 vs last-year")
    assert week.comparison == year_ago(week.period)
    assert week.comparison.label.startswith("2025-W45")
    assert ask("reach 2026-W45").comparison == previous(week.period)


def test_last_year_is_a_period_outside_vs() -> None:
    request = ask("ctr last-year")
    assert window(request.period) == (date(2025, 1, 1), date(2025, 12, 31))
    assert request.period.grain is Grain.YEAR
    assert window(ask("ctr annee-derniere").period) == window(request.period)


def test_since_takes_the_next_word() -> None:
    request = ask("ctr since 2026-10-01 by day")
    assert window(request.period) == (date(2026, 10, 1), WEDNESDAY)
    assert request.breakdown is Breakdown.DAY


@pytest.mark.parametrize(
    ("text", "word", "suggestion"),
    [
        ("crt", "crt", "ctr"),
        ("ctr lastweek", "lastweek", "last-week"),
        ("ctr by plaform", "plaform", "platform"),
        ("ctr instagarm", "instagarm", "instagram"),
        ("ctr instagram,tiktk", "tiktk", "tiktok"),
        ("ctr vs prevous", "prevous", "previous"),
        ("ctr platfrom=instagram", "platfrom", "platform"),
        ("ctr platform", "platform", "by platform"),
        ("ctr by", "by", "platform"),
        ("ctr vs", "vs", "previous"),
    ],
)
def test_errors_name_the_word_and_suggest(text: str, word: str, suggestion: str) -> None:
    error = refusal(text)
    assert error.word == word
    assert error.suggestions[0] == suggestion
    assert f"did you mean {suggestion}" in str(error)
    assert isinstance(error, KpiError)


def test_unknown_kpi_message() -> None:
    assert (
        str(refusal("crt last-week")) == "unknown KPI 'crt' — did you mean ctr or conversion_rate?"
    )
    assert refusal("zzz").suggestions == ()


def test_by_without_a_breakdown_offers_them_all() -> None:
    assert refusal("ctr by").suggestions == tuple(Breakdown)


@pytest.mark.parametrize(
    ("text", "word", "message"),
    [
        ("ctr last-week mtd", "mtd", "two periods, 'last-week' and 'mtd'"),
        ("ctr since 2026-10-01 mtd", "mtd", "two periods, 'since 2026-10-01' and 'mtd'"),
        ("ctr by platform par jour", "par", "two breakdowns, 'by platform' and 'par jour'"),
        (
            "ctr vs previous contre none",
            "contre",
            "two comparisons, 'vs previous' and 'contre none'",
        ),
        ("ctr cpc", "cpc", "one KPI per question"),
        ("help ctr", "ctr", "'help' takes nothing after it"),
        ("ctr , instagram", ",", "unexpected ',' at character 5"),
        ("ctr platform=", "platform=", "needs a value"),
        ("ctr platform=instagram,", ",", "needs a value"),
        ("ctr platform==x", "platform=", "needs a value"),
        ('ctr campaign=""', "", "empty value"),
        ("ctr creator=' '", " ", "empty value"),
        ("ctr vs nothing", "nothing", "cannot compare with 'nothing'"),
        ("ctr campaign=Black Friday", "Friday", "'Friday' (quote a value that has spaces)"),
    ],
)
def test_refusals(text: str, word: str, message: str) -> None:
    error = refusal(text)
    assert error.word == word
    assert message in str(error)


@pytest.mark.parametrize(
    ("text", "position"),
    [
        ('ctr campaign="Black Friday', 14),
        ("ctr campaign=“Black Friday", 14),
        ("ctr campaign='Women's Day", 14),
        ('"ctr', 1),
    ],
)
def test_an_unterminated_quote_names_its_position(text: str, position: int) -> None:
    assert f"unterminated quote at character {position}" in str(refusal(text))


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("ctr 2021-W53", "2021 has ISO weeks 01 to 52"),
        ("ctr since", "needs a date after it"),
        ("ctr since 2099-01-01", "is after today"),
        ("ctr vs 2026-13", "the month must be 01 to 12"),
    ],
)
def test_period_errors_keep_their_message(text: str, reason: str) -> None:
    error = refusal(text)
    assert reason in str(error)
    assert isinstance(error.__cause__, PeriodError)
    assert error.word == error.__cause__.word


def test_length_limit_is_checked_first() -> None:
    assert isinstance(parse("ctr" + " " * (MAX_LENGTH - 3), BUILTIN, WEDNESDAY), Request)
    too_long = 'ctr "' + "x" * MAX_LENGTH  # also an unterminated quote: the length wins
    assert f"a command has at most {MAX_LENGTH} characters" in str(refusal(too_long))
    # The limit counts what the user typed, not Slack's escapes of it.
    assert isinstance(parse("ctr campaign=" + "&amp;" * 480, BUILTIN, WEDNESDAY), Request)


def test_tokenize_is_what_every_reader_sees() -> None:
    """The public pieces kpi.commands reads subcommands with: escapes undone, positions as typed."""
    assert tokenize('ctr &lt;= "A &amp; B",x') == [
        Token("ctr", TokenKind.WORD, 1),
        Token("<", TokenKind.WORD, 5),
        Token("=", TokenKind.EQUALS, 6),
        Token("A & B", TokenKind.WORD, 8),
        Token(",", TokenKind.COMMA, 15),
        Token("x", TokenKind.WORD, 16),
    ]
    assert tokenize("  ") == []
    with pytest.raises(GrammarError, match=f"a command has at most {MAX_LENGTH} characters"):
        tokenize("x" * (MAX_LENGTH + 1))


@pytest.mark.parametrize(
    ("word", "channel"),
    [
        ("#general", "#general"),
        ("<#C024BE7LR|general>", "C024BE7LR"),
        ("<#C024BE7LR>", "C024BE7LR"),
    ],
)
def test_channel_of(word: str, channel: str) -> None:
    assert channel_of(word) == channel


def test_kpi_named_refuses_with_the_grammar_error() -> None:
    assert kpi_named(Token("CTR", TokenKind.WORD, 1), BUILTIN).name == "ctr"
    with pytest.raises(GrammarError) as error:
        kpi_named(Token("ctrr", TokenKind.WORD, 1), BUILTIN)
    assert (error.value.word, error.value.suggestions[:1]) == ("ctrr", ("ctr",))


def test_help_documents_every_word() -> None:
    words = [*_COMMANDS, *_VS, *_BY, *SINCE_WORDS, *_COMPARISONS, *_BREAKDOWNS, *_FILTER_KEYS]
    documented = normalize(GRAMMAR_HELP)
    missing = [word for word in words if word not in documented]
    assert missing == []
    assert all(example in GRAMMAR_HELP for example in EXAMPLES)


# Fuzzing: whatever is typed, the answer is a Request, a command, or a KpiError, and quickly.
WORDS = st.sampled_from(
    [
        *(kpi.name for kpi in BUILTIN),
        *PLATFORMS,
        *_BREAKDOWNS,
        *_COMPARISONS,
        *_FILTER_KEYS,
        *_VS,
        *_BY,
        *SINCE_WORDS,
        "last-week",
        "2026-W45",
        "2026-10-01",
        "2026-10-01..2026-10-15",
        "last-9999-days",
        "&amp;",
        "&lt;",
    ]
)
PUNCTUATION = st.sampled_from(list("\"'“”\u2018\u2019=, \t\u00a0"))
FRAGMENTS = st.one_of(WORDS, PUNCTUATION, st.text(max_size=12))


@given(st.lists(FRAGMENTS, max_size=80).map("".join), st.integers(0, 6))
def test_random_text_only_raises_kpi_errors(text: str, week_start: int) -> None:
    with contextlib.suppress(KpiError):
        parse(text, BUILTIN, WEDNESDAY, week_start)


@given(st.lists(st.sampled_from(PARTS), max_size=12))
def test_a_repeated_period_comparison_or_breakdown_is_refused(parts: list[str]) -> None:
    """Filters merge when repeated; the other parts cannot mean two things at once."""
    repeated = any(parts.count(part) > 1 for part in PARTS[:3])
    try:
        ask("ctr " + " ".join(parts))
    except GrammarError as error:
        assert repeated
        assert "two " in str(error)
    else:
        assert not repeated


@pytest.mark.parametrize(
    "text",
    [
        '"' * MAX_LENGTH,
        "ctr " + '"a"b' * ((MAX_LENGTH - 4) // 4),
        "ctr '" + "a'" * ((MAX_LENGTH - 5) // 2),
        "=" * MAX_LENGTH,
        "ctr " + "instagram," * ((MAX_LENGTH - 4) // 10),
        "ctr " + "x" * (MAX_LENGTH - 4),
        "x" * MAX_LENGTH,
        "ctr campaign=" + "a," * ((MAX_LENGTH - 13) // 2),
        "ctr " + "é" * (MAX_LENGTH - 4),
    ],
)
def test_worst_cases_finish_quickly(text: str) -> None:
    """Each takes well under a millisecond; the best of three ignores a GC pause or a busy CI."""
    timings = []
    for _ in range(3):
        started = time.perf_counter()
        with contextlib.suppress(KpiError):
            parse(text, BUILTIN, WEDNESDAY)
        timings.append(time.perf_counter() - started)
    assert min(timings) < 0.05


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("ctr >= 1.2% weekly platform=tiktok", ("ctr", ">=", 0.012, "week", None, "tiktok", None)),
        ("cpc 0.9 rolling-28-days", ("cpc", "<=", 0.9, "rolling", 28, None, None)),
        (
            "roas > 3x monthly instagram #growth",
            ("roas", ">", 3.0, "month", None, "instagram", "#growth"),
        ),
        (
            "taux-de-clic <= 2 daily &lt;#C024|general&gt;",
            ("ctr", "<=", 0.02, "day", None, None, "C024"),
        ),
    ],
)
def test_target_specs(text: str, expected: tuple[object, ...]) -> None:
    target = parse_target(text, BUILTIN)
    platforms = dict(target.filters).get(Dimension.PLATFORM)
    got = (
        target.kpi,
        target.comparator,
        pytest.approx(target.threshold),
        target.grain.value,
        target.rolling_days,
        platforms[0] if platforms else None,
        target.channel,
    )
    assert got == expected


@pytest.mark.parametrize(
    ("text", "word"),
    [("crt >= 1%", "crt"), ("ctr weekly", "weekly"), ("ctr >= 1% hourly", "hourly"), ("", "")],
)
def test_bad_target_specs_name_the_word(text: str, word: str) -> None:
    with pytest.raises(GrammarError) as caught:
        parse_target(text, BUILTIN)
    assert caught.value.word == word
