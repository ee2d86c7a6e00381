"""Benchmark: importing a large canonical CSV into SQLite and PostgreSQL.

The requirement it checks: a 1,000,000-row canonical export imports end to end at 300,000 rows/s
or more into SQLite, with a peak RSS of at most 1 GB (the importer streams in chunks), and a
re-import of the same file (which replaces every row) runs at the same speed. The same figures are
measured on PostgreSQL, and a plain pandas ``read_csv`` + ``DataFrame.to_sql`` into SQLite is the
reference.

Every import runs in a fresh interpreter (``python -m benchmarks.ingest_bench --child ...``), so
its peak RSS (the kernel's ``VmHWM`` of that process) is the import's own and not the generator's.
Run it with::

    .venv/bin/python -m benchmarks.ingest_bench --rows 1000000 --repeat 3

See ``benchmarks/README.md`` for the measured figures.
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import datetime as dt
import functools
import gc
import importlib
import io
import json
import math
import os
import platform
import resource
import shutil
import signal
import sqlite3
import statistics
import subprocess
import sys
import tarfile
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from multiprocessing.connection import Connection as MultiprocessingConnection
from pathlib import Path
from typing import Any, TypeVar, cast

import numpy as np
import numpy.typing as npt
import pandas as pd
import psycopg
from rich.console import Console
from rich.table import Table
from sqlalchemy import __version__ as sqlalchemy_version
from sqlalchemy import create_engine, make_url, text
from sqlalchemy.engine.base import Connection, Transaction

import kpi.ingest as ingest_module
from benchmarks.common import DATA_DIR, ROOT, copy_benchmarks, instrument, profile_rows
from benchmarks.common import revision as revision_of
from kpi.importers import checks
from kpi.importers import reader as reader_module
from kpi.importers.reader import ReadOptions
from kpi.ingest import FileReport, ingest_file
from kpi.store import writer
from kpi.store.engine import open_store
from tests.postgres import throwaway_cluster

#: Bump when the generated file changes, so a stale cached file is never reused.
GENERATOR_VERSION = 1
SEED = 20_240_101
FIRST_DAY = dt.date(2024, 1, 1)
PLATFORMS: tuple[str, ...] = ("facebook", "google-ads", "instagram", "linkedin", "tiktok")
CAMPAIGNS_PER_PLATFORM = 2_740
COLUMNS: tuple[str, ...] = (
    "date",
    "platform",
    "account",
    "campaign",
    "creator",
    "item",
    "currency",
    "impressions",
    "clicks",
    "spend",
    "conversions",
    "revenue",
    "likes",
    "comments",
    "shares",
    "reach",
)
#: Accounts of the export, each with its currency.
ACCOUNTS: tuple[tuple[str, str], ...] = (
    ("Acme EU", "EUR"),
    ("Acme US", "USD"),
    ("Acme UK", "GBP"),
)
OBJECTIVES: tuple[str, ...] = (
    "Always-on Prospecting",
    "Retargeting",
    "Brand Awareness",
    "Catalog Sales",
    "Lead Gen",
    "App Installs",
    "Video Views",
    "Spring Launch",
    "Summer Sale",
    "Back to School",
    "Black Friday",
    "Christmas Gifting",
    "Soldes d'été",
    "Rentrée",
)
MARKETS: tuple[str, ...] = ("EU", "DACH", "FR", "UK", "US", "Nordics", "Benelux", "Iberia")
CREATORS: tuple[str, ...] = (
    "@lena.makes",
    "@tom.trains",
    "@mila.daily",
    "@noor.eats",
    "@sunny.sofia",
    "@jay.dances",
    "@the.fitfam",
    "@kai.skates",
    "@unbox.with.ben",
)
#: Platforms whose export carries engagement (likes, comments, shares, reach).
SOCIAL: frozenset[str] = frozenset({"facebook", "instagram", "linkedin", "tiktok"})
#: Platforms with creator (influencer) campaigns: reach and engagement only, no clicks or money.
INFLUENCER_PLATFORMS: frozenset[str] = frozenset({"instagram", "tiktok"})

WORKER = "reader process:"
SQLITE = "SQLite"
POSTGRES = "PostgreSQL"
TARGET_ROWS_PER_SECOND = 300_000
TARGET_PEAK_MB = 1024.0
REFERENCE_CHUNKSIZE = 100_000

Floats = npt.NDArray[np.float64]
Counts = npt.NDArray[np.int64]
F = TypeVar("F", bound=Callable[..., Any])


# --------------------------------------------------------------------------------------------
# The generated file
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Dataset:
    """A generated canonical CSV and the dates it covers."""

    path: Path
    rows: int
    first: dt.date
    last: dt.date
    series: int
    size_mb: float

    @property
    def today(self) -> dt.date:
        return self.last + dt.timedelta(days=1)

    @property
    def now(self) -> dt.datetime:
        return dt.datetime.combine(self.today, dt.time(9, 30), tzinfo=dt.UTC)


@dataclass(frozen=True)
class _Campaigns:
    """Every (platform, campaign) series of the export, in export order, with its daily habits."""

    platform: npt.NDArray[np.object_]
    account: npt.NDArray[np.object_]
    currency: npt.NDArray[np.object_]
    campaign: npt.NDArray[np.object_]
    creator: npt.NDArray[np.object_]
    impressions: Floats
    ctr: Floats
    cpm: Floats
    cvr: Floats
    aov: Floats
    engagement: Floats
    social: npt.NDArray[np.bool_]
    influencer: npt.NDArray[np.bool_]

    def __len__(self) -> int:
        return len(self.campaign)


def _campaign_names(rng: np.random.Generator, count: int) -> list[str]:
    """Distinct names as people write them; a few hold commas (quoted in the CSV)."""
    names = []
    for number in range(count):
        objective = OBJECTIVES[int(rng.integers(len(OBJECTIVES)))]
        market = MARKETS[int(rng.integers(len(MARKETS)))]
        separator = ", " if rng.random() < 0.05 else " - "
        names.append(f"{objective}{separator}{market} {number + 1:04d}")
    return sorted(names)


def _campaigns(rng: np.random.Generator) -> _Campaigns:
    platforms: list[str] = []
    names: list[str] = []
    for name in PLATFORMS:
        platforms += [name] * CAMPAIGNS_PER_PLATFORM
        names += _campaign_names(rng, CAMPAIGNS_PER_PLATFORM)
    count = len(names)
    platform_array = np.asarray(platforms, dtype=object)
    account_index = rng.choice(len(ACCOUNTS), size=count, p=[0.5, 0.35, 0.15])
    social = np.isin(platform_array, sorted(SOCIAL))
    influencer = np.isin(platform_array, sorted(INFLUENCER_PLATFORMS)) & (rng.random(count) < 0.2)
    creator = np.full(count, "", dtype=object)
    creator[influencer] = rng.choice(np.asarray(CREATORS, dtype=object), size=int(influencer.sum()))
    return _Campaigns(
        platform=platform_array,
        account=np.asarray([ACCOUNTS[i][0] for i in account_index], dtype=object),
        currency=np.asarray([ACCOUNTS[i][1] for i in account_index], dtype=object),
        campaign=np.asarray(names, dtype=object),
        creator=creator,
        impressions=rng.lognormal(np.log(6_000.0), 1.1, count),
        ctr=np.clip(rng.lognormal(np.log(0.012), 0.5, count), 0.0005, 0.2),
        cpm=rng.lognormal(np.log(8.0), 0.45, count),
        cvr=np.clip(rng.lognormal(np.log(0.03), 0.6, count), 0.001, 0.5),
        aov=rng.lognormal(np.log(70.0), 0.5, count),
        engagement=np.clip(rng.lognormal(np.log(0.012), 0.5, count), 0.0005, 0.2),
        social=social,
        influencer=influencer,
    )


def _nullable_counts(values: Counts, present: npt.NDArray[np.bool_]) -> pd.Series:
    """Integers with <NA> where the platform does not report the measure (an empty cell)."""
    return pd.Series(pd.array(values, dtype="Int64")).where(present, pd.NA)


def generate_frame(rows: int, seed: int = SEED) -> tuple[pd.DataFrame, int, int]:
    """``rows`` rows of one day per (platform, campaign), sorted by date, platform and campaign.

    Returns the frame, the number of days and the number of series. The last day is cut short
    when ``rows`` is not a multiple of the series count, as an export taken mid-day would be.
    """
    rng = np.random.default_rng(seed)
    campaigns = _campaigns(rng)
    series = len(campaigns)
    days = math.ceil(rows / series)
    day = np.repeat(np.arange(days), series)[:rows]
    index = np.tile(np.arange(series), days)[:rows]
    calendar = pd.date_range(pd.Timestamp(FIRST_DAY), periods=days, freq="D")
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
    rate = campaigns.engagement[index]
    likes = rng.binomial(impressions, np.clip(rate, 0.0, 1.0)).astype(np.int64)
    comments = rng.binomial(likes, 0.08).astype(np.int64)
    shares = rng.binomial(likes, 0.05).astype(np.int64)
    reach = np.floor(impressions / rng.uniform(1.05, 1.6, rows)).astype(np.int64)
    social = campaigns.social[index]
    paid = ~campaigns.influencer[index]
    frame = pd.DataFrame(
        {
            "date": np.asarray(calendar.strftime("%Y-%m-%d"), dtype=object)[day],
            "platform": campaigns.platform[index],
            "account": campaigns.account[index],
            "campaign": campaigns.campaign[index],
            "creator": campaigns.creator[index],
            "item": "",
            "currency": campaigns.currency[index],
            "impressions": impressions,
            "clicks": _nullable_counts(clicks, paid),
            "spend": pd.Series(spend).where(paid),
            "conversions": _nullable_counts(conversions, paid),
            "revenue": pd.Series(revenue).where(paid),
            "likes": _nullable_counts(likes, social),
            "comments": _nullable_counts(comments, social),
            "shares": _nullable_counts(shares, social),
            "reach": _nullable_counts(reach, social),
        },
        columns=list(COLUMNS),
    )
    return frame, days, series


def dataset(rows: int, data_dir: Path = DATA_DIR, *, console: Console | None = None) -> Dataset:
    """The cached CSV of ``rows`` rows, generated (deterministically) on first use."""
    path = data_dir / f"canonical_{rows}_seed{SEED}_v{GENERATOR_VERSION}.csv"
    series = len(PLATFORMS) * CAMPAIGNS_PER_PLATFORM
    days = math.ceil(rows / series)
    if not path.exists():
        data_dir.mkdir(parents=True, exist_ok=True)
        started = time.perf_counter()
        frame, days, series = generate_frame(rows)
        partial = path.with_suffix(f".{os.getpid()}.partial")
        frame.to_csv(partial, index=False, float_format="%.2f", lineterminator="\n")
        partial.replace(path)
        if console is not None:
            console.print(
                f"generated {path.relative_to(ROOT)} in {time.perf_counter() - started:.1f} s"
            )
        del frame
        gc.collect()
    return Dataset(
        path=path,
        rows=rows,
        first=FIRST_DAY,
        last=FIRST_DAY + dt.timedelta(days=days - 1),
        series=min(series, rows),
        size_mb=path.stat().st_size / 1e6,
    )


# --------------------------------------------------------------------------------------------
# Child processes: one import each, so that its peak RSS is its own
# --------------------------------------------------------------------------------------------


def _peak_rss_mb() -> float:
    """The peak resident set of this process (``VmHWM``), in MB.

    ``VmHWM`` belongs to the memory map created at exec, so unlike ``ru_maxrss`` it never includes
    the parent's memory at fork time.
    """
    with contextlib.suppress(OSError):
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _peak_rss_with_reader_mb() -> float:
    """The import's peak memory: this process's ``VmHWM`` plus the peak of its largest ended
    child (the importer's forked reader process). Adding the two peaks counts the pages they
    share (the interpreter, pandas) twice, so this is an upper bound."""
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return _peak_rss_mb() + children


def _current_rss_mb() -> float:
    with contextlib.suppress(OSError):
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


@dataclass(frozen=True)
class ImportRun:
    """One timed import, measured in its own process."""

    seconds: float
    rows_written: int
    rows_replaced: int
    peak_rss_mb: float
    baseline_rss_mb: float
    open_store_seconds: float

    def rate(self, rows: int) -> float:
        return rows / self.seconds


def _ingest(
    url: str,
    path: Path,
    today: dt.date,
    now: dt.datetime,
    before: Callable[[], None] | None = None,
) -> tuple[float, FileReport, float]:
    """Open the store (migrations, not timed), then time one ``ingest_file``."""
    started = time.perf_counter()
    engine = open_store(url)
    opened = time.perf_counter() - started
    gc.collect()
    if before is not None:
        before()
    started = time.perf_counter()
    report = ingest_file(engine, path, ReadOptions(today=today), now=now, source="canonical")
    seconds = time.perf_counter() - started
    engine.dispose()
    return seconds, report, opened


def _child_import(spec: dict[str, str]) -> dict[str, Any]:
    baseline = _current_rss_mb()
    seconds, report, opened = _ingest(
        spec["url"],
        Path(spec["path"]),
        dt.date.fromisoformat(spec["today"]),
        dt.datetime.fromisoformat(spec["now"]),
    )
    return asdict(
        ImportRun(
            seconds=seconds,
            rows_written=report.rows_written,
            rows_replaced=report.rows_replaced,
            peak_rss_mb=_peak_rss_with_reader_mb(),
            baseline_rss_mb=baseline,
            open_store_seconds=opened,
        )
    )


class Phases:
    """Exclusive wall time of wrapped functions: a call inside another is not counted twice.

    Each thread keeps its own stack. Phases run in the importer's forked reader process (it
    parses the next chunk there while the main process writes) are labelled ``reader process:``
    and sent back by :meth:`wrap_reader`: they overlap the main process's, so only the main
    process's phases add up to the wall time of the import.
    """

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self.calls: dict[str, int] = {}
        self._local = threading.local()
        self._pid = os.getpid()

    def _stack(self) -> list[float]:
        stack: list[float] | None = getattr(self._local, "stack", None)
        if stack is None:
            stack = []
            self._local.stack = stack
        return stack

    def _enter(self) -> None:
        self._stack().append(0.0)

    def _leave(self, name: str, elapsed: float) -> None:
        stack = self._stack()
        nested = stack.pop()
        if os.getpid() != self._pid:
            name = f"{WORKER} {name}"
        self.seconds[name] = self.seconds.get(name, 0.0) + elapsed - nested
        self.calls[name] = self.calls.get(name, 0) + 1
        if stack:
            stack[-1] += elapsed

    def wrap(self, name: str, function: F) -> F:
        @functools.wraps(function)
        def timed(*args: Any, **kwargs: Any) -> Any:
            self._enter()
            started = time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                self._leave(name, time.perf_counter() - started)

        return cast(F, timed)

    def wrap_generator(self, name: str, function: F) -> F:
        """Time each ``next()`` of the generator ``function`` returns (the parsing of a chunk)."""

        @functools.wraps(function)
        def timed(*args: Any, **kwargs: Any) -> Iterator[Any]:
            inner = iter(function(*args, **kwargs))
            while True:
                self._enter()
                started = time.perf_counter()
                try:
                    item = next(inner)
                except StopIteration:
                    return
                finally:
                    self._leave(name, time.perf_counter() - started)
                yield item

        return cast(F, timed)

    def wrap_reader(self, function: F, outbox: Path) -> F:
        """Wrap the generator run in the reader process: once it is exhausted there, write that
        process's phases to ``outbox`` for :meth:`collect_reader`."""

        @functools.wraps(function)
        def timed(*args: Any, **kwargs: Any) -> Iterator[Any]:
            yield from function(*args, **kwargs)
            if os.getpid() != self._pid:
                mine = {k: v for k, v in self.seconds.items() if k.startswith(WORKER)}
                outbox.write_text(json.dumps(mine))

        return cast(F, timed)

    def collect_reader(self, outbox: Path) -> None:
        if outbox.exists():
            for name, seconds in json.loads(outbox.read_text()).items():
                self.seconds[name] = self.seconds.get(name, 0.0) + seconds
            outbox.unlink()

    def reset(self) -> None:
        self.seconds.clear()
        self.calls.clear()


#: What the phase breakdown wraps: (owner, attribute, label). Attributes the code under test does
#: not have (it moves on) are skipped, so the breakdown never breaks the benchmark.
def _targets() -> list[tuple[object, str, str]]:
    reader = reader_module.Reader
    targets: list[tuple[object, str, str]] = [
        (reader, "_canonical", "canonical frame (glue)"),
        (reader, "_drop_blank_and_total_rows", "blank/total rows"),
        (reader_module, "column_kinds", "realign: column kinds"),
        (reader_module, "realign", "realign (shifted rows)"),
        (reader, "_periods", "dates (parse_dates)"),
        (reader, "_dimensions", "dimensions (strip, platform)"),
        (reader, "_measures", "measures (parse_numbers)"),
        (checks, "inspect", "checks"),
        (checks, "refuse_negative_counts", "checks"),
        (checks, "suspicious", "checks"),
        (ingest_module, "_name_duplicate_items", "duplicate items"),
        (ingest_module, "_refuse_duplicates", "duplicate rows check"),
        (ingest_module, "combinations", "series keys (factorise)"),
        (writer.SeriesIds, "of", "series ids (look-up)"),
        (writer.SeriesIds, "_ensure", "series ids (insert+select)"),
        (ingest_module, "_row_keys", "duplicate keys (factorise)"),
        (writer, "iso_strings", "bulk insert: iso_strings"),
        (ingest_module, "write_facts", "write_facts (glue)"),
        (writer, "_execute_many", "bulk insert: executemany (SQLite: facts, rollups)"),
        (writer, "_copy", "bulk insert: Arrow CSV frame (PG: facts, rollups)"),
        (Connection, "exec_driver_sql", "exec_driver_sql"),
        (pd.DataFrame, "to_csv", "write_facts: to_csv (COPY text)"),
        (psycopg.Copy, "write", "write_facts: COPY write"),
        (psycopg.Copy, "finish", "write_facts: COPY finish (server inserts)"),
        (ingest_module._Tally, "cover", "coverage (groupby)"),
        (ingest_module, "daily_rollup", "rollups: sum per day (groupby)"),
        (ingest_module, "combine_rollups", "rollups: sum per day (groupby)"),
        (ingest_module, "write_rollup", "rollups: write"),
        (ingest_module, "_delete_earlier", "delete earlier rows"),
        (ingest_module, "_sha256", "sha256"),
        (ingest_module, "sniff", "sniff (utf-8 scan)"),
        (ingest_module, "refresh_statistics", "ANALYZE after commit (PG)"),
        (ingest_module, "_replace_rest", "delete what no chunk reached, forget rollups"),
        (Transaction, "commit", "commit"),
        (MultiprocessingConnection, "recv", "waiting for the reader process"),
    ]
    with contextlib.suppress(ImportError):
        rollups = importlib.import_module("kpi.store.rollups")
        found = getattr(rollups, "ImportRollups", None)
        targets += [
            (rollups, "chunk_sums", "rollups: sums per chunk (groupby)"),
            (found, "add", "rollups: series ids of the monthly sums"),
            (found, "write", "rollups: write"),
            (rollups, "forget_replaced", "rollups: forget replaced"),
            (rollups, "refresh_years", "rollups: refresh years"),
        ]
    return targets


def _instrument(phases: Phases, outbox: Path) -> list[str]:
    """Wrap the import's steps in place (only ever in a child process); return what is missing."""
    if hasattr(ingest_module, "_checked"):
        ingest_module._checked = phases.wrap_reader(ingest_module._checked, outbox)
    reader = reader_module.Reader
    generator = "_raw_chunks"
    setattr(
        reader,
        generator,
        phases.wrap_generator("read_csv (C parser)", getattr(reader, generator)),
    )
    return instrument(phases, _targets())


def _child_phases(spec: dict[str, str]) -> dict[str, Any]:
    """Time the phases of a first import and of a re-import into the same database."""
    phases = Phases()
    outbox = Path(tempfile.mkdtemp(prefix="kpibot-phases-")) / "reader.json"
    missing = _instrument(phases, outbox)
    path = Path(spec["path"])
    today = dt.date.fromisoformat(spec["today"])
    now = dt.datetime.fromisoformat(spec["now"])
    result: dict[str, Any] = {}
    for label in ("first", "reimport"):
        seconds, _report, _opened = _ingest(spec["url"], path, today, now, phases.reset)
        phases.collect_reader(outbox)
        result[label] = {"total": seconds, "phases": dict(phases.seconds)}
    outbox.parent.rmdir()
    result["not_wrapped"] = missing
    return result


def _child_profile(spec: dict[str, str]) -> dict[str, Any]:
    """cProfile one import (a re-import when ``spec['reimport']``): top cumulative functions."""
    path = Path(spec["path"])
    today = dt.date.fromisoformat(spec["today"])
    now = dt.datetime.fromisoformat(spec["now"])
    if spec.get("reimport") == "yes":
        _ingest(spec["url"], path, today, now)
    # cProfile sees only its own process: parse chunks inline so that it sees them
    engine = open_store(spec["url"])
    profiler = cProfile.Profile()
    started = time.perf_counter()
    profiler.enable()
    ingest_file(engine, path, ReadOptions(today=today), now=now, source="canonical", worker=False)
    profiler.disable()
    seconds = time.perf_counter() - started
    engine.dispose()
    return {"total": seconds, "functions": profile_rows(profiler)[:80]}


def _run_child(spec: dict[str, str]) -> dict[str, Any]:
    """Run ``spec`` in a fresh interpreter, in the code directory, and return its JSON result."""
    code = Path(spec["code"])
    completed = subprocess.run(
        [sys.executable, "-m", "benchmarks.ingest_bench", "--child", json.dumps(spec)],
        cwd=code,
        capture_output=True,
        text=True,
        check=False,
    )
    if completed.returncode != 0:
        raise RuntimeError(
            f"benchmark child {spec['mode']} failed ({completed.returncode}):\n{completed.stderr}"
        )
    result = cast(dict[str, Any], json.loads(completed.stdout.strip().splitlines()[-1]))
    imported = Path(result.pop("kpi_file"))
    if not imported.is_relative_to(code):
        raise RuntimeError(f"the child imported {imported}, not the code under test in {code}")
    return result


def _child_main(argument: str) -> None:
    spec = cast(dict[str, str], json.loads(argument))
    modes: dict[str, Callable[[dict[str, str]], dict[str, Any]]] = {
        "import": _child_import,
        "phases": _child_phases,
        "profile": _child_profile,
    }
    result = modes[spec["mode"]](spec)
    result["kpi_file"] = str(Path(str(ingest_module.__file__)).resolve())
    print(json.dumps(result))


def _spec(mode: str, url: str, data: Dataset, code: Path, **extra: str) -> dict[str, str]:
    return {
        "mode": mode,
        "code": str(code),
        "url": url,
        "path": str(data.path),
        "today": data.today.isoformat(),
        "now": data.now.isoformat(),
        **extra,
    }


# --------------------------------------------------------------------------------------------
# Runs
# --------------------------------------------------------------------------------------------


@dataclass
class EngineResult:
    """First imports and re-imports of one engine, one pair per repeat."""

    engine: str
    rows: int
    first: list[ImportRun] = field(default_factory=list)
    reimport: list[ImportRun] = field(default_factory=list)

    def rates(self, runs: Sequence[ImportRun]) -> list[float]:
        return [run.rate(self.rows) for run in runs]


def sqlite_runs(
    data: Dataset, code: Path, repeat: int, scratch: Path, console: Console
) -> EngineResult:
    """Each repeat: a first import into a new database file, then a re-import into the same file."""
    result = EngineResult(SQLITE, data.rows)
    for number in range(1, repeat + 1):
        url = f"sqlite:///{scratch / f'run{number}.db'}"
        first = ImportRun(**_run_child(_spec("import", url, data, code)))
        again = ImportRun(**_run_child(_spec("import", url, data, code)))
        _check(first, again, data)
        result.first.append(first)
        result.reimport.append(again)
        console.print(_progress_line(SQLITE, number, repeat, first, again, data.rows))
        for suffix in ("", "-wal", "-shm"):
            (scratch / f"run{number}.db{suffix}").unlink(missing_ok=True)
    return result


@contextlib.contextmanager
def postgres_database(server: str) -> Iterator[str]:
    """A new database on ``server`` (through an AUTOCOMMIT admin engine), dropped afterwards."""
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    name = f"kpibot_bench_{uuid.uuid4().hex[:10]}"
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(server).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def postgres_runs(
    data: Dataset, code: Path, repeat: int, server: str, console: Console
) -> EngineResult:
    """Each repeat imports into a database of its own, created and dropped on ``server``."""
    result = EngineResult(POSTGRES, data.rows)
    for number in range(1, repeat + 1):
        with postgres_database(server) as url:
            first = ImportRun(**_run_child(_spec("import", url, data, code)))
            again = ImportRun(**_run_child(_spec("import", url, data, code)))
        _check(first, again, data)
        result.first.append(first)
        result.reimport.append(again)
        console.print(_progress_line(POSTGRES, number, repeat, first, again, data.rows))
    return result


def _check(first: ImportRun, again: ImportRun, data: Dataset) -> None:
    """The runs must have done the work being timed: all rows written, all replaced on re-import."""
    if first.rows_written != data.rows or first.rows_replaced != 0:
        raise RuntimeError(
            f"first import wrote {first.rows_written}, replaced {first.rows_replaced}"
        )
    if again.rows_written != data.rows or again.rows_replaced != data.rows:
        raise RuntimeError(f"re-import wrote {again.rows_written}, replaced {again.rows_replaced}")


def _progress_line(
    engine: str, number: int, repeat: int, first: ImportRun, again: ImportRun, rows: int
) -> str:
    return (
        f"{engine} run {number}/{repeat}: first {first.seconds:.2f} s "
        f"({first.rate(rows):,.0f} rows/s, {first.peak_rss_mb:.0f} MB), "
        f"re-import {again.seconds:.2f} s ({again.rate(rows):,.0f} rows/s, "
        f"{again.peak_rss_mb:.0f} MB)"
    )


@dataclass(frozen=True)
class Reference:
    """pandas ``read_csv`` + ``to_sql`` into SQLite, rows/s per repeat, through each driver."""

    #: ``to_sql`` on a plain ``sqlite3`` connection: the reference the ratio is taken against.
    sqlite3: list[float]
    #: ``to_sql`` on a SQLAlchemy engine (pandas then goes through SQLAlchemy's executemany).
    sqlalchemy: list[float]


def _reference_once(data: Dataset, database: Path, through: str) -> float:
    """Seconds of ``read_csv`` of the whole file plus ``to_sql`` in chunks of 100,000 rows."""
    gc.collect()
    started = time.perf_counter()
    frame = pd.read_csv(data.path)
    if through == "sqlite3":
        connection = sqlite3.connect(database)
        written = frame.to_sql(
            "facts_reference",
            connection,
            index=False,
            if_exists="fail",
            method=None,
            chunksize=REFERENCE_CHUNKSIZE,
        )
        connection.commit()
        connection.close()
    else:
        engine = create_engine(f"sqlite:///{database}")
        written = frame.to_sql(
            "facts_reference",
            engine,
            index=False,
            if_exists="fail",
            method=None,
            chunksize=REFERENCE_CHUNKSIZE,
        )
        engine.dispose()
    seconds = time.perf_counter() - started
    if written is not None and written != data.rows:
        raise RuntimeError(f"to_sql wrote {written} rows, expected {data.rows}")
    del frame
    database.unlink(missing_ok=True)
    return seconds


def reference_runs(data: Dataset, repeat: int, scratch: Path, console: Console) -> Reference:
    """pandas ``read_csv`` of the whole file, then ``to_sql`` (``method=None``) into a new table."""
    rates: dict[str, list[float]] = {"sqlite3": [], "sqlalchemy": []}
    for number in range(1, repeat + 1):
        for through, found in rates.items():
            seconds = _reference_once(data, scratch / f"reference-{through}{number}.db", through)
            found.append(data.rows / seconds)
            console.print(
                f"reference run {number}/{repeat}: read_csv + to_sql via {through} "
                f"{seconds:.2f} s ({data.rows / seconds:,.0f} rows/s)"
            )
    return Reference(sqlite3=rates["sqlite3"], sqlalchemy=rates["sqlalchemy"])


# --------------------------------------------------------------------------------------------
# Report
# --------------------------------------------------------------------------------------------


def _spread(rates: Sequence[float]) -> str:
    return f"{statistics.median(rates):,.0f} ({min(rates):,.0f}-{max(rates):,.0f})"


def summary_table(
    results: Sequence[EngineResult], reference: Reference | None, data: Dataset
) -> Table:
    table = Table(title=f"Import of {data.rows:,} canonical rows ({data.size_mb:.0f} MB CSV)")
    table.add_column("engine")
    table.add_column("first import rows/s\nmedian (min-max)", justify="right")
    table.add_column("re-import rows/s\nmedian (min-max)", justify="right")
    table.add_column("peak RSS MB (with reader)\nfirst / re-import", justify="right")
    table.add_column("vs to_sql via sqlite3\n(first / re-import)", justify="right")
    table.add_column(f">= {TARGET_ROWS_PER_SECOND:,} rows/s\n<= 1 GB", justify="center")
    base = statistics.median(reference.sqlite3) if reference else None
    for result in results:
        first, again = result.rates(result.first), result.rates(result.reimport)
        peak_first = max(run.peak_rss_mb for run in result.first)
        peak_again = max(run.peak_rss_mb for run in result.reimport)
        ratio = (
            f"{statistics.median(first) / base:.2f}x / {statistics.median(again) / base:.2f}x"
            if base
            else "n/a"
        )
        meets = (
            min(statistics.median(first), statistics.median(again)) >= TARGET_ROWS_PER_SECOND
            and max(peak_first, peak_again) <= TARGET_PEAK_MB
        )
        table.add_row(
            result.engine,
            _spread(first),
            _spread(again),
            f"{peak_first:.0f} / {peak_again:.0f}",
            ratio,
            "yes" if meets else "no",
        )
    if reference is not None and base is not None:
        table.add_row("pandas to_sql, sqlite3", _spread(reference.sqlite3), "", "", "1.00x", "")
        table.add_row(
            "pandas to_sql, SQLAlchemy",
            _spread(reference.sqlalchemy),
            "",
            "",
            f"{statistics.median(reference.sqlalchemy) / base:.2f}x",
            "",
        )
    return table


def phase_table(breakdowns: dict[str, dict[str, Any]]) -> Table:
    """Exclusive seconds per phase, one column per (engine, import)."""
    table = Table(
        title="Where the time goes (exclusive wall seconds per phase, one run; "
        f"{WORKER} phases overlap the main process's)"
    )
    table.add_column("phase")
    columns: list[tuple[str, dict[str, Any]]] = []
    for engine, result in breakdowns.items():
        for label, title in (("first", "first"), ("reimport", "re-import")):
            table.add_column(f"{engine}\n{title}", justify="right")
            columns.append((label, result))
    names: list[str] = []
    for result in breakdowns.values():
        for label in ("first", "reimport"):
            for name in result[label]["phases"]:
                if name not in names:
                    names.append(name)
    firsts = next(iter(breakdowns.values()))["first"]["phases"]
    names.sort(key=lambda name: (name.startswith(WORKER), -float(firsts.get(name, 0.0))))
    workers_started = False
    for name in names:
        if name.startswith(WORKER) and not workers_started:
            table.add_section()
            workers_started = True
        cells = []
        for label, result in columns:
            seconds = result[label]["phases"].get(name)
            total = float(result[label]["total"])
            cells.append("" if seconds is None else f"{seconds:.2f} ({seconds / total:.0%})")
        table.add_row(name, *cells)
    others = []
    totals = []
    for label, result in columns:
        total = float(result[label]["total"])
        accounted = sum(
            seconds
            for name, seconds in result[label]["phases"].items()
            if not name.startswith(WORKER)
        )
        others.append(f"{total - accounted:.2f} ({(total - accounted) / total:.0%})")
        totals.append(f"{total:.2f}")
    table.add_section()
    table.add_row("other, main thread (_load loop, glue)", *others)
    table.add_row("total ingest_file (wall)", *totals, style="bold")
    return table


def profile_table(profile: dict[str, Any], title: str, limit: int) -> Table:
    table = Table(title=title)
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


def machine() -> dict[str, str]:
    return {
        "nproc": str(os.cpu_count()),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "pandas": pd.__version__,
        "numpy": np.__version__,
        "sqlalchemy": sqlalchemy_version,
        "sqlite": sqlite3.sqlite_version,
        "load average": " ".join(f"{value:.2f}" for value in os.getloadavg()),
    }


# --------------------------------------------------------------------------------------------
# Main
# --------------------------------------------------------------------------------------------


def code_under_test(revision: str, scratch: Path) -> tuple[Path, str]:
    """The directory the import children run from, and what it holds.

    Others edit ``kpi/`` while a long run goes on, so by default the children import a snapshot
    of a commit (``git archive``, read-only) instead of the live files; ``worktree`` measures
    the files as they are.
    """
    if revision == "worktree":
        return ROOT, f"working tree at {revision_of('kpi')}"
    commit = subprocess.run(
        ["git", "rev-parse", "--verify", f"{revision}^{{commit}}"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    archive = subprocess.run(
        ["git", "archive", "--format=tar", commit, "kpi", "tests"],
        cwd=ROOT,
        capture_output=True,
        check=True,
    ).stdout
    target = scratch / "code"
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(target, filter="data")
    (target / "benchmarks").mkdir()
    copy_benchmarks(target)
    subject = subprocess.run(
        ["git", "log", "-1", "--format=%h %s", commit],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    return target, f"commit {subject} (snapshot of kpi/ and tests/)"


def _arguments(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.ingest_bench", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--rows", type=int, default=1_000_000, help="rows of the generated CSV")
    parser.add_argument("--repeat", type=int, default=3, help="runs per engine (median reported)")
    parser.add_argument(
        "--postgres-repeat", type=int, help="runs on PostgreSQL (default: --repeat)"
    )
    group = parser.add_mutually_exclusive_group()
    group.add_argument(
        "--postgres-url",
        help="a server URL (postgresql+psycopg://...) whose user may CREATE DATABASE; "
        "default: a throwaway cluster from the machine's PostgreSQL binaries",
    )
    group.add_argument("--no-postgres", action="store_true", help="measure SQLite only")
    parser.add_argument("--no-reference", action="store_true", help="skip pandas to_sql")
    parser.add_argument("--no-profile", action="store_true", help="skip the phase breakdown")
    parser.add_argument("--top", type=int, default=25, help="cProfile functions to print")
    parser.add_argument("--json", type=Path, help="also write every figure to this JSON file")
    parser.add_argument(
        "--code",
        default="HEAD",
        help="commit whose kpi/ is measured (a read-only snapshot), or 'worktree' for the "
        "live files (default: HEAD)",
    )
    parser.add_argument("--child", help=argparse.SUPPRESS)
    return parser.parse_args(argv)


@contextlib.contextmanager
def _postgres_server(arguments: argparse.Namespace, console: Console) -> Iterator[str | None]:
    if arguments.no_postgres:
        yield None
    elif arguments.postgres_url:
        yield str(arguments.postgres_url)
    else:
        with throwaway_cluster() as url:
            if url is None:
                console.print("[yellow]PostgreSQL binaries not found: skipping PostgreSQL[/]")
            yield url


def main(argv: Sequence[str] | None = None) -> None:
    arguments = _arguments(argv)
    if arguments.child is not None:
        _child_main(arguments.child)
        return
    # A terminated run still stops its PostgreSQL cluster and removes its scratch files.
    signal.signal(signal.SIGTERM, lambda _signal, _frame: sys.exit(143))
    console = Console(width=max(shutil.get_terminal_size((150, 40)).columns, 150))
    data = dataset(arguments.rows, console=console)
    console.print(
        f"data: {data.path.relative_to(ROOT)} ({data.rows:,} rows, {data.series:,} series, "
        f"{data.first} .. {data.last}, {data.size_mb:.0f} MB)"
    )
    results: list[EngineResult] = []
    breakdowns: dict[str, dict[str, Any]] = {}
    profiles: dict[str, dict[str, Any]] = {}
    reference: Reference | None = None
    scratch = Path(tempfile.mkdtemp(prefix="kpibot-bench-"))
    try:
        code, measured = code_under_test(arguments.code, scratch)
        info = {"code": measured, **machine()}
        console.print("machine: " + ", ".join(f"{key} {value}" for key, value in info.items()))
        results.append(sqlite_runs(data, code, arguments.repeat, scratch, console))
        if not arguments.no_reference:
            reference = reference_runs(data, arguments.repeat, scratch, console)
        if not arguments.no_profile:
            url = f"sqlite:///{scratch / 'phases.db'}"
            breakdowns[SQLITE] = _run_child(_spec("phases", url, data, code))
            for label, reimport in (("first", "no"), ("re-import", "yes")):
                profiles[f"{SQLITE} {label}"] = _run_child(
                    _spec(
                        "profile",
                        f"sqlite:///{scratch / f'profile-{reimport}.db'}",
                        data,
                        code,
                        reimport=reimport,
                    )
                )
        with _postgres_server(arguments, console) as server:
            if server is not None:
                repeat = arguments.postgres_repeat or arguments.repeat
                results.append(postgres_runs(data, code, repeat, server, console))
                if not arguments.no_profile:
                    with postgres_database(server) as url:
                        breakdowns[POSTGRES] = _run_child(_spec("phases", url, data, code))
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    console.print()
    console.print(summary_table(results, reference, data))
    base = [run.baseline_rss_mb for result in results for run in result.first]
    opened = [run.open_store_seconds for result in results for run in result.first]
    console.print(
        f"RSS before the import (interpreter + pandas + SQLAlchemy): {statistics.median(base):.0f}"
        f" MB; open_store (migrations, not timed): {statistics.median(opened):.2f} s median"
    )
    if breakdowns:
        console.print()
        console.print(phase_table(breakdowns))
        missing = sorted({name for found in breakdowns.values() for name in found["not_wrapped"]})
        if missing:
            console.print(f"not in this version of the code (not wrapped): {', '.join(missing)}")
    for title, profile in profiles.items():
        console.print()
        console.print(
            profile_table(
                profile,
                f"cProfile, {title} (top {arguments.top} by cumulative time; "
                f"{profile['total']:.1f} s under the profiler)",
                arguments.top,
            )
        )
    finished = " ".join(f"{value:.2f}" for value in os.getloadavg())
    info["load average at end"] = finished
    console.print(f"load average at the end: {finished} (the machine is shared: compare medians)")
    if arguments.json is not None:
        arguments.json.write_text(
            json.dumps(
                {
                    "machine": info,
                    "data": {**asdict(data), "path": str(data.path)},
                    "results": [asdict(result) for result in results],
                    "reference": None if reference is None else asdict(reference),
                    "phases": breakdowns,
                    "profiles": profiles,
                },
                indent=2,
                default=str,
            )
        )


if __name__ == "__main__":
    main()
