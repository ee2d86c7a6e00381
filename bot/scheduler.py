"""APScheduler 3 in the bot's time zone, with jobs rebuilt from database rows.

The job store is in memory on purpose: APScheduler 3 cannot share one store between processes
(duplicate runs) and its SQL store pickles callables. Every replica builds the same jobs from
the ``digests`` rows and may fire them all; the delivery ledger makes each post happen once.

Three things APScheduler alone gets wrong are handled here:
- late jobs: the default ``misfire_grace_time`` of 1 s silently drops a digest delayed by a busy
  pool; ours is ``KPIBOT_MISFIRE_GRACE``;
- downtime: a schedule that fell while no process ran is caught up at start-up (and on every
  sync) if it is less than the grace late, skipped and logged otherwise;
- DST: cron triggers run in the configured zone, and a fire time that a DST jump skips or
  repeats is still caught up exactly once, because the ledger keys deliveries by period.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import signal
import threading
from collections.abc import Callable

from apscheduler.events import EVENT_JOB_ERROR, JobExecutionEvent
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from bot import heartbeats
from bot.jobs import Jobs
from bot.services import build_services
from bot.settings import Settings
from bot.slack_clients import web_client
from kpi import subscriptions
from kpi.schedules import previous_fire

logger = logging.getLogger("kpibot.scheduler")

#: How often targets are checked for a newly closed period, claims swept and rows re-read.
ALERTS_EVERY = dt.timedelta(minutes=15)
SWEEP_EVERY = dt.timedelta(minutes=1)
SYNC_EVERY = dt.timedelta(minutes=1)
ORPHAN_CHECK_SECONDS = 2.0


class Scheduler:
    """The in-process scheduler of ``kpibot serve`` and ``kpibot scheduler``."""

    def __init__(self, jobs: Jobs, clock: Callable[[], dt.datetime]) -> None:
        self.jobs = jobs
        self.clock = clock
        settings = jobs.services.settings
        self.zone = settings.zone
        self.grace = settings.misfire_grace
        self._scheduler = BackgroundScheduler(
            timezone=self.zone,
            job_defaults={
                "coalesce": True,
                "max_instances": 1,
                "misfire_grace_time": int(self.grace.total_seconds()) or None,
            },
        )
        self._scheduler.add_listener(self._on_error, EVENT_JOB_ERROR)
        self._fingerprint = ""
        self._skipped: set[tuple[int, dt.datetime]] = set()
        self._lock = threading.Lock()

    # -- lifecycle ------------------------------------------------------------------------

    def start(self) -> None:
        now = self.clock()
        recurring = (
            ("alerts", self.jobs.alerts_pass, ALERTS_EVERY),
            ("sweep", self.jobs.sweep, SWEEP_EVERY),
            ("sync", self.sync, SYNC_EVERY),
        )
        for job_id, run, every in recurring:
            self._scheduler.add_job(
                run,
                IntervalTrigger(seconds=every.total_seconds(), timezone=self.zone),
                id=job_id,
                replace_existing=True,
                next_run_time=now,
            )
        self._scheduler.start()
        logger.info("scheduler started in %s", self.zone.key)

    def shutdown(self) -> None:
        if self._scheduler.running:
            self._scheduler.shutdown(wait=False)
        heartbeats.stop(self.jobs.services.engine, self.jobs.ledger.owner)

    def state(self) -> str:
        """For /healthz: running or not, how many digest jobs, the next fire time."""
        if not self._scheduler.running:
            return "stopped"
        digests = [job for job in self._scheduler.get_jobs() if job.id.startswith("digest:")]
        upcoming = [job.next_run_time for job in digests if job.next_run_time is not None]
        following = f", next digest {min(upcoming).isoformat()}" if upcoming else ""
        return f"running, {len(digests)} digest jobs{following}"

    def job_ids(self) -> list[str]:
        return sorted(job.id for job in self._scheduler.get_jobs())

    def _on_error(self, event: JobExecutionEvent) -> None:
        """A failed run is never silent; its next run (or the catch-up) tries again."""
        logger.error("scheduled job %s failed", event.job_id, exc_info=event.exception)

    # -- rows to jobs ---------------------------------------------------------------------

    def sync(self) -> None:
        """Rebuild the digest jobs when the rows changed, then catch up missed digests."""
        with self._lock:
            found = subscriptions.load(self.jobs.services.engine)
            fingerprint = subscriptions.fingerprint(found)
            if fingerprint != self._fingerprint:
                self._rebuild(found)
                self._fingerprint = fingerprint
            self.catch_up(found)
            heartbeats.beat(
                self.jobs.services.engine, self.jobs.ledger.owner, self.state(), self.clock()
            )

    def _rebuild(self, found: list[subscriptions.Subscription]) -> None:
        wanted = {f"digest:{item.id}": item for item in found}
        for job in self._scheduler.get_jobs():
            if job.id.startswith("digest:") and job.id not in wanted:
                job.remove()
        for job_id, item in wanted.items():
            assert item.id is not None
            self._scheduler.add_job(
                self._fire,
                CronTrigger(**item.schedule.cron_fields(), timezone=self.zone),
                id=job_id,
                args=[item.id],
                replace_existing=True,
                name=f"digest to {item.channel}: {item.schedule.describe()}",
            )
        logger.info("digest jobs rebuilt: %s", ", ".join(sorted(wanted)) or "none")

    def _fire(self, subscription_id: int) -> None:
        self.jobs.digest(subscription_id, self.clock().astimezone(self.zone).date())

    def catch_up(self, found: list[subscriptions.Subscription]) -> None:
        """Send a digest whose last fire time passed unsent, if it is within the grace."""
        now = self.clock().astimezone(self.zone)
        for item in found:
            assert item.id is not None
            fired = previous_fire(item.schedule, now)
            if fired < item.since or self.jobs.digest_sent(item, fired.date()):
                continue
            late = now.astimezone(dt.UTC) - fired.astimezone(dt.UTC)  # real time, across DST
            if late <= self.grace:
                logger.info("catching up the digest to %s due %s", item.channel, fired)
                self.jobs.digest(item.id, fired.date())
            elif (item.id, fired) not in self._skipped:
                self._skipped.add((item.id, fired))
                logger.warning(
                    "skipped the digest to %s due %s: %s late, beyond KPIBOT_MISFIRE_GRACE",
                    item.channel,
                    fired.isoformat(),
                    late,
                )


def run_forever(settings: Settings, *, parent_pid: int | None = None) -> None:
    """``kpibot scheduler``: the scheduler alone, until SIGTERM/SIGINT (or its parent is gone).

    ``kpibot serve`` starts it as a child in HTTP mode (gunicorn forks workers, and forking a
    process that runs scheduler threads is unsafe); ``parent_pid`` makes an orphan stop.
    """
    services = build_services(settings)
    scheduler = Scheduler(Jobs.posting_with(services, web_client(settings)), services.clock)
    stopping = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stopping.set())
    scheduler.start()
    try:
        while not stopping.wait(ORPHAN_CHECK_SECONDS):
            if parent_pid is not None and os.getppid() != parent_pid:
                logger.warning("kpibot serve is gone; the scheduler stops too")
                break
    finally:
        scheduler.shutdown()
