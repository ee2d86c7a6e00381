"""Events: the Home tab shows how to ask, so people discover the grammar without typing help."""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack
from slack_sdk import WebClient

from bot.services import Services


def handle_home_opened(
    ack: Ack, event: dict[str, Any], client: WebClient, services: Services
) -> None:
    """Published from the answer pool: an event must get its 200 within 3 s, whatever Slack's
    views.publish takes."""
    ack()
    if event.get("tab", "home") != "home":
        return
    help_message = services.renderer.help()
    services.work.submit(
        client.views_publish,
        user_id=event["user"],
        view={"type": "home", "blocks": list(help_message.blocks)},
    )
