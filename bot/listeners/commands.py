"""``/kpi``: ack at once; answer (or carry out a subcommand) through the response_url."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import Ack
from slack_sdk import WebClient

from bot import configuring
from bot.answering import Asked, reply
from bot.replies import reply_later
from bot.services import Services
from kpi.commands import parse_command


def handle_kpi(
    ack: Ack,
    command: dict[str, Any],
    client: WebClient,
    services: Services,
    logger: logging.Logger,
) -> None:
    """The ack is empty: Slack shows nothing until the answer, which replaces no earlier message.

    Parsing happens after the ack too: even a pathological text cannot delay it.
    """
    ack()
    text = str(command.get("text", ""))
    caller = configuring.Caller(str(command.get("user_id", "")), str(command.get("channel_id", "")))

    def make() -> dict[str, Any]:
        settings = services.settings
        subcommand = parse_command(text, services.catalog, settings.week_start)
        if subcommand is not None:
            return configuring.run(subcommand, caller, services, client).payload()
        return reply(services, Asked(text=text, as_of=services.today())).payload()

    reply_later(services, command["response_url"], make, logger)
