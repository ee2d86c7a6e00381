"""The Bolt app, built on demand: no module-level App, nothing happens at import."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from slack_bolt import App, BoltContext
from slack_sdk import WebClient

from bot import listeners
from bot.replies import report_failure, send_reply
from bot.services import Services
from bot.settings import Settings
from bot.slack_clients import web_client

logger = logging.getLogger("kpibot.app")


def _provide(services: Services) -> Callable[..., None]:
    """A middleware that puts ``services`` in the context, where Bolt injects it by name."""

    def middleware(context: BoltContext, next: Callable[[], None]) -> None:
        context["services"] = services
        next()

    return middleware


def _on_error(error: Exception, body: dict[str, Any], context: BoltContext) -> None:
    """The one hook for failures inside Bolt's own threads (parsing, acks, listeners)."""
    services: Services | None = context.get("services")
    response_url = body.get("response_url") if isinstance(body, dict) else None
    if services is None or not response_url:
        logger.error("unexpected failure outside a reply", exc_info=error)
        return

    def send(payload: dict[str, Any]) -> None:
        send_reply(services, response_url, payload, logger)

    report_failure(error, logger, services.renderer, send)


def create_app(settings: Settings, services: Services, *, client: WebClient | None = None) -> App:
    """``client`` is the bot's Web API client (``SLACK_API_URL`` honoured, retries on).

    Listeners only ack and hand the work to ``services.work``, so they run on the request thread
    itself (``process_before_response``): the 200 goes back as soon as the handler returns,
    without Bolt's hop to its listener pool and its 10 ms polling for the ack, which under load
    doubled the ack's p99 (see benchmarks/README.md).
    """
    app = App(
        client=client or web_client(settings),
        signing_secret=(
            settings.slack_signing_secret.get_secret_value()
            if settings.slack_signing_secret
            else ""
        ),
        token_verification_enabled=False,
        process_before_response=True,
        logger=logging.getLogger("kpibot.bolt"),
    )
    app.use(_provide(services))
    listeners.register(app)
    app.error(_on_error)
    return app
