"""`kpibot serve` refuses to start on a bad set-up, with one line naming what to fix."""

from __future__ import annotations

import pytest

from bot.launch import LaunchError, serve_process
from bot.standin import SlackStandIn
from tests.e2e.conftest import bot_env


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ({"SLACK_SIGNING_SECRET": ""}, "SLACK_SIGNING_SECRET is missing"),
        ({"SLACK_BOT_TOKEN": ""}, "SLACK_BOT_TOKEN is missing"),
        ({"SLACK_BOT_TOKEN": "xoxb-revoked"}, "Slack refused SLACK_BOT_TOKEN: invalid_auth"),
        ({"KPIBOT_TIMEZONE": "Mars/Olympus"}, "KPIBOT_TIMEZONE"),
        ({"PORT": "http"}, "PORT"),
    ],
)
def test_a_bad_setup_is_named(database_url: str, override: dict[str, str], message: str) -> None:
    with SlackStandIn() as slack, pytest.raises(LaunchError) as caught:
        serve_process({**bot_env(database_url, slack), **override})
    assert message in str(caught.value)
    assert "Traceback" not in str(caught.value)
    assert "xoxb-revoked" not in str(caught.value)
