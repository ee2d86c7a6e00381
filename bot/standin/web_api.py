"""The Slack Web API methods kpibot uses, answered from a small in-memory workspace.

Answers follow Slack's documented shapes and errors (HTTP 200 with ``ok: false`` for refusals),
so the bot's real error handling runs: a wrong token gets ``invalid_auth``, a channel the bot is
not in gets ``not_in_channel``, an unknown user ``user_not_found``. Only the fields the bot and
slack_sdk read are filled in.
"""

from __future__ import annotations

import itertools
import json
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

# Fake credentials of the fake workspace, not secrets.
DEFAULT_BOT_TOKEN = "xoxb-standin-token"  # noqa: S105
DEFAULT_APP_TOKEN = "xapp-standin-token"  # noqa: S105
TEAM_ID = "T0STANDIN"
BOT_ID = "B0STANDIN"
BOT_USER_ID = "U0KPIBOT"
APP_ID = "A0STANDIN"

_APP_TOKEN_METHODS = frozenset({"apps.connections.open"})
_FIRST_TS_MICROS = 1_700_000_000_000_100
_TS_STEP_MICROS = 100


@dataclass(frozen=True)
class User:
    """A workspace member; ``is_admin``/``is_owner`` drive the bot's permission checks."""

    id: str
    name: str
    is_admin: bool = False
    is_owner: bool = False
    tz: str = "Europe/Paris"


@dataclass(frozen=True)
class Channel:
    """A channel; ``bot_is_member=False`` makes posts to it fail with ``not_in_channel``."""

    id: str
    name: str
    bot_is_member: bool = True
    is_private: bool = False


DEFAULT_USERS = (User("U0ALICE", "alice"), User("U0ADMIN", "admin", is_admin=True))
DEFAULT_CHANNELS = (Channel("C0GENERAL", "general"),)


@dataclass(frozen=True)
class Endpoints:
    """Where the stand-in listens, for answers that hand out URLs."""

    base_url: str
    socket_mode_url: str


class SlackError(Exception):
    """A refusal answered as ``{"ok": false, "error": <code>}``."""

    def __init__(self, error: str) -> None:
        super().__init__(error)
        self.error = error


@dataclass
class _File:
    name: str
    data: bytes | None = None


def _required(params: dict[str, Any], name: str, error: str = "invalid_arguments") -> str:
    value = params.get(name)
    if value is None or value == "":
        raise SlackError(error)
    return str(value)


def _structured(value: Any) -> Any:
    """A JSON argument as sent in a JSON body (already parsed) or a form field (a string)."""
    if isinstance(value, str):
        try:
            return json.loads(value)
        except json.JSONDecodeError as error:
            raise SlackError("invalid_arguments") from error
    return value


class Workspace:
    """The team, its users, channels, messages and files; thread-safe."""

    def __init__(
        self,
        *,
        bot_token: str,
        app_token: str,
        users: Iterable[User],
        channels: Iterable[Channel],
    ) -> None:
        self.bot_token = bot_token
        self.app_token = app_token
        self._lock = threading.Lock()
        self._users = {user.id: user for user in users}
        self._channels = {channel.id: channel for channel in channels}
        self._messages: dict[tuple[str, str], dict[str, Any]] = {}
        self._files: dict[str, _File] = {}
        self._ts = itertools.count(_FIRST_TS_MICROS, _TS_STEP_MICROS)
        self._ids = itertools.count(1)
        self._methods: dict[str, Callable[[dict[str, Any], Endpoints], dict[str, Any]]] = {
            "auth.test": self._auth_test,
            "apps.connections.open": self._apps_connections_open,
            "chat.postMessage": self._chat_post_message,
            "chat.update": self._chat_update,
            "chat.postEphemeral": self._chat_post_ephemeral,
            "users.info": self._users_info,
            "conversations.info": self._conversations_info,
            "files.getUploadURLExternal": self._files_get_upload_url_external,
            "files.completeUploadExternal": self._files_complete_upload_external,
            "views.publish": self._views_publish,
        }

    def add_user(self, user: User) -> None:
        """Add or replace a member (e.g. promote someone to admin mid-test)."""
        with self._lock:
            self._users[user.id] = user

    def add_channel(self, channel: Channel) -> None:
        """Add or replace a channel (e.g. remove the bot from it mid-test)."""
        with self._lock:
            self._channels[channel.id] = channel

    def answer(
        self, method: str, params: dict[str, Any], token: str | None, endpoints: Endpoints
    ) -> dict[str, Any]:
        """The JSON body Slack answers to ``method`` called with ``params`` and ``token``."""
        handler = self._methods.get(method)
        if handler is None:
            return {"ok": False, "error": "unknown_method", "req_method": method}
        try:
            self._check_token(method, token)
            with self._lock:
                return {"ok": True, **handler(params, endpoints)}
        except SlackError as refusal:
            return {"ok": False, "error": refusal.error}

    def receive_upload(self, file_id: str, data: bytes) -> bool:
        """Store the bytes posted to a file's upload URL; False if no such URL was handed out."""
        with self._lock:
            pending = self._files.get(file_id)
            if pending is None:
                return False
            pending.data = data
            return True

    def _check_token(self, method: str, token: str | None) -> None:
        if not token:
            raise SlackError("not_authed")
        wanted, other = (
            (self.app_token, self.bot_token)
            if method in _APP_TOKEN_METHODS
            else (self.bot_token, self.app_token)
        )
        if token == other:
            raise SlackError("not_allowed_token_type")
        if token != wanted:
            raise SlackError("invalid_auth")

    def _next_ts(self) -> str:
        micros = next(self._ts)
        return f"{micros // 1_000_000}.{micros % 1_000_000:06d}"

    def _channel(self, params: dict[str, Any], name: str = "channel") -> str:
        """The id of the conversation ``params[name]`` names, if the bot may post there.

        Accepts an id, a ``#name`` or a user id (a DM, as Slack opens one).
        """
        wanted = _required(params, name, "channel_not_found")
        for channel in self._channels.values():
            if wanted in (channel.id, channel.name, f"#{channel.name}"):
                if not channel.bot_is_member:
                    raise SlackError(
                        "channel_not_found" if channel.is_private else "not_in_channel"
                    )
                return channel.id
        if wanted in self._users:
            return f"D{wanted[1:]}"
        raise SlackError("channel_not_found")

    def _user(self, params: dict[str, Any], name: str) -> User:
        user = self._users.get(_required(params, name, "user_not_found"))
        if user is None:
            raise SlackError("user_not_found")
        return user

    def _auth_test(self, _params: dict[str, Any], _endpoints: Endpoints) -> dict[str, Any]:
        return {
            "url": "https://standin.slack.com/",
            "team": "Stand-in",
            "user": "kpibot",
            "team_id": TEAM_ID,
            "user_id": BOT_USER_ID,
            "bot_id": BOT_ID,
            "is_enterprise_install": False,
        }

    def _apps_connections_open(
        self, _params: dict[str, Any], endpoints: Endpoints
    ) -> dict[str, Any]:
        return {"url": endpoints.socket_mode_url}

    def _message(self, params: dict[str, Any], ts: str) -> dict[str, Any]:
        text = params.get("text")
        blocks = params.get("blocks")
        if not text and not blocks and not params.get("attachments"):
            raise SlackError("no_text")
        message: dict[str, Any] = {
            "type": "message",
            "user": BOT_USER_ID,
            "bot_id": BOT_ID,
            "team": TEAM_ID,
            "ts": ts,
            "text": text or "",
        }
        if blocks:
            message["blocks"] = _structured(blocks)
        if params.get("thread_ts"):
            message["thread_ts"] = str(params["thread_ts"])
        return message

    def _chat_post_message(self, params: dict[str, Any], _endpoints: Endpoints) -> dict[str, Any]:
        channel = self._channel(params)
        ts = self._next_ts()
        message = self._message(params, ts)
        self._messages[(channel, ts)] = message
        return {"channel": channel, "ts": ts, "message": message}

    def _chat_update(self, params: dict[str, Any], _endpoints: Endpoints) -> dict[str, Any]:
        channel = self._channel(params)
        ts = _required(params, "ts", "message_not_found")
        if (channel, ts) not in self._messages:
            raise SlackError("message_not_found")
        message = self._message(params, ts)
        self._messages[(channel, ts)] = message
        return {"channel": channel, "ts": ts, "text": message["text"], "message": message}

    def _chat_post_ephemeral(self, params: dict[str, Any], _endpoints: Endpoints) -> dict[str, Any]:
        self._channel(params)
        self._user(params, "user")
        self._message(params, "")  # checks there is something to show, as Slack does
        return {"message_ts": self._next_ts()}

    def _users_info(self, params: dict[str, Any], _endpoints: Endpoints) -> dict[str, Any]:
        user = self._user(params, "user")
        return {
            "user": {
                "id": user.id,
                "team_id": TEAM_ID,
                "name": user.name,
                "real_name": user.name.title(),
                "tz": user.tz,
                "is_admin": user.is_admin,
                "is_owner": user.is_owner,
                "is_bot": False,
                "deleted": False,
            }
        }

    def _conversations_info(self, params: dict[str, Any], _endpoints: Endpoints) -> dict[str, Any]:
        channel = self._channels.get(_required(params, "channel", "channel_not_found"))
        if channel is None or (channel.is_private and not channel.bot_is_member):
            raise SlackError("channel_not_found")
        return {
            "channel": {
                "id": channel.id,
                "name": channel.name,
                "is_channel": True,
                "is_private": channel.is_private,
                "is_member": channel.bot_is_member,
                "is_archived": False,
            }
        }

    def _files_get_upload_url_external(
        self, params: dict[str, Any], endpoints: Endpoints
    ) -> dict[str, Any]:
        name = _required(params, "filename")
        if not _required(params, "length").isdigit():
            raise SlackError("invalid_arguments")
        file_id = f"F0STANDIN{next(self._ids):04d}"
        self._files[file_id] = _File(name)
        return {"upload_url": f"{endpoints.base_url}/upload/{file_id}", "file_id": file_id}

    def _files_complete_upload_external(
        self, params: dict[str, Any], _endpoints: Endpoints
    ) -> dict[str, Any]:
        entries = _structured(params.get("files", []))
        if not isinstance(entries, list) or not entries:
            raise SlackError("invalid_arguments")
        # Sharing to a channel the bot is not in fails like Slack's does.
        if params.get("channel_id"):
            self._channel(params, "channel_id")
        for name in str(params.get("channels") or "").split(","):
            if name:
                self._channel({"channel": name})
        answered = []
        for entry in entries:
            stored = self._files.get(str(entry.get("id"))) if isinstance(entry, dict) else None
            if stored is None or stored.data is None:
                raise SlackError("file_not_found")
            answered.append(
                {
                    "id": entry["id"],
                    "name": stored.name,
                    "title": entry.get("title") or stored.name,
                    "size": len(stored.data),
                    # Slack shares files asynchronously: the completion answer has no shares yet.
                    "shares": {},
                }
            )
        return {"files": answered}

    def _views_publish(self, params: dict[str, Any], _endpoints: Endpoints) -> dict[str, Any]:
        user = self._user(params, "user_id")
        view = _structured(params.get("view"))
        if not isinstance(view, dict) or view.get("type") != "home":
            raise SlackError("invalid_arguments")
        return {
            "view": {
                **view,
                "id": f"V0STANDIN{next(self._ids):04d}",
                "team_id": TEAM_ID,
                "app_id": APP_ID,
                "bot_id": BOT_ID,
                "user_id": user.id,
            }
        }
