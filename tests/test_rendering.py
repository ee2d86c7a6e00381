"""Block Kit messages: valid for Slack, within its limits, escaped, and the same in the terminal."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import jinja2
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from slack_sdk.models.blocks import Block
from sqlalchemy import Engine
from typer.testing import CliRunner

from bot import formatting, rendering
from bot.answer_view import LABEL_WIDTH, TABLE_ROWS
from bot.cli import app
from bot.rendering import (
    ACTION_BY_PLATFORM,
    ACTION_SHARE,
    ACTION_VS_LAST_YEAR,
    Message,
    Renderer,
    escape,
    fit,
)
from bot.terminal import to_text
from kpi.answer import Answer, BreakdownRow, TargetState, TargetStatus
from kpi.catalog import BUILTIN, Catalog, SumKpi, Unit, UnknownKpiError
from kpi.errors import KpiError
from kpi.formula import parse as formula
from kpi.grammar import EXAMPLES, GrammarError, parse
from kpi.query import ask
from kpi.request import Breakdown, ComparisonKind, Request
from tests.conftest import NOW

TODAY = NOW.date()
#: Date ranges are written with an en dash.
DASH = "\u2013"
EVIL = "<!channel> Promo <https://evil.example|click>"
EVIL_SHOWN = "&lt;!channel&gt; Promo &lt;https://evil.example|click&gt;"
#: The only `<` a message may hold: a mention of a validated user id.
MENTION = re.compile(r"<@[A-Z0-9]+>")
RAW_AMPERSAND = re.compile(r"&(?!amp;|lt;|gt;)")
renderer = Renderer()


def texts(message: Message) -> Iterator[str]:
    """Every string Slack parses as text: the fallback and each "text" anywhere in the blocks."""
    yield message.text

    def walk(node: Any) -> Iterator[str]:
        if isinstance(node, dict):
            for key, value in node.items():
                if key == "text" and isinstance(value, str):
                    yield value
                else:
                    yield from walk(value)
        elif isinstance(node, list):
            for item in node:
                yield from walk(item)

    yield from walk(list(message.blocks))


def check(message: Message) -> Message:
    """Slack would accept it: slack_sdk's models, plus the limits they do not check."""
    payload = json.loads(json.dumps(message.payload()))
    assert payload["text"].strip()
    blocks = payload["blocks"]
    assert 0 < len(blocks) <= 50
    for block in blocks:
        parsed = Block.parse(block)
        assert parsed is not None and parsed.to_dict() == block
        match block["type"]:
            case "header":
                assert len(block["text"]["text"]) <= 150
            case "section":
                assert 0 < len(block["text"]["text"]) <= 3000
                assert len(block.get("fields", ())) <= 10
                assert all(0 < len(field["text"]) <= 2000 for field in block.get("fields", ()))
            case "context":
                assert 0 < len(block["elements"]) <= 10
                assert all(0 < len(element["text"]) <= 3000 for element in block["elements"])
            case "actions":
                assert 0 < len(block["elements"]) <= 25
                for button in block["elements"]:
                    assert len(button["text"]["text"]) <= 75 and len(button["value"]) <= 2000
    for text in texts(message):
        assert "<" not in MENTION.sub("", text), text
        assert ">" not in MENTION.sub("", text), text
        assert not RAW_AMPERSAND.search(text), text
    return message


def everything(message: Message) -> str:
    return "\n".join(texts(message))


def question(text: str, breakdown: Breakdown | None = None) -> Request:
    request = parse(text, BUILTIN, TODAY)
    assert isinstance(request, Request)
    return replace(request, breakdown=breakdown)


@pytest.fixture(scope="module")
def ctr(demo_store: Engine) -> tuple[Answer, Request]:
    request = question("ctr last-week by campaign", Breakdown.CAMPAIGN)
    return ask(demo_store, request, today=TODAY, timezone="Europe/Paris"), request


@pytest.mark.parametrize("name", BUILTIN.names())
@pytest.mark.parametrize("breakdown", [None, *Breakdown])
def test_every_kpi_and_breakdown_renders_a_valid_message(
    demo_store: Engine, name: str, breakdown: Breakdown | None
) -> None:
    request = question(f"{name} last-week", breakdown)
    answer = ask(demo_store, request, today=TODAY, timezone="Europe/Paris")
    message = check(renderer.answer(answer, request, button_value="q-1"))
    header = message.blocks[0]
    assert header["type"] == "header"
    assert f"16{DASH}22 Nov 2026 (Europe/Paris)" in header["text"]["text"]
    value = formatting.value(answer.kpi, answer.value, answer.currency)
    if answer.value is None and answer.bounds is not None:
        value = formatting.bounds(answer.kpi, answer.bounds)
    assert f"*{escape(value)}*" in everything(message)
    if answer.comparison is not None:
        assert f"vs previous week (9{DASH}15 Nov 2026)" in everything(message)
    code = [b for b in message.blocks if b["type"] == "section" and "```" in b["text"]["text"]]
    assert bool(code) == (breakdown is not None)
    assert message.blocks[-1]["type"] == "actions"


def test_an_answer_reads_value_comparison_trend_table_and_notes(
    ctr: tuple[Answer, Request],
) -> None:
    answer, request = ctr
    assert answer.comparison is not None
    message = check(renderer.answer(answer, request))
    header = message.blocks[0]["text"]["text"]
    assert header == f"CTR · 16{DASH}22 Nov 2026 (Europe/Paris)"
    shown = everything(message)
    assert "“ctr last-week by campaign”" in shown
    assert formatting.change(answer.kpi, answer.comparison, answer.currency) in shown
    assert "*Last 8 weeks*" in shown and "data on 7 of 7 days" in shown
    table = next(b["text"]["text"] for b in message.blocks if "```" in str(b.get("text")))
    lines = table.strip("`\n").splitlines()
    assert lines[0].split() == ["campaign", "ctr", "impressions"]
    assert lines[-1].startswith(answer.breakdown[-1].label)  # "N others", last
    assert len({len(line) for line in lines}) == 1  # aligned columns
    assert not any(b["type"] == "actions" for b in message.blocks)
    assert message.text.startswith(f"CTR · 16{DASH}22 Nov 2026 (Europe/Paris): ")
    assert "vs previous week" in message.text


def test_buttons_carry_the_value_under_the_documented_action_ids(
    ctr: tuple[Answer, Request],
) -> None:
    message = check(renderer.answer(*ctr, button_value='{"q": "ctr <x> & y"}'))
    (actions,) = [b for b in message.blocks if b["type"] == "actions"]
    buttons = {b["action_id"]: b for b in actions["elements"]}
    assert list(buttons) == [ACTION_SHARE, ACTION_BY_PLATFORM, ACTION_VS_LAST_YEAR]
    assert [b["text"]["text"] for b in buttons.values()] == [
        "Share in channel",
        "By platform",
        "vs last year",
    ]
    assert {b["value"] for b in buttons.values()} == {'{"q": "ctr <x> & y"}'}


@pytest.mark.parametrize(
    ("kind", "label"),
    [
        (ComparisonKind.YEAR_AGO, f"vs last year (17{DASH}23 Nov 2025)"),
        (ComparisonKind.EXPLICIT, f"vs 17{DASH}23 Nov 2025"),
    ],
)
def test_the_comparison_says_what_it_compares_with(
    demo_store: Engine, kind: ComparisonKind, label: str
) -> None:
    request = replace(question("ctr last-week vs last-year"), comparison_kind=kind)
    answer = ask(demo_store, request, today=TODAY)
    assert label in everything(check(renderer.answer(answer, request)))


@pytest.mark.parametrize(
    ("state", "margin", "shown"),
    [
        (TargetState.MET, 0.003, "met (+0.30 pp)"),
        (TargetState.MISSED, -0.001, "missed (-0.10 pp)"),
        (TargetState.NO_DATA, None, "no data"),
        (TargetState.LOW_VOLUME, None, "low volume (under 1,000)"),
    ],
)
def test_the_target_status_shows_the_threshold(
    ctr: tuple[Answer, Request], state: TargetState, margin: float | None, shown: str
) -> None:
    answer, request = ctr
    answer = replace(answer, target=TargetStatus(1, ">=", 0.012, state, margin))
    text = everything(check(renderer.answer(answer, request)))
    assert "*Target ≥ 1.20%*\n" in text and shown in text


def test_reach_shows_its_bounds(demo_store: Engine) -> None:
    request = question("reach last-month")
    answer = ask(demo_store, request, today=TODAY)
    assert answer.value is None and answer.bounds is not None
    text = everything(check(renderer.answer(answer, request)))
    assert f"*{formatting.bounds(answer.kpi, answer.bounds)}*" in text
    assert "⚠ the exact reach" in text


def test_evil_names_are_shown_literally_everywhere(ctr: tuple[Answer, Request]) -> None:
    answer, request = ctr
    rows = (BreakdownRow((("campaign", EVIL),), 0.01, 5000), BreakdownRow((("c", "x" * 99),), 0, 1))
    answer = replace(
        answer, breakdown=(*rows, *answer.breakdown), timezone=EVIL, warnings=(f"{EVIL} & co",)
    )
    request = replace(request, text=f"ctr campaign='{EVIL}'")
    message = check(renderer.answer(answer, request, shared_by=EVIL))
    shown = everything(message)
    assert f"\n{EVIL_SHOWN}  " in shown  # a table line
    assert "\n" + "x" * (LABEL_WIDTH - 1) + "…  " in shown  # a longer label is cut
    assert f"“ctr campaign='{EVIL_SHOWN}'”" in shown
    assert f"Shared by {EVIL_SHOWN}" in shown and f"⚠ {EVIL_SHOWN} &amp; co" in shown
    assert f"({EVIL_SHOWN})" in message.blocks[0]["text"]["text"]  # the header, plain_text
    assert f"({EVIL_SHOWN})" in message.text  # the fallback, which Slack parses as mrkdwn
    assert "<" not in json.dumps(message.payload(), ensure_ascii=False)


@pytest.mark.parametrize(
    "error",
    [
        GrammarError(f"unknown word {EVIL!r}", EVIL, (EVIL, "by platform")),
        UnknownKpiError(EVIL, ("ctr",)),
    ],
)
def test_an_error_escapes_the_word_and_its_suggestions(error: KpiError) -> None:
    message = check(renderer.error(error))
    assert EVIL_SHOWN in message.text and EVIL_SHOWN in everything(message)
    assert "<" not in json.dumps(message.payload(), ensure_ascii=False)


@pytest.mark.parametrize(
    ("shared_by", "shown"),
    [
        ("U0ALICE", "Shared by <@U0ALICE>"),
        ("u0alice", "Shared by u0alice"),
        ("U0ALICE> <!here", "Shared by U0ALICE&gt; &lt;!here"),
        ("U0ALICE|x", "Shared by U0ALICE|x"),
    ],
)
def test_only_a_user_id_becomes_a_mention(
    ctr: tuple[Answer, Request], shared_by: str, shown: str
) -> None:
    assert shown in everything(check(renderer.answer(*ctr, shared_by=shared_by)))


def test_a_breakdown_of_300_rows_degrades_within_limits(ctr: tuple[Answer, Request]) -> None:
    answer, request = ctr
    rows = tuple(
        BreakdownRow((("campaign", f"Campaign {i} " + "&<>" * 10),), 0.01 + i / 1e5, 1e6 - i)
        for i in range(300)
    )
    message = check(renderer.answer(replace(answer, breakdown=rows), request, button_value="v"))
    shown = everything(message)
    assert f"… and {300 - TABLE_ROWS} more" in shown
    assert "Campaign 0 &amp;&lt;&gt;" in shown and f"Campaign {TABLE_ROWS} " not in shown
    tables = [b for b in message.blocks if "```" in str(b.get("text"))]
    assert len(tables) > 1  # split over sections, each a closed code block
    assert all(b["text"]["text"].count("```") == 2 for b in tables)


def test_a_catalog_of_120_kpis_degrades_within_limits() -> None:
    custom = [
        SumKpi(
            name=f"custom_kpi_{i}",
            formula=formula("clicks + shares"),
            unit=Unit.COUNT,
            description=f"A custom KPI & its long description number {i} " + "x" * 80,
            aliases=(f"alias-{i}", f"autre-nom-{i}"),
        )
        for i in range(101)
    ]
    catalog = Catalog([*BUILTIN, *custom])
    assert len(catalog) == 120
    message = check(renderer.kpi_list(catalog))
    shown = everything(message)
    assert "(120)" in shown and "… and 80 more" in shown and "*ctr* — " in shown


def test_help_shows_the_grammar_and_each_example_once() -> None:
    message = check(renderer.help())
    shown = everything(message)
    assert "```\n&lt;kpi&gt; [period]" in shown
    for example in EXAMPLES:
        assert shown.count(f"• `{escape(example)}`") == 1
    assert message.text.startswith("How to ask kpibot: &lt;kpi&gt;")


def test_an_error_suggests_and_gives_an_example() -> None:
    message = check(renderer.error(GrammarError("unknown KPI 'crt'", "crt", ("ctr", "cpc"))))
    text = message.blocks[0]["text"]["text"]
    assert "unknown KPI 'crt'" in text and "Did you mean `ctr` or `cpc`?" in text
    assert "`ctr last-week by platform`" in everything(message)


def test_a_failure_shows_only_its_reference() -> None:
    message = check(renderer.failure("ab12cd34"))
    assert "Something went wrong on our side (reference `ab12cd34`)" in message.text
    assert len(message.blocks) == 1


def test_fit_enforces_every_limit() -> None:
    button = {"type": "button", "text": {"type": "plain_text", "text": "b" * 80}, "value": "v"}
    buttons = [{**button, "action_id": f"a{i}"} for i in range(30)]
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": "H" * 200}},
        {
            "type": "section",
            "text": {"type": "mrkdwn", "text": "```\n" + "&amp;" * 1000 + "\n```"},
            "fields": [{"type": "mrkdwn", "text": "f" * 2500}] * 12,
        },
        {"type": "context", "elements": [{"type": "mrkdwn", "text": "c"}] * 12},
        {"type": "actions", "elements": buttons},
        {"type": "actions", "elements": [{**button, "value": "v" * 2001}]},
        *[{"type": "divider"}] * 60,
    ]
    fitted, text = fit(blocks, "t" * 50_000)
    message = check(Message(text, fitted))
    header, section, context, actions = fitted[:4]
    assert header["text"]["text"].endswith("…") and len(header["text"]["text"]) <= 150
    assert section["text"]["text"].endswith("…\n```") and "&amp;…" in section["text"]["text"]
    assert len(section["fields"]) == 10 and section["fields"][-1]["text"] == "… and 3 more"
    assert context["elements"][-1]["text"] == "… and 3 more"
    assert len(actions["elements"]) == 25
    assert len(fitted) == 50 and fitted[-1]["elements"][0]["text"] == "… and 15 more"
    assert len(message.text) <= 40_000
    assert blocks[0]["text"]["text"] == "H" * 200  # the input is left as it was


def test_render_is_generic_strict_and_fitted(tmp_path: Path) -> None:
    (tmp_path / "macros.json.j2").write_text(
        (rendering.DEFAULT_TEMPLATES / "macros.json.j2").read_text()
    )
    (tmp_path / "digest.json.j2").write_text(
        '{% import "macros.json.j2" as m %}'
        "{{ m.message(title|slack, [m.header(title|slack)] * count) }}"
    )
    (tmp_path / "typo.json.j2").write_text("{{ titel }}")
    custom = Renderer(tmp_path)
    message = check(custom.render("digest", title="Week <1>", count=70))
    assert len(message.blocks) == 50 and message.text == "Week &lt;1&gt;"
    with pytest.raises(jinja2.UndefinedError):
        custom.render("typo", title="x")


def test_the_terminal_shows_value_comparison_and_breakdown(ctr: tuple[Answer, Request]) -> None:
    answer, request = ctr
    row = BreakdownRow((("campaign", EVIL),), 0.01, 5000)
    answer = replace(answer, breakdown=(*answer.breakdown, row))
    assert answer.comparison is not None
    text = to_text(renderer.answer(answer, request, button_value="v"))
    lines = text.splitlines()
    assert lines[0] == f"CTR · 16{DASH}22 Nov 2026 (Europe/Paris)" and set(lines[1]) == {"─"}
    assert formatting.value(answer.kpi, answer.value) in lines
    assert formatting.change(answer.kpi, answer.comparison) in lines
    for row in answer.breakdown:
        value = formatting.value(answer.kpi, row.value)
        assert any(line.startswith(row.label) and value in line for line in lines), row
    assert f"\n{EVIL}  " in text  # unescaped: the terminal shows what Slack shows
    assert "```" not in text and "&lt;" not in text and "Share in channel" not in text


def test_kpibot_ask_help_and_list_print_the_rendered_messages() -> None:
    runner = CliRunner()
    shown = runner.invoke(app, ["ask", "help"])
    assert shown.exit_code == 0, shown.output
    assert "<kpi> [period]" in shown.output and "• `ctr last-week by platform`" in shown.output
    listed = runner.invoke(app, ["ask", "list"])
    assert listed.exit_code == 0, listed.output
    assert "KPIs you can ask about (19)" in listed.output and "engagement_rate" in listed.output


@settings(max_examples=150)
@given(name=st.text(max_size=300), asked=st.text(max_size=600))
def test_any_name_or_question_is_escaped_and_parses(
    ctr: tuple[Answer, Request], name: str, asked: str
) -> None:
    answer, request = ctr
    row = BreakdownRow((("campaign", name),), None, None)
    message = renderer.answer(
        replace(answer, breakdown=(row,) * 3), replace(request, text=asked), shared_by=name
    )
    check(message)


@pytest.mark.parametrize(
    ("name", "number", "shown"),
    [
        ("ctr", -0.0038, "-0.38 pp"),
        ("ctr", -0.00004, "-0.004 pp"),  # a real change never reads as -0.00
        ("ctr", 0.0, "+0.00 pp"),
        ("cpc", 1.2, "+€1.20"),
        ("cpc", 0.004, "+€0.004"),
        ("cpc", -1234.5, "-€1,234.50"),
        ("roas", 0.05, "+0.05\u00d7"),
        ("roas", -0.0004, "-0.0004\u00d7"),
        ("impressions", -1234.0, "-1,234"),
        ("impressions", 0.001, "+0.001"),
    ],
)
def test_a_difference_is_signed_in_its_unit_and_never_rounds_to_zero(
    name: str, number: float, shown: str
) -> None:
    kpi = BUILTIN.get(name)
    assert kpi is not None
    assert formatting.difference(kpi, number, "EUR") == shown
