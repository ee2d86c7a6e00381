"""Monthly rollup per series: additive measures of daily rows summed per calendar month.

Campaign-level questions over long windows (the top campaigns of a year) would otherwise sum one
row per campaign and day; a year is twelve rows per series here. Keyed by import, like the daily
rollup. Existing facts are rolled up here.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23
"""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from alembic import op

from kpi.measures import ADDITIVE, ALL

revision = "0005"
down_revision: str | None = "0004"
branch_labels = None
depends_on = None

MEASURES = [m.value for m in ALL if m in ADDITIVE]


def upgrade() -> None:
    op.create_table(
        "rollup_month",
        sa.Column("month", sa.Date, nullable=False),
        sa.Column("series_id", sa.Integer, sa.ForeignKey("series.id"), nullable=False),
        sa.Column("import_id", sa.Integer, sa.ForeignKey("imports.id"), nullable=False),
        sa.Column("rows", sa.Integer, nullable=False),
        *(sa.Column(m, sa.Float) for m in MEASURES),
        sa.PrimaryKeyConstraint("month", "series_id", "import_id", name="pk_rollup_month"),
        sqlite_with_rowid=False,
    )
    connection = op.get_bind()
    first, last = connection.execute(
        sa.text("SELECT MIN(period_start), MAX(period_start) FROM facts")
    ).one()
    if first is None:
        return
    month = dt.date.fromisoformat(str(first)[:7] + "-01")
    final = dt.date.fromisoformat(str(last)[:10])
    sums = ", ".join(f"SUM({m})" for m in MEASURES)
    statement = sa.text(
        f"INSERT INTO rollup_month (month, series_id, import_id, rows, {', '.join(MEASURES)}) "
        f"SELECT :month, series_id, import_id, COUNT(*), {sums} FROM facts "
        "WHERE period_start = period_end AND period_start >= :month AND period_start < :next "
        "GROUP BY series_id, import_id"
    ).bindparams(sa.bindparam("month", type_=sa.Date), sa.bindparam("next", type_=sa.Date))
    while month <= final:
        following = (month + dt.timedelta(days=32)).replace(day=1)
        connection.execute(statement, {"month": month, "next": following})
        month = following


def downgrade() -> None:
    op.drop_table("rollup_month")
