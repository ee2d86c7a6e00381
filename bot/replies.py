"""Replies computed off Bolt's threads and sent to a response_url, and the one way failures end.

A listener acks, then hands the work here; whatever happens next (an answer, a domain error, a
crash) the user hears back. A crash is logged with a short reference id that the user sees, so
support can find the traceback without the user ever seeing it.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable
from typing import Any

from bot.rendering import Renderer
from bot.services import Services
from kpi.errors import KpiError


def report_failure(
    error: BaseException,
    logger: logging.Logger,
    renderer: Renderer,
    send: Callable[[dict[str, Any]], object] | None,
) -> str:
    """Log ``error`` with a new reference id and tell the user that id; returns it.

    Both Bolt's ``@app.error`` hook and background replies end here, so every unexpected
    failure looks the same to users and in the log.
    """
    reference = secrets.token_hex(4)
    logger.error("unexpected failure, reference %s", reference, exc_info=error)
    if send is not None:
        try:
            send(renderer.failure(reference).payload())
        except Exception:
            logger.exception("could not tell the user about failure %s", reference)
    return reference


def send_reply(
    services: Services,
    response_url: str,
    payload: dict[str, Any],
    logger: logging.Logger,
) -> None:
    """POST to the response_url (retrying 429/5xx); a refusal is logged, never silent."""
    response = services.webhook(response_url).send_dict(payload)
    if response.status_code != 200:
        logger.warning(
            "response_url refused the reply: HTTP %s %s", response.status_code, response.body
        )


def reply_later(
    services: Services,
    response_url: str,
    make: Callable[[], dict[str, Any]],
    logger: logging.Logger,
) -> None:
    """Compute the payload ``make()`` returns on the answer pool and send it (ephemeral unless
    the payload says otherwise). A domain error (a typo, an unknown KPI, a stale button) is
    the user's to fix and gets a friendly reply; anything else is a failure with a reference."""

    def send(payload: dict[str, Any]) -> None:
        send_reply(services, response_url, {"response_type": "ephemeral", **payload}, logger)

    def work() -> None:
        try:
            send(make())
        except KpiError as error:
            send(services.renderer.error(error).payload())
        except Exception as error:
            report_failure(error, logger, services.renderer, send)

    services.work.submit(work)
