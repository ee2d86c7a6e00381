"""Daily rollup: additive measures of daily rows summed per platform, account and currency.

Most questions (a KPI over a week or a year, by platform, with its sparkline) need no campaign
detail; the rollup answers them from a few rows per day instead of one row per campaign. It is
keyed by import so that an import's replacement removes exactly the rollup rows of the facts it
deletes. Existing facts are rolled up here.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from kpi.measures import ADDITIVE, ALL

revision = "0004"
down_revision: str | None = "0003"
branch_labels = None
depends_on = None

MEASURES = [m.value for m in ALL if m in ADDITIVE]


def upgrade() -> None:
    op.create_table(
        "rollup_day",
        sa.Column("day", sa.Date, nullable=False),
        sa.Column("platform", sa.String(60), nullable=False),
        sa.Column("account", sa.Text, nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("source", sa.String(40), nullable=False),
        sa.Column("import_id", sa.Integer, sa.ForeignKey("imports.id"), nullable=False),
        sa.Column("rows", sa.Integer, nullable=False),
        *(sa.Column(m, sa.Float) for m in MEASURES),
        sa.PrimaryKeyConstraint(
            "day", "platform", "account", "currency", "source", "import_id", name="pk_rollup_day"
        ),
        sqlite_with_rowid=False,
    )
    sums = ", ".join(f"SUM(f.{m})" for m in MEASURES)
    op.execute(
        f"INSERT INTO rollup_day (day, platform, account, currency, source, import_id, rows, "
        f"{', '.join(MEASURES)}) "
        f"SELECT f.period_start, s.platform, s.account, s.currency, s.source, f.import_id, "
        f"COUNT(*), {sums} FROM facts f JOIN series s ON s.id = f.series_id "
        "WHERE f.period_start = f.period_end "
        "GROUP BY f.period_start, s.platform, s.account, s.currency, s.source, f.import_id"
    )


def downgrade() -> None:
    op.drop_table("rollup_day")
