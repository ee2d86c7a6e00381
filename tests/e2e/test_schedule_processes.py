"""Scheduled posts across real processes: three replicas on PostgreSQL, and a killed scheduler."""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, select, text

from bot.launch import serve_process
from bot.standin import Channel, SlackStandIn
from kpi import demo, subscriptions, targets
from kpi.schedules import Cadence, Schedule
from kpi.store.engine import open_store
from kpi.store.schema import deliveries
from kpi.subscriptions import Subscription
from kpi.targets import Target, TargetGrain
from tests.conftest import unavailable
from tests.e2e.conftest import bot_env
from tests.query_data import load

CHANNELS = [
    Channel("C0CATCHUP", "catch-up"),
    Channel("C0CRON", "cron"),
    Channel("C0ALERTS", "alerts"),
]


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@pytest.fixture
def pg_url(postgres_server: str | None, tmp_path: Path) -> Iterator[str]:
    """A schema of its own on the session's PostgreSQL, with demo data up to yesterday."""
    if postgres_server is None:
        unavailable("PostgreSQL is not installed")
    assert postgres_server is not None
    schema = f"replicas_{uuid.uuid4().hex[:10]}"
    admin = create_engine(postgres_server, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    url = f"{postgres_server}?options=-csearch_path%3D{schema}"
    engine = open_store(url)
    load(engine, demo.generate(_now().date() - dt.timedelta(days=1), days=35), tmp_path)
    engine.dispose()
    try:
        yield url
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def _successes(slack: SlackStandIn, method: str, channel: str, key: str = "channel") -> int:
    return sum(
        1
        for call in slack.calls_to(method)
        if call.status == 200 and call.params.get(key) == channel
    )


def _wait(condition: object, timeout: float, what: str) -> None:
    assert callable(condition)
    end = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > end:
            raise TimeoutError(what)
        time.sleep(0.2)


def test_three_replicas_post_each_digest_and_alert_once(pg_url: str) -> None:
    now = _now()
    engine = open_store(pg_url)
    # Due an hour ago: every replica catches it up at start.
    past = (now - dt.timedelta(hours=1)).replace(second=0, microsecond=0)
    subscriptions.save(
        engine,
        Subscription("C0CATCHUP", Schedule(Cadence.DAILY, past.hour, past.minute), ("ctr",)),
        now=now - dt.timedelta(days=2),
    )
    # Due at the next whole minute (at least 30 s away): every replica's cron job fires it.
    soon = (now + dt.timedelta(seconds=90)).replace(second=0, microsecond=0)
    subscriptions.save(
        engine,
        Subscription("C0CRON", Schedule(Cadence.DAILY, soon.hour, soon.minute), ("clicks",)),
        now=now,
    )
    targets.save(engine, Target("ctr", ">=", 0.5, TargetGrain.WEEK, channel="C0ALERTS"), now=now)
    engine.dispose()

    with SlackStandIn(channels=CHANNELS) as slack:
        env = bot_env(
            pg_url, slack, KPIBOT_DATA_LAG="0s", KPIBOT_LOG_LEVEL="INFO", KPIBOT_SCHEDULER="true"
        )
        replicas = [serve_process(env) for _ in range(3)]
        try:
            _wait(
                lambda: all("scheduler started" in replica.log_text() for replica in replicas),
                60,
                "schedulers: " + "\n".join(replica.log_text()[-2000:] for replica in replicas),
            )
            _wait(lambda: _successes(slack, "chat.postMessage", "C0CRON") >= 1, 150, "cron digest")
            _wait(
                lambda: (
                    _successes(slack, "files.completeUploadExternal", "C0CRON", "channel_id") >= 1
                ),
                30,
                "cron chart",
            )
            time.sleep(5)  # room for a duplicate to show up, if there were one
        finally:
            for replica in replicas:
                replica.stop()
        for channel in ("C0CATCHUP", "C0CRON", "C0ALERTS"):
            assert _successes(slack, "chat.postMessage", channel) == 1, channel
        for channel in ("C0CATCHUP", "C0CRON"):
            assert _successes(slack, "files.completeUploadExternal", channel, "channel_id") == 1
        logs = "".join(replica.log_text() for replica in replicas)
        assert logs.count("scheduler started") == 3


def _scheduler(env: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "bot", "scheduler"],
        env={**os.environ, **env},
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def test_a_scheduler_killed_after_its_claim_posts_once_after_restart(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'kpibot.db'}"
    engine = open_store(url)
    now = _now()
    load(engine, demo.generate(now.date() - dt.timedelta(days=1), days=21), tmp_path)
    past = (now - dt.timedelta(hours=1)).replace(second=0, microsecond=0)
    subscriptions.save(
        engine,
        Subscription("C0CATCHUP", Schedule(Cadence.DAILY, past.hour, past.minute), ("ctr",)),
        now=now - dt.timedelta(days=2),
    )
    with SlackStandIn(channels=CHANNELS) as slack:
        env = bot_env(url, slack, KPIBOT_DELIVERY_LEASE="1s")
        slack.fail("chat.postMessage", status=503, times=None)  # Slack is down
        first = _scheduler(env)
        try:
            with engine.connect() as connection:
                _wait(
                    lambda: (
                        connection.execute(select(deliveries.c.id)).first() is not None
                        and len(slack.calls_to("chat.postMessage")) >= 1
                    ),
                    60,
                    "the claim and a first attempt",
                )
        finally:
            first.send_signal(signal.SIGKILL)
            first.wait()
        assert _successes(slack, "chat.postMessage", "C0CATCHUP") == 0
        slack.clear_faults()
        second = _scheduler(env)
        try:
            _wait(lambda: _successes(slack, "chat.postMessage", "C0CATCHUP") >= 1, 90, "the post")
            _wait(
                lambda: (
                    _successes(slack, "files.completeUploadExternal", "C0CATCHUP", "channel_id")
                    >= 1
                ),
                30,
                "the chart",
            )
            time.sleep(3)
        finally:
            second.terminate()
            second.wait(15)
        assert _successes(slack, "chat.postMessage", "C0CATCHUP") == 1
        assert _successes(slack, "files.completeUploadExternal", "C0CATCHUP", "channel_id") == 1
    engine.dispose()
