"""Every listener is registered here, so the app's surface reads in one place."""

from __future__ import annotations

import re

from slack_bolt import App

from bot.listeners import actions, commands, events
from bot.rendering import (
    ACTION_ACKNOWLEDGE,
    ACTION_BY_PLATFORM,
    ACTION_SHARE,
    ACTION_SNOOZE_DAY,
    ACTION_SNOOZE_PERIOD,
    ACTION_SNOOZE_WEEK,
    ACTION_VS_LAST_YEAR,
)


def register(app: App) -> None:
    app.command(re.compile(r"^/kpi$"))(commands.handle_kpi)
    app.action(ACTION_SHARE)(actions.handle_share)
    app.action(ACTION_BY_PLATFORM)(actions.handle_variant)
    app.action(ACTION_VS_LAST_YEAR)(actions.handle_variant)
    for action_id in (
        ACTION_SNOOZE_DAY,
        ACTION_SNOOZE_WEEK,
        ACTION_SNOOZE_PERIOD,
        ACTION_ACKNOWLEDGE,
    ):
        app.action(action_id)(actions.handle_alert_button)
    app.event("app_home_opened")(events.handle_home_opened)
