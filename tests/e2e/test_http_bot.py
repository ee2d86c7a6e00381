"""`kpibot serve` in HTTP mode as a real process, driven as Slack drives it."""

from __future__ import annotations

import json
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from slack_sdk.models.blocks import Block

from bot.answering import Asked
from bot.launch import ServedBot
from bot.rendering import ACTION_BY_PLATFORM, ACTION_SHARE, ACTION_VS_LAST_YEAR
from bot.standin import (
    DEFAULT_BOT_TOKEN,
    SlackStandIn,
    block_actions_body,
    button_click_payload,
    post_signed,
    signed_headers,
    slash_command_body,
)
from tests.e2e.conftest import SECRET, replies_to, reply_to, send_command, texts


def _valid_blocks(message: dict[str, Any]) -> None:
    assert message["text"], "every message carries a plain-text fallback"
    assert len(message["blocks"]) <= 50
    for block in message["blocks"]:
        parsed = Block.parse(block)
        assert parsed is not None
        parsed.to_dict()  # slack_sdk's own validation


def _button_value(message: dict[str, Any], action_id: str) -> str:
    for block in message["blocks"]:
        for element in block.get("elements", []):
            if element.get("action_id") == action_id:
                return str(element["value"])
    raise AssertionError(f"no {action_id} button in {texts(message)[:500]}")


def test_health_reports_the_database_and_scheduler(served: ServedBot) -> None:
    status, report = served.health()
    assert status == 200
    assert report["database"] == "ok" and report["mode"] == "http"
    assert "scheduler" in report


def test_kpi_acks_empty_then_answers_ephemerally(served: ServedBot, slack: SlackStandIn) -> None:
    sent = send_command(served, slack, "ctr last-week by platform")
    assert sent.status == 200
    assert sent.body in (b"", b"{}")  # nothing shown until the answer
    message = reply_to(slack, sent.response_url)
    _valid_blocks(message)
    assert message["response_type"] == "ephemeral"
    shown = texts(message)
    assert message["blocks"][0]["type"] == "header"
    assert "CTR" in message["blocks"][0]["text"]["text"] or "ctr" in shown
    assert "UTC" in message["blocks"][0]["text"]["text"]
    assert "%" in shown
    for platform in ("tiktok", "linkedin", "google"):
        assert platform in shown.lower()
    for action in (ACTION_SHARE, ACTION_BY_PLATFORM, ACTION_VS_LAST_YEAR):
        _button_value(message, action)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("help", "by"),
        ("list", "engagement_rate"),
        ("ctrr last-week", "did you mean"),
        ("ctr last-fortnight", "unknown word"),
        ("", "by"),
        ("ctr " + "x" * 600, "at most 500 characters"),
    ],
)
def test_help_list_and_mistakes_get_helpful_replies(
    served: ServedBot, slack: SlackStandIn, text: str, expected: str
) -> None:
    sent = send_command(served, slack, text)
    assert sent.status == 200
    message = reply_to(slack, sent.response_url)
    _valid_blocks(message)
    assert expected in texts(message).lower()


def test_user_text_is_never_a_mention_or_a_link(served: ServedBot, slack: SlackStandIn) -> None:
    sent = send_command(served, slack, "clicks last-week by campaign account=evil")
    message = reply_to(slack, sent.response_url)
    _valid_blocks(message)
    shown = texts(message)
    assert "&lt;!channel&gt; Promo &lt;https://evil.example" in shown
    assert "<!channel>" not in shown and "<https://evil" not in shown
    typo = send_command(served, slack, "<!here> ctr")
    error = texts(reply_to(slack, typo.response_url))
    assert "<!here>" not in error


def test_buttons_reask_by_platform_and_vs_last_year(served: ServedBot, slack: SlackStandIn) -> None:
    first = reply_to(slack, send_command(served, slack, "roas last-month").response_url)
    value = _button_value(first, ACTION_BY_PLATFORM)
    for action_id, expected in ((ACTION_BY_PLATFORM, "tiktok"), (ACTION_VS_LAST_YEAR, "year")):
        response_url = slack.response_url()
        payload = button_click_payload(action_id, value, response_url=response_url)
        status, _ = post_signed(served.events_url, SECRET, block_actions_body(payload))
        assert status == 200
        message = reply_to(slack, response_url)
        _valid_blocks(message)
        assert expected in texts(message).lower()
        assert message.get("replace_original") is False
    clicked = Asked.decode(_button_value(message, ACTION_BY_PLATFORM))
    assert clicked.text == "roas last-month"


def test_share_posts_in_the_channel_attributed_to_the_clicker(
    served: ServedBot, slack: SlackStandIn
) -> None:
    first = reply_to(slack, send_command(served, slack, "cpc last-week").response_url)
    response_url = slack.response_url()
    payload = button_click_payload(
        ACTION_SHARE,
        _button_value(first, ACTION_SHARE),
        user_id="U0ALICE",
        response_url=response_url,
    )
    before = len(slack.calls_to("chat.postMessage"))
    assert post_signed(served.events_url, SECRET, block_actions_body(payload))[0] == 200
    posted = slack.wait_for("chat.postMessage", count=before + 1)[-1]
    assert posted.params["channel"] == "C0GENERAL"
    assert posted.headers["authorization"] == f"Bearer {DEFAULT_BOT_TOKEN}"
    blocks = posted.params["blocks"]
    blocks = json.loads(blocks) if isinstance(blocks, str) else blocks
    assert "<@U0ALICE>" in json.dumps(blocks)
    assert ACTION_SHARE not in json.dumps(blocks)  # a shared answer carries no buttons
    assert reply_to(slack, response_url).get("delete_original") is True


def test_forged_requests_get_401_and_reach_nothing(served: ServedBot, slack: SlackStandIn) -> None:
    response_url = slack.response_url()
    body = slash_command_body("ctr", response_url=response_url)
    good = signed_headers(SECRET, body)
    stale = signed_headers(SECRET, body, timestamp=int(time.time()) - 6 * 60)
    cases: list[tuple[bytes, dict[str, str]]] = [
        (body, {**good, "X-Slack-Signature": "v0=" + "0" * 64}),
        (body + b"&text=roi", good),  # tampered after signing
        (body, {"Content-Type": "application/x-www-form-urlencoded"}),  # no headers
        (body, {**good, "X-Slack-Request-Timestamp": "soon"}),
        (body, {**good, "X-Slack-Request-Timestamp": ""}),
        (body, stale),
        (body, signed_headers("wrong-secret", body)),
    ]
    for data, headers in cases:
        request = urllib.request.Request(served.events_url, data=data, headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                status = response.status
        except urllib.error.HTTPError as error:
            status = error.code
        assert status == 401, headers
    time.sleep(0.3)
    assert not replies_to(slack, response_url)


def test_concurrent_commands_are_all_acked_and_answered(
    served: ServedBot, slack: SlackStandIn
) -> None:
    questions = [
        "ctr last-week",
        "roas last-month by platform",
        "cpm this-month",
        "reach last-week",
    ]
    with ThreadPoolExecutor(40) as pool:
        sent = list(pool.map(lambda i: send_command(served, slack, questions[i % 4]), range(40)))
    assert all(item.status == 200 for item in sent)
    for item in sent:
        message = reply_to(slack, item.response_url, timeout=30)
        _valid_blocks(message)
        assert len(replies_to(slack, item.response_url)) == 1


def test_a_rate_limited_response_url_is_retried_once_delivered(
    served: ServedBot, slack: SlackStandIn
) -> None:
    slack.fail("response_url", status=429, retry_after=1, times=1)
    try:
        sent = send_command(served, slack, "clicks yesterday")
        message = reply_to(slack, sent.response_url, timeout=20)
    finally:
        slack.clear_faults()
    _valid_blocks(message)
    attempts = [call for call in slack.calls_to("response_url") if call.url == sent.response_url]
    assert [call.status for call in attempts] == [429, 200]


def test_no_secret_reaches_the_log(served: ServedBot, slack: SlackStandIn) -> None:
    sent = send_command(served, slack, "spend last-week")
    reply_to(slack, sent.response_url)
    log = served.log_text()
    assert "DEBUG" in log  # the most talkative level is on, and still:
    assert DEFAULT_BOT_TOKEN not in log
    assert SECRET not in log
    hook = sent.response_url.rsplit("/", 1)[-1]
    assert hook not in log, [line for line in log.splitlines() if hook in line]


def test_the_home_tab_shows_how_to_ask(served: ServedBot, slack: SlackStandIn) -> None:
    event = {
        "type": "event_callback",
        "team_id": "T0STANDIN",
        "api_app_id": "A0STANDIN",
        "event_id": "Ev0HOME",
        "event_time": int(time.time()),
        "event": {"type": "app_home_opened", "user": "U0ALICE", "tab": "home", "channel": "D0X"},
    }
    body = json.dumps(event).encode()
    status, _ = post_signed(served.events_url, SECRET, body)
    assert status == 200
    (published,) = slack.wait_for("views.publish")
    assert published.params["user_id"] == "U0ALICE"
    assert "How to ask" in json.dumps(published.params)
