"""The buttons under an answer: re-ask it another way, or share it in the channel."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import Ack
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot import configuring
from bot.answering import Asked, Variant, reply
from bot.rendering import (
    ACTION_BY_PLATFORM,
    ACTION_SNOOZE_DAY,
    ACTION_SNOOZE_PERIOD,
    ACTION_SNOOZE_WEEK,
)
from bot.replies import reply_later
from bot.services import Services
from kpi import alert_states, targets
from kpi.errors import KpiError
from kpi.targets import window

#: Errors that mean "the bot cannot post here", which the user can fix by inviting it.
NOT_POSTABLE = {"not_in_channel", "channel_not_found", "is_archived", "restricted_action"}


def handle_variant(
    ack: Ack,
    action: dict[str, Any],
    body: dict[str, Any],
    services: Services,
    logger: logging.Logger,
) -> None:
    """By platform / vs last year: a new ephemeral answer; the original stays for comparison."""
    ack()
    by_platform = action["action_id"] == ACTION_BY_PLATFORM
    variant = Variant.BY_PLATFORM if by_platform else Variant.VS_LAST_YEAR

    def make() -> dict[str, Any]:
        asked = Asked.decode(str(action.get("value", ""))).with_variant(variant)
        return {**reply(services, asked).payload(), "replace_original": False}

    reply_later(services, body["response_url"], make, logger)


def handle_share(
    ack: Ack,
    action: dict[str, Any],
    body: dict[str, Any],
    client: WebClient,
    services: Services,
    logger: logging.Logger,
) -> None:
    """Post the same answer in the channel, attributed to the clicker, then drop the private copy.

    The answer is recomputed for the same day rather than copied from the click's payload: the
    payload is what the user's client sent, the store is what we trust.
    """
    ack()
    user_id, channel_id = body["user"]["id"], body["channel"]["id"]

    def make() -> dict[str, Any]:
        message = reply(services, Asked.decode(str(action.get("value", ""))), shared_by=user_id)
        try:
            client.chat_postMessage(
                channel=channel_id, unfurl_links=False, unfurl_media=False, **message.payload()
            )
        except SlackApiError as error:
            code = error.response.get("error")
            if code not in NOT_POSTABLE:
                raise
            logger.warning("cannot share in %s: %s", channel_id, code)
            refusal = KpiError(
                f"I can't post in this channel ({code}): invite me, then share again"
            )
            return {**services.renderer.error(refusal).payload(), "replace_original": False}
        return {"delete_original": True}

    reply_later(services, body["response_url"], make, logger)


SNOOZES = {
    ACTION_SNOOZE_DAY: "day",
    ACTION_SNOOZE_WEEK: "week",
    ACTION_SNOOZE_PERIOD: "period",
}


def handle_alert_button(
    ack: Ack,
    action: dict[str, Any],
    body: dict[str, Any],
    client: WebClient,
    services: Services,
    logger: logging.Logger,
) -> None:
    """Snooze or acknowledge a target from its alert, then say so on the alert itself."""
    ack()
    user_id = body["user"]["id"]

    def make() -> dict[str, Any]:
        try:
            target_id = int(str(action.get("value", "")))
        except ValueError:
            raise KpiError("this button belongs to an unknown alert") from None
        now = services.clock()
        engine = services.engine
        target = next((t for t in targets.load(engine) if t.id == target_id), None)
        if target is None:
            raise KpiError(f"target {target_id} was removed; /kpi target list shows the others")
        choice = SNOOZES.get(action["action_id"])
        until = None
        if choice is None:
            alert_states.acknowledge(engine, target_id, user_id, now)
            note = "Acknowledged."
        else:
            period_days = window(target, services.today(), services.settings.week_start).days
            until = configuring.snooze_until(choice, now, period_days)
            alert_states.snooze(engine, target_id, until)
            until = until.astimezone(services.settings.zone)
            note = f"Snoozed until {until:%a %d %b %H:%M %Z}."
        message = body.get("message")
        channel = body.get("channel", {}).get("id")
        if message and channel:
            updated = services.renderer.alert_handled(message, user_id=user_id, snoozed_until=until)
            client.chat_update(channel=channel, ts=message["ts"], **updated.payload())
        logger.info("target %s: %s", target_id, note)
        return {"response_type": "ephemeral", "replace_original": False, "text": note}

    reply_later(services, body["response_url"], make, logger)
