"""Scheduler heartbeats: whether a scheduler runs anywhere, for every process's /healthz.

The scheduler may run in another process (``kpibot serve`` starts it beside gunicorn's workers)
or on another replica, so its liveness is a row it refreshes, not an object in memory.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Engine, delete, select
from sqlalchemy.dialects import postgresql, sqlite

from bot.delivery import utc
from kpi.store.schema import scheduler_beats

#: A beat older than this means the scheduler stopped (it beats every minute).
STALE_AFTER = dt.timedelta(minutes=3)


def beat(engine: Engine, owner: str, state: str, now: dt.datetime) -> None:
    at = utc(now)  # SQLite keeps no zone: every stored time is UTC
    builder = postgresql.insert if engine.dialect.name == "postgresql" else sqlite.insert
    statement = builder(scheduler_beats).values(owner=owner, beat_at=at, state=state)
    statement = statement.on_conflict_do_update(
        index_elements=["owner"], set_={"beat_at": at, "state": state}
    )
    with engine.begin() as connection:
        connection.execute(statement)


def stop(engine: Engine, owner: str) -> None:
    with engine.begin() as connection:
        connection.execute(delete(scheduler_beats).where(scheduler_beats.c.owner == owner))


def describe(engine: Engine, now: dt.datetime) -> str:
    """``running: <state> (<owner>)`` for the freshest live beat, else why not."""
    with engine.connect() as connection:
        rows = connection.execute(
            select(scheduler_beats).order_by(scheduler_beats.c.beat_at.desc())
        ).all()
    if not rows:
        return "not running"
    ages = [now - utc(row.beat_at) for row in rows]
    newest = rows[0]
    if ages[0] > STALE_AFTER:
        return f"stale: last beat {int(ages[0].total_seconds())} s ago from {newest.owner}"
    live = sum(age <= STALE_AFTER for age in ages)
    return f"running: {newest.state} ({newest.owner}; {live} live)"
