"""Digests, target alerts and configuration replies: valid Block Kit, within limits, escaped."""

from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import replace
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine

from bot import formatting
from bot.rendering import (
    ACTION_ACKNOWLEDGE,
    ACTION_SNOOZE_DAY,
    ACTION_SNOOZE_PERIOD,
    ACTION_SNOOZE_WEEK,
    Message,
    Renderer,
    escape,
)
from bot.schedule_views import LIST_ROWS, AlertsRow, fired
from kpi.alert_states import AlertState
from kpi.alerting import Evaluation, evaluate_for_alert, replay
from kpi.answer import TargetState, TargetStatus
from kpi.catalog import BUILTIN, Catalog
from kpi.demo import LOW_CTR_CAMPAIGN, MISSING_TARGET_CAMPAIGNS
from kpi.digest import Digest, Freshness, KpiMovers, build_digest
from kpi.dimensions import Dimension
from kpi.movers import Mover, Movers
from kpi.periods import Grain, Period, grain_periods, last_closed
from kpi.schedules import Schedule, parse_schedule
from kpi.subscriptions import Subscription
from kpi.targets import Target, TargetGrain
from tests.conftest import NOW
from tests.test_rendering import DASH, EVIL, EVIL_SHOWN, check, everything

TODAY = NOW.date()
PARIS = ZoneInfo("Europe/Paris")
WEEK = last_closed(Grain.WEEK, TODAY)
#: Only links to validated channel ids may appear besides user mentions.
CHANNEL_LINK = re.compile(r"<#([CG][A-Z0-9]+)>")
renderer = Renderer()


def valid(message: Message) -> Message:
    """``check()`` of test_rendering (which allows user mentions only), with channel links of
    validated ids read as text."""
    payload = json.loads(CHANNEL_LINK.sub(r"#\1", json.dumps(message.payload())))
    check(Message(payload["text"], tuple(payload["blocks"])))
    return message


def weekly(
    kpis: tuple[str, ...] = (), filters: tuple[tuple[Dimension, tuple[str, ...]], ...] = ()
) -> Subscription:
    return Subscription("C0MARKETING", parse_schedule("weekly mon 09:00"), kpis, filters, id=1)


def digest_of(
    engine: Engine,
    names: tuple[str, ...],
    grain: Grain = Grain.WEEK,
    filters: tuple[tuple[Dimension, tuple[str, ...]], ...] = (),
    targets: tuple[Target, ...] = (),
) -> Digest:
    return build_digest(
        engine,
        [BUILTIN[name] for name in names],
        grain=grain,
        today=TODAY,
        timezone="Europe/Paris",
        week_start=0,
        filters=filters,
        targets=targets,
    )


@pytest.fixture(scope="module")
def every_kpi(demo_store: Engine) -> Digest:
    return digest_of(demo_store, BUILTIN.names())


# -- digests -----------------------------------------------------------------------------------


SCHEDULES = {
    Grain.DAY: ("daily 08:30", "Daily digest · 22 Nov 2026 (Europe/Paris)"),
    Grain.WEEK: ("weekly mon 09:00", f"Weekly digest · 16{DASH}22 Nov 2026 (Europe/Paris)"),
    Grain.MONTH: ("monthly 1 09:00", f"Monthly digest · 1{DASH}31 Oct 2026 (Europe/Paris)"),
}


@pytest.mark.parametrize("grain", list(SCHEDULES))
@pytest.mark.parametrize(
    "names",
    [BUILTIN.names(), ("ctr",), ("cpc", "roas", "reach", "follower_growth", "spend")],
    ids=["all", "ctr", "mixed"],
)
def test_a_digest_of_each_cadence_and_kpi_set_is_valid(
    demo_store: Engine, grain: Grain, names: tuple[str, ...]
) -> None:
    schedule, header = SCHEDULES[grain]
    digest = digest_of(demo_store, names, grain)
    subscription = Subscription("C0MARKETING", parse_schedule(schedule), names)
    message = valid(renderer.digest(digest, subscription))
    assert message.blocks[0]["text"]["text"] == header
    assert message.text.startswith(escape(header) + ": ")
    shown = everything(message)
    for line in digest.lines:
        answer = line.answer
        value = formatting.value(line.kpi, answer.value, answer.currency)
        if answer.value is None and answer.bounds is not None:
            value = formatting.bounds(line.kpi, answer.bounds)
        assert escape(value) in shown
        if answer.comparison is not None:
            assert formatting.change(line.kpi, answer.comparison, answer.currency) in shown
    assert "Chart in the thread" in shown
    assert "Data freshness: facebook: data to 22 Nov" in shown
    has_movers = any(m.by_platform.good or m.by_campaign.bad for m in digest.movers)
    assert ("*Top movers*" in shown) == has_movers


def test_each_kpi_reads_on_its_line_with_change_and_sparkline(every_kpi: Digest) -> None:
    message = valid(renderer.digest(every_kpi, weekly()))
    shown = everything(message)
    ctr = next(line for line in every_kpi.lines if line.kpi.name == "ctr")
    assert ctr.answer.comparison is not None
    sparkline = formatting.sparkline([point.value for point in ctr.answer.series])
    assert len(sparkline) == 8
    line = (
        f"`{sparkline}`  *CTR*  {formatting.value(ctr.kpi, ctr.answer.value)}  "
        + formatting.change(ctr.kpi, ctr.answer.comparison)
    )
    assert f"\n{line}\n" in shown
    assert "(good)" in shown and "(bad)" in shown
    # movers in the KPI's unit: pp for percent KPIs, euros for money
    assert re.search(r"\*CTR\*\n• platforms — good: [a-z-]+ \+0\.\d\d pp", shown)
    assert re.search(r"\*CPC\*\n• platforms — good: [a-z-]+ -€0\.\d\d", shown)
    assert "*Spend*\n" not in shown  # neutral: no movers
    assert len(message.blocks) < 15


def test_the_target_status_of_each_kpi(demo_store: Engine) -> None:
    targets = (
        Target("ctr", ">=", 0.012, TargetGrain.WEEK, id=1),
        Target("cpc", "<=", 2.0, TargetGrain.WEEK, id=2),
    )
    digest = digest_of(demo_store, ("ctr", "cpc", "roas"), targets=targets)
    shown = everything(valid(renderer.digest(digest, weekly())))
    ctr, cpc, _ = digest.lines
    assert ctr.answer.target is not None and ctr.answer.target.margin is not None
    margin = f"{ctr.answer.target.margin * 100:+.2f} pp"
    assert f"\n❌ Target ≥ 1.20% — missed ({margin})" in shown
    assert "\n✅ Target ≤ €2.00 — met (+€1.07)" in shown
    low = replace(
        ctr,
        answer=replace(
            ctr.answer,
            low_volume=True,
            target=TargetStatus(1, ">=", 0.012, TargetState.LOW_VOLUME, None),
        ),
    )
    unjudged = replace(digest, lines=(low, cpc))
    shown = everything(valid(renderer.digest(unjudged, weekly())))
    assert "\nTarget ≥ 1.20% — not judged: low volume (under 1,000)" in shown


def test_a_platform_without_data_in_the_period_is_a_warning(demo_store: Engine) -> None:
    filters = ((Dimension.PLATFORM, ("tiktok", "snapchat")),)
    digest = digest_of(demo_store, ("ctr", "engagements"), filters=filters)
    assert [f.platform for f in digest.freshness] == ["snapchat", "tiktok"]
    message = valid(renderer.digest(digest, weekly(filters=filters)))
    shown = everything(message)
    assert "Only platform: tiktok, snapchat" in shown
    warning = f"⚠ *snapchat has no data for 16{DASH}22 Nov 2026: the figures leave it out*"
    assert warning in shown
    assert "Data freshness: snapchat: no data yet · tiktok: data to 22 Nov" in shown
    late = replace(digest, freshness=(Freshness("tiktok", dt.date(2026, 11, 14), True),))
    shown = everything(valid(renderer.digest(late, weekly())))
    assert f"⚠ *tiktok has no data for 16{DASH}22 Nov 2026 (data to 14 Nov)" in shown
    assert "Data freshness: tiktok: data to 14 Nov" in shown


def test_hostile_names_in_movers_and_freshness_are_shown_literally(every_kpi: Digest) -> None:
    evil = Mover("campaign", EVIL, -0.002, 0.01, 0.012)
    movers = tuple(
        KpiMovers(found.kpi, found.by_platform, Movers(found.by_campaign.good, (evil,)))
        for found in every_kpi.movers
    )
    digest = replace(
        every_kpi,
        movers=movers,
        timezone=EVIL,
        freshness=(Freshness(EVIL, None, True),),
    )
    filters = ((Dimension.CAMPAIGN, (EVIL,)),)
    message = valid(renderer.digest(digest, weekly(filters=filters)))
    shown = everything(message)
    assert f"bad: {EVIL_SHOWN} -0.20 pp" in shown
    assert f"Only campaign: {EVIL_SHOWN}" in shown
    assert f"⚠ *{EVIL_SHOWN} has no data" in shown
    assert f"({EVIL_SHOWN})" in message.text
    assert "<" not in json.dumps(message.payload(), ensure_ascii=False)


def test_a_digest_of_a_hundred_kpis_degrades_within_limits(every_kpi: Digest) -> None:
    many = replace(every_kpi, lines=every_kpi.lines * 6, movers=every_kpi.movers * 6)
    message = valid(renderer.digest(many, weekly()))
    assert len(message.blocks) <= 50
    assert message.text.endswith(f"; and {len(many.lines) - 3} more")


def test_an_empty_digest_says_so(every_kpi: Digest) -> None:
    empty = replace(every_kpi, lines=(), movers=(), freshness=(), series=())
    shown = everything(valid(renderer.digest(empty, weekly())))
    assert "No KPIs in this digest." in shown and "Top movers" not in shown


# -- alerts ------------------------------------------------------------------------------------


CTR_TARGET = Target("ctr", ">=", 0.012, TargetGrain.WEEK, channel="C0ALERTS", id=7)


@pytest.fixture(scope="module")
def missed(demo_store: Engine) -> Evaluation:
    evaluation = evaluate_for_alert(demo_store, CTR_TARGET, BUILTIN, period=WEEK)
    assert evaluation.status.state is TargetState.MISSED and evaluation.drivers
    return evaluation


def test_an_alert_says_what_missed_by_how_much_and_what_drove_it(missed: Evaluation) -> None:
    message = valid(renderer.alert(missed))
    value = formatting.value(BUILTIN["ctr"], missed.value)
    assert missed.status.margin is not None
    margin = f"{missed.status.margin * 100:+.2f} pp"
    headline = f"CTR missed its target: {value} vs ≥ 1.20% ({margin}) · week 16{DASH}22 Nov 2026"
    assert message.blocks[0]["text"]["text"] == f"*{headline}*"
    assert message.text == headline
    shown = everything(message)
    assert "Target #7, weekly" in shown and "All data" in shown
    assert "*What drove it*\n• " in shown
    for driver in missed.drivers:
        assert f"• {escape(driver.label)} ({driver.dimension}): " in shown
    (actions,) = [block for block in message.blocks if block["type"] == "actions"]
    buttons = {button["action_id"]: button for button in actions["elements"]}
    assert list(buttons) == [
        ACTION_SNOOZE_DAY,
        ACTION_SNOOZE_WEEK,
        ACTION_SNOOZE_PERIOD,
        ACTION_ACKNOWLEDGE,
    ]
    assert [b["text"]["text"] for b in buttons.values()] == [
        "Snooze 1 day",
        "Snooze 1 week",
        "Snooze until next period",
        "Acknowledge",
    ]
    assert {b["value"] for b in buttons.values()} == {"7"}


def test_a_follow_up_is_short_and_keeps_the_buttons(missed: Evaluation) -> None:
    message = valid(renderer.alert(missed, follow_up=True))
    value = formatting.value(BUILTIN["ctr"], missed.value)
    assert message.blocks[0]["text"]["text"].startswith(
        f"*Still missing:* CTR {value} in 16{DASH}22 Nov 2026 (target ≥ 1.20%, -0."
    )
    assert message.text.startswith(f"Still missing: CTR {value} in 16{DASH}22 Nov 2026")
    assert [block["type"] for block in message.blocks] == ["section", "actions"]


def test_a_campaign_built_to_miss_names_its_scope(demo_store: Engine) -> None:
    target = replace(CTR_TARGET, filters=((Dimension.CAMPAIGN, (LOW_CTR_CAMPAIGN,)),), id=8)
    evaluation = evaluate_for_alert(demo_store, target, BUILTIN, period=WEEK)
    assert LOW_CTR_CAMPAIGN in MISSING_TARGET_CAMPAIGNS
    assert evaluation.status.state is TargetState.MISSED
    shown = everything(valid(renderer.alert(evaluation)))
    assert f"Only campaign: {LOW_CTR_CAMPAIGN}" in shown


def test_back_on_target_and_no_data_are_one_line_notices(demo_store: Engine) -> None:
    met = evaluate_for_alert(demo_store, replace(CTR_TARGET, threshold=0.005), BUILTIN, period=WEEK)
    assert met.status.state is TargetState.MET
    message = valid(renderer.resolved(met))
    value = formatting.value(BUILTIN["ctr"], met.value)
    assert message.text == f"Back on target: CTR {value} vs ≥ 0.50% in 16{DASH}22 Nov 2026"
    assert not any(block["type"] == "actions" for block in message.blocks)
    nowhere = replace(CTR_TARGET, filters=((Dimension.PLATFORM, ("snapchat",)),))
    empty = evaluate_for_alert(demo_store, nowhere, BUILTIN, period=WEEK)
    assert empty.status.state is TargetState.NO_DATA
    message = valid(renderer.no_data(empty))
    assert message.text == (
        f"No data for CTR (≥ 1.20%, weekly) in 16{DASH}22 Nov 2026: the target is not judged"
    )
    assert "Only platform: snapchat" in everything(message)
    assert "missed" not in everything(message)


@pytest.mark.parametrize(
    ("target", "phrase"),
    [
        (Target("cpa", "<=", 20.0, TargetGrain.MONTH, id=3), f"month 1{DASH}31 Oct 2026"),
        (Target("roas", ">=", 4.0, TargetGrain.DAY, id=4), "22 Nov 2026"),
        (
            Target("ctr", ">=", 0.02, TargetGrain.ROLLING, rolling_days=28, id=5),
            f"28 days 26 Oct {DASH} 22 Nov 2026",
        ),
    ],
)
def test_an_alert_names_the_period_of_its_grain(
    demo_store: Engine, target: Target, phrase: str
) -> None:
    period = {
        TargetGrain.MONTH: last_closed(Grain.MONTH, TODAY),
        TargetGrain.DAY: last_closed(Grain.DAY, TODAY),
    }.get(
        target.grain, Period(dt.date(2026, 10, 26), TODAY - dt.timedelta(days=1), "", Grain.RANGE)
    )
    evaluation = evaluate_for_alert(demo_store, target, BUILTIN, period=period)
    assert evaluation.status.state is TargetState.MISSED
    message = valid(renderer.alert(evaluation))
    assert message.text.endswith(f" · {phrase}")


def test_hostile_driver_labels_are_shown_literally(missed: Evaluation) -> None:
    evil = Mover("campaign", EVIL, -0.004, 0.005, 0.009)
    message = valid(renderer.alert(replace(missed, drivers=(evil, *missed.drivers))))
    shown = everything(message)
    assert f"• {EVIL_SHOWN} (campaign): -0.40 pp, 0.50% vs 0.90% before" in shown
    new, gone = replace(evil, baseline_value=None), replace(evil, value=None)
    shown = everything(valid(renderer.alert(replace(missed, drivers=(new, gone)))))
    assert "-0.40 pp, 0.50% (no value before)" in shown
    assert "-0.40 pp, no value now (0.90% before)" in shown
    assert "<" not in json.dumps(message.payload(), ensure_ascii=False)


def test_an_unsaved_target_has_no_buttons(missed: Evaluation) -> None:
    message = valid(renderer.alert(replace(missed, target=replace(CTR_TARGET, id=None))))
    assert not any(block["type"] == "actions" for block in message.blocks)


def _echoed(message: Message) -> dict[str, Any]:
    """The message as a click's payload echoes it: block ids, ts, and Slack's own fields."""
    blocks = [{**block, "block_id": f"b{i}"} for i, block in enumerate(message.blocks)]
    return {"type": "message", "ts": "1795.0001", "text": message.text, "blocks": blocks}


def test_a_snoozed_alert_loses_its_buttons_and_names_the_user(missed: Evaluation) -> None:
    original = _echoed(renderer.alert(missed))
    until = dt.datetime(2026, 11, 24, 9, 0, tzinfo=PARIS)
    message = valid(renderer.alert_handled(original, user_id="U0ALICE", snoozed_until=until))
    assert not any(block["type"] == "actions" for block in message.blocks)
    assert list(message.blocks[:-1]) == [b for b in original["blocks"] if b["type"] != "actions"]
    assert message.blocks[-1] == {
        "type": "context",
        "elements": [
            {"type": "mrkdwn", "text": "Snoozed until Tue 24 Nov 09:00 CET by <@U0ALICE>"}
        ],
    }
    assert message.text == original["text"]


@pytest.mark.parametrize(
    ("user_id", "shown"),
    [
        ("U0ALICE", "Acknowledged by <@U0ALICE>"),
        ("U0ALICE> <!here", "Acknowledged by U0ALICE&gt; &lt;!here"),
        ("alice", "Acknowledged by alice"),
    ],
)
def test_an_acknowledged_alert_names_only_a_user_id_as_a_mention(
    missed: Evaluation, user_id: str, shown: str
) -> None:
    original = _echoed(renderer.alert(missed, follow_up=True))
    message = valid(renderer.alert_handled(original, user_id=user_id))
    assert message.blocks[-1]["elements"][0]["text"] == shown
    assert [block["type"] for block in message.blocks] == ["section", "context"]


# -- configuration replies ---------------------------------------------------------------------


def test_the_digest_list_links_channel_ids_only() -> None:
    items = [
        Subscription("C024BE7LR", parse_schedule("weekly mon 09:00"), created_by="U0ALICE"),
        Subscription(
            "#marketing",
            parse_schedule("daily 08:30"),
            ("ctr", "cpc"),
            ((Dimension.PLATFORM, ("tiktok",)),),
        ),
        Subscription("<!channel>", parse_schedule("monthly 1 09:00"), created_by=EVIL),
        Subscription("c024be7lr", Schedule.from_text("weekly fri 17:00")),
    ]
    message = valid(renderer.digest_list(items, ("ctr", "roas")))
    shown = everything(message)
    assert "*<#C024BE7LR>* — weekly on Monday at 09:00\nKPIs: default (ctr, roas)" in shown
    assert "set by <@U0ALICE>" in shown
    assert "*#marketing* — daily at 08:30\nKPIs: ctr, cpc · only platform: tiktok" in shown
    assert "*&lt;!channel&gt;* — monthly on the 1st at 09:00" in shown
    assert f"set by {EVIL_SHOWN}" in shown
    assert "*c024be7lr* — weekly on Friday at 17:00" in shown
    assert message.text == "Digests (4): <#C024BE7LR>, #marketing, &lt;!channel&gt;, c024be7lr"


def test_a_hundred_digests_and_targets_degrade(demo_store: Engine) -> None:
    items = [
        Subscription(f"C{i:08d}", parse_schedule("weekly mon 09:00"), ("ctr",) * 30)
        for i in range(100)
    ]
    shown = everything(valid(renderer.digest_list(items, ())))
    assert "Digests (100)" in shown and f"… and {100 - LIST_ROWS} more" in shown
    found = [
        Target(
            "ctr",
            ">=",
            0.01 + i / 1000,
            TargetGrain.WEEK,
            filters=((Dimension.CAMPAIGN, (f"Campaign {i} " + "&<>" * 20,)),),
            channel="C0ALERTS",
            id=i,
        )
        for i in range(100)
    ]
    shown = everything(valid(renderer.target_list(found, BUILTIN)))
    assert "Targets (100)" in shown and f"… and {100 - LIST_ROWS} more" in shown
    rows = [
        AlertsRow(target, AlertState(target.id or 0, TargetState.MISSED, "x", NOW), ("e",))
        for target in found
    ]
    shown = everything(valid(renderer.alerts_overview(rows)))
    assert "100 targets: 100 missed, 100 with failed deliveries" in shown
    assert f"… and {100 - LIST_ROWS} more" in shown


def test_the_target_list_formats_each_threshold_in_its_unit() -> None:
    found = [
        Target("ctr", ">=", 0.012, TargetGrain.WEEK, channel="C0ALERTS", id=1),
        Target(
            "cpc",
            "<=",
            0.8,
            TargetGrain.ROLLING,
            rolling_days=28,
            filters=((Dimension.PLATFORM, ("meta", "tiktok")),),
            id=2,
        ),
        Target("roas", ">", 3.5, TargetGrain.MONTH, channel="#growth", id=3),
        Target("gone_kpi", "<", 12.5, TargetGrain.DAY, id=4),
    ]
    message = valid(renderer.target_list(found, BUILTIN))  # gone_kpi: no longer defined
    shown = everything(message)
    assert "`#1` *CTR ≥ 1.20% weekly* · alerts in <#C0ALERTS>" in shown
    assert "`#2` *CPC ≤ 0.80 rolling 28 days* · only platform: meta, tiktok" in shown
    assert "`#3` *ROAS &gt; 3.50\u00d7 monthly* · alerts in #growth" in shown
    assert "`#4` *gone_kpi &lt; 12.5 daily* · no alert channel" in shown
    assert message.text.startswith("Targets (4): #1 CTR ≥ 1.20% weekly; ")


def test_the_alerts_overview_shows_state_snooze_acknowledgement_and_failures() -> None:
    ctr = Target("ctr", ">=", 0.012, TargetGrain.WEEK, channel="C0ALERTS", id=1)
    cpa = Target("cpa", "<=", 20.0, TargetGrain.MONTH, channel="C0ALERTS", id=2)
    roas = Target("roas", ">=", 4.0, TargetGrain.WEEK, id=3)
    fresh = Target("cpc", "<=", 1.0, TargetGrain.WEEK, id=4)
    rows = [
        AlertsRow(
            ctr,
            AlertState(
                1,
                TargetState.MISSED,
                "2026-11-16..2026-11-22",
                NOW,
                value=0.0082,
                episode_alert_id=12,
                snoozed_until=dt.datetime(2026, 11, 24, 8, 0, tzinfo=dt.UTC),
            ),
        ),
        AlertsRow(
            cpa,
            AlertState(
                2,
                TargetState.MISSED,
                "2026-10-01..2026-10-31",
                NOW,
                value=22.5,
                acknowledged_by="U0ALICE",
                acknowledged_at=NOW,
            ),
            ("not_in_channel", "channel_not_found"),
        ),
        AlertsRow(roas, AlertState(3, TargetState.NO_DATA, "2026-11-16..2026-11-22", NOW)),
        AlertsRow(fresh, None, (EVIL,)),
    ]
    message = valid(renderer.alerts_overview(rows, now=NOW, zone=PARIS))
    shown = everything(message)
    assert "4 targets: 2 missed, 1 no data, 2 with failed deliveries" in shown
    assert (
        f"`#1` *CTR ≥ 1.20% weekly* · <#C0ALERTS>\n❌ missed in 16{DASH}22 Nov 2026 (0.82%), "
        "checked Mon 23 Nov 10:30 CET · 💤 snoozed until Tue 24 Nov 09:00 CET"
    ) in shown
    assert "acknowledged by <@U0ALICE> on Mon 23 Nov 10:30 CET" in shown
    assert "(22.50)" in shown
    assert "⚠ *failed deliveries:* `not_in_channel`, `channel_not_found`" in shown
    assert f"⚪ no data in 16{DASH}22 Nov 2026, checked" in shown
    assert (
        f"`#4` *CPC ≤ 1.00 weekly*\nnot checked yet\n⚠ *failed deliveries:* `{EVIL_SHOWN}`" in shown
    )
    later = NOW + dt.timedelta(days=2)
    assert "snoozed" not in everything(valid(renderer.alerts_overview(rows, now=later)))


def test_no_targets_or_digests_say_how_to_add_one() -> None:
    assert "/kpi digest on #channel" in everything(valid(renderer.digest_list([], ())))
    assert "/kpi target set" in everything(valid(renderer.target_list([], BUILTIN)))
    assert "/kpi target set" in everything(valid(renderer.alerts_overview([])))


def _status(state: TargetState) -> TargetStatus:
    return TargetStatus(1, ">=", 0.012, state, None)


def test_fired_counts_the_misses_that_open_an_episode() -> None:
    periods = grain_periods(WEEK, 8)
    states = [
        TargetState.MET,
        TargetState.MISSED,
        TargetState.MISSED,
        TargetState.NO_DATA,
        TargetState.MISSED,
        TargetState.MET,
        TargetState.LOW_VOLUME,
        TargetState.MISSED,
    ]
    evaluations = [
        Evaluation(CTR_TARGET, period, _status(state), None, ())
        for period, state in zip(periods, states, strict=True)
    ]
    assert fired(evaluations) == [periods[1], periods[7]]
    message = valid(renderer.target_test(CTR_TARGET, evaluations))
    shown = everything(message)
    assert "would have fired 2 times, on 2026-W41 and W47" in shown
    assert "2026-W41    —  missed ← alert" in shown


def test_a_target_test_replays_the_last_twelve_periods(demo_store: Engine) -> None:
    target = Target(
        "ctr", ">=", 0.012, TargetGrain.WEEK, filters=((Dimension.CAMPAIGN, (LOW_CTR_CAMPAIGN,)),)
    )
    evaluations = replay(demo_store, target, BUILTIN, today=TODAY)
    message = valid(renderer.target_test(target, evaluations))
    shown = everything(message)
    assert shown.startswith(
        "Target test: CTR ≥ 1.20% weekly: Replayed over the last 12 weeks: would have fired"
    )
    assert f"· only campaign: {LOW_CTR_CAMPAIGN}" in shown
    table = next(b["text"]["text"] for b in message.blocks if "```" in b["text"]["text"])
    lines = table.strip("`\n").splitlines()
    assert lines[0].split() == ["period", "ctr", "outcome"] and len(lines) == 13
    assert lines[-1].startswith("2026-W47  ")
    easy = replace(target, threshold=0.001)
    shown = everything(
        valid(renderer.target_test(easy, replay(demo_store, easy, BUILTIN, today=TODAY)))
    )
    assert "Replayed over the last 12 weeks: would never have fired" in shown


def test_confirmations_and_refusals_escape_all_but_links_and_ids() -> None:
    message = valid(renderer.confirmation(f"Digest for <#C024BE7LR>: weekly on Monday ({EVIL})"))
    assert message.text == f"Digest for <#C024BE7LR>: weekly on Monday ({EVIL_SHOWN})"
    assert message.blocks[0]["text"]["text"] == "✅ " + message.text
    assert valid(renderer.confirmation("<@U0ALICE> <#c1>")).text == "&lt;@U0ALICE&gt; &lt;#c1&gt;"
    refusal = valid(renderer.refusal(("U0ALICE", "U0BOB", EVIL)))
    assert refusal.text == (
        "Sorry, only admins can change digests and targets (ask one of: <@U0ALICE>, <@U0BOB>, "
        f"{EVIL_SHOWN}, or a workspace admin)."
    )
    assert "(ask a workspace admin)" in valid(renderer.refusal()).text
    many = valid(renderer.refusal([f"U{i:04d}" for i in range(30)]))
    assert "<@U0009>, 20 more, or a workspace admin" in many.text


@settings(max_examples=100, deadline=None)
@given(label=st.text(max_size=300), user=st.text(max_size=60))
def test_any_driver_label_or_user_is_escaped_and_parses(
    missed: Evaluation, label: str, user: str
) -> None:
    driver = Mover("campaign", label, -0.001, None, 0.01)
    message = valid(renderer.alert(replace(missed, drivers=(driver,) * 3)))
    valid(renderer.alert_handled(_echoed(message), user_id=user))


def test_a_kpi_only_the_given_catalog_knows_is_formatted_with_it(missed: Evaluation) -> None:
    custom = replace(BUILTIN["ctr"], name="click_rate", aliases=())
    renamed = replace(missed, target=replace(missed.target, kpi="click_rate"))
    plain = valid(Renderer().alert(renamed))
    assert plain.text.startswith(f"click_rate missed its target: {missed.value:g} vs ≥ 0.012 (")
    formatted = valid(Renderer(catalog=Catalog([custom])).alert(renamed))
    assert formatted.text.startswith("Click rate missed its target: ")
    assert " vs ≥ 1.20% (-0.20 pp) · week " in formatted.text


def test_a_target_test_without_periods_says_so() -> None:
    message = valid(renderer.target_test(CTR_TARGET, []))
    assert "Nothing to replay: no closed period yet" in message.text
    assert not any("```" in block["text"]["text"] for block in message.blocks[:-1])
