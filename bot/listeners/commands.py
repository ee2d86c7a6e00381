"""``/kpi``: ack at once, answer through the response_url from the answer pool."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import Ack

from bot.answering import Asked, reply
from bot.replies import reply_later
from bot.services import Services


def handle_kpi(
    ack: Ack, command: dict[str, Any], services: Services, logger: logging.Logger
) -> None:
    """The ack is empty: Slack shows nothing until the answer, which replaces no earlier message."""
    ack()
    asked = Asked(text=str(command.get("text", "")), as_of=services.today())
    reply_later(services, command["response_url"], lambda: reply(services, asked).payload(), logger)
