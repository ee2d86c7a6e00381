"""The Slack stand-in, exercised the way the bot uses Slack: real HTTP through slack_sdk and urllib,
real Bolt apps over signed HTTP requests and over Socket Mode."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
from slack_bolt import Ack, App, BoltRequest, Respond
from slack_bolt.adapter.socket_mode import SocketModeHandler
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_handlers import (
    RateLimitErrorRetryHandler,
    ServerErrorRetryHandler,
)
from slack_sdk.http_retry.builtin_interval_calculators import FixedValueRetryIntervalCalculator
from slack_sdk.signature import SignatureVerifier

from bot.standin import (
    BOT_ID,
    DEFAULT_APP_TOKEN,
    DEFAULT_BOT_TOKEN,
    TEAM_ID,
    Channel,
    SlackStandIn,
    User,
    block_actions_body,
    button_click_payload,
    post_signed,
    signed_headers,
    slash_command_body,
    slash_command_payload,
)

SECRET = "standin-signing-secret"
REPO = Path(__file__).resolve().parents[1]


@pytest.fixture
def slack() -> Iterator[SlackStandIn]:
    with SlackStandIn(
        users=[User("U0ALICE", "alice"), User("U0OWNER", "olga", is_admin=True, is_owner=True)],
        channels=[
            Channel("C0GENERAL", "general"),
            Channel("C0OUTSIDE", "outside", bot_is_member=False),
        ],
    ) as standin:
        yield standin


@pytest.fixture
def client(slack: SlackStandIn) -> WebClient:
    return WebClient(token=DEFAULT_BOT_TOKEN, base_url=slack.api_url)


def _error_of(call: Callable[[], object]) -> str:
    """The ``error`` of the SlackApiError that ``call`` must raise."""
    with pytest.raises(SlackApiError) as raised:
        call()
    return str(raised.value.response["error"])


def _wait_until(condition: Callable[[], bool], timeout: float) -> None:
    """Poll a state that offers nothing to block on, failing after ``timeout``."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.005)


def _post(url: str, body: bytes, headers: dict[str, str]) -> tuple[int, bytes]:
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return int(response.status), bytes(response.read())
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def test_each_method_answers_like_slack(slack: SlackStandIn, client: WebClient) -> None:
    identity = client.auth_test()
    assert (identity["team_id"], identity["bot_id"]) == (TEAM_ID, BOT_ID)

    first = client.chat_postMessage(channel="C0GENERAL", text="hello")
    second = client.chat_postMessage(
        channel="#general", text="fallback", blocks=[{"type": "divider"}]
    )
    assert first["channel"] == "C0GENERAL"
    assert first["ts"] == "1700000000.000100"
    assert float(second["ts"]) > float(first["ts"])
    assert first["message"]["text"] == "hello"
    assert second["message"]["blocks"] == [{"type": "divider"}]

    updated = client.chat_update(channel="C0GENERAL", ts=first["ts"], text="edited")
    assert updated["message"]["text"] == "edited"
    assert _error_of(lambda: client.chat_update(channel="C0GENERAL", ts="1.2", text="x")) == (
        "message_not_found"
    )

    ephemeral = client.chat_postEphemeral(channel="C0GENERAL", user="U0ALICE", text="psst")
    assert ephemeral["message_ts"]

    owner = client.users_info(user="U0OWNER")["user"]
    alice = client.users_info(user="U0ALICE")["user"]
    assert (owner["is_admin"], owner["is_owner"]) == (True, True)
    assert (alice["is_admin"], alice["is_owner"]) == (False, False)
    assert _error_of(lambda: client.users_info(user="U0NOBODY")) == "user_not_found"

    info = client.conversations_info(channel="C0OUTSIDE")["channel"]
    assert (info["name"], info["is_member"]) == ("outside", False)
    assert _error_of(lambda: client.conversations_info(channel="C0NONE")) == "channel_not_found"
    assert _error_of(lambda: client.chat_postMessage(channel="C0OUTSIDE", text="x")) == (
        "not_in_channel"
    )
    assert _error_of(lambda: client.chat_postMessage(channel="C0NONE", text="x")) == (
        "channel_not_found"
    )

    home = client.views_publish(user_id="U0ALICE", view={"type": "home", "blocks": []})
    assert home["view"]["type"] == "home"

    posted = slack.calls_to("chat.postMessage")
    assert [call.params["text"] for call in posted] == ["hello", "fallback", "x", "x"]
    assert [call.status for call in posted] == [200] * 4
    assert posted[0].response["ts"] == first["ts"]
    assert posted[0].headers["authorization"] == f"Bearer {DEFAULT_BOT_TOKEN}"
    assert [call.at for call in slack.calls] == sorted(call.at for call in slack.calls)


def test_workspace_can_change_mid_test(slack: SlackStandIn, client: WebClient) -> None:
    slack.workspace.add_channel(Channel("C0GENERAL", "general", bot_is_member=False))
    slack.workspace.add_user(User("U0ALICE", "alice", is_admin=True))
    assert _error_of(lambda: client.chat_postMessage(channel="C0GENERAL", text="x")) == (
        "not_in_channel"
    )
    assert client.users_info(user="U0ALICE")["user"]["is_admin"] is True


def test_tokens_are_checked(slack: SlackStandIn) -> None:
    stranger = WebClient(token="xoxb-someone-else", base_url=slack.api_url)
    assert _error_of(stranger.auth_test) == "invalid_auth"
    assert slack.calls_to("auth.test")[0].status == 200  # Slack refuses with HTTP 200

    app_level = WebClient(token=DEFAULT_APP_TOKEN, base_url=slack.api_url)
    assert _error_of(app_level.auth_test) == "not_allowed_token_type"

    # A token form field (no Authorization header) is accepted, as by Slack.
    status, body = _post(
        f"{slack.api_url}auth.test",
        f"token={DEFAULT_BOT_TOKEN}".encode(),
        {"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert (status, json.loads(body)["ok"]) == (200, True)
    status, body = _post(f"{slack.api_url}auth.test", b"", {})
    assert json.loads(body)["error"] == "not_authed"


def test_rate_limit_is_retried_after_retry_after(slack: SlackStandIn) -> None:
    client = WebClient(
        token=DEFAULT_BOT_TOKEN,
        base_url=slack.api_url,
        retry_handlers=[RateLimitErrorRetryHandler(max_retry_count=1)],
    )
    slack.fail("chat.postMessage", retry_after=1)
    assert client.chat_postMessage(channel="C0GENERAL", text="hi")["ok"]
    limited, passed = slack.calls_to("chat.postMessage")
    assert (limited.status, passed.status) == (429, 200)
    assert limited.response == {"ok": False, "error": "ratelimited"}
    assert passed.at - limited.at >= 1.0


def test_server_error_then_success(slack: SlackStandIn) -> None:
    client = WebClient(
        token=DEFAULT_BOT_TOKEN,
        base_url=slack.api_url,
        retry_handlers=[
            ServerErrorRetryHandler(
                max_retry_count=2, interval_calculator=FixedValueRetryIntervalCalculator(0.01)
            )
        ],
    )
    slack.fail("auth.test", status=500)
    slack.fail("auth.test", status=503)
    assert client.auth_test()["ok"]
    assert [call.status for call in slack.calls_to("auth.test")] == [500, 503, 200]


def test_refusals_until_cleared(slack: SlackStandIn, client: WebClient) -> None:
    slack.fail("files.completeUploadExternal", error="not_in_channel", times=None)
    slack.fail("chat.postMessage", error="channel_not_found")
    assert _error_of(lambda: client.chat_postMessage(channel="C0GENERAL", text="x")) == (
        "channel_not_found"
    )
    assert client.chat_postMessage(channel="C0GENERAL", text="x")["ok"]

    def complete() -> object:
        return client.files_completeUploadExternal(files=[{"id": "F0UNKNOWN"}])

    assert [_error_of(complete) for _ in range(3)] == ["not_in_channel"] * 3
    slack.clear_faults()
    assert _error_of(complete) == "file_not_found"


def test_delay_holds_the_answer(slack: SlackStandIn, client: WebClient) -> None:
    slack.delay("auth.test", 0.3)
    started = time.monotonic()
    client.auth_test()
    slow = time.monotonic() - started
    started = time.monotonic()
    client.auth_test()
    fast = time.monotonic() - started
    assert slow >= 0.3 > fast


def test_files_upload_v2_end_to_end(slack: SlackStandIn, client: WebClient) -> None:
    chart = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 40
    done = client.files_upload_v2(
        content=chart,
        filename="revenue.png",
        title="Revenue",
        channel="C0GENERAL",
        initial_comment="Revenue, last 7 days",
        thread_ts="1700000000.000100",
    )
    assert done["file"]["size"] == len(chart)
    assert [call.method for call in slack.calls] == [
        "files.getUploadURLExternal",
        "upload",
        "files.completeUploadExternal",
    ]
    ticket, upload, complete = slack.calls
    assert upload.url == ticket.response["upload_url"]
    assert upload.body == chart
    assert upload.params == {"file_id": ticket.response["file_id"], "size": len(chart)}
    assert complete.params["channel_id"] == "C0GENERAL"
    assert complete.params["thread_ts"] == "1700000000.000100"
    assert complete.params["initial_comment"] == "Revenue, last 7 days"
    assert json.loads(complete.params["files"]) == [
        {"id": ticket.response["file_id"], "title": "Revenue"}
    ]


def test_response_urls_record_what_they_get(slack: SlackStandIn) -> None:
    first, second = slack.response_url(), slack.response_url()
    assert first != second
    assert first.startswith(f"{slack.url}/response/")
    message = {"response_type": "in_channel", "text": "Revenue: 12 k€"}
    status, _ = _post(second, json.dumps(message).encode(), {"Content-Type": "application/json"})
    assert status == 200
    (call,) = slack.wait_for("response_url")
    assert (call.url, call.params) == (second, message)

    assert _post(f"{slack.url}/response/unknown", b"{}", {})[0] == 404
    assert _post(first, b"not json", {})[0] == 400
    assert [call.status for call in slack.calls_to("response_url")] == [200, 404, 400]


def test_wait_for_timeout_says_what_arrived(slack: SlackStandIn, client: WebClient) -> None:
    client.auth_test()
    client.auth_test()
    with pytest.raises(TimeoutError, match=r"chat\.postMessage, got 0; arrived: auth\.test x2"):
        slack.wait_for("chat.postMessage", timeout=0.05)
    slack.reset()
    assert slack.calls == []


def test_signed_requests_verify_and_tampering_does_not(slack: SlackStandIn) -> None:
    body = slash_command_body("revenue last 7 days", response_url=slack.response_url())
    headers = signed_headers(SECRET, body)
    verifier = SignatureVerifier(SECRET)
    assert verifier.is_valid_request(body, headers)
    assert not verifier.is_valid_request(body.replace(b"7", b"8"), headers)
    assert not verifier.is_valid_request(body, signed_headers(SECRET, body, 1_000_000_000))
    assert not SignatureVerifier("another-secret").is_valid_request(body, headers)

    status, _ = post_signed(f"{slack.url}/nowhere", SECRET, body)
    assert status == 404  # 4xx are returned, not raised
    assert verifier.is_valid_request(slack.calls[-1].body, slack.calls[-1].headers)


def _bolt_app(slack: SlackStandIn, **options: Any) -> App:
    return App(
        client=WebClient(token=DEFAULT_BOT_TOKEN, base_url=slack.api_url),
        token_verification_enabled=False,
        **options,
    )


def _signed_request(body: bytes, signed_body: bytes | None = None) -> BoltRequest:
    """What Bolt's HTTP adapters build from a request Slack signed (over ``signed_body``)."""
    headers: dict[str, str | Sequence[str]] = {
        **signed_headers(SECRET, body if signed_body is None else signed_body)
    }
    return BoltRequest(body=body.decode(), headers=headers)


def test_bolt_accepts_signed_slash_command_and_button_click(slack: SlackStandIn) -> None:
    app = _bolt_app(slack, signing_secret=SECRET, process_before_response=True)
    clicks: list[dict[str, Any]] = []

    @app.command("/kpi")
    def kpi(ack: Ack, respond: Respond, command: dict[str, Any]) -> None:
        ack()
        respond(f"you asked: {command['text']}")

    @app.action("refresh")
    def refresh(ack: Ack, body: dict[str, Any]) -> None:
        ack()
        clicks.append(body)

    hook = slack.response_url()
    raw = slash_command_body("revenue", response_url=hook)
    ok = app.dispatch(_signed_request(raw))
    assert ok.status == 200
    (answer,) = slack.wait_for("response_url")
    assert (answer.url, answer.params["text"]) == (hook, "you asked: revenue")

    tampered = raw.replace(b"revenue", b"spend")
    refused = app.dispatch(_signed_request(tampered, signed_body=raw))
    assert refused.status == 401

    message = {
        "ts": "1700000000.000100",
        "text": "Revenue",
        "blocks": [
            {
                "type": "actions",
                "block_id": "kpi_buttons",
                "elements": [{"type": "button", "action_id": "refresh", "value": "7d"}],
            }
        ],
    }
    payload = button_click_payload("refresh", "7d", response_url=hook, message=message)
    raw = block_actions_body(payload)
    clicked = app.dispatch(_signed_request(raw))
    assert clicked.status == 200
    (click,) = clicks
    assert click["actions"][0]["block_id"] == "kpi_buttons"
    assert click["container"]["message_ts"] == "1700000000.000100"
    assert click["user"]["id"] == "U0ALICE"


def test_socket_mode_envelope_reaches_bolt_and_is_acked(slack: SlackStandIn) -> None:
    app = _bolt_app(slack)

    @app.command("/kpi")
    def kpi(ack: Ack, command: dict[str, Any]) -> None:
        ack(f"working on {command['text']}")

    handler = SocketModeHandler(app, DEFAULT_APP_TOKEN, auto_reconnect_enabled=False)
    try:
        handler.connect()  # type: ignore[no-untyped-call]
        slack.socket_mode.wait_connected(timeout=5)
        payload = slash_command_payload("revenue", response_url=slack.response_url())
        envelope_id = slack.socket_mode.send_envelope("slash_commands", payload)
        ack = slack.socket_mode.wait_for_ack(envelope_id, timeout=5)
    finally:
        # Closing from Slack's side first spares the client its 3 s receive timeout. Its own
        # close() must wait until it has dropped the socket: slack_sdk's Connection.disconnect
        # checks then closes without a lock, so two concurrent calls can raise AttributeError.
        slack.socket_mode.close_connections()
        _wait_until(lambda: not handler.client.is_connected(), timeout=5)
        handler.close()  # type: ignore[no-untyped-call]
    assert ack["payload"]["text"] == "working on revenue"
    opened = slack.calls_to("apps.connections.open")
    assert len(opened) == 1
    assert opened[0].headers["authorization"] == f"Bearer {DEFAULT_APP_TOKEN}"
    assert opened[0].response["url"] == slack.socket_mode.url


def test_socket_mode_needs_the_app_token(slack: SlackStandIn, client: WebClient) -> None:
    assert _error_of(lambda: client.apps_connections_open(app_token=DEFAULT_BOT_TOKEN)) == (
        "not_allowed_token_type"
    )
    assert _error_of(lambda: client.apps_connections_open(app_token="xapp-wrong")) == (
        "invalid_auth"
    )
    with pytest.raises(RuntimeError, match="no Socket Mode client"):
        slack.socket_mode.send_envelope("events_api", {})
    with pytest.raises(TimeoutError, match="not acked"):
        slack.socket_mode.wait_for_ack("nope", timeout=0.01)


def test_module_entry_point_serves_and_records(tmp_path: Path) -> None:
    record = tmp_path / "calls.jsonl"
    with subprocess.Popen(
        [sys.executable, "-m", "bot.standin", "--record", str(record)],
        cwd=REPO,
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    ) as process:
        try:
            assert process.stdout is not None
            api_url = process.stdout.readline().strip()
            assert WebClient(token=DEFAULT_BOT_TOKEN, base_url=api_url).auth_test()["ok"]
        finally:
            process.send_signal(signal.SIGTERM)
            assert process.wait(timeout=5) == 0
    (line,) = record.read_text().splitlines()
    logged = json.loads(line)
    assert (logged["method"], logged["status"]) == ("auth.test", 200)
    assert "authorization" not in logged["headers"]
