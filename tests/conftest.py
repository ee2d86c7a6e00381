"""Fixtures shared by the whole suite: a store on each engine, and the real data folder."""

from __future__ import annotations

import datetime as dt
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text

from kpi.store.engine import make_engine, open_store
from tests.postgres import throwaway_cluster

IN_CI = os.environ.get("CI", "").lower() == "true"
REAL_DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "real"
NOW = dt.datetime(2026, 11, 23, 9, 30, tzinfo=dt.UTC)


def unavailable(reason: str) -> None:
    """Fail under CI (a missing dependency must never pass as skipped), skip elsewhere."""
    if IN_CI:
        pytest.fail(f"{reason} (required under CI=true)")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[str | None]:
    url = os.environ.get("KPIBOT_TEST_POSTGRES_URL")
    if url:
        yield url
        return
    with throwaway_cluster() as started:
        yield started


def _schema_engine(server: str) -> Iterator[Engine]:
    """An engine confined to a new schema, dropped afterwards: each test starts empty."""
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    engine = make_engine(f"{server}?options=-csearch_path%3D{schema}")
    try:
        yield engine
    finally:
        engine.dispose()
        with admin.connect() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture(params=["sqlite", "postgres"])
def bare_engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """An engine on an empty database, not yet migrated."""
    if request.param == "sqlite":
        engine = make_engine(f"sqlite:///{tmp_path / 'kpibot.db'}")
        yield engine
        engine.dispose()
        return
    server = request.getfixturevalue("postgres_server")
    if server is None:
        unavailable("PostgreSQL is not installed")
    yield from _schema_engine(server)


@pytest.fixture
def engine(bare_engine: Engine) -> Engine:
    """A migrated store on SQLite or PostgreSQL (every test using it runs on both)."""
    from kpi.store.migrate import upgrade

    upgrade(bare_engine)
    return bare_engine


@pytest.fixture
def sqlite_engine(tmp_path: Path) -> Iterator[Engine]:
    engine = open_store(f"sqlite:///{tmp_path / 'kpibot.db'}")
    yield engine
    engine.dispose()


@pytest.fixture(scope="session")
def real_data() -> Path:
    if not REAL_DATA.is_dir():
        unavailable(f"the shared real data folder is missing ({REAL_DATA})")
    return REAL_DATA


@pytest.fixture(scope="session")
def demo_store(tmp_path_factory: pytest.TempPathFactory) -> Engine:
    """Ten weeks of demo data ending the day before NOW, loaded once for every test reading it."""
    from kpi import demo
    from tests.query_data import load

    folder = tmp_path_factory.mktemp("demo")
    engine = open_store(f"sqlite:///{folder / 'kpibot.db'}")
    load(engine, demo.generate(NOW.date() - dt.timedelta(days=1), days=70), folder)
    return engine
