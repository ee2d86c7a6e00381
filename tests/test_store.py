"""The store: migrations bring any database to the current schema, in place."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Engine, MetaData, insert, inspect, select, text

from kpi.store.migrate import current_revision, head_revision, upgrade
from kpi.store.schema import (
    facts,
    imports,
    metadata,
    rollup_day,
    rollup_month,
    rollup_year,
    series,
)
from tests.conftest import NOW


def test_upgrade_reaches_head_and_matches_schema(bare_engine: Engine) -> None:
    upgrade(bare_engine)
    assert current_revision(bare_engine) == head_revision()
    reflected = MetaData()
    reflected.reflect(bare_engine)
    for table in metadata.sorted_tables:
        assert {c.name for c in reflected.tables[table.name].columns} == set(table.columns.keys())
    indexes = {ix["name"] for ix in inspect(bare_engine).get_indexes("facts")}
    assert "ix_facts_period_totals" in indexes


def test_existing_database_upgrades_in_place(bare_engine: Engine) -> None:
    upgrade(bare_engine, "0001")
    with bare_engine.begin() as connection:
        import_id = connection.execute(
            insert(imports)
            .values(source="canonical", file_name="a.csv", file_sha256="0" * 64, imported_at=NOW)
            .returning(imports.c.id)
        ).scalar_one()
        series_id = connection.execute(
            insert(series).values(source="canonical", platform="meta").returning(series.c.id)
        ).scalar_one()
        connection.execute(
            insert(facts).values(
                period_start=dt.date(2026, 1, 5),
                period_end=dt.date(2026, 1, 5),
                series_id=series_id,
                import_id=import_id,
                clicks=7.0,
            )
        )
    upgrade(bare_engine)
    assert current_revision(bare_engine) == head_revision()
    with bare_engine.connect() as connection:
        assert connection.execute(select(facts.c.clicks)).scalar_one() == 7.0
        rolled = connection.execute(select(rollup_day.c.day, rollup_day.c.clicks)).one()
        assert tuple(rolled) == (dt.date(2026, 1, 5), 7.0)  # existing facts are rolled up
        monthly = connection.execute(select(rollup_month.c.month, rollup_month.c.clicks)).one()
        assert tuple(monthly) == (dt.date(2026, 1, 1), 7.0)
        yearly = connection.execute(select(rollup_year.c.year, rollup_year.c.clicks)).one()
        assert tuple(yearly) == (dt.date(2026, 1, 1), 7.0)
    assert "ix_facts_period_totals" in {
        ix["name"] for ix in inspect(bare_engine).get_indexes("facts")
    }
    # migration 0008: the facts' keys are checked by the importer, not by PostgreSQL
    referenced = {key["referred_table"] for key in inspect(bare_engine).get_foreign_keys("facts")}
    assert referenced == (
        set() if bare_engine.dialect.name == "postgresql" else {"series", "imports"}
    )


def test_upgrade_twice_is_a_no_op(engine: Engine) -> None:
    upgrade(engine)
    assert current_revision(engine) == head_revision()


def test_sqlite_uses_wal_and_foreign_keys(sqlite_engine: Engine) -> None:
    with sqlite_engine.connect() as connection:
        assert connection.execute(text("PRAGMA journal_mode")).scalar_one() == "wal"
        assert connection.execute(text("PRAGMA foreign_keys")).scalar_one() == 1


def test_sessions_get_the_engine_settings(engine: Engine) -> None:
    """SQLite in WAL mode with foreign keys; PostgreSQL without JIT, kept by pooled connections
    after the pool's rollback."""
    for _ in range(2):
        with engine.connect() as connection:
            if engine.dialect.name == "postgresql":
                assert connection.execute(text("SHOW jit")).scalar_one() == "off"
            else:
                assert connection.execute(text("PRAGMA journal_mode")).scalar_one() == "wal"
                assert connection.execute(text("PRAGMA foreign_keys")).scalar_one() == 1
            connection.rollback()
