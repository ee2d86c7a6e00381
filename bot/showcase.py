"""The Slack half of ``kpibot demo``: the real paths, without a Slack workspace.

It starts the local Slack stand-in and ``kpibot serve`` in HTTP mode on a private copy of the
demo data, then, with requests signed exactly as Slack signs them: asks a question, subscribes a
channel to a digest and posts it, and sets a target that the demo data misses before running the
operators' alert pass. What comes back is what the stand-in received, so a new user sees the
production path (signatures, acks, the answer pool, the delivery ledger) working. The copy keeps
the demo's subscription and target out of the user's own store.
"""

from __future__ import annotations

import datetime as dt
import os
import secrets
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bot.launch import ServedBot, serve_process
from bot.settings import Settings
from bot.standin import (
    DEFAULT_BOT_TOKEN,
    Channel,
    SlackStandIn,
    post_signed,
    slash_command_body,
)
from kpi.importers.reader import ReadOptions
from kpi.ingest import ingest_file
from kpi.store.engine import open_store

QUESTION = "ctr last-week by platform"
CHANNEL = Channel("C0MARKETING", "marketing")
LINKED = f"<#{CHANNEL.id}|{CHANNEL.name}>"
#: The demo's CTR runs about 1 %: this target is missed, so an alert shows.
TARGET = f"ctr >= 1.2% weekly {LINKED}"
ADMIN = {"user_id": "U0ADMIN", "user_name": "admin"}


@dataclass(frozen=True)
class Shown:
    """One message as the stand-in received it, with how it got there."""

    title: str
    message: dict[str, Any]


class _Tour:
    def __init__(self, slack: SlackStandIn, bot: ServedBot, secret: str) -> None:
        self.slack, self.bot, self.secret = slack, bot, secret

    def command(self, text: str, **who: str) -> tuple[int, float, float, dict[str, Any]]:
        """Status, ack and answer times (ms), and the reply posted to the response_url."""
        response_url = self.slack.response_url()
        started = time.monotonic()
        status, _ = post_signed(
            self.bot.events_url,
            self.secret,
            slash_command_body(text, response_url=response_url, **who),
        )
        acked = time.monotonic()
        end = acked + 30
        while time.monotonic() < end:
            for call in self.slack.calls_to("response_url"):
                if call.url == response_url:
                    return status, (acked - started) * 1000, (call.at - started) * 1000, call.params
            time.sleep(0.02)
        raise TimeoutError(f"no reply to /kpi {text}")

    def posted(self) -> list[dict[str, Any]]:
        return [
            call.params
            for call in self.slack.calls_to("chat.postMessage")
            if call.status == 200 and call.params.get("channel") == CHANNEL.id
        ]


def tour(settings: Settings, demo_csv: Path, now: dt.datetime) -> list[Shown]:
    """Run the tour on a private SQLite copy of ``demo_csv``; the messages, in order."""
    secret = secrets.token_hex(16)
    with tempfile.TemporaryDirectory(prefix="kpibot-tour-") as folder:
        url = f"sqlite:///{Path(folder) / 'tour.db'}"
        engine = open_store(url)
        ingest_file(engine, demo_csv, ReadOptions(today=now.date()), now=now, source="canonical")
        engine.dispose()
        with SlackStandIn(channels=[CHANNEL]) as slack:
            env = {
                "DATABASE_URL": url,
                "KPIBOT_TIMEZONE": settings.timezone,
                "KPIBOT_WEEK_START": str(settings.week_start),
                "SLACK_BOT_TOKEN": DEFAULT_BOT_TOKEN,
                "SLACK_SIGNING_SECRET": secret,
                "SLACK_APP_TOKEN": "",
                "SLACK_API_URL": slack.api_url,
                "KPIBOT_WEB_WORKERS": "1",
                "KPIBOT_LOG_LEVEL": "WARNING",
                "KPIBOT_SCHEDULER": "false",
                "KPIBOT_DATA_LAG": "0s",
            }
            with serve_process(env) as bot:
                return _steps(_Tour(slack, bot, secret), env)


def _steps(run: _Tour, env: dict[str, str]) -> list[Shown]:
    status, ack_ms, answer_ms, answer = run.command(QUESTION)
    shown = [
        Shown(
            f"/kpi {QUESTION}: signed POST /slack/events -> HTTP {status}, acked in "
            f"{ack_ms:.0f} ms; the private answer reached the response_url after "
            f"{answer_ms:.0f} ms",
            answer,
        )
    ]
    run.command(f"digest on {LINKED} weekly kpis spend,ctr,cpc,roas", **ADMIN)
    run.command(f"digest now {LINKED}", **ADMIN)
    charts = run.slack.calls_to("upload")
    size = f"{charts[-1].params.get('size', 0):,} bytes" if charts else "none"
    shown.append(
        Shown(
            f"/kpi digest on #{CHANNEL.name} weekly, then /kpi digest now: the digest posted "
            f"in #{CHANNEL.name} (its chart, a PNG of {size}, went into the thread)",
            run.posted()[-1],
        )
    )
    run.command(f"target set {TARGET}", **ADMIN)
    subprocess.run(
        [sys.executable, "-m", "bot", "alerts", "run"],
        env={**os.environ, **env},
        capture_output=True,
        check=True,
    )
    shown.append(
        Shown(
            f"/kpi target set ctr >= 1.2% weekly #{CHANNEL.name}, then `kpibot alerts run`: "
            "the alert, with what drove the miss",
            run.posted()[-1],
        )
    )
    return shown
