"""Requests exactly as Slack sends them to the bot over HTTP: payloads, bodies and signatures.

In HTTP mode Slack POSTs form-encoded slash commands and ``payload=<json>`` interactions, signed
with the app's signing secret. Tests build them here so the bot's real request verification
runs; the signature comes from slack_sdk's own ``SignatureVerifier`` so it cannot drift from
what Bolt checks.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from typing import Any
from urllib.parse import urlencode

from slack_sdk.signature import SignatureVerifier

from bot.standin.web_api import APP_ID, TEAM_ID

DEFAULT_TRIGGER_ID = "1700000000000.7000000000.standintrigger"


def slash_command_payload(
    text: str,
    *,
    command: str = "/kpi",
    user_id: str = "U0ALICE",
    user_name: str = "alice",
    channel_id: str = "C0GENERAL",
    channel_name: str = "general",
    team_id: str = TEAM_ID,
    response_url: str,
    trigger_id: str = DEFAULT_TRIGGER_ID,
) -> dict[str, str]:
    """The fields of a slash command, in Slack's order.

    Over HTTP they are form-encoded (``slash_command_body``); in Socket Mode the same dict is the
    envelope's ``payload``.
    """
    return {
        "team_id": team_id,
        "team_domain": "standin",
        "channel_id": channel_id,
        "channel_name": channel_name,
        "user_id": user_id,
        "user_name": user_name,
        "command": command,
        "text": text,
        "api_app_id": APP_ID,
        "is_enterprise_install": "false",
        "response_url": response_url,
        "trigger_id": trigger_id,
    }


def slash_command_body(text: str, *, response_url: str, **fields: str) -> bytes:
    """The raw form-encoded body of a slash command, as Slack POSTs it (``fields`` as for
    :func:`slash_command_payload`)."""
    return urlencode(slash_command_payload(text, response_url=response_url, **fields)).encode()


def _block_id_of(action_id: str, message: dict[str, Any] | None) -> str:
    """The id of the block holding the button, as Slack reports it; a stable stand-in if none."""
    for block in (message or {}).get("blocks", []):
        elements = [*block.get("elements", []), block.get("accessory") or {}]
        if any(element.get("action_id") == action_id for element in elements):
            return str(block.get("block_id", ""))
    return "standin_actions"


def button_click_payload(
    action_id: str,
    value: str,
    *,
    user_id: str = "U0ALICE",
    user_name: str = "alice",
    channel_id: str = "C0GENERAL",
    team_id: str = TEAM_ID,
    response_url: str,
    message: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """A ``block_actions`` payload for a click on a button.

    With ``message`` (a message as ``chat.postMessage`` returned it) the click happened on that
    message and the payload carries it, as Slack does; without, it happened on an ephemeral
    message (such as a response_url reply), which Slack does not echo back.
    """
    action_ts = f"{time.time():.6f}"
    container: dict[str, Any] = {
        "type": "message",
        "message_ts": str((message or {}).get("ts", action_ts)),
        "channel_id": channel_id,
        "is_ephemeral": message is None,
    }
    payload: dict[str, Any] = {
        "type": "block_actions",
        "user": {"id": user_id, "username": user_name, "name": user_name, "team_id": team_id},
        "api_app_id": APP_ID,
        "container": container,
        "trigger_id": DEFAULT_TRIGGER_ID,
        "team": {"id": team_id, "domain": "standin"},
        "enterprise": None,
        "is_enterprise_install": False,
        "channel": {"id": channel_id},
        "state": {"values": {}},
        "response_url": response_url,
        "actions": [
            {
                "action_id": action_id,
                "block_id": _block_id_of(action_id, message),
                "value": value,
                "type": "button",
                "action_ts": action_ts,
            }
        ],
    }
    if message is not None:
        payload["message"] = message
    return payload


def block_actions_body(payload: dict[str, Any]) -> bytes:
    """The raw body of an interaction: one form field ``payload`` holding the JSON."""
    return urlencode({"payload": json.dumps(payload)}).encode()


def signed_headers(secret: str, body: bytes, timestamp: int | None = None) -> dict[str, str]:
    """Slack's headers for ``body``: content type, request timestamp and v0 signature.

    ``timestamp`` defaults to now; pass an old one to test the 5-minute replay window.
    """
    stamp = str(int(time.time()) if timestamp is None else timestamp)
    signature = SignatureVerifier(secret).generate_signature(timestamp=stamp, body=body)
    assert signature is not None  # None only for a None timestamp
    return {
        "Content-Type": "application/x-www-form-urlencoded",
        "X-Slack-Request-Timestamp": stamp,
        "X-Slack-Signature": signature,
    }


def post_signed(url: str, secret: str, body: bytes, timeout: float = 10) -> tuple[int, bytes]:
    """POST ``body`` signed with ``secret`` to ``url``; return status and body, even on 4xx/5xx."""
    if not url.startswith(("http://", "https://")):
        raise ValueError(f"not an http(s) URL: {url!r}")
    request = urllib.request.Request(  # noqa: S310 - scheme checked above
        url, data=body, headers=signed_headers(secret, body), method="POST"
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            return int(response.status), bytes(response.read())
    except urllib.error.HTTPError as error:
        return error.code, error.read()
