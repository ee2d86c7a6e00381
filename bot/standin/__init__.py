"""A local stand-in for Slack, so the bot runs as a real process without reaching slack.com.

``SlackStandIn`` serves the Web API methods kpibot uses (plus upload URLs, response URLs and a
Socket Mode WebSocket) on 127.0.0.1, records every call and fails on demand; the ``signing``
helpers build the signed requests Slack sends to the bot. It ships in the package, not under
tests/, because ``kpibot demo`` starts one too (``python -m bot.standin``).
"""

from bot.standin.recorder import Call
from bot.standin.server import SlackStandIn
from bot.standin.signing import (
    block_actions_body,
    button_click_payload,
    post_signed,
    signed_headers,
    slash_command_body,
    slash_command_payload,
)
from bot.standin.socket_mode import EnvelopeType, SocketModeServer
from bot.standin.web_api import (
    BOT_ID,
    BOT_USER_ID,
    DEFAULT_APP_TOKEN,
    DEFAULT_BOT_TOKEN,
    TEAM_ID,
    Channel,
    User,
)

__all__ = [
    "BOT_ID",
    "BOT_USER_ID",
    "DEFAULT_APP_TOKEN",
    "DEFAULT_BOT_TOKEN",
    "TEAM_ID",
    "Call",
    "Channel",
    "EnvelopeType",
    "SlackStandIn",
    "SocketModeServer",
    "User",
    "block_actions_body",
    "button_click_payload",
    "post_signed",
    "signed_headers",
    "slash_command_body",
    "slash_command_payload",
]
