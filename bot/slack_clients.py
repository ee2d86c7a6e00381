"""Slack clients that survive a bad minute: every call retries rate limits, 5xx and dropped
connections, and every client honours ``SLACK_API_URL``.

slack_sdk only retries connection errors unless told otherwise, and Bolt's ``respond`` retries
nothing, so an answer could be lost to one 429. All clients are built here so none is forgotten.
"""

from __future__ import annotations

from http.client import RemoteDisconnected
from urllib.error import URLError

from slack_sdk import WebClient
from slack_sdk.http_retry import RetryHandler
from slack_sdk.http_retry.builtin_handlers import (
    ConnectionErrorRetryHandler,
    RateLimitErrorRetryHandler,
    ServerErrorRetryHandler,
)
from slack_sdk.http_retry.request import HttpRequest
from slack_sdk.http_retry.response import HttpResponse
from slack_sdk.http_retry.state import RetryState
from slack_sdk.webhook import WebhookClient

from bot.settings import Settings

#: Per attempt: a call that cannot go through within retries is reported, never hung on.
TIMEOUT_SECONDS = 10


class AnyServerErrorRetryHandler(ServerErrorRetryHandler):
    """slack_sdk's handler retries only 500 and 503; a gateway's 502 or 504 is as passing."""

    def _can_retry(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> bool:
        return response is not None and response.status_code >= 500


def retry_handlers() -> list[RetryHandler]:
    """Timeouts count as connection errors: a slow Slack is retried like an unreachable one."""
    return [
        ConnectionErrorRetryHandler(
            max_retry_count=2,
            error_types=[URLError, ConnectionResetError, RemoteDisconnected, TimeoutError],
        ),
        RateLimitErrorRetryHandler(max_retry_count=3),
        AnyServerErrorRetryHandler(max_retry_count=2),
    ]


def web_client(settings: Settings, token: str | None = None) -> WebClient:
    """The bot's Web API client; ``token`` overrides the bot token (Socket Mode's app token)."""
    if token is None and settings.slack_bot_token is not None:
        token = settings.slack_bot_token.get_secret_value()
    return WebClient(
        token=token,
        base_url=settings.slack_api_url or WebClient.BASE_URL,
        timeout=TIMEOUT_SECONDS,
        retry_handlers=retry_handlers(),
    )


def webhook(url: str) -> WebhookClient:
    """A client for one response_url, with the same retries as the Web API."""
    return WebhookClient(url, timeout=TIMEOUT_SECONDS, retry_handlers=retry_handlers())
