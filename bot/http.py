"""The WSGI application served in HTTP mode: Slack's events endpoint and a health check.

Bolt verifies every signature, but a non-numeric timestamp makes slack_sdk's verifier raise and
Bolt answer 500; a forged request must get 401, so such requests are refused before Bolt.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import TYPE_CHECKING

from slack_bolt import App
from slack_bolt.adapter.wsgi import SlackRequestHandler

from bot.services import Services

if TYPE_CHECKING:
    from wsgiref.types import StartResponse, WSGIApplication, WSGIEnvironment

EVENTS_PATH = "/slack/events"
HEALTH_PATH = "/healthz"


def _respond(
    start_response: StartResponse, status: str, body: dict[str, object]
) -> Iterable[bytes]:
    data = json.dumps(body).encode()
    start_response(
        status, [("Content-Type", "application/json"), ("Content-Length", str(len(data)))]
    )
    return [data]


def _timestamp_is_numeric(environ: WSGIEnvironment) -> bool:
    value = str(environ.get("HTTP_X_SLACK_REQUEST_TIMESTAMP", "")).strip()
    return value.isascii() and value.isdigit()


def health(services: Services, mode: str) -> tuple[bool, dict[str, object]]:
    """Healthy means the database answers; the scheduler's state is reported for operators."""
    database_ok = services.database_ok()
    return database_ok, {
        "status": "ok" if database_ok else "unhealthy",
        "database": "ok" if database_ok else "unreachable",
        "scheduler": services.scheduler_state() if database_ok else "unknown",
        "mode": mode,
    }


def wsgi_app(app: App, services: Services) -> WSGIApplication:
    bolt = SlackRequestHandler(app, path=EVENTS_PATH)

    def application(environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        path, method = environ.get("PATH_INFO", ""), environ.get("REQUEST_METHOD", "")
        if path == HEALTH_PATH and method in ("GET", "HEAD"):
            healthy, report = health(services, "http")
            return _respond(
                start_response, "200 OK" if healthy else "503 Service Unavailable", report
            )
        if path == EVENTS_PATH and method == "POST" and not _timestamp_is_numeric(environ):
            return _respond(start_response, "401 Unauthorized", {"error": "invalid request"})
        return bolt(environ, start_response)

    return application
