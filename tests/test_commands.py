"""The /kpi configuration subcommands: every form, every refusal with its hint, and no crash."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kpi.catalog import BUILTIN
from kpi.commands import (
    _GROUPS,
    SUBCOMMAND_HELP,
    SUBCOMMANDS,
    AlertsList,
    Command,
    DigestList,
    DigestNow,
    DigestOff,
    DigestOn,
    DigestPreview,
    TargetList,
    TargetRemove,
    TargetSet,
    TargetTest,
    parse_command,
)
from kpi.dimensions import Dimension
from kpi.grammar import GRAMMAR_HELP, MAX_LENGTH, GrammarError, parse_target
from kpi.schedules import Cadence, Schedule
from kpi.targets import Target, TargetGrain

WEEKLY_MONDAY = Schedule(Cadence.WEEKLY, 9, 0, weekday=0)
CTR_TARGET = Target("ctr", ">=", 0.012, TargetGrain.WEEK)


def command(text: str, week_start: int = 0) -> Command:
    parsed = parse_command(text, BUILTIN, week_start)
    assert parsed is not None, text
    return parsed


def refusal(text: str) -> GrammarError:
    with pytest.raises(GrammarError) as caught:
        parse_command(text, BUILTIN)
    return caught.value


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("digest on #marketing", DigestOn("#marketing", WEEKLY_MONDAY)),
        ("digest on <#C024BE7LR|general>", DigestOn("C024BE7LR", WEEKLY_MONDAY)),
        ("digest on <#C024BE7LR>", DigestOn("C024BE7LR", WEEKLY_MONDAY)),
        ("Digest ON #marketing weekly mon 09:00", DigestOn("#marketing", WEEKLY_MONDAY)),
        (
            "digest on #marketing weekly friday 17:30",
            DigestOn("#marketing", Schedule(Cadence.WEEKLY, 17, 30, weekday=4)),
        ),
        ("digest on #m daily 08:30", DigestOn("#m", Schedule(Cadence.DAILY, 8, 30))),
        ("digest on #m monthly 1 09:00", DigestOn("#m", Schedule(Cadence.MONTHLY, 9, 0, day=1))),
        ("digest on #m kpis ctr,cpc,roi", DigestOn("#m", WEEKLY_MONDAY, ("ctr", "cpc", "roi"))),
        ("digest on #m kpis ctr, cpc", DigestOn("#m", WEEKLY_MONDAY, ("ctr", "cpc"))),
        ("digest on #m kpis=ctr", DigestOn("#m", WEEKLY_MONDAY, ("ctr",))),
        # Aliases give the canonical name; repeats are dropped, order is kept.
        (
            "digest on #m kpis taux-de-clic,CPC kpis ctr,roas",
            DigestOn("#m", WEEKLY_MONDAY, ("ctr", "cpc", "roas")),
        ),
        (
            "digest on #m platform=tiktok,fb",
            DigestOn("#m", WEEKLY_MONDAY, filters=((Dimension.PLATFORM, ("facebook", "tiktok")),)),
        ),
        (
            "digest on #m instagram campaign=\"Black Friday\" creator=lena account='Acme FR'",
            DigestOn(
                "#m",
                WEEKLY_MONDAY,
                filters=(
                    (Dimension.PLATFORM, ("instagram",)),
                    (Dimension.ACCOUNT, ("Acme FR",)),
                    (Dimension.CAMPAIGN, ("Black Friday",)),
                    (Dimension.CREATOR, ("@lena",)),
                ),
            ),
        ),
        # After "on", the parts come in any order.
        (
            "digest on kpis roi platform=linkedin daily 07:00 <#C1|x>",
            DigestOn(
                "C1",
                Schedule(Cadence.DAILY, 7, 0),
                ("roi",),
                ((Dimension.PLATFORM, ("linkedin",)),),
            ),
        ),
        (
            "digest on #m weekly on monday at 9:00 kpis ctr",
            DigestOn("#m", WEEKLY_MONDAY, ("ctr",)),
        ),
        # Slack's escaping is undone first.
        (
            'digest on #m campaign="A &amp; B"',
            DigestOn("#m", WEEKLY_MONDAY, filters=((Dimension.CAMPAIGN, ("A & B",)),)),
        ),
        ("digest off #marketing", DigestOff("#marketing")),
        ("digest off <#C024BE7LR|general>", DigestOff("C024BE7LR")),
        ("digest list", DigestList()),
        ("digest preview", DigestPreview(None)),
        ("digest preview #marketing", DigestPreview("#marketing")),
        ("digest now", DigestNow(None)),
        ("digest now <#C024BE7LR|general>", DigestNow("C024BE7LR")),
        ("target set ctr >= 1.2% weekly", TargetSet(CTR_TARGET)),
        ("target set ctr 1.2%", TargetSet(CTR_TARGET)),
        ("target set ctr &gt;= 1.2%", TargetSet(CTR_TARGET)),
        (
            "target set cpc < 0.8 monthly platform=tiktok #marketing",
            TargetSet(
                Target(
                    "cpc",
                    "<",
                    0.8,
                    TargetGrain.MONTH,
                    filters=((Dimension.PLATFORM, ("tiktok",)),),
                    channel="#marketing",
                )
            ),
        ),
        ("target list", TargetList()),
        ("target remove 3", TargetRemove(3)),
        ("target remove #12", TargetRemove(12)),
        ("target test ctr >= 1.2% weekly", TargetTest(CTR_TARGET)),
        ("alerts", AlertsList()),
        ("alerts list", AlertsList()),
        # French.
        ("résumé liste", DigestList()),
        ("resume apercu", DigestPreview(None)),
        ("résumé maintenant #m", DigestNow("#m")),
        (
            "résumé on #m hebdo le mardi à 9h30 indicateurs taux-de-clic plateforme=tiktok",
            DigestOn(
                "#m",
                Schedule(Cadence.WEEKLY, 9, 30, weekday=1),
                ("ctr",),
                ((Dimension.PLATFORM, ("tiktok",)),),
            ),
        ),
        ("cible définir ctr >= 1.2%", TargetSet(CTR_TARGET)),
        ("cible liste", TargetList()),
        ("cible supprimer 7", TargetRemove(7)),
        ("cible tester ctr 1.2%", TargetTest(CTR_TARGET)),
        ("alertes", AlertsList()),
    ],
)
def test_forms(text: str, expected: Command) -> None:
    assert command(text) == expected


def test_a_weekly_digest_without_a_weekday_runs_on_the_week_start() -> None:
    assert command("digest on #m", week_start=6) == DigestOn(
        "#m", Schedule(Cadence.WEEKLY, 9, 0, weekday=6)
    )
    assert command("digest on #m weekly 10:00", week_start=2) == DigestOn(
        "#m", Schedule(Cadence.WEEKLY, 10, 0, weekday=2)
    )
    assert command("digest on #m weekly thu", week_start=6) == DigestOn(
        "#m", Schedule(Cadence.WEEKLY, 9, 0, weekday=3)
    )


def test_subcommand_words_are_no_builtin_kpi() -> None:
    assert not [word for word in _GROUPS if word in BUILTIN]


def test_target_specs_mean_what_parse_target_says() -> None:
    for spec in ("ctr >= 1.2% weekly platform=tiktok #marketing", "roas 3x rolling-28-days"):
        assert command(f"target set {spec}") == TargetSet(parse_target(spec, BUILTIN))
        assert command(f"target test {spec}") == TargetTest(parse_target(spec, BUILTIN))


@pytest.mark.parametrize(
    ("kind", "admins_only"),
    [
        (DigestOn, True),
        (DigestOff, True),
        (DigestNow, True),
        (TargetSet, True),
        (TargetRemove, True),
        (DigestList, False),
        (DigestPreview, False),
        (TargetList, False),
        (TargetTest, False),
        (AlertsList, False),
    ],
)
def test_which_commands_change_the_configuration(kind: type[Command], admins_only: bool) -> None:
    assert kind.changes_configuration is admins_only


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "ctr last-week by platform",
        "help",
        "list",
        "aide",
        "digests on #m",
        "targets list",
        "alert",
        '"digest" on',
        "digest=1",
        "cpc 'unterminated",
        "x" * (MAX_LENGTH + 10),
    ],
)
def test_questions_are_not_subcommands(text: str) -> None:
    assert parse_command(text, BUILTIN) is None


@pytest.mark.parametrize(
    ("text", "problem", "word", "suggestions"),
    [
        ("digest", "'digest' needs one of on, off, list, preview, now", "digest", ()),
        ("target", "'target' needs one of set, list, remove, test", "target", ()),
        ("digest of #x", "unknown digest action 'of'", "of", ("off",)),
        ("digest lst", "unknown digest action 'lst'", "lst", ("list",)),
        ("digest prevew", "unknown digest action 'prevew'", "prevew", ("preview",)),
        ("digest #x", "unknown digest action '#x'", "#x", ()),
        ("digest ,", "unknown digest action ','", ",", ()),
        ("target remve 3", "unknown target action 'remve'", "remve", ("remove",)),
        ("target sett ctr 1%", "unknown target action 'sett'", "sett", ("set",)),
        ("alerts now", "'alerts' takes nothing after it", "now", ()),
        ("alerts lst", "'alerts' takes nothing after it", "lst", ("list",)),
        ("alerts list all", "'alerts list' takes nothing after it", "all", ()),
        # digest on
        ("digest on", "which channel? e.g. digest on #marketing", "digest on", ()),
        ("digest on weekly mon", "which channel? e.g. digest on #marketing", "digest on", ()),
        ("digest on #a #b", "two channels, '#a' and '#b': keep one", "#b", ()),
        ("digest on #", "'#' is not a channel, e.g. #marketing", "#", ()),
        ("digest on <#>", "'<#>' is not a channel", "<#>", ()),
        ("digest on <#C1-x|x>", "is not a channel", "<#C1-x|x>", ()),
        ("target set ctr 1% #", "'#' is not a channel", "#", ()),
        ("digest on #m weekly daily", "two schedules, 'weekly' and 'daily': keep one", "daily", ()),
        ("digest on #m wekly", "unknown word 'wekly'", "wekly", ("weekly",)),
        (
            "digest on #m weekly mnday",
            "unknown word 'mnday' in a weekly schedule",
            "mnday",
            ("mon",),
        ),
        ("digest on #m daily mon", "a daily digest has no weekday", "mon", ("weekly mon",)),
        ("digest on #m monthly 31", "not every month has a 31st", "31", ("28",)),
        ("digest on #m weekly 25:00", "'25:00': hours go from 00 to 23", "25:00", ()),
        (
            "digest on #m mon",
            "a schedule starts with daily, weekly or monthly",
            "mon",
            ("weekly mon",),
        ),
        (
            "digest on #m 9:00",
            "a schedule starts with daily, weekly or monthly",
            "9:00",
            ("weekly 9:00",),
        ),
        ("digest on #m mnday", "a schedule starts with daily, weekly or monthly", "mnday", ()),
        (
            "digest on #m weekly mon tiktok 10:00",
            "'10:00' belongs with 'weekly mon': write them together",
            "10:00",
            ("weekly mon 10:00",),
        ),
        ("digest on #m kpis", "'kpis' needs KPI names", "kpis", ()),
        ("digest on #m kpis crt", "unknown KPI 'crt'", "crt", ("ctr", "conversion_rate")),
        ("digest on #m kpis ctr,zzzz", "unknown KPI 'zzzz' (/kpi list shows them all)", "zzzz", ()),
        ("digest on #m kpis ctr,", "',' needs a value after it", ",", ()),
        ("digest on #m instagrm", "unknown word 'instagrm'", "instagrm", ("instagram",)),
        ("digest on #m platfrom", "unknown word 'platfrom'", "platfrom", ("platform=",)),
        (
            "digest on #m platfrom=tiktok",
            "cannot filter on 'platfrom'",
            "platfrom",
            ("platform", "plateforme"),
        ),
        ("digest on #m platform=", "'platform=' needs a value after it", "platform=", ()),
        ("digest on #m platform=''", "the platform filter has an empty value", "", ()),
        ("digest on #m zzz", "unknown word 'zzz'", "zzz", ()),
        ("digest on #m , x", "unexpected ',' at character 14", ",", ()),
        ('digest on #m campaign="Black', "unterminated quote at character 23", '"Black', ()),
        # digest off, list, preview, now
        ("digest off", "which channel? e.g. digest off #marketing", "digest off", ()),
        ("digest off marketing", "'digest off' takes a #channel or nothing", "marketing", ()),
        ("digest off #a #b", "'digest off' takes nothing after it", "#b", ()),
        ("digest list #a", "'digest list' takes nothing after it", "#a", ()),
        ("digest preview weekly", "'digest preview' takes a #channel or nothing", "weekly", ()),
        ("digest now #a now", "'digest now' takes nothing after it", "now", ()),
        ("digest now ,", "unexpected ',' at character 12", ",", ()),
        # targets
        ("target set", "'target set' needs a target, e.g. target set ctr >= 1.2% weekly", "", ()),
        ("target set crt 1%", "unknown KPI 'crt'", "crt", ("ctr", "conversion_rate")),
        ("target set ctr", "a target needs a threshold", "", ()),
        ("target set ctr >= lots", "'lots' is not a threshold", "lots", ()),
        ("target set ctr 1% hourly", "unknown word 'hourly' in a target", "hourly", ()),
        ("target test", "'target test' needs a target", "", ()),
        ("target remove", "which target? e.g. target remove 3 (see /kpi target list)", "", ()),
        ("target remove abc", "target ids are numbers, see /kpi target list", "abc", ()),
        ("target remove 0", "target ids are numbers", "0", ()),
        ("target remove -1", "target ids are numbers", "-1", ()),
        ("target remove 1.5", "target ids are numbers", "1.5", ()),
        ("target remove ٣", "target ids are numbers", "٣", ()),
        (
            "target remove 99999999999999999999",
            "target ids are numbers",
            "99999999999999999999",
            (),
        ),
        ("target remove 3 4", "'target remove' takes nothing after it", "4", ()),
        ("target list 3", "'target list' takes nothing after it", "3", ()),
        # length
        (
            "digest on #m " + "a" * MAX_LENGTH,
            f"a command has at most {MAX_LENGTH} characters",
            "",
            (),
        ),
    ],
)
def test_refusals(text: str, problem: str, word: str, suggestions: tuple[str, ...]) -> None:
    error = refusal(text)
    assert problem in error.problem
    if word:
        assert error.word == word
    assert error.suggestions == suggestions


def test_refusal_messages_name_the_suggestion() -> None:
    assert str(refusal("digest of #x")) == "unknown digest action 'of' — did you mean off?"


def test_help_documents_every_subcommand() -> None:
    assert SUBCOMMANDS == ("digest", "target", "alerts")
    lines = SUBCOMMAND_HELP.splitlines()
    for usage in (
        "digest on #channel",
        "digest off #channel",
        "digest list",
        "digest preview [#channel]",
        "digest now [#channel]",
        "target set <spec>",
        "target list",
        "target remove <id>",
        "target test <spec>",
        "alerts",
    ):
        assert any(line.startswith(usage) for line in lines), usage
    assert max(len(line) for line in lines) <= max(len(line) for line in GRAMMAR_HELP.splitlines())


def test_the_help_examples_parse() -> None:
    assert command(
        "digest on #marketing weekly mon 09:00 kpis ctr,cpc,roi platform=instagram,tiktok "
        'campaign="Black Friday" creator=@name'
    )
    assert command("target set ctr >= 1.2% weekly platform=tiktok #marketing")
    for schedule in ("weekly mon 09:00", "daily 08:30", "monthly 1 09:00"):
        assert schedule in SUBCOMMAND_HELP
        assert command(f"digest on #m {schedule}")


VOCABULARY = [
    "digest",
    "target",
    "alerts",
    "cible",
    "résumé",
    "on",
    "off",
    "list",
    "preview",
    "now",
    "set",
    "remove",
    "test",
    "#m",
    "<#C1|x>",
    "<#",
    "weekly",
    "daily",
    "monthly",
    "mon",
    "lundi",
    "09:00",
    "9h",
    "31",
    "1",
    "kpis",
    "ctr",
    "cpc",
    "platform=",
    "tiktok",
    "=",
    ",",
    "'",
    '"',
    ">=",
    "1.2%",
    "&lt;",
    "&amp;",
    "rolling-28-days",
    "x",
]


@settings(deadline=None)  # what matters is that nothing else escapes, not how fast
@given(
    st.sampled_from(["", "digest ", "digest on #m ", "target set ", "target remove ", "alerts "]),
    st.text(max_size=80),
)
def test_arbitrary_text_never_crashes(prefix: str, text: str) -> None:
    with contextlib.suppress(GrammarError):
        parse_command(prefix + text, BUILTIN)


@settings(deadline=None)
@given(
    st.sampled_from(["digest", "target", "alerts", "cible", "résumé"]),
    st.lists(st.sampled_from(VOCABULARY) | st.text(max_size=6), max_size=10),
    st.sampled_from([" ", "", ","]),
)
def test_subcommand_like_text_never_crashes(first: str, words: list[str], joiner: str) -> None:
    text = " ".join([first, joiner.join(words)])
    try:
        parsed = parse_command(text, BUILTIN)
    except GrammarError as error:
        assert error.problem
    else:
        assert parsed is not None
