"""The configuration subcommands of ``/kpi``: digests, targets, alerts.

Each runs on the answer pool after the ack and returns the ephemeral reply. Changes are for
admins only (``KPIBOT_ADMINS``, or workspace admins and owners), checked by user id.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.delivery import Kind, Ledger
from bot.jobs import Jobs
from bot.permissions import may_configure
from bot.rendering import Message
from bot.schedule_views import AlertsRow
from bot.services import Services
from kpi import alert_states, subscriptions, targets
from kpi.alerting import replay
from kpi.commands import (
    AlertsList,
    Command,
    DigestList,
    DigestNow,
    DigestOff,
    DigestOn,
    DigestPreview,
    TargetList,
    TargetRemove,
    TargetSet,
    TargetTest,
)
from kpi.errors import KpiError
from kpi.schedules import Cadence, Schedule
from kpi.subscriptions import Subscription

ALERT_KINDS = (Kind.ALERT, Kind.RESOLVED, Kind.NO_DATA)


@dataclass(frozen=True)
class Caller:
    """Who typed the command, and where: the default channel of a digest or a target."""

    user_id: str
    channel_id: str


def jobs_for(services: Services, client: WebClient) -> Jobs:
    return Jobs(
        services, Ledger(services.engine, client, clock=services.clock, pacer=services.pacer)
    )


def _postable(client: WebClient, channel: str) -> str:
    """The channel id, after checking Slack knows it; a typed ``#name`` Slack did not link is
    not a channel the bot can resolve."""
    if channel.startswith("#"):
        raise KpiError(
            f"I don't know {channel}: pick the channel from Slack's list as you type it, "
            "so that Slack links it"
        )
    try:
        client.conversations_info(channel=channel)
    except SlackApiError as error:
        raise KpiError(
            f"I can't see that channel ({error.response.get('error')}): invite me with /invite"
        ) from None
    return channel


def _subscription_in(services: Services, channel: str) -> Subscription | None:
    return next(
        (item for item in subscriptions.load(services.engine) if item.channel == channel), None
    )


def run(command: Command, caller: Caller, services: Services, client: WebClient) -> Message:
    """Carry out ``command`` for ``caller``; KpiError for anything the caller should fix."""
    renderer, engine, now = services.renderer, services.engine, services.clock()
    if command.changes_configuration and not may_configure(
        caller.user_id, services.settings, client
    ):
        return renderer.refusal(services.settings.admins)
    match command:
        case DigestOn(channel=channel, schedule=schedule, kpis=kpis, filters=filters):
            channel_id = _postable(client, channel)
            subscriptions.save(
                engine,
                Subscription(channel_id, schedule, kpis, filters, created_by=caller.user_id),
                now=now,
            )
            shown = ", ".join(kpis or services.settings.digest_kpis)
            return renderer.confirmation(
                f"Digest for <#{channel_id}>: {schedule.describe()} ({shown})"
            )
        case DigestOff(channel=channel):
            if subscriptions.remove(engine, channel):
                return renderer.confirmation(f"No more digests in <#{channel}>.")
            raise KpiError("that channel has no digest; /kpi digest list shows them")
        case DigestList():
            return renderer.digest_list(subscriptions.load(engine), services.settings.digest_kpis)
        case DigestPreview(channel=channel):
            previewed = _subscription_in(services, channel or caller.channel_id) or (
                Subscription(
                    caller.channel_id,
                    Schedule(Cadence.WEEKLY, 9, 0, weekday=services.settings.week_start),
                )
            )
            return Jobs.posting_with(services, client).preview(previewed, services.today())
        case DigestNow(channel=channel):
            target_channel = channel or caller.channel_id
            existing = _subscription_in(services, target_channel)
            if existing is None or existing.id is None:
                raise KpiError("that channel has no digest yet: /kpi digest on #channel first")
            delivery = Jobs.posting_with(services, client).digest(existing.id, services.today())
            if delivery is None:
                return renderer.confirmation(
                    "This period's digest was already posted there; nothing sent twice."
                )
            return renderer.confirmation(
                f"Digest posted in <#{target_channel}> ({delivery.status})."
            )
        case TargetSet(target=target):
            channel_id = _postable(client, target.channel or caller.channel_id)
            saved = targets.Target(
                target.kpi,
                target.comparator,
                target.threshold,
                target.grain,
                target.rolling_days,
                target.filters,
                channel_id,
            )
            target_id = targets.save(engine, saved, now=now, created_by=caller.user_id)
            return renderer.confirmation(
                f"Target {target_id}: {saved.describe()}; alerts go to <#{channel_id}>."
            )
        case TargetList():
            return renderer.target_list(targets.load(engine), services.catalog)
        case TargetRemove(target_id=target_id):
            if targets.remove(engine, target_id):
                return renderer.confirmation(f"Target {target_id} removed.")
            raise KpiError(f"there is no target {target_id}; /kpi target list shows them")
        case TargetTest(target=target):
            evaluations = replay(
                engine,
                target,
                services.catalog,
                today=services.today(),
                week_start=services.settings.week_start,
            )
            return renderer.target_test(target, evaluations)
        case AlertsList():
            return renderer.alerts_overview(alerts_rows(services, client))
    raise AssertionError(f"unhandled command {command!r}")


def alerts_rows(services: Services, client: WebClient) -> list[AlertsRow]:
    states = alert_states.load(services.engine)
    failed: dict[int, list[str]] = {}
    for delivery in Ledger(services.engine, client, clock=services.clock).failed(ALERT_KINDS):
        failed.setdefault(delivery.subject_id, []).append(delivery.error or "failed")
    return [
        AlertsRow(target, states.get(target.id or 0), tuple(failed.get(target.id or 0, ())))
        for target in targets.load(services.engine)
    ]


def snooze_until(choice: str, now: dt.datetime, period_days: int) -> dt.datetime:
    """``day``, ``week``, or ``period``: through the next period's judgement."""
    if choice == "day":
        return now + dt.timedelta(days=1)
    if choice == "week":
        return now + dt.timedelta(days=7)
    return now + dt.timedelta(days=period_days, hours=1)
