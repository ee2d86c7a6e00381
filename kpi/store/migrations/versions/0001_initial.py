"""Initial schema: imports, series and facts.

Revision ID: 0001
Revises:
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from kpi.measures import ALL as MEASURES

revision = "0001"
down_revision: str | None = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "imports",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("source", sa.String(40), nullable=False),
        sa.Column("file_name", sa.Text, nullable=False),
        sa.Column("file_sha256", sa.String(64), nullable=False),
        sa.Column("imported_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("period_start", sa.Date),
        sa.Column("period_end", sa.Date),
        sa.Column("rows_read", sa.Integer, nullable=False, server_default=sa.text("0")),
        sa.Column("rows_written", sa.Integer, nullable=False, server_default=sa.text("0")),
        sa.Column("rows_replaced", sa.Integer, nullable=False, server_default=sa.text("0")),
        sa.Column("rows_skipped", sa.Integer, nullable=False, server_default=sa.text("0")),
        sa.Column("warnings", sa.Integer, nullable=False, server_default=sa.text("0")),
    )
    op.create_table(
        "series",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("source", sa.String(40), nullable=False),
        sa.Column("platform", sa.String(60), nullable=False),
        sa.Column("account", sa.Text, nullable=False, server_default=sa.text("''")),
        sa.Column("campaign", sa.Text, nullable=False, server_default=sa.text("''")),
        sa.Column("creator", sa.Text, nullable=False, server_default=sa.text("''")),
        sa.Column("item", sa.Text, nullable=False, server_default=sa.text("''")),
        sa.Column("currency", sa.String(3), nullable=False, server_default=sa.text("''")),
        sa.UniqueConstraint(
            "source",
            "platform",
            "account",
            "campaign",
            "creator",
            "item",
            "currency",
            name="uq_series_dimensions",
        ),
    )
    op.create_index("ix_series_platform_account", "series", ["platform", "account"])
    op.create_table(
        "facts",
        sa.Column("period_start", sa.Date, nullable=False),
        sa.Column("series_id", sa.Integer, sa.ForeignKey("series.id"), nullable=False),
        sa.Column("period_end", sa.Date, nullable=False),
        sa.Column("import_id", sa.Integer, sa.ForeignKey("imports.id"), nullable=False),
        *(sa.Column(m.value, sa.Float) for m in MEASURES),
        sa.PrimaryKeyConstraint(
            "period_start", "series_id", "period_end", "import_id", name="pk_facts"
        ),
        sqlite_with_rowid=False,
    )


def downgrade() -> None:
    op.drop_table("facts")
    op.drop_index("ix_series_platform_account", "series")
    op.drop_table("series")
    op.drop_table("imports")
