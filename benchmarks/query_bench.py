"""Benchmark: answering KPI questions with ``ask()`` over 10,000,000 daily rows.

The requirement it checks (issue 3): on the embedded SQLite store, every question shape below is
answered in-process in at most 100 ms at the 95th percentile, with the process's RSS under 400 MB,
over two years of daily rows for 5 platforms x 2,740 campaigns (730 x 13,700 = 10,001,000 rows).
The reference is DuckDB running the core SQL of each shape over the same rows, measured in the same
run. PostgreSQL is measured too with ``--postgres`` (a throwaway cluster from the machine's own
binaries) or when ``DATABASE_URL`` points at a PostgreSQL database.

The store is built once per size and kept under ``benchmarks/data/`` (gitignored): a generated
canonical CSV (deterministic, written in chunks), imported with :func:`kpi.ingest.ingest_file`.
Every measurement then runs in a fresh interpreter (``python -m benchmarks.query_bench --child``)
that only opens the existing store, so neither the build's memory nor another engine's counts in
the RSS figures. Run it with::

    .venv/bin/python -m benchmarks.query_bench --rows 10000000 --repeat 30
    .venv/bin/python -m benchmarks.query_bench --rows 1000000 --postgres

See ``benchmarks/README.md`` for the measured figures.
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import datetime as dt
import functools
import gc
import hashlib
import json
import math
import os
import sqlite3
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, cast

import duckdb
import numpy as np
import numpy.typing as npt
import pandas as pd
from rich.console import Console
from rich.table import Table
from sqlalchemy import Engine, event, func, make_url, select
from sqlalchemy.engine import Connection, CursorResult

from benchmarks import common
from benchmarks.common import DATA_DIR, ROOT
from benchmarks.ingest_bench import MARKETS, OBJECTIVES, PLATFORMS, Phases, machine
from kpi import aggregate, evaluate, query
from kpi.answer import Answer
from kpi.catalog import BUILTIN, Kpi, RatioKpi, SumKpi
from kpi.grammar import parse
from kpi.importers.reader import ReadOptions
from kpi.ingest import ingest_file
from kpi.measures import Measure
from kpi.request import Request
from kpi.store.engine import make_engine, open_store
from kpi.store.migrate import current_revision, upgrade
from kpi.store.schema import facts, imports
from tests.postgres import throwaway_cluster

#: Bump when the generated rows change, so a stale cached CSV or store is never reused.
GENERATOR_VERSION = 1
SEED = 20_261_122
DAYS = 730
LAST_DAY = dt.date(2026, 11, 22)
FIRST_DAY = LAST_DAY - dt.timedelta(days=DAYS - 1)
TODAY = LAST_DAY + dt.timedelta(days=1)
NOW = dt.datetime.combine(TODAY, dt.time(9, 30), tzinfo=dt.UTC)
#: Days generated (and written) at a time: about 1.4 M rows at full size.
BLOCK_DAYS = 100
COLUMNS: tuple[str, ...] = (
    "date",
    "platform",
    "account",
    "campaign",
    "currency",
    "impressions",
    "clicks",
    "spend",
    "conversions",
    "revenue",
    "likes",
    "comments",
    "shares",
    "saves",
    "reach",
)
#: One currency: the requirement is about speed, not about the mixed-currency rules.
ACCOUNTS: tuple[str, ...] = ("Acme FR", "Acme DE", "Acme Benelux")
#: Platforms whose export carries engagement (likes, comments, shares, reach) ...
SOCIAL: frozenset[str] = frozenset({"facebook", "instagram", "linkedin", "tiktok"})
#: ... and those of them that report saves (LinkedIn does not).
SAVES: frozenset[str] = frozenset({"facebook", "instagram", "tiktok"})

SQLITE = "SQLite"
POSTGRES = "PostgreSQL"
TARGET_P95_MS = 100.0
TARGET_RSS_MB = 400.0
TOP = query.TOP

Floats = npt.NDArray[np.float64]
Counts = npt.NDArray[np.int64]


# --------------------------------------------------------------------------------------------
# The question shapes
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Shape:
    """One kind of question, as a marketer types it after ``/kpi``."""

    name: str
    text: str


def shapes(campaign: str) -> list[Shape]:
    """``vs none`` keeps the comparison out where the shape is about something else."""
    return [
        Shape("last-week", "ctr last-week vs none"),
        Shape("last-year", "ctr last-year vs none"),
        Shape("by platform", "ctr last-week by platform vs none"),
        Shape("top 10 campaigns, year", "clicks last-year by campaign vs none"),
        Shape("top 10 campaigns by ROAS, year", "roas last-year by campaign vs none"),
        Shape("one campaign, year", f'clicks last-year campaign="{campaign}" vs none'),
        Shape("vs previous", "ctr last-week vs previous"),
        Shape("Slack default", "ctr last-week by platform"),
    ]


def request_of(text: str, today: dt.date) -> Request:
    found = parse(text, BUILTIN, today)
    if not isinstance(found, Request):
        raise TypeError(f"{text!r} is not a question")
    return found


# --------------------------------------------------------------------------------------------
# The generated data
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Campaigns:
    """Every (platform, campaign) series in export order, with its daily habits."""

    platform: npt.NDArray[np.object_]
    account: npt.NDArray[np.object_]
    campaign: npt.NDArray[np.object_]
    impressions: Floats
    ctr: Floats
    cpm: Floats
    cvr: Floats
    aov: Floats
    engagement: Floats
    social: npt.NDArray[np.bool_]
    saves: npt.NDArray[np.bool_]

    def __len__(self) -> int:
        return len(self.campaign)


def _campaigns(per_platform: int) -> _Campaigns:
    """Campaign names are unique across platforms (``Retargeting - FR 00042``)."""
    rng = np.random.default_rng(SEED)
    count = per_platform * len(PLATFORMS)
    platforms = np.repeat(np.asarray(PLATFORMS, dtype=object), per_platform)
    objectives = rng.integers(len(OBJECTIVES), size=count)
    markets = rng.integers(len(MARKETS), size=count)
    names = [
        f"{OBJECTIVES[objective]} - {MARKETS[market]} {number + 1:05d}"
        for number, (objective, market) in enumerate(zip(objectives, markets, strict=True))
    ]
    return _Campaigns(
        platform=platforms,
        account=np.asarray(ACCOUNTS, dtype=object)[rng.integers(len(ACCOUNTS), size=count)],
        campaign=np.asarray(names, dtype=object),
        impressions=rng.lognormal(np.log(6_000.0), 1.1, count),
        ctr=np.clip(rng.lognormal(np.log(0.012), 0.5, count), 0.0005, 0.2),
        cpm=rng.lognormal(np.log(8.0), 0.45, count),
        cvr=np.clip(rng.lognormal(np.log(0.03), 0.6, count), 0.001, 0.5),
        aov=rng.lognormal(np.log(70.0), 0.5, count),
        engagement=np.clip(rng.lognormal(np.log(0.012), 0.5, count), 0.0005, 0.2),
        social=np.isin(platforms, sorted(SOCIAL)),
        saves=np.isin(platforms, sorted(SAVES)),
    )


def _reported(values: Counts, present: npt.NDArray[np.bool_]) -> pd.Series:
    """Integers with an empty cell where the platform does not report the measure."""
    return pd.Series(pd.array(values, dtype="Int64")).where(present, pd.NA)


def _block(campaigns: _Campaigns, first: int, days: int) -> pd.DataFrame:
    """Days ``first .. first + days - 1`` (0 is FIRST_DAY): one row per day and series.

    Each block has a generator of its own, so the file does not depend on the block size.
    """
    rng = np.random.default_rng([SEED, first])
    series = len(campaigns)
    rows = series * days
    day = np.repeat(np.arange(first, first + days), series)
    index = np.tile(np.arange(series), days)
    calendar = pd.date_range(pd.Timestamp(FIRST_DAY), periods=DAYS, freq="D")
    weekday = np.asarray([1.0, 1.05, 1.05, 1.0, 0.95, 0.85, 0.8])[calendar.day_of_week][day]
    paused = rng.random(rows) < 0.04
    volume = campaigns.impressions[index] * weekday * rng.lognormal(0.0, 0.25, rows)
    impressions = np.where(paused, 0, rng.poisson(volume)).astype(np.int64)
    ctr = np.clip(campaigns.ctr[index] * rng.lognormal(0.0, 0.1, rows), 0.0, 1.0)
    clicks = rng.binomial(impressions, ctr).astype(np.int64)
    conversions = rng.binomial(clicks, campaigns.cvr[index]).astype(np.int64)
    spend = np.round(impressions / 1000.0 * campaigns.cpm[index] * rng.lognormal(0, 0.05, rows), 2)
    revenue = np.round(
        rng.gamma(np.maximum(conversions, 1) * 4.0, campaigns.aov[index] / 4.0) * (conversions > 0),
        2,
    )
    likes = rng.binomial(impressions, campaigns.engagement[index]).astype(np.int64)
    social = campaigns.social[index]
    return pd.DataFrame(
        {
            "date": np.asarray(calendar.strftime("%Y-%m-%d"), dtype=object)[day],
            "platform": campaigns.platform[index],
            "account": campaigns.account[index],
            "campaign": campaigns.campaign[index],
            "currency": "EUR",
            "impressions": impressions,
            "clicks": clicks,
            "spend": spend,
            "conversions": conversions,
            "revenue": revenue,
            "likes": _reported(likes, social),
            "comments": _reported(rng.binomial(likes, 0.08).astype(np.int64), social),
            "shares": _reported(rng.binomial(likes, 0.05).astype(np.int64), social),
            "saves": _reported(rng.binomial(likes, 0.1).astype(np.int64), campaigns.saves[index]),
            "reach": _reported(
                np.floor(impressions / rng.uniform(1.05, 1.6, rows)).astype(np.int64), social
            ),
        },
        columns=list(COLUMNS),
    )


@dataclass(frozen=True)
class Dataset:
    """The generated rows (as a CSV) and the SQLite store they are imported into."""

    rows: int
    per_platform: int
    csv: Path
    db: Path
    #: The campaign of the one-campaign shape.
    campaign: str

    @property
    def series(self) -> int:
        return self.per_platform * len(PLATFORMS)

    @property
    def sqlite_url(self) -> str:
        return f"sqlite:///{self.db}"


def dataset(requested_rows: int, data_dir: Path = DATA_DIR) -> Dataset:
    """Two years of days, and as many campaigns per platform as make about ``requested_rows``."""
    per_platform = max(1, round(requested_rows / (DAYS * len(PLATFORMS))))
    rows = per_platform * len(PLATFORMS) * DAYS
    stem = f"query_{rows}_seed{SEED}_v{GENERATOR_VERSION}"
    campaigns = _campaigns(per_platform)
    plain = [
        str(name)
        for name, platform in zip(campaigns.campaign, campaigns.platform, strict=True)
        if platform == "instagram" and str(name).isascii() and "'" not in str(name)
    ]
    return Dataset(
        rows=rows,
        per_platform=per_platform,
        csv=data_dir / f"{stem}.csv",
        db=data_dir / f"{stem}.db",
        campaign=plain[len(plain) // 2],
    )


def write_csv(data: Dataset, console: Console) -> float:
    """Generate the CSV block by block (memory stays at one block); return the seconds taken."""
    started = time.perf_counter()
    data.csv.parent.mkdir(parents=True, exist_ok=True)
    campaigns = _campaigns(data.per_platform)
    partial = data.csv.with_suffix(f".{os.getpid()}.partial")
    with partial.open("w", encoding="utf-8", newline="") as handle:
        for first in range(0, DAYS, BLOCK_DAYS):
            frame = _block(campaigns, first, min(BLOCK_DAYS, DAYS - first))
            frame.to_csv(
                handle, index=False, header=first == 0, float_format="%.2f", lineterminator="\n"
            )
            del frame
            gc.collect()
    partial.replace(data.csv)
    seconds = time.perf_counter() - started
    console.print(
        f"generated {data.csv.relative_to(ROOT)} ({data.csv.stat().st_size / 1e6:,.0f} MB) "
        f"in {seconds:.1f} s"
    )
    return seconds


def ensure_csv(data: Dataset, console: Console) -> float | None:
    """Seconds spent generating the CSV, or None when the cached one was reused."""
    return None if data.csv.exists() else write_csv(data, console)


def _sqlite_rows(db: Path) -> int | None:
    """Fact rows of an existing store (read-only), or None when it is missing or unreadable."""
    if not db.exists():
        return None
    try:
        connection = sqlite3.connect(f"{db.as_uri()}?mode=ro", uri=True)
        try:
            return int(connection.execute("SELECT count(*) FROM facts").fetchone()[0])
        finally:
            connection.close()
    except sqlite3.Error:
        return None


@dataclass
class Build:
    """How the store of this run came to be (built now, or reused from an earlier run)."""

    engine: str
    rows: int
    reused: bool
    generate_seconds: float | None = None
    import_seconds: float | None = None
    size_mb: float | None = None
    revision: str | None = None
    migrated_from: str | None = None

    def describe(self) -> str:
        if self.reused:
            made = "reused from an earlier run"
        else:
            generated = (
                f"CSV generated in {self.generate_seconds:.0f} s, "
                if self.generate_seconds is not None
                else ""
            )
            seconds = self.import_seconds or float("nan")
            made = (
                f"built now: {generated}ingest_file {seconds:.0f} s "
                f"({self.rows / seconds:,.0f} rows/s)"
            )
        size = f", {self.size_mb:,.0f} MB on disk" if self.size_mb is not None else ""
        schema = f", schema revision {self.revision}" if self.revision else ""
        if self.migrated_from:
            schema += f" (migrated from {self.migrated_from} by open_store's upgrade)"
        return f"{self.engine} store: {self.rows:,} fact rows, {made}{size}{schema}"


def _import(url: str, data: Dataset, console: Console) -> float:
    engine = open_store(url)
    try:
        console.print(f"importing {data.csv.relative_to(ROOT)} into {_safe(url)} ...")
        started = time.perf_counter()
        report = ingest_file(
            engine, data.csv, ReadOptions(today=TODAY), now=NOW, source="canonical"
        )
        seconds = time.perf_counter() - started
    finally:
        engine.dispose()
    if report.rows_written != data.rows:
        raise RuntimeError(f"the import wrote {report.rows_written:,} rows, not {data.rows:,}")
    console.print(f"imported {report.rows_written:,} rows in {seconds:.1f} s")
    return seconds


def _migrate(url: str) -> tuple[str | None, str | None]:
    """Bring a store to the current schema as the bot does at start-up: (before, after)."""
    engine = make_engine(url)
    try:
        before = current_revision(engine)
        upgrade(engine)
        return before, current_revision(engine)
    finally:
        engine.dispose()


def build_sqlite(data: Dataset, console: Console, *, rebuild: bool = False) -> Build:
    """Reuse the cached store when it holds the expected rows; otherwise build it again.

    A reused store is first migrated to the current schema (``open_store`` does the same when
    the bot starts), so a cache built before a schema change still answers through the new one.
    """
    found = None if rebuild else _sqlite_rows(data.db)
    if found == data.rows:
        before, after = _migrate(data.sqlite_url)
        return Build(
            SQLITE,
            data.rows,
            reused=True,
            size_mb=data.db.stat().st_size / 1e6,
            revision=after,
            migrated_from=before if before != after else None,
        )
    if data.db.exists():
        why = "--rebuild" if rebuild else f"it holds {found} rows, not {data.rows:,}"
        console.print(f"rebuilding {data.db.name} ({why})")
    for suffix in ("", "-wal", "-shm"):
        Path(f"{data.db}{suffix}").unlink(missing_ok=True)
    generated = ensure_csv(data, console)
    seconds = _import(data.sqlite_url, data, console)
    if _sqlite_rows(data.db) != data.rows:
        raise RuntimeError(f"{data.db} does not hold the {data.rows:,} rows just imported")
    _before, revision = _migrate(data.sqlite_url)
    return Build(
        SQLITE,
        data.rows,
        False,
        generated,
        seconds,
        data.db.stat().st_size / 1e6,
        revision=revision,
    )


def _postgres_rows(url: str) -> tuple[int, list[str]]:
    """Fact rows and imported file names of a PostgreSQL store (migrated first if new)."""
    engine = open_store(url)
    try:
        with engine.connect() as connection:
            rows = int(connection.execute(select(func.count()).select_from(facts)).scalar_one())
            files = [
                str(name) for name in connection.execute(select(imports.c.file_name)).scalars()
            ]
    finally:
        engine.dispose()
    return rows, files


def build_postgres(url: str, data: Dataset, console: Console) -> Build | None:
    """Import into an empty store; reuse one that holds exactly this data; refuse anything else."""
    rows, files = _postgres_rows(url)
    if rows == data.rows and files == [data.csv.name]:
        return Build(POSTGRES, data.rows, reused=True, revision=_migrate(url)[1])
    if rows:
        console.print(
            f"[yellow]{_safe(url)} already holds {rows:,} other fact rows ({', '.join(files)}): "
            "not importing benchmark data into it; skipping PostgreSQL[/]"
        )
        return None
    generated = ensure_csv(data, console)
    seconds = _import(url, data, console)
    # Autovacuum would analyze the new rows within a minute or so; do it now so that the plans
    # measured do not depend on whether it has run yet.
    engine = make_engine(url).execution_options(isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as connection:
            connection.exec_driver_sql("ANALYZE")
    finally:
        engine.dispose()
    return Build(POSTGRES, data.rows, False, generated, seconds, revision=_migrate(url)[1])


def _safe(url: str) -> str:
    if url.startswith("sqlite"):
        return os.path.relpath(make_url(url).database or "", ROOT)
    return make_url(url).render_as_string(hide_password=True)


# --------------------------------------------------------------------------------------------
# The core SQL of each shape (what DuckDB, and the plain drivers, run)
# --------------------------------------------------------------------------------------------

CORE_SQL_OMITS = (
    "The core SQL is only the sums of the asked window(s) over the fact rows, grouped and ranked "
    "(top 10 + others) where the question has a breakdown. It leaves out what ask() also "
    "computes: the 8-period sparkline (the seven windows of the same length before), the "
    "coverage (days with data, newest day per platform), the count of partly overlapping "
    "period-total rows, the per-currency split of money measures, low-volume and target checks, "
    "and the Python/pandas work of turning sums into an Answer. ask() may read the rollup tables "
    "the importer maintains; the core SQL reads facts only."
)


def _weight(kpi: Kpi) -> str:
    """What breakdown rows are ranked by, as in ``query._rank``: volume for ratios, else value."""
    formula = kpi.denominator if isinstance(kpi, RatioKpi) else cast(SumKpi, kpi).formula
    return sorted(m.value for m in formula.measures())[0]


def core_sql(request: Request, dialect: str) -> tuple[str, list[object]]:
    """One statement: Σ of the KPI's measures over the window (and the comparison window).

    ``dialect`` is ``sqlite`` (dates are ISO text there), ``duckdb`` or ``postgresql``.
    """

    def date(day: dt.date) -> object:
        return day.isoformat() if dialect == "sqlite" else day

    mark = "%s" if dialect == "postgresql" else "?"
    names = sorted(m.value for m in request.kpi.measures())
    windows = [request.period, *([request.comparison] if request.comparison else [])]
    select_params: list[object] = []
    if len(windows) == 1:
        sums = [f"SUM(f.{name}) AS {name}_0" for name in names]
    else:
        sums = []
        for number, window in enumerate(windows):
            for name in names:
                sums.append(
                    f"SUM(CASE WHEN f.period_start >= {mark} AND f.period_end <= {mark} "
                    f"THEN f.{name} END) AS {name}_{number}"
                )
                select_params += [date(window.start), date(window.end)]
    where = [f"f.period_start >= {mark}", f"f.period_end <= {mark}"]
    where_params: list[object] = [
        date(min(w.start for w in windows)),
        date(max(w.end for w in windows)),
    ]
    for dimension, values in request.filters:
        where.append(f"s.{dimension.value} IN ({', '.join(mark for _ in values)})")
        where_params += list(values)
    source = "FROM facts f JOIN series s ON s.id = f.series_id WHERE " + " AND ".join(where)
    params = select_params + where_params
    if request.breakdown is None or request.breakdown.is_time:
        return f"SELECT {', '.join(sums)} {source}", params
    group = f"s.{request.breakdown.value}"
    outer = ", ".join(
        f"SUM({name}_{n}) AS {name}_{n}" for n in range(len(windows)) for name in names
    )
    sql = (
        f"WITH g AS (SELECT {group} AS grp, {', '.join(sums)} {source} GROUP BY {group}), "
        f"r AS (SELECT g.*, ROW_NUMBER() OVER (ORDER BY {_weight(request.kpi)}_0 DESC, grp) AS n "
        "FROM g) "
        f"SELECT CASE WHEN n <= {TOP} THEN grp ELSE 'others' END AS grp, {outer} "
        "FROM r GROUP BY 1 ORDER BY MIN(n)"
    )
    return sql, params


def core_check(request: Request, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> Check:
    """The KPI of the asked window and the first breakdown row, from the core SQL's result."""
    sums: dict[Measure, float | None] = {}
    for measure in request.kpi.measures():
        at = list(columns).index(f"{measure.value}_0")
        values = [float(row[at]) for row in rows if row[at] is not None]
        sums[measure] = math.fsum(values) if values else None
    value = cast(SumKpi | RatioKpi, request.kpi).value(sums)
    first = str(rows[0][0]) if request.breakdown is not None and rows else None
    return Check(value, first)


@dataclass(frozen=True)
class Check:
    """What two engines must agree on for one shape."""

    value: float | None
    first_row: str | None

    def agrees(self, other: Check) -> bool:
        if (self.value is None) != (other.value is None) or self.first_row != other.first_row:
            return False
        if self.value is None or other.value is None:
            return True
        return math.isclose(self.value, other.value, rel_tol=1e-9)


# --------------------------------------------------------------------------------------------
# Child processes: one engine each, so that its peak RSS is its own
# --------------------------------------------------------------------------------------------


def _status_mb(field_name: str) -> float:
    with contextlib.suppress(OSError):
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(f"{field_name}:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def _reset_peak() -> None:
    """Reset ``VmHWM`` to the current RSS (Linux 4.0+), so each shape gets a peak of its own."""
    with contextlib.suppress(OSError), open("/proc/self/clear_refs", "w") as handle:
        handle.write("5")


@dataclass
class Timings:
    """Wall milliseconds of the timed runs of one shape (warm-up runs excluded)."""

    shape: str
    ms: list[float]
    peak_rss_mb: float
    check: Check | None = None

    @property
    def p50(self) -> float:
        return statistics.median(self.ms)

    @property
    def p95(self) -> float:
        if len(self.ms) < 2:
            return self.ms[0]
        return statistics.quantiles(self.ms, n=20, method="inclusive")[18]

    @property
    def p99(self) -> float:
        if len(self.ms) < 2:
            return self.ms[0]
        return statistics.quantiles(self.ms, n=100, method="inclusive")[98]

    @property
    def max(self) -> float:
        return max(self.ms)


@dataclass
class Measured:
    """One engine's timings of every shape, measured in one process."""

    label: str
    timings: list[Timings]
    baseline_rss_mb: float
    note: str = ""
    load_seconds: float | None = None
    #: :func:`_code` when the process started and when it ended (they differ if kpi/ was edited).
    code: list[str] = field(default_factory=list)

    def of(self, shape: str) -> Timings | None:
        return next((t for t in self.timings if t.shape == shape), None)

    @property
    def peak_rss_mb(self) -> float:
        return max(t.peak_rss_mb for t in self.timings)


def _code() -> str:
    """A fingerprint of the code ``ask()`` runs, which others may edit during a run.

    That is the kpi/ modules this process loaded, without the importer (kpi/importers/,
    kpi/ingest.py), which only the build uses; a store built by another version of it is caught
    by the agreement check. Modules ``ask()`` never loads (the bot's schedules, say) are left out,
    so that editing them does not void a run.
    """
    digest = hashlib.sha256()
    kpi = ROOT / "kpi"
    loaded = {
        Path(file)
        for name, module in sys.modules.items()
        if (name == "kpi" or name.startswith("kpi."))
        and (file := getattr(module, "__file__", None))
    }
    for path in sorted(p for p in loaded if p.is_relative_to(kpi)):
        if path.is_relative_to(kpi / "importers") or path == kpi / "ingest.py":
            continue
        digest.update(str(path.relative_to(ROOT)).encode())
        with contextlib.suppress(OSError):
            digest.update(path.read_bytes())
    return digest.hexdigest()[:10]


def _time_runs(
    run: Callable[[], object], warmup: int, repeat: int, budget: float, minimum: int
) -> tuple[list[float], object]:
    """``warmup`` untimed runs, then up to ``repeat`` timed ones (fewer past ``budget`` s).

    A shape so slow that one warm-up run takes a tenth of the budget gets only that one.
    """
    result: object = None
    for _ in range(warmup):
        started = time.perf_counter()
        result = run()
        if time.perf_counter() - started > budget / 10:
            break
    times: list[float] = []
    spent = 0.0
    while len(times) < repeat and (len(times) < minimum or spent < budget):
        started = time.perf_counter()
        result = run()
        elapsed = time.perf_counter() - started
        times.append(elapsed * 1000)
        spent += elapsed
    return times, result


def _answer_check(answer: Answer) -> Check:
    return Check(answer.value, answer.breakdown[0].label if answer.breakdown else None)


def _child_ask(spec: dict[str, Any]) -> dict[str, Any]:
    """Time ``ask()`` per shape on an existing store (the parent runs one shape per child)."""
    code = _code()
    engine = make_engine(spec["url"])
    today = dt.date.fromisoformat(spec["today"])
    with engine.connect():
        pass
    gc.collect()
    baseline = _status_mb("VmRSS")
    timings: list[Timings] = []
    for shape in spec["shapes"]:
        question = request_of(shape["text"], today)
        _reset_peak()
        times, answer = _time_runs(
            functools.partial(query.ask, engine, question, today=today),
            spec["warmup"],
            spec["repeat"],
            spec["budget"],
            spec["minimum"],
        )
        check = _answer_check(cast(Answer, answer))
        timings.append(Timings(shape["name"], times, _status_mb("VmHWM"), check))
        del answer
        gc.collect()
    engine.dispose()
    return asdict(Measured(spec["label"], timings, baseline, code=[code, _code()]))


def _sqlite_extension(connection: duckdb.DuckDBPyConnection) -> str | None:
    """Load DuckDB's sqlite extension (installing it needs the network); None when loaded."""
    with contextlib.suppress(duckdb.Error):
        connection.execute("SET http_timeout = 5000")
    try:
        try:
            connection.execute("LOAD sqlite")
        except duckdb.Error:
            connection.execute("INSTALL sqlite")
            connection.execute("LOAD sqlite")
    except duckdb.Error as exc:
        first = str(exc).splitlines()[0]
        return "not installed and could not be downloaded" if "download" in first else first
    return None


def _duckdb_load(connection: duckdb.DuckDBPyConnection, spec: dict[str, Any]) -> tuple[str, float]:
    """Copy the rows into DuckDB's own in-memory tables: what from, and the seconds it took."""
    missing = _sqlite_extension(connection)
    measures = ", ".join(f"CAST({m} AS DOUBLE) AS {m}" for m in COLUMNS[5:])
    started = time.perf_counter()
    if missing is None:
        connection.execute(
            "CREATE TABLE series AS SELECT id, platform, account, campaign, currency "
            "FROM sqlite_scan(?, 'series')",
            [spec["db"]],
        )
        connection.execute(
            "CREATE TABLE facts AS SELECT CAST(period_start AS DATE) AS period_start, "
            f"CAST(period_end AS DATE) AS period_end, series_id, {measures} "
            "FROM sqlite_scan(?, 'facts') ORDER BY period_start, series_id",
            [spec["db"]],
        )
        return "copied from the SQLite store with the sqlite scanner", time.perf_counter() - started
    connection.execute("CREATE TEMP TABLE raw AS SELECT * FROM read_csv_auto(?)", [spec["csv"]])
    connection.execute(
        "CREATE TABLE series AS SELECT CAST(row_number() OVER "
        "(ORDER BY platform, account, campaign, currency) AS INTEGER) AS id, "
        "platform, account, campaign, currency "
        "FROM (SELECT DISTINCT platform, account, campaign, currency FROM raw)"
    )
    connection.execute(
        "CREATE TABLE facts AS SELECT CAST(date AS DATE) AS period_start, "
        f"CAST(date AS DATE) AS period_end, s.id AS series_id, {measures} FROM raw "
        "JOIN series s USING (platform, account, campaign, currency) "
        "ORDER BY period_start, series_id"
    )
    connection.execute("DROP TABLE raw")
    return (
        f"loaded from the CSV with read_csv_auto (DuckDB's sqlite extension is {missing})",
        time.perf_counter() - started,
    )


def _child_sql(spec: dict[str, Any]) -> dict[str, Any]:
    """Time the core SQL of each shape through a plain driver: sqlite3, psycopg or DuckDB."""
    code = _code()
    dialect = spec["dialect"]
    today = dt.date.fromisoformat(spec["today"])
    note = ""
    load_seconds = None
    engine: Engine | None = None
    if dialect == "duckdb":
        connection: Any = duckdb.connect()
        note, load_seconds = _duckdb_load(connection, spec)
        threads = connection.execute("SELECT current_setting('threads')").fetchone()[0]
        note += f"; {threads} threads"
    else:
        # The same connection settings as the store's (SQLite pragmas), without SQLAlchemy.
        engine = make_engine(spec["url"])
        connection = engine.raw_connection().driver_connection
    gc.collect()
    baseline = _status_mb("VmRSS")
    timings: list[Timings] = []
    for shape in spec["shapes"]:
        question = request_of(shape["text"], today)
        sql, params = core_sql(question, dialect)

        def run(sql: str = sql, params: list[object] = params) -> tuple[list[str], list[Any]]:
            cursor = connection.cursor()
            cursor.execute(sql, params)
            rows = cursor.fetchall()
            columns = [d[0] for d in cursor.description]
            cursor.close()
            return columns, rows

        _reset_peak()
        times, result = _time_runs(
            run, spec["warmup"], spec["repeat"], spec["budget"], spec["minimum"]
        )
        columns, rows = cast(tuple[list[str], list[Any]], result)
        timings.append(
            Timings(shape["name"], times, _status_mb("VmHWM"), core_check(question, columns, rows))
        )
    connection.close()
    if engine is not None:
        engine.dispose()
    return asdict(Measured(spec["label"], timings, baseline, note, load_seconds, [code, _code()]))


#: What the phase breakdown wraps: (owner, attribute, label). Attributes the code under test does
#: not have (it moves on) are skipped, so the breakdown never breaks the benchmark.
def _targets() -> list[tuple[object, str, str]]:
    return [
        (Connection, "execute", "SQL: execute + fetch (driver)"),
        (CursorResult, "fetchall", "SQL: execute + fetch (driver)"),
        (CursorResult, "fetchmany", "SQL: execute + fetch (driver)"),
        (CursorResult, "scalar_one", "SQL: execute + fetch (driver)"),
        (CursorResult, "scalar_one_or_none", "SQL: execute + fetch (driver)"),
        (aggregate, "window_sums", "window_sums: rows -> DataFrame"),
        (aggregate, "unique_stats", "unique_stats: rows -> DataFrame"),
        (aggregate, "partial_overlaps", "partial_overlaps (Python)"),
        (aggregate, "last_dates", "last_dates (Python)"),
        (evaluate, "_bucket_of", "sparkline: _bucket_of (pandas)"),
        (evaluate, "_ratio_sums", "sums per group: buckets, currencies, KPI (pandas)"),
        (evaluate, "_ratio_cells_of", "cells of the rows shown (Python)"),
        (evaluate, "ranked", "breakdown: rank every group, top 10 + others"),
        (query, "ask", "ask(): the rest (Python)"),
    ]


def _instrument(phases: Phases) -> list[str]:
    return common.instrument(phases, _targets())


@dataclass
class Statement:
    """One SQL statement ``ask()`` ran: where from, how long (execute, then fetch), rows."""

    function: str
    sql: str
    params: str
    execute_ms: float = 0.0
    fetch_ms: float = 0.0
    rows: int | None = None


class SqlLog:
    """Records the statements of ``ask()`` (for the slow shape), with the aggregate call behind."""

    def __init__(self, engine: Engine) -> None:
        self.statements: list[Statement] = []
        self._function = "?"
        event.listen(engine, "before_cursor_execute", self._before)

    def _before(
        self, _conn: Any, _cursor: Any, statement: str, parameters: Any, _context: Any, _many: bool
    ) -> None:
        text = " ".join(statement.split())
        self.statements.append(Statement(self._function, text, repr(parameters)[:160]))

    def wrap_functions(self) -> None:
        for name in ("window_sums", "unique_stats", "partial_overlaps", "last_dates", "levels_at"):
            original = getattr(aggregate, name, None)
            if original is not None:
                setattr(aggregate, name, self._named(name, original))
        execute = Connection.execute
        fetchall = CursorResult.fetchall
        fetchmany = CursorResult.fetchmany

        def timed_execute(connection: Connection, *args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return execute(connection, *args, **kwargs)
            finally:
                if self.statements:
                    self.statements[-1].execute_ms += (time.perf_counter() - started) * 1000

        def timed_fetchall(result: CursorResult[Any]) -> Any:
            started = time.perf_counter()
            rows = fetchall(result)
            if self.statements:
                self.statements[-1].fetch_ms += (time.perf_counter() - started) * 1000
                self.statements[-1].rows = len(rows)
            return rows

        def timed_fetchmany(result: CursorResult[Any], size: int | None = None) -> Any:
            started = time.perf_counter()
            rows = fetchmany(result, size)
            if self.statements:
                self.statements[-1].fetch_ms += (time.perf_counter() - started) * 1000
                self.statements[-1].rows = (self.statements[-1].rows or 0) + len(rows)
            return rows

        setattr(Connection, "execute", timed_execute)  # noqa: B010
        setattr(CursorResult, "fetchall", timed_fetchall)  # noqa: B010
        setattr(CursorResult, "fetchmany", timed_fetchmany)  # noqa: B010

    def _named(self, name: str, function: Callable[..., Any]) -> Callable[..., Any]:
        def named(*args: Any, **kwargs: Any) -> Any:
            outer, self._function = self._function, name
            try:
                return function(*args, **kwargs)
            finally:
                self._function = outer

        return named


def _child_phases(spec: dict[str, Any]) -> dict[str, Any]:
    """Exclusive wall time per phase of one ``ask()`` per shape (after one warm-up)."""
    code = _code()
    phases = Phases()
    missing = _instrument(phases)
    engine = make_engine(spec["url"])
    today = dt.date.fromisoformat(spec["today"])
    result: dict[str, Any] = {"shapes": {}, "not_wrapped": missing, "code": [code]}
    for shape in spec["shapes"]:
        question = request_of(shape["text"], today)
        query.ask(engine, question, today=today)
        phases.reset()
        started = time.perf_counter()
        query.ask(engine, question, today=today)
        total = time.perf_counter() - started
        result["shapes"][shape["name"]] = {"total": total, "phases": dict(phases.seconds)}
    engine.dispose()
    result["code"].append(_code())
    return result


def _child_profile(spec: dict[str, Any]) -> dict[str, Any]:
    """cProfile ``ask()`` on one shape, and the SQL statements it runs with their times."""
    code = _code()
    engine = make_engine(spec["url"])
    today = dt.date.fromisoformat(spec["today"])
    question = request_of(spec["text"], today)
    query.ask(engine, question, today=today)
    profiler = cProfile.Profile()
    started = time.perf_counter()
    profiler.enable()
    for _ in range(spec["runs"]):
        query.ask(engine, question, today=today)
    profiler.disable()
    seconds = time.perf_counter() - started
    rows = common.profile_rows(profiler)
    log = SqlLog(engine)
    log.wrap_functions()
    started = time.perf_counter()
    query.ask(engine, question, today=today)
    logged = time.perf_counter() - started
    engine.dispose()
    return {
        "total": seconds,
        "runs": spec["runs"],
        "functions": rows[:80],
        "statements": [asdict(s) for s in log.statements],
        "logged_seconds": logged,
        "code": [code, _code()],
    }


def _run_child(spec: dict[str, Any]) -> dict[str, Any]:
    """Run ``spec`` in a fresh interpreter and return the JSON it prints last."""
    completed = subprocess.run(
        [sys.executable, "-m", "benchmarks.query_bench", "--child", json.dumps(spec)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    if completed.returncode != 0:
        raise RuntimeError(
            f"benchmark child {spec['mode']} failed ({completed.returncode}):\n{completed.stderr}"
        )
    return cast(dict[str, Any], json.loads(completed.stdout.strip().splitlines()[-1]))


def _child_main(argument: str) -> None:
    spec = cast(dict[str, Any], json.loads(argument))
    modes: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
        "ask": _child_ask,
        "sql": _child_sql,
        "phases": _child_phases,
        "profile": _child_profile,
    }
    print(json.dumps(modes[spec["mode"]](spec), default=str))


def _measured(found: dict[str, Any]) -> Measured:
    timings = [
        Timings(
            t["shape"],
            t["ms"],
            t["peak_rss_mb"],
            Check(**t["check"]) if t["check"] is not None else None,
        )
        for t in found.pop("timings")
    ]
    return Measured(timings=timings, **found)


# --------------------------------------------------------------------------------------------
# Runs
# --------------------------------------------------------------------------------------------


@dataclass
class EngineRun:
    """Everything measured on one engine (SQLite or PostgreSQL) and its DuckDB reference."""

    engine: str
    build: Build
    ours: Measured
    plain: Measured
    duckdb: Measured
    phases: dict[str, Any] = field(default_factory=dict)
    profile: dict[str, Any] = field(default_factory=dict)
    profiled_shape: str = ""


def _spec(mode: str, url: str, data: Dataset, arguments: argparse.Namespace, **extra: Any) -> Any:
    return {
        "mode": mode,
        "url": url,
        "db": str(data.db),
        "csv": str(data.csv),
        "today": TODAY.isoformat(),
        "shapes": [asdict(s) for s in shapes(data.campaign) if _selected(s, arguments)],
        "warmup": arguments.warmup,
        "repeat": arguments.repeat,
        "budget": arguments.budget,
        "minimum": arguments.min_runs,
        **extra,
    }


def _selected(shape: Shape, arguments: argparse.Namespace) -> bool:
    return not arguments.shape or shape.name in arguments.shape


def _progress(console: Console, what: str, measured: Measured) -> None:
    parts = [f"{t.shape} {t.p50:,.1f}/{t.p95:,.1f} ms" for t in measured.timings]
    console.print(
        f"{what}: p50/p95 "
        + "; ".join(parts)
        + f"; peak RSS {measured.peak_rss_mb:.0f} MB; load average now {_load()}"
    )


def _load() -> str:
    return " ".join(f"{value:.2f}" for value in os.getloadavg())


def measure_engine(
    engine: str,
    url: str,
    build: Build,
    data: Dataset,
    duck: Measured,
    arguments: argparse.Namespace,
    console: Console,
) -> EngineRun:
    dialect = "sqlite" if engine == SQLITE else "postgresql"
    console.print(f"{engine}: timing ask(), each shape in a process of its own ...")
    ours = Measured(f"ask() on {engine}", [], 0.0)
    for shape in shapes(data.campaign):
        if _selected(shape, arguments):
            spec = _spec("ask", url, data, arguments, label=ours.label)
            found = _measured(_run_child({**spec, "shapes": [asdict(shape)]}))
            ours.timings += found.timings
            ours.baseline_rss_mb = max(ours.baseline_rss_mb, found.baseline_rss_mb)
            ours.code += found.code
    _progress(console, f"ask() on {engine}", ours)
    plain = _measured(
        _run_child(
            _spec("sql", url, data, arguments, dialect=dialect, label=f"core SQL on {engine}")
        )
    )
    _progress(console, f"core SQL on {engine}", plain)
    run = EngineRun(engine, build, ours, plain, duck)
    if not arguments.no_profile:
        run.phases = _run_child(_spec("phases", url, data, arguments))
        slowest = max(ours.timings, key=lambda t: t.p50)
        name = arguments.profile_shape or slowest.shape
        text = next(s.text for s in shapes(data.campaign) if s.name == name)
        console.print(f"{engine}: profiling ask() on {name!r} ...")
        profiled = ours.of(name)
        runs = 3 if profiled is None else max(1, min(3, int(20_000 / profiled.p50)))
        run.profile = _run_child(
            {"mode": "profile", "url": url, "today": TODAY.isoformat(), "text": text, "runs": runs}
        )
        run.profiled_shape = name
    return run


def measure_duckdb(data: Dataset, arguments: argparse.Namespace, console: Console) -> Measured:
    ensure_csv(data, console)
    console.print("DuckDB: loading the rows and timing the core SQL ...")
    duck = _measured(
        _run_child(_spec("sql", "", data, arguments, dialect="duckdb", label="core SQL on DuckDB"))
    )
    console.print(f"DuckDB: {duck.note}, load {duck.load_seconds:.1f} s")
    _progress(console, "core SQL on DuckDB", duck)
    return duck


@contextlib.contextmanager
def _postgres_server(arguments: argparse.Namespace, console: Console) -> Iterator[str | None]:
    """DATABASE_URL when it names PostgreSQL, else a throwaway cluster with ``--postgres``."""
    configured = os.environ.get("DATABASE_URL", "")
    if configured.startswith(("postgresql", "postgres://")):
        for plain in ("postgresql://", "postgres://"):
            if configured.startswith(plain):
                configured = "postgresql+psycopg://" + configured.removeprefix(plain)
        yield configured
    elif arguments.postgres:
        with throwaway_cluster() as url:
            if url is None:
                console.print("[yellow]PostgreSQL binaries not found: skipping PostgreSQL[/]")
            yield url
    else:
        yield None


# --------------------------------------------------------------------------------------------
# Report
# --------------------------------------------------------------------------------------------


def _ratio(value: float) -> str:
    return f"{value:,.0f}x" if value >= 10 else f"{value:.1f}x"


def summary_table(run: EngineRun, data: Dataset) -> Table:
    table = Table(
        title=f"ask() on {run.engine}, {data.rows:,} daily rows ({data.series:,} series x {DAYS} "
        f"days), today = {TODAY}; milliseconds per question, in-process"
    )
    table.add_column("shape")
    table.add_column("question (/kpi ...)")
    table.add_column("runs", justify="right")
    table.add_column("ours\np50", justify="right")
    table.add_column("ours\np95", justify="right")
    table.add_column("ours\np99", justify="right")
    table.add_column("ours\nmax", justify="right")
    table.add_column("peak RSS\nMB", justify="right")
    table.add_column(f"core SQL on\n{run.engine} p50", justify="right")
    table.add_column("DuckDB\np50", justify="right")
    table.add_column("DuckDB\np95", justify="right")
    table.add_column("ours / DuckDB\np95", justify="right")
    table.add_column(f"p95 <= {TARGET_P95_MS:.0f} ms\nRSS < {TARGET_RSS_MB:.0f} MB")
    texts = {s.name: s.text for s in shapes(data.campaign)}
    for ours in run.ours.timings:
        plain, duck = run.plain.of(ours.shape), run.duckdb.of(ours.shape)
        agree = all(
            other is None
            or ours.check is None
            or other.check is None
            or ours.check.agrees(other.check)
            for other in (plain, duck)
        )
        passes = ours.p95 <= TARGET_P95_MS and ours.peak_rss_mb < TARGET_RSS_MB
        table.add_row(
            ours.shape,
            texts.get(ours.shape, "?"),
            str(len(ours.ms)),
            common.ms(ours.p50),
            common.ms(ours.p95),
            common.ms(ours.p99),
            common.ms(ours.max),
            f"{ours.peak_rss_mb:.0f}",
            common.ms(plain.p50 if plain else None),
            common.ms(duck.p50 if duck else None),
            common.ms(duck.p95 if duck else None),
            _ratio(ours.p95 / duck.p95) if duck else "",
            ("[green]pass[/]" if passes else "[red]FAIL[/]") + ("" if agree else " [red]≠[/]"),
        )
    return table


def phase_table(run: EngineRun) -> Table:
    """Exclusive milliseconds per phase of one ask() per shape (instrumented, so slower)."""
    shapes_found: dict[str, Any] = run.phases["shapes"]
    table = Table(title=f"Where ask() spends its time on {run.engine} (exclusive ms, one run)")
    table.add_column("phase")
    for name in shapes_found:
        table.add_column(name, justify="right")
    names: list[str] = []
    for found in shapes_found.values():
        for name in found["phases"]:
            if name not in names:
                names.append(name)
    slowest = max(shapes_found.values(), key=lambda found: float(found["total"]))
    names.sort(key=lambda name: -float(slowest["phases"].get(name, 0.0)))
    for name in names:
        cells = []
        for found in shapes_found.values():
            seconds = found["phases"].get(name)
            share = f" ({seconds / found['total']:.0%})" if seconds is not None else ""
            cells.append("" if seconds is None else f"{seconds * 1000:,.1f}{share}")
        table.add_row(name, *cells)
    table.add_row(
        "total ask()",
        *(f"{float(found['total']) * 1000:,.1f}" for found in shapes_found.values()),
        style="bold",
    )
    return table


def profile_table(run: EngineRun, limit: int) -> Table:
    profile = run.profile
    table = Table(
        title=f"cProfile of ask() on {run.engine}, shape {run.profiled_shape!r} "
        f"(top {limit} by cumulative time; {profile['runs']} runs, "
        f"{profile['total']:.1f} s under the profiler)"
    )
    table.add_column("function")
    table.add_column("calls", justify="right")
    table.add_column("own s", justify="right")
    table.add_column("cumulative s", justify="right")
    shown = 0
    for row in profile["functions"]:
        name = str(row["function"])
        if name.startswith("benchmarks/") or "disable' of '_lsprof" in name:
            continue
        table.add_row(name, f"{row['calls']:,}", f"{row['own']:.2f}", f"{row['cumulative']:.2f}")
        shown += 1
        if shown >= limit:
            break
    return table


def statement_table(run: EngineRun) -> Table:
    profile = run.profile
    table = Table(
        title=f"SQL statements of one ask() on {run.engine}, shape {run.profiled_shape!r} "
        f"({profile['logged_seconds'] * 1000:,.0f} ms in all)"
    )
    table.add_column("from")
    table.add_column("statement (parameters)", overflow="fold", max_width=110)
    table.add_column("execute ms", justify="right")
    table.add_column("fetch ms", justify="right")
    table.add_column("rows", justify="right")
    for found in profile["statements"]:
        table.add_row(
            found["function"],
            f"{found['sql']}  {found['params']}",
            f"{found['execute_ms']:,.1f}",
            f"{found['fetch_ms']:,.1f}",
            "" if found["rows"] is None else f"{found['rows']:,}",
        )
    return table


def report(runs: Sequence[EngineRun], data: Dataset, arguments: argparse.Namespace) -> None:
    console = common.console()
    for run in runs:
        console.print()
        console.print(summary_table(run, data))
        console.print(run.build.describe())
        console.print(
            f"RSS of the ask() process after imports and opening the store: "
            f"{run.ours.baseline_rss_mb:.0f} MB; peak over the query phase "
            f"{run.ours.peak_rss_mb:.0f} MB (VmHWM of a fresh process per shape, reset after "
            "opening the store; the build and the other engines do not count)"
        )
        console.print(
            f"DuckDB: {run.duckdb.note}; load {run.duckdb.load_seconds or 0:.1f} s, RSS "
            f"{run.duckdb.baseline_rss_mb:.0f} MB after the load, peak "
            f"{run.duckdb.peak_rss_mb:.0f} MB while querying"
        )
        console.print(
            f"core SQL on {run.engine}: the same statements as DuckDB's, through the plain driver "
            f"(no SQLAlchemy); RSS peak {run.plain.peak_rss_mb:.0f} MB"
        )
        mismatched = [
            t.shape
            for t in run.ours.timings
            for other in (run.plain.of(t.shape), run.duckdb.of(t.shape))
            if other is not None
            and t.check is not None
            and other.check is not None
            and not t.check.agrees(other.check)
        ]
        if mismatched:
            console.print(
                f"[red]≠ the value or first row differ from the core SQL's: {mismatched} (a store "
                "cached before an importer change? rerun with --rebuild)[/]"
            )
        else:
            console.print("values and first breakdown rows agree between ask() and the core SQL")
        if run.engine == POSTGRES:
            console.print(
                "PostgreSQL: the RSS figures are the Python process's; the server's memory is not "
                "included"
            )
        if run.engine == POSTGRES and data.rows < 10_000_000:
            console.print(
                f"[yellow]PostgreSQL measured at {data.rows:,} rows (scaled down with --rows); the "
                "target is stated for 10,001,000 rows on SQLite[/]"
            )
    codes = sorted(
        {
            code
            for run in runs
            for code in [
                *run.ours.code,
                *run.plain.code,
                *run.duckdb.code,
                *run.phases.get("code", []),
                *run.profile.get("code", []),
            ]
        }
    )
    if len(codes) > 1:
        console.print(
            f"[red]kpi/ changed while this ran (fingerprints {', '.join(codes)}): the figures mix "
            "versions of the code under test; run it again[/]"
        )
    else:
        console.print(f"kpi/ fingerprint {''.join(codes)}, unchanged during the run")
    console.print()
    console.print(CORE_SQL_OMITS)
    for run in runs:
        if run.phases:
            console.print()
            console.print(phase_table(run))
        if run.profile:
            console.print()
            console.print(profile_table(run, arguments.top))
            console.print()
            console.print(statement_table(run))


# --------------------------------------------------------------------------------------------
# Main
# --------------------------------------------------------------------------------------------


def _arguments(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.query_bench", description=__doc__.splitlines()[0]
    )
    parser.add_argument(
        "--rows",
        type=int,
        default=10_000_000,
        help="about this many daily rows (2 years; campaigns scale with it)",
    )
    parser.add_argument("--repeat", type=int, default=30, help="timed runs per shape")
    parser.add_argument("--warmup", type=int, default=2, help="untimed runs first")
    parser.add_argument(
        "--budget",
        type=float,
        default=90.0,
        help="seconds of timed runs per shape and engine; past it a slow shape stops early",
    )
    parser.add_argument(
        "--min-runs", type=int, default=5, help="timed runs per shape, whatever the budget"
    )
    parser.add_argument(
        "--postgres",
        action="store_true",
        help="also measure PostgreSQL in a throwaway cluster (DATABASE_URL, when it names "
        "PostgreSQL, is measured without this flag)",
    )
    parser.add_argument(
        "--rebuild", action="store_true", help="build the SQLite store again even if cached"
    )
    parser.add_argument("--shape", action="append", help="only this shape (repeatable)")
    parser.add_argument("--no-profile", action="store_true", help="skip phases and cProfile")
    parser.add_argument("--profile-shape", help="shape to profile (default: the slowest)")
    parser.add_argument("--top", type=int, default=25, help="cProfile functions to print")
    parser.add_argument("--json", type=Path, help="also write every figure to this JSON file")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> None:
    arguments = _arguments(argv)
    if arguments.child is not None:
        _child_main(arguments.child)
        return
    console = common.console()
    data = dataset(arguments.rows)
    console.print(
        f"data: {data.rows:,} daily rows = {len(PLATFORMS)} platforms x {data.per_platform:,} "
        f"campaigns x {DAYS} days ({FIRST_DAY} .. {LAST_DAY}), EUR; today = {TODAY}; store "
        f"{data.db.relative_to(ROOT)}"
    )
    info = {"commit": common.revision("kpi"), **machine(), "duckdb": duckdb.__version__}
    console.print("machine: " + ", ".join(f"{key} {value}" for key, value in info.items()))
    build = build_sqlite(data, console, rebuild=arguments.rebuild)
    console.print(build.describe())
    duck = measure_duckdb(data, arguments, console)
    runs = [measure_engine(SQLITE, data.sqlite_url, build, data, duck, arguments, console)]
    with _postgres_server(arguments, console) as server:
        if server is not None:
            built = build_postgres(server, data, console)
            if built is not None:
                runs.append(measure_engine(POSTGRES, server, built, data, duck, arguments, console))
    report(runs, data, arguments)
    if arguments.json is not None:
        arguments.json.write_text(
            json.dumps(
                {"machine": info, "data": asdict(data), "runs": [asdict(r) for r in runs]},
                indent=2,
                default=str,
            )
        )


if __name__ == "__main__":
    main()
