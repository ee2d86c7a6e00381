"""Digest subscriptions: which channel gets which digest, when. One per channel.

They are plain rows (never pickled callables): the scheduler of every replica rebuilds its
jobs from them, and ``fingerprint`` tells it cheaply when they changed.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine, Row, delete, select
from sqlalchemy.dialects import postgresql, sqlite

from kpi.dimensions import Dimension
from kpi.schedules import Schedule
from kpi.store.schema import digests

Filters = tuple[tuple[Dimension, tuple[str, ...]], ...]


@dataclass(frozen=True)
class Subscription:
    channel: str
    schedule: Schedule
    #: Empty means the configured default KPIs, so changing the default changes these digests.
    kpis: tuple[str, ...] = ()
    filters: Filters = ()
    created_by: str | None = field(default=None, compare=False)
    #: When it was last saved: fire times before it are not "missed" digests.
    since: dt.datetime = field(default=dt.datetime.min.replace(tzinfo=dt.UTC), compare=False)
    id: int | None = field(default=None, compare=False)


def _scope_text(filters: Filters) -> str:
    return json.dumps({d.value: list(v) for d, v in filters}, sort_keys=True) if filters else ""


def _filters(text: str) -> Filters:
    if not text:
        return ()
    return tuple(sorted((Dimension(k), tuple(v)) for k, v in json.loads(text).items()))


def save(engine: Engine, subscription: Subscription, *, now: dt.datetime) -> int:
    """Subscribe the channel, or change its existing digest (a channel has one)."""
    values = {
        "channel": subscription.channel,
        "schedule": subscription.schedule.to_text(),
        "kpis": ",".join(subscription.kpis),
        "scope": _scope_text(subscription.filters),
        "created_by": subscription.created_by,
        "updated_at": now.astimezone(dt.UTC),
    }
    builder = postgresql.insert if engine.dialect.name == "postgresql" else sqlite.insert
    insert = builder(digests).values(**values)
    statement = insert.on_conflict_do_update(
        index_elements=["channel"],
        set_={key: insert.excluded[key] for key in values if key != "channel"},
    ).returning(digests.c.id)
    with engine.begin() as connection:
        return int(connection.execute(statement).scalar_one())


def remove(engine: Engine, channel: str) -> bool:
    with engine.begin() as connection:
        return bool(
            connection.execute(delete(digests).where(digests.c.channel == channel)).rowcount
        )


def _subscription(row: Row[Any]) -> Subscription:
    return Subscription(
        channel=row.channel,
        schedule=Schedule.from_text(row.schedule),
        kpis=tuple(name for name in row.kpis.split(",") if name),
        filters=_filters(row.scope),
        created_by=row.created_by,
        since=row.updated_at.replace(tzinfo=dt.UTC)
        if row.updated_at.tzinfo is None
        else row.updated_at,
        id=row.id,
    )


def load(engine: Engine) -> list[Subscription]:
    with engine.connect() as connection:
        rows = connection.execute(select(digests).order_by(digests.c.id)).all()
    return [_subscription(row) for row in rows]


def get(engine: Engine, subscription_id: int) -> Subscription | None:
    with engine.connect() as connection:
        row = connection.execute(
            select(digests).where(digests.c.id == subscription_id)
        ).one_or_none()
    return None if row is None else _subscription(row)


def fingerprint(found: Sequence[Subscription]) -> str:
    """Changes whenever any subscription is added, removed or edited."""
    text = "|".join(
        f"{item.id}:{item.channel}:{item.schedule.to_text()}:{','.join(item.kpis)}:"
        f"{_scope_text(item.filters)}"
        for item in found
    )
    return hashlib.sha256(text.encode()).hexdigest()
