"""Alembic environment: the engine comes from the caller (kpi.store.migrate), never an ini file."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Engine

from kpi.store.schema import metadata

engine = context.config.attributes["engine"]
assert isinstance(engine, Engine)

with engine.begin() as connection:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=connection.dialect.name == "sqlite",
    )
    context.run_migrations()
