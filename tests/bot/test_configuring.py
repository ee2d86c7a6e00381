"""The configuration subcommands against a real store, with a spec'd Slack client."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from unittest.mock import MagicMock, create_autospec

import pytest
from pydantic import SecretStr
from slack_sdk import WebClient

from bot import configuring
from bot.configuring import Caller
from bot.services import Services, build_services
from bot.settings import Settings
from kpi import subscriptions, targets
from kpi.commands import DigestOff, DigestOn, TargetSet
from kpi.errors import KpiError
from kpi.schedules import Cadence, Schedule
from kpi.targets import Target, TargetGrain

NOW = dt.datetime(2026, 11, 23, 9, 0, tzinfo=dt.UTC)
ADMIN = Caller("U0ADMIN", "C0HERE")


@pytest.fixture
def services(tmp_path: Path) -> Services:
    made = build_services(
        Settings(
            DATABASE_URL=f"sqlite:///{tmp_path / 'kpibot.db'}",
            SLACK_BOT_TOKEN=SecretStr("xoxb-1"),
            KPIBOT_ADMINS=("U0ADMIN",),
        )
    )
    made.clock = lambda: NOW
    return made


@pytest.fixture
def client() -> MagicMock:
    fake: MagicMock = create_autospec(WebClient, instance=True)
    fake.users_info.return_value = {"ok": True, "user": {"id": "U0BOB"}}
    fake.conversations_info.return_value = {"ok": True, "channel": {"id": "C0HERE"}}
    return fake


WEEKLY = Schedule(Cadence.WEEKLY, 9, 0, weekday=0)


def test_members_are_refused_changes_politely(services: Services, client: MagicMock) -> None:
    message = configuring.run(
        DigestOn("C0HERE", WEEKLY), Caller("U0BOB", "C0HERE"), services, client
    )
    assert "only admins" in message.text.lower()
    assert subscriptions.load(services.engine) == []
    client.users_info.assert_called_once_with(user="U0BOB")


def test_a_channel_slack_did_not_link_is_refused(services: Services, client: MagicMock) -> None:
    with pytest.raises(KpiError, match="pick the channel"):
        configuring.run(DigestOn("#nowhere", WEEKLY), ADMIN, services, client)
    client.conversations_info.assert_not_called()


def test_subscribe_then_unsubscribe(services: Services, client: MagicMock) -> None:
    done = configuring.run(DigestOn("C0HERE", WEEKLY, ("ctr",)), ADMIN, services, client)
    assert "weekly on Monday at 09:00" in done.text
    (saved,) = subscriptions.load(services.engine)
    assert saved.channel == "C0HERE" and saved.kpis == ("ctr",) and saved.created_by == "U0ADMIN"
    configuring.run(DigestOff("C0HERE"), ADMIN, services, client)
    assert subscriptions.load(services.engine) == []
    with pytest.raises(KpiError, match="no digest"):
        configuring.run(DigestOff("C0HERE"), ADMIN, services, client)


def test_a_target_alerts_the_channel_it_was_set_in(services: Services, client: MagicMock) -> None:
    target = Target("ctr", ">=", 0.012, TargetGrain.WEEK)
    configuring.run(TargetSet(target), ADMIN, services, client)
    (saved,) = targets.load(services.engine)
    assert saved.channel == "C0HERE"
    client.conversations_info.assert_called_once_with(channel="C0HERE")


@pytest.mark.parametrize(
    ("choice", "days", "expected"),
    [
        ("day", 7, dt.timedelta(days=1)),
        ("week", 7, dt.timedelta(days=7)),
        ("period", 7, dt.timedelta(days=7, hours=1)),
        ("period", 30, dt.timedelta(days=30, hours=1)),
    ],
)
def test_snoozes(choice: str, days: int, expected: dt.timedelta) -> None:
    assert configuring.snooze_until(choice, NOW, days) == NOW + expected
