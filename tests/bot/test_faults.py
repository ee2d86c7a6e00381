"""Faults during scheduled runs: a Slack that times out, a database that goes away."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest
from pydantic import SecretStr
from slack_sdk import WebClient
from sqlalchemy.exc import OperationalError

from bot.delivery import Claim, Kind, Ledger, Pacer, Status
from bot.jobs import Jobs
from bot.scheduler import Scheduler
from bot.services import build_services
from bot.settings import Settings
from bot.slack_clients import retry_handlers
from bot.standin import Channel, SlackStandIn
from kpi import demo, subscriptions
from kpi.schedules import Cadence, Schedule
from kpi.store.engine import open_store
from kpi.subscriptions import Subscription
from tests.conftest import unavailable
from tests.postgres import cluster
from tests.query_data import load

NOW = dt.datetime(2026, 11, 23, 10, 0, tzinfo=dt.UTC)  # Monday, an hour after a 09:00 digest


@pytest.fixture
def slack() -> Iterator[SlackStandIn]:
    with SlackStandIn(channels=[Channel("C0GENERAL", "general")]) as standin:
        yield standin


def test_a_slack_that_times_out_for_a_while_gets_the_post_once(
    tmp_path: Path, slack: SlackStandIn
) -> None:
    engine = open_store(f"sqlite:///{tmp_path / 'kpibot.db'}")
    client = WebClient(
        token="xoxb-standin-token",
        base_url=slack.api_url,
        timeout=1,
        retry_handlers=retry_handlers(),
    )
    ledger = Ledger(engine, client, clock=lambda: NOW, pacer=Pacer(interval=0))
    # Held past the client's timeout, then a gateway timeout: the message never reached Slack.
    slack.delay("chat.postMessage", 2.0, times=2)
    slack.fail("chat.postMessage", status=504, times=2)
    claim = Claim(Kind.DIGEST, 1, "C0GENERAL", "p1", {"text": "digest", "blocks": []})
    posted = ledger.submit(claim)
    assert posted is not None and posted.status is Status.POSTED
    statuses = [call.status for call in slack.calls_to("chat.postMessage")]
    assert statuses.count(200) == 1 and len(statuses) == 3


def test_a_database_outage_during_a_run_is_retried_and_loses_nothing(slack: SlackStandIn) -> None:
    with cluster() as database:
        if database is None:
            unavailable("PostgreSQL is not installed")
            return
        engine = open_store(database.url)
        load(engine, demo.generate(NOW.date() - dt.timedelta(days=1), days=21), Path(database.root))
        settings = Settings(
            DATABASE_URL=database.url,
            SLACK_BOT_TOKEN=SecretStr("xoxb-standin-token"),
            SLACK_API_URL=slack.api_url,
        )
        services = build_services(settings)
        services.clock = lambda: NOW
        subscriptions.save(
            services.engine,
            Subscription("C0GENERAL", Schedule(Cadence.WEEKLY, 9, 0, weekday=0), ("ctr",)),
            now=NOW - dt.timedelta(days=7),
        )
        scheduler = Scheduler(
            Jobs.posting_with(
                services,
                WebClient(
                    token="xoxb-standin-token",
                    base_url=slack.api_url,
                    retry_handlers=retry_handlers(),
                ),
            ),
            services.clock,
        )
        database.stop()
        with pytest.raises(OperationalError):
            scheduler.sync()  # the scheduler logs it; the next sync (a minute later) retries
        assert slack.calls_to("chat.postMessage") == []
        database.start()
        scheduler.sync()
        scheduler.sync()
        posts = [call for call in slack.calls_to("chat.postMessage") if call.status == 200]
        assert len(posts) == 1 and posts[0].params["channel"] == "C0GENERAL"
        assert len(slack.calls_to("files.completeUploadExternal")) == 1
        engine.dispose()
        services.engine.dispose()
