"""With SLACK_APP_TOKEN set, `kpibot serve` dials Socket Mode and answers what arrives there."""

from __future__ import annotations

from bot.launch import serve_process
from bot.rendering import ACTION_BY_PLATFORM
from bot.standin import DEFAULT_APP_TOKEN, SlackStandIn, button_click_payload, slash_command_payload
from tests.e2e.conftest import bot_env, reply_to, texts


def test_socket_mode_receives_acks_and_answers(database_url: str) -> None:
    with SlackStandIn() as slack:
        env = bot_env(
            database_url, slack, SLACK_APP_TOKEN=DEFAULT_APP_TOKEN, SLACK_SIGNING_SECRET=""
        )
        with serve_process(env, wait=False) as bot:
            slack.socket_mode.wait_connected(timeout=30)
            opened = slack.calls_to("apps.connections.open")
            assert opened and opened[0].headers["authorization"] == f"Bearer {DEFAULT_APP_TOKEN}"

            response_url = slack.response_url()
            envelope = slack.socket_mode.send_envelope(
                "slash_commands", slash_command_payload("ctr last-week", response_url=response_url)
            )
            slack.socket_mode.wait_for_ack(envelope)
            message = reply_to(slack, response_url)
            assert "%" in texts(message)

            value = next(
                element["value"]
                for block in message["blocks"]
                for element in block.get("elements", [])
                if element.get("action_id") == ACTION_BY_PLATFORM
            )
            click_url = slack.response_url()
            click = slack.socket_mode.send_envelope(
                "interactive",
                button_click_payload(ACTION_BY_PLATFORM, value, response_url=click_url),
            )
            slack.socket_mode.wait_for_ack(click)
            assert "tiktok" in texts(reply_to(slack, click_url)).lower()
            assert bot.process.poll() is None
