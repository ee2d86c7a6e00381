"""Facts without foreign-key constraints on PostgreSQL.

PostgreSQL checks a foreign key with a trigger per inserted row: a look-up and a row lock on the
referenced series and import. With both keys of ``facts`` checked, the server's work inside the
COPY of a million rows took 15 s of a 22 s import; without them about a quarter of that
(benchmarks/README.md). The keys cannot be wrong: only the importer writes facts, with series
ids it has just read or created and its own import id, in the transaction that made them, and
nothing deletes a series or an import. SQLite imports already run without the checks
(``PRAGMA foreign_keys=OFF`` on the import's connection), and a test looks for orphans on both
engines after imports and re-imports.

SQLite keeps the constraints in the table definition: dropping them there means rebuilding the
table, for checks its imports do not run anyway.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision: str | None = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    for key in sa.inspect(bind).get_foreign_keys("facts"):
        assert key["name"] is not None  # PostgreSQL names every constraint
        op.drop_constraint(key["name"], "facts", type_="foreignkey")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.create_foreign_key(None, "facts", "series", ["series_id"], ["id"])
    op.create_foreign_key(None, "facts", "imports", ["import_id"], ["id"])
