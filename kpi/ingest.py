"""Importing export files into the store: atomic, idempotent, and explicit about what changed.

One file is one transaction. Its rows are written under a new import id, and everything the same
source imported earlier for the same platform and account inside the dates the file covers is
deleted. So a re-imported or overlapping export never doubles a number, and any error (or
``--dry-run``) rolls the whole file back.

The earlier rows are deleted chunk by chunk, just before the chunk's own rows are written: the
new rows then go where the old ones were instead of beside them, and the delete reads pages the
insert needs anyway. What the chunks' dates do not reach (days between chunks, rows of longer
periods) is deleted once the whole file is known.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable, Generator, Iterator, Sequence
from contextlib import closing, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd
from sqlalchemy import Connection, Engine, Select, delete, insert, select, tuple_, update

from kpi.errors import IngestError, KpiError
from kpi.importers import checks, registry
from kpi.importers.reader import ChunkNotes, Reader, ReadOptions
from kpi.importers.text import sniff
from kpi.measures import Measure
from kpi.store import rollups
from kpi.store.rollups import ImportRollups
from kpi.store.schema import facts, imports, series
from kpi.store.writer import (
    Combinations,
    DuplicateRowsError,
    SeriesIds,
    combinations,
    write_facts,
)
from kpi.worker_process import ProducedInWorker, fork_available

Progress = Callable[[int], None]
MAX_WARNINGS = 50
#: Files at least this large are parsed in a reader process beside the writing (forking one
#: costs a few milliseconds; below a chunk or two there is nothing to overlap).
WORKER_MIN_BYTES = 8 << 20


@dataclass(frozen=True)
class Coverage:
    """The dates one platform's rows cover in a file."""

    platform: str
    start: dt.date
    end: dt.date


@dataclass(frozen=True)
class FileReport:
    """What an import did (or, with ``dry_run``, would do) to the store."""

    path: Path
    source: str
    rows_read: int
    rows_written: int
    rows_replaced: int
    rows_skipped: int
    warnings: tuple[str, ...]
    coverage: tuple[Coverage, ...]
    dry_run: bool


Pair = tuple[str, str]
Span = tuple[pd.Timestamp, pd.Timestamp]
ONE_DAY = pd.Timedelta(days=1)


@dataclass
class _Tally:
    read: int = 0
    written: int = 0
    skipped: int = 0
    replaced: int = 0
    warnings: list[str] = field(default_factory=list)
    findings: checks.Findings = field(default_factory=checks.Findings)
    #: The dates each (platform, account) covers in the whole file, and in each chunk.
    spans: dict[Pair, Span] = field(default_factory=dict)
    chunk_spans: dict[Pair, list[Span]] = field(default_factory=dict)
    rollups: ImportRollups = field(default_factory=ImportRollups)

    def cover(self, covered: dict[Pair, Span]) -> None:
        """Record a chunk's dates per (platform, account)."""
        for pair, span in covered.items():
            self.chunk_spans.setdefault(pair, []).append(span)
            known = self.spans.get(pair, span)
            self.spans[pair] = (min(span[0], known[0]), max(span[1], known[1]))

    def gaps(self) -> dict[Pair, list[Span]]:
        """Per (platform, account), the days inside the file's dates that no chunk's dates reach."""
        found: dict[Pair, list[Span]] = {}
        for pair, spans in self.chunk_spans.items():
            ordered = sorted(spans)
            reach = ordered[0][1]
            for start, end in ordered[1:]:
                if start > reach + ONE_DAY:
                    found.setdefault(pair, []).append((reach + ONE_DAY, start - ONE_DAY))
                reach = max(reach, end)
        return found


def _spans(chunk: pd.DataFrame, found: Combinations) -> dict[Pair, Span]:
    """The dates a chunk covers per (platform, account), grouped by integer codes rather than
    by two string columns."""
    codes, pairs = found.coarser("platform", "account")
    dates = pd.DataFrame(
        {
            "start": chunk["period_start"].to_numpy(),
            "end": chunk["period_end"].to_numpy(),
            "pair": codes,
        }
    )
    grouped = dates.groupby("pair", sort=True).agg(start=("start", "min"), end=("end", "max"))
    return {
        (pair[0], pair[1]): (start, end)
        for pair, start, end in zip(pairs, grouped["start"], grouped["end"], strict=True)
    }


def count_lines(path: Path) -> int:
    """A quick upper bound of the rows in a file, for the progress bar."""
    total = 0
    with path.open("rb") as handle:
        while block := handle.read(1 << 20):
            total += block.count(b"\n")
    return total


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while block := handle.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


def _row_keys(chunk: pd.DataFrame, series: np.ndarray) -> np.ndarray:
    """One integer per row for its (series, start, end): equal exactly when the three are.

    Each part is factorised first, so the mixed code stays below (chunk rows)^3 and never
    overflows; hashing one integer column is much cheaper than comparing three.
    """
    mixed = np.zeros(len(chunk), dtype=np.int64)
    for part in (series, chunk["period_start"].to_numpy(), chunk["period_end"].to_numpy()):
        codes, uniques = pd.factorize(part)
        mixed = mixed * (len(uniques) + 1) + codes
    return mixed


def _name_duplicate_items(
    chunk: pd.DataFrame, keys: np.ndarray, findings: checks.Findings, line_of: Callable[[int], int]
) -> bool:
    """Rows with identical dimensions and dates and no item of their own: keep each as its own.

    Files without an id column (a post-level export without post ids) would otherwise collide;
    each such row is named by its line so re-imports of the same file stay stable. Returns
    whether a row was renamed (its series changes).
    """
    clash = pd.Series(keys, index=chunk.index).duplicated(keep=False) & (chunk["item"] == "")
    if not clash.any():
        return False
    findings.add(
        "share their dimensions and dates and have no id; each is kept as its own item named "
        "by its line",
        chunk,
        clash,
        line_of,
    )
    chunk.loc[clash, "item"] = [f"line {line_of(int(r))}" for r in chunk.loc[clash, "_record"]]
    return True


def _refuse_duplicates(chunk: pd.DataFrame, keys: np.ndarray, reader: Reader) -> None:
    """Two rows for the same series and dates would double a number: name both lines."""
    repeated = pd.Series(keys).duplicated().to_numpy()
    if not repeated.any():
        return
    second = int(repeated.argmax())
    first = int(np.flatnonzero(keys == keys[second])[0])
    records = chunk["_record"].to_numpy()
    line_of = reader.locator.line
    raise reader.error(
        f"this row repeats line {line_of(int(records[first]))} (same platform, account, campaign, "
        "creator, item, currency and dates); remove one of them or add an id column",
        int(records[second]),
    )


def _by_dates(spans: dict[Pair, list[Span]]) -> dict[Span, list[Pair]]:
    """The pairs sharing each span: a multi-platform export replaces them in one statement."""
    grouped: dict[Span, list[Pair]] = {}
    for pair, pair_spans in spans.items():
        for span in pair_spans:
            grouped.setdefault(span, []).append(pair)
    return grouped


def _pieces(covered: dict[Pair, Span]) -> dict[Span, list[Pair]]:
    """A chunk's dates per (platform, account) as few deletes as possible, each reading its
    dates once: the days every pair covers, then each pair's days before and after those.

    A chunk that ends within a day covers that day for some pairs only, so its spans differ by
    a day at each end; deleting span by span read the chunk's rows two or three times over.
    A longer period across two pieces is in neither: the delete of the file's periods, once the
    file is read, takes it.
    """
    start = max(first for first, _ in covered.values())
    end = min(last for _, last in covered.values())
    if start > end:
        return _by_dates({pair: [span] for pair, span in covered.items()})
    pieces = {(start, end): list(covered)}
    for pair, (first, last) in covered.items():
        if first < start:
            pieces.setdefault((first, start - ONE_DAY), []).append(pair)
        if last > end:
            pieces.setdefault((end + ONE_DAY, last), []).append(pair)
    return pieces


def _delete_earlier(
    connection: Connection,
    source: str,
    import_id: int,
    pieces: dict[Span, list[Pair]],
    *,
    rows: Literal["all", "daily", "periods"],
) -> int:
    """Delete what earlier imports of this source wrote for each piece's platforms, accounts and
    dates (a period starting and ending inside them); ``rows`` narrows it to daily rows or to
    longer periods (read through the index of those alone). Returns the number of rows deleted.

    Rows are picked by their import, one of this source's few earlier imports on those dates,
    rather than by their series: testing each deleted row against the thousands of series of
    the platforms and accounts cost a third of the delete. The series are tested only where the
    source has series on other platforms or accounts, whose rows must stay.
    """
    deleted = 0
    for (start, end), pairs in pieces.items():
        earlier = _earlier_imports(source, import_id, start, end)
        if not _exists(connection, earlier):
            continue
        kind = {
            "all": (),
            "daily": (facts.c.period_start == facts.c.period_end,),
            "periods": (facts.c.period_start != facts.c.period_end,),
        }[rows]
        on_pairs = (
            (facts.c.series_id.in_(_series_of(source, pairs)),)
            if _exists(connection, _other_pairs(source, pairs))
            else ()
        )
        result = connection.execute(
            delete(facts).where(
                *kind,
                facts.c.period_start >= start.date(),
                facts.c.period_start <= end.date(),
                facts.c.period_end >= start.date(),
                facts.c.period_end <= end.date(),
                facts.c.import_id.in_(earlier),
                *on_pairs,
            )
        )
        deleted += result.rowcount
    return deleted


def _other_pairs(source: str, pairs: Sequence[Pair]) -> Select[tuple[int]]:
    """This source's series on platforms and accounts other than ``pairs``."""
    return select(series.c.id).where(
        series.c.source == source, tuple_(series.c.platform, series.c.account).not_in(pairs)
    )


def _exists(connection: Connection, query: Select[tuple[int]]) -> bool:
    return connection.execute(query.limit(1)).first() is not None


def _replace_rest(connection: Connection, source: str, import_id: int, tally: _Tally) -> int:
    """Delete the earlier rows inside the file's dates that no chunk's delete reached: daily
    rows on days between two chunks' dates, and longer periods reaching past a chunk's end.
    Then drop the rollup rows of everything replaced."""
    whole = _by_dates({pair: [span] for pair, span in tally.spans.items()})
    replaced = _delete_earlier(connection, source, import_id, _by_dates(tally.gaps()), rows="daily")
    replaced += _delete_earlier(connection, source, import_id, whole, rows="periods")
    for (start, end), pairs in whole.items():
        if _exists(connection, _earlier_imports(source, import_id, start, end)):
            rollups.forget_replaced(
                connection,
                source=source,
                pairs=pairs,
                series_ids=_series_of(source, pairs),
                start=start.date(),
                end=end.date(),
                import_id=import_id,
            )
    return replaced


def _series_of(source: str, pairs: Sequence[tuple[str, str]]) -> Select[tuple[int]]:
    """The ids of this source's series on these (platform, account) pairs."""
    return select(series.c.id).where(
        series.c.source == source, tuple_(series.c.platform, series.c.account).in_(pairs)
    )


def _refresh_years(connection: Connection, source: str, tally: _Tally) -> None:
    """Rebuild the years the file touched from the monthly rollup it has just written.

    On PostgreSQL the statistics still describe the tables before this import: a first import
    of a million rows into an empty store had its rebuild planned as a nested loop over every
    series (10.6 s). ANALYZE of the two small tables it reads costs a few milliseconds.
    """
    if tally.spans:
        if connection.dialect.name == "postgresql":
            connection.exec_driver_sql("ANALYZE series, rollup_month")
        rollups.refresh_years(
            connection,
            series_ids=_series_of(source, list(tally.spans)),
            start=min(start for start, _ in tally.spans.values()).date(),
            end=max(end for _, end in tally.spans.values()).date(),
        )


def _earlier_imports(
    source: str, import_id: int, start: pd.Timestamp, end: pd.Timestamp
) -> Select[tuple[int]]:
    """The earlier imports of this source that covered some of these dates: only their rows
    can be replaced. The imports table is tiny, so when there are none a first import is spared
    the range scan of the delete."""
    return select(imports.c.id).where(
        imports.c.source == source,
        imports.c.id != import_id,
        imports.c.period_start <= end.date(),
        imports.c.period_end >= start.date(),
    )


@dataclass(frozen=True)
class _Checked:
    """A chunk that passed the checks that need no database: what writing it needs (its dates
    and measures, its series keys, dates covered and rollup sums) and what the checks found."""

    chunk: pd.DataFrame
    notes: ChunkNotes
    findings: checks.Findings
    combinations: Combinations | None
    covered: dict[Pair, Span]
    sums: rollups.ChunkSums | None


def _checked(reader: Reader) -> Generator[_Checked]:
    """Each chunk checked, keyed, summed for the rollups and its dates found, with nothing that
    needs the database: for a large file this runs in the reader process, beside the writing.

    A combination code names a series within the chunk as well as the series id does, so
    duplicates are found before any id is looked up. The dimension strings stay here: the
    writer needs only the dates, the measures and the codes.
    """
    line_of = reader.locator.line
    for chunk, notes in reader.chunks():
        findings = checks.Findings()
        if chunk.empty:
            yield _Checked(chunk, notes, findings, None, {}, None)
            continue
        checks.inspect(chunk, findings, line_of)
        found = combinations(chunk)
        keys = _row_keys(chunk, found.codes)
        if _name_duplicate_items(chunk, keys, findings, line_of):
            found = combinations(chunk)
            keys = _row_keys(chunk, found.codes)
        _refuse_duplicates(chunk, keys, reader)
        sums = rollups.chunk_sums(chunk, found)
        written = ["period_start", "period_end", *(m.value for m in Measure if m.value in chunk)]
        yield _Checked(chunk[written], notes, findings, found, _spans(chunk, found), sums)


def _load(
    connection: Connection,
    chunks: Iterator[_Checked],
    import_id: int,
    source: str,
    progress: Progress | None,
) -> _Tally:
    tally = _Tally()
    ids = SeriesIds(connection, source)
    for checked in chunks:
        chunk, notes = checked.chunk, checked.notes
        tally.read += len(chunk) + notes.skipped
        tally.skipped += notes.skipped
        tally.warnings.extend(notes.warnings)
        tally.findings.merge(checked.findings)
        if checked.combinations is None:
            continue
        tally.cover(checked.covered)
        per_key = ids.of(checked.combinations)
        series_ids = per_key[checked.combinations.codes]
        pieces = _pieces(checked.covered)
        tally.replaced += _delete_earlier(connection, source, import_id, pieces, rows="all")
        measures = [m.value for m in Measure if m.value in chunk]
        write_facts(connection, chunk, series_ids, import_id, measures)
        if checked.sums is not None:
            tally.rollups.add(checked.sums, per_key)
        tally.written += len(chunk)
        if progress is not None:
            progress(len(chunk) + notes.skipped)
    return tally


@contextmanager
def _foreign_keys_trusted(connection: Connection) -> Iterator[None]:
    """SQLite without foreign-key checks for the import, on again before the connection is reused.

    SQLite checks facts' two foreign keys on every row inserted or deleted: a third of the time
    of replacing a chunk's earlier rows. The importer writes only series ids it has just read or
    created and its own import id, so the checks cannot fail. The pragma is ignored inside a
    transaction, so it is set on the DBAPI connection before the import's transaction begins.
    """
    if connection.dialect.name != "sqlite":
        yield
        return
    dbapi = connection.connection.driver_connection
    assert dbapi is not None
    dbapi.execute("PRAGMA foreign_keys=OFF")
    try:
        yield
    finally:
        dbapi.execute("PRAGMA foreign_keys=ON")


def ingest_file(
    engine: Engine,
    path: Path,
    options: ReadOptions,
    *,
    now: dt.datetime,
    source: str | None = None,
    dry_run: bool = False,
    progress: Progress | None = None,
    worker: bool | None = None,
) -> FileReport:
    """Import one file in one transaction; raise a located :class:`IngestError` on any problem.

    ``worker`` says whether to parse in a reader process (default: for files of at least
    :data:`WORKER_MIN_BYTES`, where forking is available).
    """
    if not path.is_file():
        raise IngestError("no such file", path=path)
    layout = registry.layout(sniff(path), source, platform_given=options.platform is not None)
    reader = Reader(layout, options)
    name = layout.source.name
    if worker is None:
        worker = fork_available() and path.stat().st_size >= WORKER_MIN_BYTES
    # forked before any connection of this import is opened; the hash is taken meanwhile
    chunks = ProducedInWorker(lambda: _checked(reader)) if worker else _checked(reader)
    digest = _sha256(path)
    with closing(chunks), engine.connect() as connection, _foreign_keys_trusted(connection):
        transaction = connection.begin()
        try:
            import_id = connection.execute(
                insert(imports)
                .values(
                    source=name,
                    file_name=path.name,
                    file_sha256=digest,
                    imported_at=now,
                )
                .returning(imports.c.id)
            ).scalar_one()
            tally = _load(connection, chunks, import_id, name, progress)
            tally.warnings.extend(tally.findings.messages())
            replaced = tally.replaced + _replace_rest(connection, name, import_id, tally)
            tally.rollups.write(connection, import_id, name)
            _refresh_years(connection, name, tally)
            starts = [span[0] for span in tally.spans.values()]
            ends = [span[1] for span in tally.spans.values()]
            connection.execute(
                update(imports)
                .where(imports.c.id == import_id)
                .values(
                    period_start=min(starts).date() if starts else None,
                    period_end=max(ends).date() if ends else None,
                    rows_read=tally.read,
                    rows_written=tally.written,
                    rows_replaced=replaced,
                    rows_skipped=tally.skipped,
                    warnings=len(tally.warnings),
                )
            )
        except KpiError:
            transaction.rollback()
            raise
        except DuplicateRowsError as exc:
            transaction.rollback()
            raise IngestError(
                "two rows have the same platform, account, campaign, creator, item, currency "
                "and dates; remove the duplicate or add an id column",
                path=path,
            ) from exc
        except BaseException:
            transaction.rollback()
            raise
        if dry_run:
            transaction.rollback()
        else:
            transaction.commit()
            refresh_statistics(connection)
    return FileReport(
        path=path,
        source=name,
        rows_read=tally.read,
        rows_written=tally.written,
        rows_replaced=replaced,
        rows_skipped=tally.skipped,
        warnings=tuple(tally.warnings[:MAX_WARNINGS]),
        coverage=_coverage(tally),
        dry_run=dry_run,
    )


def refresh_statistics(connection: Connection) -> None:
    """PostgreSQL plans from table statistics; after a bulk load they are stale until autovacuum
    wakes up, and a re-import's range delete would be planned as if the tables were empty."""
    if connection.dialect.name == "postgresql":
        with connection.begin():
            connection.exec_driver_sql(
                "ANALYZE facts, series, rollup_day, rollup_month, rollup_year"
            )


def _coverage(tally: _Tally) -> tuple[Coverage, ...]:
    by_platform: dict[str, tuple[dt.date, dt.date]] = {}
    for (platform, _account), (start, end) in tally.spans.items():
        first, last = start.date(), end.date()
        if platform in by_platform:
            first = min(first, by_platform[platform][0])
            last = max(last, by_platform[platform][1])
        by_platform[platform] = (first, last)
    return tuple(Coverage(p, s, e) for p, (s, e) in sorted(by_platform.items()))
