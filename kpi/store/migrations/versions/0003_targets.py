"""Targets: a KPI, a threshold and comparator, a grain and an optional scope.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision: str | None = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "targets",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("kpi", sa.String(40), nullable=False),
        sa.Column("comparator", sa.String(2), nullable=False),
        sa.Column("threshold", sa.Float, nullable=False),
        sa.Column("grain", sa.String(10), nullable=False),
        sa.Column("rolling_days", sa.Integer, nullable=False, server_default=sa.text("0")),
        sa.Column("scope", sa.Text, nullable=False, server_default=sa.text("''")),
        sa.Column("channel", sa.String(40), nullable=False, server_default=sa.text("''")),
        sa.Column("created_by", sa.String(40)),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("kpi", "grain", "rolling_days", "scope", "channel", name="uq_targets"),
    )


def downgrade() -> None:
    op.drop_table("targets")
