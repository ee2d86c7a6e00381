"""Who may change configuration (digests, targets): listed admins, or workspace admins/owners.

Any member can run any slash command, so the check is on the immutable user id, never the name,
and a failed lookup refuses rather than allows.
"""

from __future__ import annotations

import logging

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.settings import Settings

logger = logging.getLogger("kpibot.permissions")


def may_configure(user_id: str, settings: Settings, client: WebClient) -> bool:
    if user_id in settings.admins:
        return True
    try:
        user = client.users_info(user=user_id).get("user") or {}
    except SlackApiError as error:
        logger.warning("users.info failed for %s: %s", user_id, error.response.get("error"))
        return False
    return bool(user.get("is_admin") or user.get("is_owner") or user.get("is_primary_owner"))
