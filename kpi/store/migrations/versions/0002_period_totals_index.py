"""Index period-total rows (start <> end) by their end date.

Queries must find totals that overlap a window's start, which the clustered key (period_start
first) cannot do without scanning every earlier row. Daily rows are excluded, so the partial index
stays tiny and costs imports nothing.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision: str | None = "0001"
branch_labels = None
depends_on = None

WHERE = sa.text("period_start <> period_end")


def upgrade() -> None:
    op.create_index(
        "ix_facts_period_totals",
        "facts",
        ["period_end", "period_start"],
        sqlite_where=WHERE,
        postgresql_where=WHERE,
    )


def downgrade() -> None:
    op.drop_index("ix_facts_period_totals", "facts")
