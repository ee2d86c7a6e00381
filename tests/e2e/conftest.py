"""A real ``kpibot serve`` process, the Slack stand-in it talks to, and a store of demo data."""

from __future__ import annotations

import datetime as dt
import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pandas as pd
import pytest

from bot.launch import ServedBot, serve_process
from bot.standin import (
    DEFAULT_BOT_TOKEN,
    SlackStandIn,
    post_signed,
    slash_command_body,
)
from kpi import demo
from kpi.store.engine import open_store
from tests.query_data import load

SECRET = "e2e-signing-secret"
#: A campaign name written to ping everyone and disguise a link, if anything failed to escape it.
EVIL = "<!channel> Promo <https://evil.example|click>"


def bot_env(database_url: str, slack: SlackStandIn, **extra: str) -> dict[str, str]:
    return {
        "DATABASE_URL": database_url,
        "SLACK_BOT_TOKEN": DEFAULT_BOT_TOKEN,
        "SLACK_SIGNING_SECRET": SECRET,
        "SLACK_APP_TOKEN": "",
        "SLACK_API_URL": slack.api_url,
        "KPIBOT_TIMEZONE": "UTC",
        "KPIBOT_WEB_WORKERS": "1",
        "KPIBOT_LOG_LEVEL": "DEBUG",
        "KPIBOT_SCHEDULER": "false",  # scheduled runs are tested on their own
        **extra,
    }


@pytest.fixture(scope="package")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    """Demo data up to yesterday (the bot answers for its real today), plus one hostile name."""
    folder = tmp_path_factory.mktemp("e2e-store")
    url = f"sqlite:///{folder / 'kpibot.db'}"
    engine = open_store(url)
    frame = demo.generate(dt.datetime.now(dt.UTC).date() - dt.timedelta(days=1), days=400)
    recent = pd.to_datetime(frame["date"]) >= pd.Timestamp(frame["date"].max()) - pd.Timedelta(
        days=20
    )
    paid = frame[
        recent & frame["clicks"].notna() & (frame["campaign"] != "") & (frame["creator"] == "")
    ]
    hostile = paid[paid["campaign"] == paid["campaign"].iloc[0]].assign(
        campaign=EVIL, account="evil"
    )
    load(engine, pd.concat([frame, hostile], ignore_index=True), folder)
    engine.dispose()
    return url


@pytest.fixture(scope="package")
def slack() -> Iterator[SlackStandIn]:
    with SlackStandIn() as standin:
        yield standin


@pytest.fixture(scope="package")
def served(database_url: str, slack: SlackStandIn) -> Iterator[ServedBot]:
    with serve_process(bot_env(database_url, slack)) as bot:
        yield bot


@dataclass(frozen=True)
class Sent:
    """A slash command as sent: its HTTP answer and the response_url its reply goes to."""

    status: int
    body: bytes
    response_url: str


def send_command(bot: ServedBot, slack: SlackStandIn, text: str, **fields: str) -> Sent:
    response_url = slack.response_url()
    body = slash_command_body(text, response_url=response_url, **fields)
    status, answer = post_signed(bot.events_url, SECRET, body)
    return Sent(status, answer, response_url)


def replies_to(slack: SlackStandIn, response_url: str) -> list[dict[str, Any]]:
    return [
        call.params
        for call in slack.calls_to("response_url")
        if call.url == response_url and call.status == 200
    ]


def reply_to(slack: SlackStandIn, response_url: str, timeout: float = 15.0) -> dict[str, Any]:
    """The first message the bot posted to ``response_url``, waiting for it to arrive."""
    end = time.monotonic() + timeout
    while not (found := replies_to(slack, response_url)):
        if time.monotonic() > end:
            raise TimeoutError(f"nothing reached {response_url}")
        time.sleep(0.02)
    return found[0]


def texts(message: dict[str, Any]) -> str:
    """Every string in a message, as JSON, for "this never appears" checks."""
    return json.dumps(message, ensure_ascii=False)
