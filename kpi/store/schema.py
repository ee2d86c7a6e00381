"""Tables of the metric store (SQLAlchemy Core).

Facts reference a *series* (one combination of dimensions) instead of repeating the dimension
strings: rows stay narrow, which keeps bulk imports fast and lets queries filter a handful of
series ids. Facts are clustered on ``period_start`` (SQLite ``WITHOUT ROWID``) so that a date-range
query reads a contiguous slice, and an import replaces earlier rows with one range delete.

This module describes the *current* schema; migrations in ``migrations/versions`` get an existing
database there. A test checks that the two agree.
"""

from __future__ import annotations

from sqlalchemy import (
    Column,
    Date,
    DateTime,
    Float,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)

from kpi.measures import ADDITIVE
from kpi.measures import ALL as MEASURES

metadata = MetaData()

imports = Table(
    "imports",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("source", String(40), nullable=False),
    Column("file_name", Text, nullable=False),
    Column("file_sha256", String(64), nullable=False),
    Column("imported_at", DateTime(timezone=True), nullable=False),
    Column("period_start", Date),
    Column("period_end", Date),
    Column("rows_read", Integer, nullable=False, server_default=text("0")),
    Column("rows_written", Integer, nullable=False, server_default=text("0")),
    Column("rows_replaced", Integer, nullable=False, server_default=text("0")),
    Column("rows_skipped", Integer, nullable=False, server_default=text("0")),
    Column("warnings", Integer, nullable=False, server_default=text("0")),
)

series = Table(
    "series",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("source", String(40), nullable=False),
    Column("platform", String(60), nullable=False),
    Column("account", Text, nullable=False, server_default=text("''")),
    Column("campaign", Text, nullable=False, server_default=text("''")),
    Column("creator", Text, nullable=False, server_default=text("''")),
    Column("item", Text, nullable=False, server_default=text("''")),
    Column("currency", String(3), nullable=False, server_default=text("''")),
    UniqueConstraint(
        "source",
        "platform",
        "account",
        "campaign",
        "creator",
        "item",
        "currency",
        name="uq_series_dimensions",
    ),
    Index("ix_series_platform_account", "platform", "account"),
)

facts = Table(
    "facts",
    metadata,
    Column("period_start", Date, nullable=False),
    Column("series_id", Integer, nullable=False),
    Column("period_end", Date, nullable=False),
    Column("import_id", Integer, nullable=False),
    *(Column(m.value, Float) for m in MEASURES),
    PrimaryKeyConstraint("period_start", "series_id", "period_end", "import_id", name="pk_facts"),
    # Declared in the database on SQLite only (migration 0008 says why); joins still use them.
    ForeignKeyConstraint(["series_id"], ["series.id"]).ddl_if(dialect="sqlite"),
    ForeignKeyConstraint(["import_id"], ["imports.id"]).ddl_if(dialect="sqlite"),
    Index(
        "ix_facts_period_totals",
        "period_end",
        "period_start",
        sqlite_where=text("period_start <> period_end"),
        postgresql_where=text("period_start <> period_end"),
    ),
    sqlite_with_rowid=False,
)

targets = Table(
    "targets",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("kpi", String(40), nullable=False),
    Column("comparator", String(2), nullable=False),
    Column("threshold", Float, nullable=False),
    Column("grain", String(10), nullable=False),
    Column("rolling_days", Integer, nullable=False, server_default=text("0")),
    Column("scope", Text, nullable=False, server_default=text("''")),
    Column("channel", String(40), nullable=False, server_default=text("''")),
    Column("created_by", String(40)),
    Column("created_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("kpi", "grain", "rolling_days", "scope", "channel", name="uq_targets"),
)

#: Additive measures of daily rows per day, platform, account, currency, source and import: the
#: table most questions read (see migration 0004). Maintained by the importer.
rollup_day = Table(
    "rollup_day",
    metadata,
    Column("day", Date, nullable=False),
    Column("platform", String(60), nullable=False),
    Column("account", Text, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("source", String(40), nullable=False),
    Column("import_id", Integer, ForeignKey("imports.id"), nullable=False),
    Column("rows", Integer, nullable=False),
    *(Column(m.value, Float) for m in MEASURES if m in ADDITIVE),
    PrimaryKeyConstraint(
        "day", "platform", "account", "currency", "source", "import_id", name="pk_rollup_day"
    ),
    sqlite_with_rowid=False,
)

#: Additive measures of daily rows per calendar month, series and import (see migration 0005).
rollup_month = Table(
    "rollup_month",
    metadata,
    Column("month", Date, nullable=False),
    Column("series_id", Integer, ForeignKey("series.id"), nullable=False),
    Column("import_id", Integer, ForeignKey("imports.id"), nullable=False),
    Column("rows", Integer, nullable=False),
    *(Column(m.value, Float) for m in MEASURES if m in ADDITIVE),
    PrimaryKeyConstraint("month", "series_id", "import_id", name="pk_rollup_month"),
    sqlite_with_rowid=False,
)

#: The monthly rollup summed per calendar year and series, whatever the import (see migration
#: 0007). ``year`` is 1 January. Rebuilt from ``rollup_month`` for the years and series an import
#: touched, so it needs no import key of its own.
rollup_year = Table(
    "rollup_year",
    metadata,
    Column("year", Date, nullable=False),
    Column("series_id", Integer, ForeignKey("series.id"), nullable=False),
    Column("rows", Integer, nullable=False),
    *(Column(m.value, Float) for m in MEASURES if m in ADDITIVE),
    PrimaryKeyConstraint("year", "series_id", name="pk_rollup_year"),
    sqlite_with_rowid=False,
)

#: Digest subscriptions, one per channel: the rows the scheduler builds its digest jobs from
#: (see migration 0006). ``schedule`` is ``kpi.schedules.Schedule.to_text()``; ``kpis`` a comma
#: list (empty: the configured default); ``scope`` the JSON filters, as for targets.
digests = Table(
    "digests",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("channel", String(40), nullable=False, unique=True),
    Column("schedule", String(40), nullable=False),
    Column("kpis", Text, nullable=False, server_default=text("''")),
    Column("scope", Text, nullable=False, server_default=text("''")),
    Column("created_by", String(40)),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

#: The delivery ledger: every digest, alert and resolution is claimed here before it is posted.
#: The unique key is what makes a post happen once across retries, restarts and replicas; the
#: message is stored with the claim so that a delivery interrupted after its claim is posted
#: later exactly as it was rendered.
deliveries = Table(
    "deliveries",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("kind", String(20), nullable=False),
    Column("subject_id", Integer, nullable=False),
    Column("channel", String(40), nullable=False),
    Column("period", String(40), nullable=False),
    Column("status", String(10), nullable=False),
    Column("message", Text, nullable=False),
    Column("attachment", LargeBinary),
    Column("parent_id", Integer, ForeignKey("deliveries.id")),
    Column("claimed_at", DateTime(timezone=True), nullable=False),
    Column("claimed_by", String(80), nullable=False),
    Column("attempts", Integer, nullable=False, server_default=text("0")),
    Column("error", Text),
    Column("ts", String(40)),
    Column("posted_at", DateTime(timezone=True)),
    UniqueConstraint("kind", "subject_id", "channel", "period", name="uq_deliveries"),
    Index("ix_deliveries_status", "status", "claimed_at"),
)

#: Where each target's alerting stands: the last period judged, the open miss (its first alert,
#: whose thread gets "back on target"), snooze and acknowledgement.
target_states = Table(
    "target_states",
    metadata,
    Column("target_id", Integer, ForeignKey("targets.id", ondelete="CASCADE"), primary_key=True),
    Column("state", String(12), nullable=False),
    Column("period", String(40), nullable=False),
    Column("evaluated_at", DateTime(timezone=True), nullable=False),
    Column("value", Float),
    Column("episode_alert_id", Integer, ForeignKey("deliveries.id")),
    Column("snoozed_until", DateTime(timezone=True)),
    Column("acknowledged_by", String(40)),
    Column("acknowledged_at", DateTime(timezone=True)),
)

#: One row per running scheduler, refreshed every minute: /healthz of any process (and of any
#: replica) can tell whether a scheduler runs somewhere, and what it last did.
scheduler_beats = Table(
    "scheduler_beats",
    metadata,
    Column("owner", String(80), primary_key=True),
    Column("beat_at", DateTime(timezone=True), nullable=False),
    Column("state", Text, nullable=False),
)
