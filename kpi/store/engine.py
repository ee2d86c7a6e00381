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


def _postgres_session(dbapi_connection: Any, _record: Any) -> None:
    """No JIT: PostgreSQL over-estimates the period-total rows of a fact scan and then spends
    up to 1.6 s compiling a query that returns nothing (benchmarks/README.md, query section).
    Set outside a transaction so that the pool's rollback on return cannot undo it."""
    autocommit = dbapi_connection.autocommit
    dbapi_connection.autocommit = True
    dbapi_connection.execute("SET jit = off")
    dbapi_connection.autocommit = autocommit


def make_engine(url: str = DEFAULT_URL) -> Engine:
    """An engine with the per-backend settings the store relies on (no schema changes)."""
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    engine = create_engine(url, pool_pre_ping=True)
    event.listen(engine, "connect", _postgres_session)
    return engine


def open_store(url: str = DEFAULT_URL) -> Engine:
    """An engine on a database migrated to the current schema, ready for imports and queries."""
    engine = make_engine(url)
    upgrade(engine)
    return engine
