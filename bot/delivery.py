"""The delivery ledger: every scheduled message is claimed, then posted, then recorded.

"Exactly once" is the ledger's job, not the scheduler's. A claim is an insert under a unique key
(kind, subject, channel, period): of several processes, restarts or retries that try to send the
same digest, one insert wins and the others see the message is taken. The rendered message is
stored with the claim, so a process killed between claim and post leaves a claimed row that the
sweep posts later, exactly as rendered. A sweeper takes over a stale claim with a compare-and-set
on its lease, so two sweepers never post the same row.

What remains possible is the narrow window after Slack accepted a post and before its ``ts`` is
recorded: a crash there means the sweep posts it again. Slack offers no idempotency key for
``chat.postMessage``, so that window is kept as short as one UPDATE.

Round trips. On PostgreSQL every statement is a round trip, and the ledger makes a few per
message, so each does one thing in one statement: a claim is one INSERT .. ON CONFLICT DO NOTHING
RETURNING id, an outcome one UPDATE, and neither reads its row back (the delivery returned is the
one written). A statement that stands alone runs in autocommit, without a BEGIN and a COMMIT
around it; a digest and its chart are claimed in one transaction, so a crash leaves both claimed
or neither.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import socket
import threading
import time
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackRequestError
from sqlalchemy import Connection, Engine, Row, and_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import OperationalError

from kpi.store.schema import deliveries

logger = logging.getLogger("kpibot.delivery")


class Kind(StrEnum):
    DIGEST = "digest"
    CHART = "chart"
    ALERT = "alert"
    RESOLVED = "resolved"
    NO_DATA = "no-data"


class Status(StrEnum):
    CLAIMED = "claimed"
    POSTED = "posted"
    FAILED = "failed"


#: Slack errors that no retry can fix: the delivery fails, loudly, and shows in /kpi alerts.
PERMANENT = frozenset(
    {
        "not_in_channel",
        "channel_not_found",
        "is_archived",
        "restricted_action",
        "invalid_blocks",
        "invalid_blocks_format",
        "msg_too_long",
        "msg_blocks_too_long",
        "no_text",
        "account_inactive",
        "invalid_auth",
        "not_authed",
        "token_revoked",
        "missing_scope",
        "ekm_access_denied",
    }
)


@dataclass(frozen=True)
class Claim:
    """What to deliver. ``parent_id`` threads it under another delivery (a digest's chart, a
    resolution under its alert); ``attachment`` is a file to upload instead of a message."""

    kind: Kind
    subject_id: int
    channel: str
    period: str
    message: dict[str, Any]
    attachment: bytes | None = None
    parent_id: int | None = None


@dataclass(frozen=True)
class Delivery:
    id: int
    kind: Kind
    subject_id: int
    channel: str
    period: str
    status: Status
    message: dict[str, Any]
    attachment: bytes | None
    parent_id: int | None
    attempts: int
    error: str | None
    ts: str | None
    claimed_at: dt.datetime

    @classmethod
    def of(cls, row: Row[Any]) -> Delivery:
        return cls(
            id=row.id,
            kind=Kind(row.kind),
            subject_id=row.subject_id,
            channel=row.channel,
            period=row.period,
            status=Status(row.status),
            message=json.loads(row.message),
            attachment=row.attachment,
            parent_id=row.parent_id,
            attempts=row.attempts,
            error=row.error,
            ts=row.ts,
            claimed_at=utc(row.claimed_at),
        )


def utc(moment: dt.datetime) -> dt.datetime:
    """SQLite returns naive datetimes; everything the ledger stores is UTC."""
    return moment.replace(tzinfo=dt.UTC) if moment.tzinfo is None else moment.astimezone(dt.UTC)


class Pacer:
    """At most one post per second per channel, Slack's chat.postMessage allowance, per process."""

    def __init__(self, interval: float = 1.0, sleep: Callable[[float], None] = time.sleep) -> None:
        self._interval = interval
        self._sleep = sleep
        self._next: dict[str, float] = {}
        self._lock = threading.Lock()

    def wait(self, channel: str) -> None:
        with self._lock:
            now = time.monotonic()
            at = max(now, self._next.get(channel, 0.0))
            self._next[channel] = at + self._interval
        if at > now:
            self._sleep(at - now)


def _owner() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


class Ledger:
    """Claims and posts scheduled messages; see the module docstring for the guarantees.

    ``lease`` is how long a claim belongs to the process that made it before a sweep may take
    it over; retries back off by doubling it, up to ``max_attempts``.
    """

    def __init__(
        self,
        engine: Engine,
        client: WebClient,
        *,
        clock: Callable[[], dt.datetime],
        pacer: Pacer | None = None,
        lease: dt.timedelta = dt.timedelta(minutes=2),
        max_attempts: int = 8,
    ) -> None:
        self.engine = engine
        #: Where one statement runs alone: it is atomic by itself, and on PostgreSQL a
        #: transaction around it would cost a BEGIN and a COMMIT (or ROLLBACK) round trip more.
        self._alone = engine.execution_options(isolation_level="AUTOCOMMIT")
        self.client = client
        self.clock = clock
        self.pacer = pacer or Pacer()
        self.lease = lease
        self.max_attempts = max_attempts
        self.owner = _owner()

    def _now(self) -> dt.datetime:
        return utc(self.clock())

    # -- claiming -------------------------------------------------------------------------

    def find(self, kind: Kind, subject_id: int, channel: str, period: str) -> Delivery | None:
        table = deliveries
        with self._alone.connect() as connection:
            row = connection.execute(
                select(table).where(
                    table.c.kind == kind.value,
                    table.c.subject_id == subject_id,
                    table.c.channel == channel,
                    table.c.period == period,
                )
            ).one_or_none()
        return None if row is None else Delivery.of(row)

    def taken(self, kind: Kind, periods: Collection[str]) -> set[tuple[int, str, str]]:
        """The (subject, channel, period) of every ``kind`` delivery claimed for ``periods``: a
        pass's "sent already?" in one read, instead of one :meth:`find` per subject."""
        table = deliveries
        with self._alone.connect() as connection:
            rows = connection.execute(
                select(table.c.subject_id, table.c.channel, table.c.period).where(
                    table.c.kind == kind.value, table.c.period.in_(sorted(periods))
                )
            ).all()
        return {(row.subject_id, row.channel, row.period) for row in rows}

    def claim(self, claim: Claim) -> Delivery | None:
        """The new delivery, or None when someone already claimed this key."""
        with self._alone.connect() as connection:
            return self._insert(connection, claim)

    def claim_thread(
        self, claim: Claim, replies: Sequence[Claim]
    ) -> tuple[Delivery, list[Delivery]] | None:
        """``claim`` and the ``replies`` to post in its thread (a digest and its chart), claimed
        in one transaction; None when ``claim`` was taken already. A reply whose key someone
        else holds is left out of the list."""
        with self.engine.begin() as connection:
            parent = self._insert(connection, claim)
            if parent is None:
                return None
            threaded = [
                self._insert(connection, replace(reply, parent_id=parent.id)) for reply in replies
            ]
        return parent, [delivery for delivery in threaded if delivery is not None]

    def _insert(self, connection: Connection, claim: Claim) -> Delivery | None:
        """The claim's row, under its unique key, or None when the key is taken. Only the id
        comes back: the rest is what was written (a chart's PNG would make the trip again)."""
        now = self._now()
        dialect = self.engine.dialect.name
        builder = postgresql.insert if dialect == "postgresql" else sqlite.insert
        statement = (
            builder(deliveries)
            .values(
                kind=claim.kind.value,
                subject_id=claim.subject_id,
                channel=claim.channel,
                period=claim.period,
                status=Status.CLAIMED.value,
                message=json.dumps(claim.message, ensure_ascii=False),
                attachment=claim.attachment,
                parent_id=claim.parent_id,
                claimed_at=now,
                claimed_by=self.owner,
                attempts=0,
            )
            .on_conflict_do_nothing(index_elements=["kind", "subject_id", "channel", "period"])
            .returning(deliveries.c.id)
        )
        delivery_id = connection.execute(statement).scalar_one_or_none()
        if delivery_id is None:
            return None
        return Delivery(
            id=delivery_id,
            kind=claim.kind,
            subject_id=claim.subject_id,
            channel=claim.channel,
            period=claim.period,
            status=Status.CLAIMED,
            message=claim.message,
            attachment=claim.attachment,
            parent_id=claim.parent_id,
            attempts=0,
            error=None,
            ts=None,
            claimed_at=now,
        )

    def submit(self, claim: Claim) -> Delivery | None:
        """Claim and post at once; None when the message was already claimed elsewhere."""
        delivery = self.claim(claim)
        return None if delivery is None else self.deliver(delivery)

    # -- posting --------------------------------------------------------------------------

    def _thread(self, delivery: Delivery, parent: Delivery | None) -> tuple[bool, str | None]:
        """(ready, thread_ts): a threaded delivery waits until its parent has a ts. The parent
        is read, unless the caller holds it as it just recorded it."""
        if delivery.parent_id is None:
            return True, None
        if parent is not None and parent.id == delivery.parent_id:
            found: tuple[str, str | None] | None = (parent.status.value, parent.ts)
        else:
            with self._alone.connect() as connection:
                row = connection.execute(
                    select(deliveries.c.status, deliveries.c.ts).where(
                        deliveries.c.id == delivery.parent_id
                    )
                ).one_or_none()
            found = None if row is None else (row.status, row.ts)
        if found is None or found[0] == Status.FAILED.value:
            return True, None  # post top-level rather than never
        return found[0] == Status.POSTED.value, found[1]

    def _post(self, delivery: Delivery, thread_ts: str | None) -> str | None:
        self.pacer.wait(delivery.channel)
        if delivery.attachment is not None:
            upload = self.client.files_upload_v2(
                channel=delivery.channel,
                content=delivery.attachment,
                filename=str(delivery.message.get("filename", "chart.png")),
                title=str(delivery.message.get("title", "")),
                initial_comment=delivery.message.get("text") or None,
                thread_ts=thread_ts,
            )
            file = upload.get("file") or {}
            return str(file.get("id", "")) or None
        response = self.client.chat_postMessage(
            channel=delivery.channel,
            thread_ts=thread_ts,
            unfurl_links=False,
            unfurl_media=False,
            metadata={
                "event_type": "kpibot_delivery",
                "event_payload": {"delivery_id": delivery.id, "kind": delivery.kind.value},
            },
            **delivery.message,
        )
        return str(response.get("ts") or "") or None

    def deliver(self, delivery: Delivery, *, parent: Delivery | None = None) -> Delivery:
        """Post a claimed delivery and record the outcome; never raises for Slack's failures.
        ``parent``: the delivery it threads under, as :meth:`deliver` just returned it (a
        digest, for its chart), so that it is not read again."""
        ready, thread_ts = self._thread(delivery, parent)
        if not ready:
            return delivery
        try:
            ts = self._post(delivery, thread_ts)
        except SlackApiError as error:
            code = str(error.response.get("error", "")) or f"HTTP {error.response.status_code}"
            if code in PERMANENT:
                return self._finish(delivery, Status.FAILED, error=code)
            return self._retry_later(delivery, code)
        except (SlackRequestError, OSError) as error:  # timeouts, refused connections
            return self._retry_later(delivery, f"{type(error).__name__}: {error}")
        return self._finish(delivery, Status.POSTED, ts=ts)

    def _finish(
        self, delivery: Delivery, status: Status, *, ts: str | None = None, error: str | None = None
    ) -> Delivery:
        if status is Status.FAILED:
            logger.error(
                "delivery %s (%s to %s for %s) failed: %s",
                delivery.id,
                delivery.kind,
                delivery.channel,
                delivery.period,
                error,
            )
        values: dict[str, Any] = {"status": status.value, "error": error, "ts": ts}
        if status is Status.POSTED:
            values["posted_at"] = self._now()
        self._update(delivery.id, values)
        return replace(delivery, status=status, error=error, ts=ts)

    def _retry_later(self, delivery: Delivery, error: str) -> Delivery:
        attempts = delivery.attempts + 1
        if attempts >= self.max_attempts:
            return self._finish(
                delivery, Status.FAILED, error=f"gave up after {attempts} attempts: {error}"
            )
        logger.warning(
            "delivery %s to %s will be retried (attempt %s): %s",
            delivery.id,
            delivery.channel,
            attempts,
            error,
        )
        self._update(delivery.id, {"attempts": attempts, "error": error})
        return replace(delivery, attempts=attempts, error=error)

    def _update(self, delivery_id: int, values: dict[str, Any]) -> None:
        """Recording an outcome must not be lost to a database blip: retry a few times."""
        for attempt in range(5):
            try:
                with self._alone.begin() as connection:
                    connection.execute(
                        update(deliveries).where(deliveries.c.id == delivery_id).values(**values)
                    )
                return
            except OperationalError:
                if attempt == 4:
                    raise
                time.sleep(0.2 * 2**attempt)

    def get(self, delivery_id: int) -> Delivery:
        with self._alone.connect() as connection:
            row = connection.execute(select(deliveries).where(deliveries.c.id == delivery_id)).one()
        return Delivery.of(row)

    # -- sweeping -------------------------------------------------------------------------

    def _due(self, delivery: Delivery, now: dt.datetime) -> bool:
        backoff = self.lease * min(1 << max(delivery.attempts - 1, 0), 16)
        return delivery.claimed_at <= now - backoff

    def _take_over(self, delivery: Delivery, now: dt.datetime) -> Delivery | None:
        """Compare-and-set on the lease: only one sweeper wins a stale claim (the delivery with
        its new lease; None for the others)."""
        table = deliveries
        with self._alone.begin() as connection:
            result = connection.execute(
                update(table)
                .where(
                    and_(
                        table.c.id == delivery.id,
                        table.c.status == Status.CLAIMED.value,
                        table.c.claimed_at == delivery.claimed_at,
                    )
                )
                .values(claimed_at=now, claimed_by=self.owner)
            )
        return replace(delivery, claimed_at=now) if result.rowcount else None

    def sweep(self) -> list[Delivery]:
        """Post every claimed delivery whose lease (with backoff) ran out; oldest first."""
        now = self._now()
        with self._alone.connect() as connection:
            rows = connection.execute(
                select(deliveries)
                .where(
                    deliveries.c.status == Status.CLAIMED.value,
                    deliveries.c.claimed_at <= now - self.lease,
                )
                .order_by(deliveries.c.id)
            ).all()
        done = []
        for stale in map(Delivery.of, rows):
            taken = self._take_over(stale, now) if self._due(stale, now) else None
            if taken is not None:
                done.append(self.deliver(taken))
        return done

    def failed(self, kinds: tuple[Kind, ...] = tuple(Kind)) -> list[Delivery]:
        with self._alone.connect() as connection:
            rows = connection.execute(
                select(deliveries)
                .where(
                    deliveries.c.status == Status.FAILED.value,
                    deliveries.c.kind.in_([kind.value for kind in kinds]),
                )
                .order_by(deliveries.c.id.desc())
            ).all()
        return [Delivery.of(row) for row in rows]
