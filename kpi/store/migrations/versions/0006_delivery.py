"""Digest subscriptions, the delivery ledger, per-target alert state and scheduler heartbeats.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision: str | None = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "digests",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("channel", sa.String(40), nullable=False, unique=True),
        sa.Column("schedule", sa.String(40), nullable=False),
        sa.Column("kpis", sa.Text, nullable=False, server_default=sa.text("''")),
        sa.Column("scope", sa.Text, nullable=False, server_default=sa.text("''")),
        sa.Column("created_by", sa.String(40)),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "deliveries",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("subject_id", sa.Integer, nullable=False),
        sa.Column("channel", sa.String(40), nullable=False),
        sa.Column("period", sa.String(40), nullable=False),
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column("message", sa.Text, nullable=False),
        sa.Column("attachment", sa.LargeBinary),
        sa.Column("parent_id", sa.Integer, sa.ForeignKey("deliveries.id")),
        sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("claimed_by", sa.String(80), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False, server_default=sa.text("0")),
        sa.Column("error", sa.Text),
        sa.Column("ts", sa.String(40)),
        sa.Column("posted_at", sa.DateTime(timezone=True)),
        sa.UniqueConstraint("kind", "subject_id", "channel", "period", name="uq_deliveries"),
    )
    op.create_index("ix_deliveries_status", "deliveries", ["status", "claimed_at"])
    op.create_table(
        "target_states",
        sa.Column(
            "target_id",
            sa.Integer,
            sa.ForeignKey("targets.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("state", sa.String(12), nullable=False),
        sa.Column("period", sa.String(40), nullable=False),
        sa.Column("evaluated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("value", sa.Float),
        sa.Column("episode_alert_id", sa.Integer, sa.ForeignKey("deliveries.id")),
        sa.Column("snoozed_until", sa.DateTime(timezone=True)),
        sa.Column("acknowledged_by", sa.String(40)),
        sa.Column("acknowledged_at", sa.DateTime(timezone=True)),
    )
    op.create_table(
        "scheduler_beats",
        sa.Column("owner", sa.String(80), primary_key=True),
        sa.Column("beat_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("state", sa.Text, nullable=False),
    )
