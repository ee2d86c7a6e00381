"""What the listeners and jobs share, built once per process and passed in (never imported).

Handlers receive a :class:`Services` through Bolt's context, so a test can hand them one made
of spec'd mocks, and nothing in ``bot/`` opens a database or a pool at import time.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from concurrent.futures import Executor, ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import partial

from slack_sdk.webhook import WebhookClient
from sqlalchemy import Engine, text

from bot import heartbeats, slack_clients
from bot.charts import ChartDrawer
from bot.delivery import Pacer
from bot.rendering import Renderer
from bot.settings import Settings
from kpi.answer_cache import AnswerCache
from kpi.catalog import Catalog, load_catalog
from kpi.periods import today_in
from kpi.store.engine import open_store


@dataclass
class Services:
    settings: Settings
    engine: Engine
    catalog: Catalog
    renderer: Renderer
    #: Answers are computed here, off Bolt's listener threads, so a slow question never delays
    #: another user's ack.
    work: Executor
    clock: Callable[[], dt.datetime]
    #: How replies reach a response_url (a retrying WebhookClient; a spec'd mock in unit tests).
    webhook: Callable[[str], WebhookClient] = slack_clients.webhook
    #: One pacer per process, shared by every ledger, so channels get at most a post a second.
    pacer: Pacer = field(default_factory=Pacer)
    #: Answers until the next import: popular questions cost two small queries, not a scan.
    answers: AnswerCache = field(default_factory=AnswerCache)
    #: Digest charts are drawn in a worker process, beside the queries and posts.
    charts: ChartDrawer = field(default_factory=ChartDrawer)

    def scheduler_state(self) -> str:
        """What /healthz says of the scheduler, wherever it runs (see bot.heartbeats)."""
        if not self.settings.scheduler_enabled:
            return "disabled (KPIBOT_SCHEDULER=false)"
        return heartbeats.describe(self.engine, self.clock())

    def today(self) -> dt.date:
        return today_in(self.clock(), self.settings.zone)

    def database_ok(self) -> bool:
        """A real round trip: /healthz turns red when the database does, not at the next query."""
        try:
            with self.engine.connect() as connection:
                connection.execute(text("SELECT 1"))
        except Exception:
            return False
        return True


def build_services(settings: Settings) -> Services:
    """Open the store (migrating it) and validate the catalog once, at start-up."""
    catalog = load_catalog(settings.kpis_file)
    return Services(
        settings=settings,
        engine=open_store(settings.database_url),
        catalog=catalog,
        renderer=Renderer(catalog=catalog),
        work=ThreadPoolExecutor(settings.answer_threads, thread_name_prefix="kpibot-answer"),
        clock=partial(dt.datetime.now, settings.zone),
    )
