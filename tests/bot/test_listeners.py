"""The listeners, called directly with spec'd mocks: what they ack, compute and send, in order."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from concurrent.futures import Executor, Future
from typing import Any
from unittest.mock import MagicMock, call, create_autospec

import pytest
from pydantic import SecretStr
from slack_bolt import Ack, BoltContext
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.web import SlackResponse
from slack_sdk.webhook import WebhookClient, WebhookResponse
from sqlalchemy import Engine

from bot import app as app_module
from bot.answering import Asked, Variant
from bot.listeners import actions, commands, events
from bot.rendering import ACTION_BY_PLATFORM, ACTION_SHARE, ACTION_VS_LAST_YEAR, Message, Renderer
from bot.services import Services
from bot.settings import Settings
from kpi.catalog import BUILTIN

NOW = dt.datetime(2026, 11, 23, 9, 30, tzinfo=dt.UTC)
RESPONSE_URL = "https://hooks.slack.com/commands/T0/1/abc"
CLIENT = create_autospec(WebClient, instance=True)
ANSWER = Message(
    text="CTR 1.23%", blocks=({"type": "section", "text": {"type": "mrkdwn", "text": "x"}},)
)


class InlineExecutor(Executor):
    """Runs submitted work at once, so a test sees its effects without waiting."""

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        future: Future[Any] = Future()
        future.set_result(fn(*args, **kwargs))
        return future


@pytest.fixture
def webhook() -> MagicMock:
    client: MagicMock = create_autospec(WebhookClient, instance=True)
    client.send_dict.return_value = WebhookResponse(
        url=RESPONSE_URL, status_code=200, body="ok", headers={}
    )
    return client


@pytest.fixture
def services(webhook: MagicMock) -> Services:
    renderer = create_autospec(Renderer, instance=True)
    renderer.failure.side_effect = lambda reference: Message(f"failed {reference}", ())
    renderer.error.side_effect = lambda error: Message(f"error: {error}", ())
    renderer.help.return_value = Message("help", ({"type": "divider"},))
    settings = Settings(SLACK_BOT_TOKEN=SecretStr("xoxb-1"), SLACK_SIGNING_SECRET=SecretStr("s"))
    return Services(
        settings=settings,
        engine=create_autospec(Engine, instance=True),
        catalog=BUILTIN,
        renderer=renderer,
        work=InlineExecutor(),
        clock=lambda: NOW,
        webhook=lambda url: webhook,
    )


@pytest.fixture
def reply(monkeypatch: pytest.MonkeyPatch) -> MagicMock:
    from bot import answering

    fake: MagicMock = create_autospec(answering.reply, return_value=ANSWER)
    monkeypatch.setattr(commands, "reply", fake)
    monkeypatch.setattr(actions, "reply", fake)
    return fake


def _ack() -> MagicMock:
    ack: MagicMock = create_autospec(Ack, instance=True)
    return ack


def test_kpi_acks_first_then_answers_ephemerally(
    services: Services, webhook: MagicMock, reply: MagicMock
) -> None:
    order = MagicMock()
    ack = _ack()
    order.attach_mock(ack, "ack")
    order.attach_mock(reply, "reply")
    command = {"text": "ctr last-week", "response_url": RESPONSE_URL, "user_id": "U1"}
    commands.handle_kpi(ack, command, CLIENT, services, logging.getLogger("test"))
    assert [name for name, *_ in order.mock_calls][:2] == ["ack", "reply"]
    ack.assert_called_once()
    reply.assert_called_once_with(services, Asked("ctr last-week", NOW.date()))
    webhook.send_dict.assert_called_once_with({"response_type": "ephemeral", **ANSWER.payload()})


def test_a_crash_reaches_the_user_as_a_reference_and_the_log_as_a_traceback(
    services: Services, webhook: MagicMock, reply: MagicMock, caplog: pytest.LogCaptureFixture
) -> None:
    reply.side_effect = RuntimeError("database exploded")
    command = {"text": "ctr", "response_url": RESPONSE_URL}
    commands.handle_kpi(_ack(), command, CLIENT, services, logging.getLogger("test"))
    sent = webhook.send_dict.call_args.args[0]
    reference = sent["text"].removeprefix("failed ")
    assert len(reference) == 8
    assert "exploded" not in str(sent)
    assert reference in caplog.text
    assert "database exploded" in caplog.text  # the traceback is logged


def test_a_refused_response_url_is_logged(
    services: Services, webhook: MagicMock, reply: MagicMock, caplog: pytest.LogCaptureFixture
) -> None:
    webhook.send_dict.return_value = WebhookResponse(
        url=RESPONSE_URL, status_code=404, body="expired_url", headers={}
    )
    command = {"text": "ctr", "response_url": RESPONSE_URL}
    commands.handle_kpi(_ack(), command, CLIENT, services, logging.getLogger("t"))
    assert "expired_url" in caplog.text


@pytest.mark.parametrize(
    ("action_id", "variant"),
    [(ACTION_BY_PLATFORM, Variant.BY_PLATFORM), (ACTION_VS_LAST_YEAR, Variant.VS_LAST_YEAR)],
)
def test_variant_buttons_reask_with_the_variant_added(
    services: Services, webhook: MagicMock, reply: MagicMock, action_id: str, variant: Variant
) -> None:
    asked = Asked("roi last-month", dt.date(2026, 11, 1), (Variant.BY_PLATFORM,))
    action = {"action_id": action_id, "value": asked.encode()}
    ack = _ack()
    actions.handle_variant(
        ack, action, {"response_url": RESPONSE_URL}, services, logging.getLogger("t")
    )
    ack.assert_called_once()
    reply.assert_called_once_with(services, asked.with_variant(variant))
    assert webhook.send_dict.call_args.args[0]["replace_original"] is False


def test_a_button_from_an_unknown_message_gets_a_friendly_error(
    services: Services, webhook: MagicMock, reply: MagicMock
) -> None:
    action = {"action_id": ACTION_BY_PLATFORM, "value": "not json"}
    actions.handle_variant(
        _ack(), action, {"response_url": RESPONSE_URL}, services, logging.getLogger("t")
    )
    reply.assert_not_called()
    assert "older message" in webhook.send_dict.call_args.args[0]["text"]


def _share_body() -> dict[str, Any]:
    return {"user": {"id": "U0ALICE"}, "channel": {"id": "C0GENERAL"}, "response_url": RESPONSE_URL}


def test_share_posts_in_the_channel_attributed_then_removes_the_private_copy(
    services: Services, webhook: MagicMock, reply: MagicMock
) -> None:
    client = create_autospec(WebClient, instance=True)
    asked = Asked("ctr last-week", NOW.date())
    action = {"action_id": ACTION_SHARE, "value": asked.encode()}
    actions.handle_share(_ack(), action, _share_body(), client, services, logging.getLogger("t"))
    reply.assert_called_once_with(services, asked, shared_by="U0ALICE")
    client.chat_postMessage.assert_called_once_with(
        channel="C0GENERAL", unfurl_links=False, unfurl_media=False, **ANSWER.payload()
    )
    assert webhook.send_dict.call_args == call(
        {"response_type": "ephemeral", "delete_original": True}
    )


def _api_error(code: str) -> SlackApiError:
    response = SlackResponse(
        client=None,
        http_verb="POST",
        api_url="u",
        req_args={},
        data={"ok": False, "error": code},
        headers={},
        status_code=200,
    )
    return SlackApiError(code, response)  # type: ignore[no-untyped-call]


def test_share_where_the_bot_is_not_a_member_says_how_to_fix_it(
    services: Services, webhook: MagicMock, reply: MagicMock
) -> None:
    client = create_autospec(WebClient, instance=True)
    client.chat_postMessage.side_effect = _api_error("not_in_channel")
    action = {"action_id": ACTION_SHARE, "value": Asked("ctr", NOW.date()).encode()}
    actions.handle_share(_ack(), action, _share_body(), client, services, logging.getLogger("t"))
    sent = webhook.send_dict.call_args.args[0]
    assert "invite me" in sent["text"] and sent["replace_original"] is False


def test_share_failing_otherwise_is_an_unexpected_failure(
    services: Services, webhook: MagicMock, reply: MagicMock
) -> None:
    client = create_autospec(WebClient, instance=True)
    client.chat_postMessage.side_effect = _api_error("invalid_blocks")
    action = {"action_id": ACTION_SHARE, "value": Asked("ctr", NOW.date()).encode()}
    actions.handle_share(_ack(), action, _share_body(), client, services, logging.getLogger("t"))
    assert webhook.send_dict.call_args.args[0]["text"].startswith("failed ")


def test_home_tab_shows_the_help(services: Services) -> None:
    client = create_autospec(WebClient, instance=True)
    events.handle_home_opened(_ack(), {"user": "U1", "tab": "home"}, client, services)
    client.views_publish.assert_called_once_with(
        user_id="U1", view={"type": "home", "blocks": [{"type": "divider"}]}
    )
    events.handle_home_opened(_ack(), {"user": "U1", "tab": "messages"}, client, services)
    assert client.views_publish.call_count == 1


def test_the_error_hook_answers_with_a_reference(services: Services, webhook: MagicMock) -> None:
    context = BoltContext()
    context["services"] = services
    app_module._on_error(ValueError("bad"), {"response_url": RESPONSE_URL}, context)
    assert webhook.send_dict.call_args.args[0]["text"].startswith("failed ")


def test_the_error_hook_without_a_response_url_only_logs(
    services: Services, webhook: MagicMock, caplog: pytest.LogCaptureFixture
) -> None:
    context = BoltContext()
    context["services"] = services
    app_module._on_error(ValueError("bad event"), {"event": {}}, context)
    webhook.send_dict.assert_not_called()
    assert "bad event" in caplog.text


def test_asked_survives_its_button_round_trip() -> None:
    asked = Asked(
        "taux-de-clic « semaine-dernière »", dt.date(2026, 11, 1), (Variant.VS_LAST_YEAR,)
    )
    assert Asked.decode(asked.encode()) == asked
    assert asked.with_variant(Variant.VS_LAST_YEAR) is asked
