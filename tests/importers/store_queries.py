"""Shared by the importer tests: fixture paths, a one-call ingest, and questions to the store.

Every check reads the store back with SQLAlchemy Core, so a test says what was *stored*, not what
the reader returned.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import ColumnElement, Engine, func, select

from kpi.importers.reader import CHUNK_ROWS, ReadOptions
from kpi.ingest import FileReport, ingest_file
from kpi.measures import Measure
from kpi.store.schema import facts, imports, series
from tests.conftest import NOW

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "exports"
TODAY = NOW.date()
DIMENSIONS = ("platform", "account", "campaign", "creator", "item", "currency")


def fixture(name: str) -> Path:
    path = FIXTURES / name
    assert path.is_file(), f"missing fixture {path}"
    return path


def day(text: str) -> dt.date:
    return dt.date.fromisoformat(text)


def ingest(
    engine: Engine,
    path: Path,
    *,
    source: str | None = None,
    platform: str | None = None,
    account: str | None = None,
    period: tuple[dt.date, dt.date] | None = None,
    today: dt.date = TODAY,
    chunk_rows: int = CHUNK_ROWS,
    dry_run: bool = False,
    worker: bool | None = None,
) -> FileReport:
    """``kpi.ingest.ingest_file`` with the options a test usually leaves at their defaults."""
    options = ReadOptions(
        today=today, platform=platform, account=account, period=period, chunk_rows=chunk_rows
    )
    return ingest_file(
        engine, path, options, now=NOW, source=source, dry_run=dry_run, worker=worker
    )


def write(directory: Path, name: str, text: str, encoding: str = "utf-8") -> Path:
    """A small export written by the test itself (``newline=""`` keeps line endings as given)."""
    path = directory / name
    with path.open("w", encoding=encoding, newline="") as handle:
        handle.write(text)
    return path


def _filters(where: dict[str, str]) -> list[ColumnElement[bool]]:
    unknown = set(where) - set(DIMENSIONS)
    assert not unknown, f"not a dimension: {unknown}"
    return [series.c[name] == value for name, value in where.items()]


def total(engine: Engine, measure: str, **where: str) -> float | None:
    """Σ ``measure`` over the stored facts whose series match ``where`` (None if all NULL)."""
    query = select(func.sum(facts.c[Measure(measure).value])).join(series)
    with engine.connect() as connection:
        value = connection.execute(query.where(*_filters(where))).scalar_one()
    return None if value is None else float(value)


def totals_by(
    engine: Engine, measure: str, dimension: str, **where: str
) -> dict[str, float | None]:
    """Σ ``measure`` per value of ``dimension``: "sum of clicks per platform" and the like."""
    assert dimension in DIMENSIONS
    key = series.c[dimension]
    query = (
        select(key, func.sum(facts.c[Measure(measure).value]))
        .join(series)
        .where(*_filters(where))
        .group_by(key)
    )
    with engine.connect() as connection:
        return {
            str(name): None if value is None else float(value)
            for name, value in connection.execute(query)
        }


def nulls(engine: Engine, measure: str, **where: str) -> int:
    """How many stored rows have ``measure`` NULL ("not reported")."""
    column = facts.c[Measure(measure).value]
    query = select(func.count()).select_from(facts.join(series)).where(column.is_(None))
    with engine.connect() as connection:
        return int(connection.execute(query.where(*_filters(where))).scalar_one())


def zeros(engine: Engine, measure: str) -> int:
    """How many stored rows have ``measure`` exactly 0 (kept apart from NULL)."""
    query = select(func.count()).where(facts.c[Measure(measure).value] == 0)
    with engine.connect() as connection:
        return int(connection.execute(query).scalar_one())


@dataclass(frozen=True)
class Row:
    """One stored fact with its dimensions and the measures a test asked for."""

    period_start: dt.date
    period_end: dt.date
    platform: str
    account: str
    campaign: str
    item: str
    currency: str
    values: dict[str, float | None]

    @property
    def period(self) -> tuple[dt.date, dt.date]:
        return self.period_start, self.period_end

    def __getitem__(self, measure: str) -> float | None:
        return self.values[measure]


def rows(engine: Engine, *measures: str, **where: str) -> list[Row]:
    """Stored facts, oldest first then by campaign and item."""
    columns = [facts.c[Measure(m).value] for m in measures]
    query = (
        select(
            facts.c.period_start,
            facts.c.period_end,
            series.c.platform,
            series.c.account,
            series.c.campaign,
            series.c.item,
            series.c.currency,
            *columns,
        )
        .join(series)
        .where(*_filters(where))
        .order_by(facts.c.period_start, series.c.campaign, series.c.item, facts.c.period_end)
    )
    with engine.connect() as connection:
        return [
            Row(
                period_start=row[0],
                period_end=row[1],
                platform=row[2],
                account=row[3],
                campaign=row[4],
                item=row[5],
                currency=row[6],
                values={
                    m: None if v is None else float(v)
                    for m, v in zip(measures, row[7:], strict=True)
                },
            )
            for row in connection.execute(query)
        ]


def periods(engine: Engine, **where: str) -> set[tuple[dt.date, dt.date]]:
    """The distinct (start, end) windows stored."""
    return {row.period for row in rows(engine, **where)}


@dataclass(frozen=True)
class Snapshot:
    """Enough of the store to tell whether anything changed."""

    imports: int
    series: int
    facts: int
    sums: tuple[float | None, ...]


def snapshot(engine: Engine) -> Snapshot:
    sums = [func.sum(facts.c[m.value]) for m in Measure]
    with engine.connect() as connection:
        return Snapshot(
            imports=int(connection.execute(select(func.count()).select_from(imports)).scalar_one()),
            series=int(connection.execute(select(func.count()).select_from(series)).scalar_one()),
            facts=int(connection.execute(select(func.count()).select_from(facts)).scalar_one()),
            sums=tuple(
                None if v is None else round(float(v), 6)
                for v in connection.execute(select(*sums)).one()
            ),
        )
