"""The Slack half of ``kpibot demo``: a real round trip without a Slack workspace.

It starts the local Slack stand-in and ``kpibot serve`` in HTTP mode, sends a slash command
signed exactly as Slack signs it, and returns what the bot posted back, so a new user sees
the path production takes (signature check, ack, answer pool, response_url) working.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass
from typing import Any

from bot.launch import serve_process
from bot.settings import Settings
from bot.standin import DEFAULT_BOT_TOKEN, SlackStandIn, post_signed, slash_command_body

QUESTION = "ctr last-week by platform"


@dataclass(frozen=True)
class RoundTrip:
    question: str
    status: int
    ack_ms: float
    answer_ms: float
    posted: dict[str, Any]


def round_trip(settings: Settings, question: str = QUESTION) -> RoundTrip:
    """Ask ``question`` through a served bot on the configured store; raises if nothing comes."""
    secret = secrets.token_hex(16)
    with SlackStandIn() as slack:
        env = {
            "DATABASE_URL": settings.database_url,
            "KPIBOT_TIMEZONE": settings.timezone,
            "SLACK_BOT_TOKEN": DEFAULT_BOT_TOKEN,
            "SLACK_SIGNING_SECRET": secret,
            "SLACK_APP_TOKEN": "",
            "SLACK_API_URL": slack.api_url,
            "KPIBOT_WEB_WORKERS": "1",
            "KPIBOT_LOG_LEVEL": "WARNING",
        }
        with serve_process(env) as bot:
            response_url = slack.response_url()
            started = time.monotonic()
            status, _ = post_signed(
                bot.events_url, secret, slash_command_body(question, response_url=response_url)
            )
            acked = time.monotonic()
            (call,) = slack.wait_for("response_url", count=1, timeout=30)
    return RoundTrip(
        question=question,
        status=status,
        ack_ms=(acked - started) * 1000,
        answer_ms=(call.at - started) * 1000,
        posted=call.params,
    )
