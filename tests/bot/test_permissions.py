"""Configuration changes: listed admins, workspace admins and owners; a failed lookup refuses."""

from __future__ import annotations

from unittest.mock import MagicMock, create_autospec

import pytest
from pydantic import SecretStr
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.web import SlackResponse

from bot.permissions import may_configure
from bot.settings import Settings
from bot.slack_clients import web_client
from bot.standin import SlackStandIn, User

SETTINGS = Settings(KPIBOT_ADMINS=("U0LISTED",), SLACK_BOT_TOKEN=SecretStr("xoxb-standin-token"))


def _client(user: dict[str, object] | None = None, error: str | None = None) -> MagicMock:
    client: MagicMock = create_autospec(WebClient, instance=True)
    if error is not None:
        response = SlackResponse(
            client=None,
            http_verb="POST",
            api_url="u",
            req_args={},
            data={"ok": False, "error": error},
            headers={},
            status_code=200,
        )
        client.users_info.side_effect = SlackApiError(error, response)  # type: ignore[no-untyped-call]
    else:
        client.users_info.return_value = {"ok": True, "user": user}
    return client


def test_a_listed_admin_needs_no_lookup() -> None:
    client = _client()
    assert may_configure("U0LISTED", SETTINGS, client)
    client.users_info.assert_not_called()


@pytest.mark.parametrize(
    ("flags", "allowed"),
    [
        ({"is_admin": True}, True),
        ({"is_owner": True}, True),
        ({"is_primary_owner": True}, True),
        ({}, False),
        ({"is_admin": False, "is_restricted": True}, False),
    ],
)
def test_workspace_roles_come_from_users_info(flags: dict[str, bool], allowed: bool) -> None:
    client = _client({"id": "U0BOB", **flags})
    assert may_configure("U0BOB", SETTINGS, client) is allowed
    client.users_info.assert_called_once_with(user="U0BOB")


def test_a_failed_lookup_refuses() -> None:
    assert not may_configure("U0BOB", SETTINGS, _client(error="user_not_found"))


def test_against_the_stand_in() -> None:
    users = [User("U0ALICE", "alice"), User("U0ADMIN", "admin", is_admin=True)]
    with SlackStandIn(users=users) as slack:
        settings = SETTINGS.model_copy(update={"slack_api_url": slack.api_url})
        client = web_client(settings)
        assert may_configure("U0ADMIN", settings, client)
        assert not may_configure("U0ALICE", settings, client)
        assert not may_configure("U0NOBODY", settings, client)
        assert len(slack.calls_to("users.info")) == 3
