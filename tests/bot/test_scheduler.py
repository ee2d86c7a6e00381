"""The scheduler: jobs from rows, catch-up within the grace, DST, heartbeats."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterator
from pathlib import Path
from unittest.mock import MagicMock, create_autospec
from zoneinfo import ZoneInfo

import pytest
from pydantic import SecretStr
from sqlalchemy import Engine

from bot.delivery import Ledger
from bot.jobs import Jobs
from bot.scheduler import Scheduler
from bot.services import Services, build_services
from bot.settings import Settings
from kpi import subscriptions
from kpi.schedules import Cadence, Schedule, next_fire
from kpi.subscriptions import Subscription

PARIS = ZoneInfo("Europe/Paris")
MONDAY_9 = Schedule(Cadence.WEEKLY, 9, 0, weekday=0)


class Clock:
    def __init__(self, now: dt.datetime) -> None:
        self.now = now

    def __call__(self) -> dt.datetime:
        return self.now


@pytest.fixture
def services(tmp_path: Path) -> Services:
    settings = Settings(
        DATABASE_URL=f"sqlite:///{tmp_path / 'kpibot.db'}",
        KPIBOT_TIMEZONE="Europe/Paris",
        SLACK_BOT_TOKEN=SecretStr("xoxb-1"),
    )
    return build_services(settings)


@pytest.fixture
def clock() -> Clock:
    return Clock(dt.datetime(2026, 11, 23, 12, 0, tzinfo=PARIS))  # a Monday, 3 h after 09:00


@pytest.fixture
def jobs(services: Services) -> MagicMock:
    fake: MagicMock = create_autospec(Jobs, instance=True)
    fake.services = services
    fake.ledger = create_autospec(Ledger, instance=True)
    fake.ledger.owner = "test:1"
    fake.digest_sent.return_value = False
    return fake


@pytest.fixture
def scheduler(jobs: MagicMock, clock: Clock) -> Iterator[Scheduler]:
    made = Scheduler(jobs, clock)
    made._scheduler.start(paused=True)  # jobs land in the store, none runs by itself
    yield made
    made.shutdown()


def _subscribe(
    engine: Engine, channel: str, since: dt.datetime, schedule: Schedule = MONDAY_9
) -> int:
    return subscriptions.save(engine, Subscription(channel, schedule), now=since)


def test_jobs_are_rebuilt_from_rows(services: Services, scheduler: Scheduler, clock: Clock) -> None:
    old = clock.now - dt.timedelta(days=30)
    first = _subscribe(services.engine, "C1", old)
    second = _subscribe(services.engine, "C2", old, Schedule(Cadence.DAILY, 8, 30))
    scheduler.sync()
    assert scheduler.job_ids() == [f"digest:{first}", f"digest:{second}"]
    subscriptions.remove(services.engine, "C1")
    scheduler.sync()
    assert scheduler.job_ids() == [f"digest:{second}"]


def test_a_digest_missed_within_the_grace_is_sent_at_start(
    services: Services, scheduler: Scheduler, jobs: MagicMock, clock: Clock
) -> None:
    subscription_id = _subscribe(services.engine, "C1", clock.now - dt.timedelta(days=30))
    scheduler.sync()
    jobs.digest.assert_called_once_with(subscription_id, dt.date(2026, 11, 23))


def test_a_digest_missed_beyond_the_grace_is_skipped_and_logged_once(
    services: Services,
    scheduler: Scheduler,
    jobs: MagicMock,
    clock: Clock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    _subscribe(services.engine, "C1", clock.now - dt.timedelta(days=30))
    clock.now += dt.timedelta(hours=4)  # 7 h late, grace 6 h
    with caplog.at_level(logging.WARNING):
        scheduler.sync()
        scheduler.sync()
    jobs.digest.assert_not_called()
    assert caplog.text.count("beyond KPIBOT_MISFIRE_GRACE") == 1


def test_sent_or_not_yet_subscribed_digests_are_not_caught_up(
    services: Services, scheduler: Scheduler, jobs: MagicMock, clock: Clock
) -> None:
    _subscribe(services.engine, "C1", clock.now - dt.timedelta(hours=1))  # after 09:00
    jobs.digest_sent.return_value = True
    _subscribe(services.engine, "C2", clock.now - dt.timedelta(days=9))
    scheduler.sync()
    jobs.digest.assert_not_called()


@pytest.mark.parametrize(
    ("after", "expected"),
    [
        # Around the spring change (Sunday 29 March 2026) and the autumn one (25 October).
        (dt.datetime(2026, 3, 27, tzinfo=PARIS), dt.datetime(2026, 3, 30, 9, 0, tzinfo=PARIS)),
        (dt.datetime(2026, 3, 30, 9, 1, tzinfo=PARIS), dt.datetime(2026, 4, 6, 9, 0, tzinfo=PARIS)),
        (dt.datetime(2026, 10, 23, tzinfo=PARIS), dt.datetime(2026, 10, 26, 9, 0, tzinfo=PARIS)),
        (
            dt.datetime(2026, 10, 19, 9, 1, tzinfo=PARIS),
            dt.datetime(2026, 10, 26, 9, 0, tzinfo=PARIS),
        ),
    ],
)
def test_monday_nine_fires_at_nine_local_across_dst(
    services: Services,
    scheduler: Scheduler,
    clock: Clock,
    after: dt.datetime,
    expected: dt.datetime,
) -> None:
    subscription_id = _subscribe(services.engine, "C1", clock.now)
    scheduler.sync()
    trigger = next(
        job.trigger
        for job in scheduler._scheduler.get_jobs()
        if job.id == f"digest:{subscription_id}"
    )
    fired = trigger.get_next_fire_time(None, after)
    assert fired == expected
    assert fired.utcoffset() == expected.utcoffset()
    again = trigger.get_next_fire_time(fired, fired + dt.timedelta(seconds=1))
    assert again - fired >= dt.timedelta(days=6, hours=23)  # once a week, never twice


def test_running_scheduler_reports_and_beats(
    services: Services, scheduler: Scheduler, clock: Clock
) -> None:
    _subscribe(services.engine, "C1", clock.now - dt.timedelta(days=1))
    services.clock = clock
    assert services.scheduler_state() == "not running"
    scheduler.sync()
    # APScheduler plans from the real clock, whatever the test's clock says
    expected = next_fire(MONDAY_9, dt.datetime.now(PARIS))
    assert scheduler.state().startswith(
        f"running, 1 digest jobs, next digest {expected:%Y-%m-%dT%H:%M}"
    )
    assert services.scheduler_state().startswith("running: running, 1 digest jobs")
    clock.now += dt.timedelta(minutes=10)
    assert services.scheduler_state().startswith("stale")
    scheduler.shutdown()
    assert services.scheduler_state() == "not running"
