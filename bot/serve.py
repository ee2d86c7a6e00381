"""``kpibot serve``: the bot in Socket Mode or behind gunicorn in HTTP mode.

Everything that can be wrong with the set-up (settings, database, catalog, a refused token) is
checked once in the parent process, so the operator gets one clear line instead of workers that
fail to boot one after another.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from typing import TYPE_CHECKING, Any

from gunicorn.app.base import BaseApplication
from slack_bolt.adapter.socket_mode import SocketModeHandler
from slack_sdk.errors import SlackApiError

from bot.app import create_app
from bot.http import wsgi_app
from bot.jobs import Jobs
from bot.launch import LISTENING
from bot.scheduler import Scheduler
from bot.services import build_services
from bot.settings import Mode, Settings, require_slack
from bot.slack_clients import web_client
from kpi.catalog import load_catalog
from kpi.errors import ConfigError
from kpi.store.engine import open_store

if TYPE_CHECKING:
    from wsgiref.types import WSGIApplication

logger = logging.getLogger("kpibot.serve")

#: Longer than any answer; a request stuck beyond this is a bug, and the worker is recycled.
WORKER_TIMEOUT_SECONDS = 60


def _announce(server: Any) -> None:
    """Say where the bot listens whatever the log level: with PORT=0 nobody else knows."""
    for listener in server.LISTENERS:
        print(f"{LISTENING}{listener}", file=sys.stderr, flush=True)


class _Server(BaseApplication):  # type: ignore[misc]
    """gunicorn with its options from :class:`Settings` rather than a config file."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        super().__init__()

    def load_config(self) -> None:
        settings = self.settings
        options: dict[str, Any] = {
            "bind": f"{settings.host}:{settings.port}",
            "workers": settings.web_workers,
            "threads": settings.web_threads,
            "worker_class": "gthread",
            "timeout": WORKER_TIMEOUT_SECONDS,
            "graceful_timeout": 10,
            "loglevel": settings.log_level.lower(),
            "errorlog": "-",
            "proc_name": "kpibot",
            "control_socket_disable": True,  # replicas on one host would share its path
            "when_ready": _announce,
        }
        for key, value in options.items():
            self.cfg.set(key, value)

    def load(self) -> WSGIApplication:
        """Runs in each worker after the fork: engines and thread pools never cross a fork."""
        services = build_services(self.settings)
        return wsgi_app(create_app(self.settings, services), services)


def check(settings: Settings) -> None:
    """Fail fast, naming the problem: secrets, store (migrated here, once), catalog, token."""
    require_slack(settings)
    open_store(settings.database_url).dispose()
    load_catalog(settings.kpis_file)
    try:
        identity = web_client(settings).auth_test()
    except SlackApiError as error:
        raise ConfigError(
            f"Slack refused SLACK_BOT_TOKEN: {error.response.get('error', 'unknown error')}"
        ) from None
    logger.info("connected to Slack as %s in %s", identity.get("user"), identity.get("team"))


def _forget_secrets() -> None:
    """Once read into settings, secrets leave the environment: Bolt's own fallbacks (which warn
    when they find SLACK_BOT_TOKEN beside our client) and any child process never see them."""
    for key in ("SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET", "SLACK_APP_TOKEN"):
        os.environ.pop(key, None)


def _scheduler_process() -> subprocess.Popen[bytes]:
    """``kpibot scheduler`` beside gunicorn, told our pid so that it stops if we die."""
    return subprocess.Popen(  # noqa: S603 - our own interpreter and module
        [sys.executable, "-m", "bot", "scheduler", "--parent-pid", str(os.getpid())],
        stdin=subprocess.DEVNULL,
    )


def serve(settings: Settings) -> None:
    check(settings)
    if settings.mode is Mode.SOCKET:
        _serve_socket_mode(settings)
        return
    scheduler = _scheduler_process() if settings.scheduler_enabled else None
    _forget_secrets()  # after the scheduler process inherited them
    logger.info("serving HTTP on %s:%s", settings.host, settings.port)
    try:
        _Server(settings).run()
    finally:
        if scheduler is not None:
            scheduler.terminate()
            scheduler.wait(timeout=15)


def _serve_socket_mode(settings: Settings) -> None:
    """One process: the Socket Mode client's threads and, unless disabled, the scheduler."""
    assert settings.slack_app_token is not None  # checked by require_slack
    _forget_secrets()
    services = build_services(settings)
    app = create_app(settings, services)
    scheduler = None
    if settings.scheduler_enabled:
        scheduler = Scheduler(Jobs.posting_with(services, app.client), services.clock)
        scheduler.start()
    app_token = settings.slack_app_token.get_secret_value()
    logger.info("serving in Socket Mode")
    handler = SocketModeHandler(app, app_token, web_client=web_client(settings, token=app_token))
    try:
        handler.start()  # type: ignore[no-untyped-call]
    finally:
        if scheduler is not None:
            scheduler.shutdown()
