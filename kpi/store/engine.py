"""Engine creation for SQLite (the embedded default) and PostgreSQL, through the same code."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, create_engine, event

from kpi.store.migrate import upgrade

DEFAULT_URL = "sqlite:///kpibot.db"


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    """WAL lets readers (the bot) run while an import writes; NORMAL sync is safe under WAL."""
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.execute("PRAGMA cache_size=-131072")
    cursor.close()


def make_engine(url: str = DEFAULT_URL) -> Engine:
    """An engine with the per-backend settings the store relies on (no schema changes)."""
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return create_engine(url, pool_pre_ping=True)


def open_store(url: str = DEFAULT_URL) -> Engine:
    """An engine on a database migrated to the current schema, ready for imports and queries."""
    engine = make_engine(url)
    upgrade(engine)
    return engine
