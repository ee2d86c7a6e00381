"""The one reader behind every source: file -> canonical chunks.

It streams the table below the header in chunks (a million-row file never sits in memory whole),
and turns each chunk into canonical columns: ``period_start``/``period_end`` as days, the
dimension strings, ``currency`` and float measures with NaN for "not reported". Every refusal names
the file, line, column and value.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, TypeVar

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from kpi.dimensions import normalise_platform
from kpi.errors import IngestError
from kpi.importers import spec
from kpi.importers.dates import parse_dates
from kpi.importers.numbers import parse_numbers
from kpi.importers.realign import Kind, Realigned, column_kinds, realign
from kpi.importers.spec import HeaderMatch, Preamble, Source
from kpi.importers.text import JSON_LINES, PARQUET, LineLocator, Sniffed, table_length
from kpi.measures import MONEY, SIGNED, Measure

CHUNK_ROWS = 200_000
#: Files read record by record, not by the CSV parser (which settles an ambiguous date format
#: from the whole file).
RECORDS = (PARQUET, JSON_LINES)
#: The first chunks of a text file are smaller (each twice the one before, up to the chunk
#: size): the importer writes while the reader parses the next chunk, and the writer has nothing
#: to do until the first one is parsed.
FIRST_CHUNK_ROWS = 25_000
T = TypeVar("T")


@dataclass(frozen=True)
class ReadOptions:
    """What the user told ``kpibot ingest`` about the file, and today's date for lifetime rows."""

    today: dt.date
    platform: str | None = None
    account: str | None = None
    period: tuple[dt.date, dt.date] | None = None
    chunk_rows: int = CHUNK_ROWS


@dataclass(frozen=True)
class Layout:
    """Where the table is: the chosen source, header row, delimiter and what the preamble said."""

    sniffed: Sniffed
    source: Source
    header_index: int
    delimiter: str
    headers: tuple[str, ...]
    match: HeaderMatch
    preamble: Preamble


@dataclass
class ChunkNotes:
    """Rows a chunk skipped and the warnings it raised (merged by the caller)."""

    skipped: int = 0
    warnings: list[str] = field(default_factory=list)


def _per_distinct(function: Callable[[str], T], column: pd.Series, blank: T) -> pd.Series:
    """``function`` applied once per distinct cell (``blank`` for empty cells).

    A million rows hold a few thousand distinct labels, so this is far cheaper than per row.
    """
    codes, distinct = pd.factorize(column)
    results = [*(function(str(value)) for value in distinct), blank]
    picks = np.where(codes < 0, len(distinct), codes)
    if all(isinstance(result, str) for result in results):
        # gathered by Arrow into pandas' string storage: no Python object per row to convert
        strings = pd.array(pa.array(results).take(pa.array(picks)), dtype="str")
        return pd.Series(strings, index=column.index)
    return pd.Series(np.array(results, dtype=object)[picks], index=column.index)


def _text(column: pd.Series) -> pd.Series:
    """Cells as stripped strings, "" for blanks (a dimension is never NULL)."""
    return _per_distinct(str.strip, column, "")


def _blank_rows(raw: pd.DataFrame) -> pd.Series:
    """Rows whose every cell is empty. Numeric columns are looked at first (their test is the
    cheapest) and the look stops once no row is left, so a file without blank lines costs one
    column's test instead of a test of every cell."""
    numeric_first = sorted(raw.columns, key=lambda c: not pd.api.types.is_numeric_dtype(raw[c]))
    blank = pd.Series(True, index=raw.index)
    for column in numeric_first:
        if not blank.any():
            break
        blank &= raw[column].isna()
    return blank


def first_record(mask: pd.Series) -> int:
    """The record number (index label) of the first True in ``mask``."""
    return int(np.asarray(mask.index)[mask.to_numpy().argmax()])


class Reader:
    """Reads one file laid out as ``layout`` into canonical chunks."""

    def __init__(self, layout: Layout, options: ReadOptions) -> None:
        self.layout = layout
        self.options = options
        self.path = layout.sniffed.path
        self.locator = LineLocator(
            self.path, layout.sniffed.encoding, layout.delimiter, layout.header_index
        )
        self._kinds: list[Kind] | None = None
        self._date_formats: dict[int, str] = {}
        self._first_rows = min(FIRST_CHUNK_ROWS, options.chunk_rows)
        self._validate_options()

    def _validate_options(self) -> None:
        columns = self.layout.match.columns
        has_dates = spec.DATE in columns or spec.PERIOD_START in columns
        if not has_dates and not self.layout.source.lifetime_rows:
            window = self._window()
            if window is None:
                raise IngestError(
                    "the rows carry no dates and the file does not say which period they cover; "
                    "pass --period START..END",
                    path=self.path,
                )
        if spec.PLATFORM not in columns and self._fixed_platform() is None:
            raise IngestError(
                "missing required column 'platform' (or pass --platform NAME)", path=self.path
            )

    def _window(self) -> tuple[dt.date, dt.date] | None:
        if self.options.period is not None:
            return self.options.period
        preamble = self.layout.preamble
        if preamble.start is not None and preamble.end is not None:
            return preamble.start, preamble.end
        return None

    def _fixed_platform(self) -> str | None:
        chosen = self.options.platform or self.layout.match.platform or self.layout.source.platform
        return normalise_platform(chosen) if chosen else None

    def error(
        self,
        reason: str,
        record: int | None = None,
        column: int | None = None,
        value: object = None,
    ) -> IngestError:
        return IngestError(
            reason,
            path=self.path,
            line=None if record is None else self.locator.line(record),
            column=None if column is None else self.layout.headers[column],
            value=None if value is None else str(value),
        )

    def error_at(self, reason: str, record: int, target: str, value: object) -> IngestError:
        """A located error for a canonical field, named by the file's own header."""
        position = self.layout.match.columns.get(target)
        header = self.layout.headers[position] if position is not None else target
        return IngestError(
            reason, path=self.path, line=self.locator.line(record), column=header, value=str(value)
        )

    def chunks(self) -> Iterator[tuple[pd.DataFrame, ChunkNotes]]:
        for raw in self._raw_chunks():
            notes = ChunkNotes()
            yield self._canonical(raw, notes), notes

    def _record_chunks(self) -> Iterator[pd.DataFrame]:
        """Parquet row groups or JSON Lines, as chunks numbered like CSV records."""
        headers = list(self.layout.headers)
        rows = self.options.chunk_rows
        try:
            if self.layout.sniffed.encoding == PARQUET:
                batches = pq.ParquetFile(self.path).iter_batches(batch_size=rows)
                frames: Iterator[pd.DataFrame] = (batch.to_pandas() for batch in batches)
            else:
                frames = pd.read_json(self.path, lines=True, chunksize=rows, dtype=False)
            offset = 0
            for records in frames:
                chunk = records.reindex(columns=headers)
                chunk.columns = list(range(len(headers)))
                chunk.index = pd.RangeIndex(offset, offset + len(chunk))
                offset += len(chunk)
                yield chunk.replace({"": np.nan})
        except (ValueError, OSError, pa.ArrowException) as exc:
            raise IngestError(f"cannot read the records: {exc}", path=self.path) from exc

    def _raw_chunks(self) -> Iterator[pd.DataFrame]:
        layout = self.layout
        if layout.sniffed.encoding in RECORDS:
            yield from self._record_chunks()
            return
        text_positions = {
            *layout.match.item_parts,
            *(
                position
                for target, position in layout.match.columns.items()
                if target in spec.TEXT_FIELDS or target in spec.DATE_FIELDS
            ),
        }
        decimal_comma = layout.delimiter == ";"
        nrows = (
            table_length(self.path, layout.sniffed.encoding, layout.header_index)
            if layout.source.table_ends_at_blank
            else None
        )
        try:
            with pd.read_csv(
                self.path,
                **self._csv_table(),
                # Python strings, not pandas' Arrow-backed "str": each distinct cell is cleaned
                # once and the result gathered into Arrow, so converting every cell (a second
                # per million rows) would be wasted
                dtype={position: "object" for position in text_positions},
                skip_blank_lines=False,
                chunksize=self.options.chunk_rows,
                nrows=nrows,
                decimal="," if decimal_comma else ".",
            ) as reader:
                rows = self._first_rows
                while rows < self.options.chunk_rows:
                    try:
                        yield reader.get_chunk(rows)
                    except StopIteration:
                        return
                    rows *= 2
                yield from reader
        except pd.errors.ParserError as exc:
            raise IngestError(
                f"the file is not a well-formed table: {exc}", path=self.path
            ) from exc
        except UnicodeDecodeError as exc:
            raise IngestError(f"cannot decode the file: {exc}", path=self.path) from exc

    def _canonical(self, raw: pd.DataFrame, notes: ChunkNotes) -> pd.DataFrame:
        raw = self._drop_blank_and_total_rows(raw, notes)
        moved = Realigned((), ())
        if raw.iloc[:, -1].isna().any():  # only rows ending in blanks can be shifted
            if self._kinds is None:
                self._kinds = column_kinds(raw)
            if self._kinds is not None:
                raw, moved = realign(raw, self._kinds)
        if moved.records:
            lines = ", ".join(str(self.locator.line(r)) for r in moved.records[:5])
            more = f" and {len(moved.records) - 5} more" if len(moved.records) > 5 else ""
            start, shift = moved.shifts[0]
            missing = ", ".join(self.layout.headers[start : start + shift])
            notes.warnings.append(
                f"{len(moved.records)} rows were shifted {shift} columns left "
                f"(lines {lines}{more});"
                f" they were re-aligned and their missing cells ({missing}) left empty"
            )
        out = pd.DataFrame(index=raw.index)
        out["_record"] = raw.index.to_numpy()
        self._periods(raw, out)
        self._dimensions(raw, out)
        self._measures(raw, out)
        return out

    def _drop_blank_and_total_rows(self, raw: pd.DataFrame, notes: ChunkNotes) -> pd.DataFrame:
        blank = _blank_rows(raw)
        first = raw.iloc[:, 0]
        total = pd.Series(False, index=raw.index)
        if not pd.api.types.is_numeric_dtype(first):
            total = _per_distinct(spec.is_total_label, first, False).astype(bool)
        summary = pd.Series(False, index=raw.index)
        if self.layout.source.blank_dimensions_is_summary:
            match = self.layout.match
            dims = [
                p for t, p in match.columns.items() if t in (spec.CAMPAIGN, spec.ITEM, spec.CREATOR)
            ]
            dims = sorted({*dims, *match.item_parts})
            if dims:
                summary = raw[dims].isna().all(axis=1)
        notes.skipped += int((total | summary).sum())
        return raw.loc[~(blank | total | summary)]

    def _periods(self, raw: pd.DataFrame, out: pd.DataFrame) -> None:
        columns = self.layout.match.columns
        start_position = columns.get(spec.DATE, columns.get(spec.PERIOD_START))
        if start_position is None:
            window = self._window()
            if self.layout.source.lifetime_rows and window is None:
                raise self.error("the rows carry no publish date")
            assert window is not None
            out["period_start"] = pd.Timestamp(window[0])
            out["period_end"] = pd.Timestamp(window[1])
            return
        start = self._dates(raw, start_position)
        out["period_start"] = start
        end_position = columns.get(spec.PERIOD_END) if spec.DATE not in columns else None
        if end_position is not None:
            end = self._dates(raw, end_position)
            out["period_end"] = end.fillna(start)
        elif self.layout.source.lifetime_rows:
            out["period_end"] = pd.Timestamp(self.options.today)
        else:
            out["period_end"] = start
        if out["period_start"].isna().any():
            record = first_record(out["period_start"].isna())
            raise self.error("a row has no date", record, start_position)
        backwards = out["period_end"] < out["period_start"]
        if backwards.any():
            record = first_record(backwards)
            raise self.error(
                "the period ends before it starts",
                record,
                end_position,
                raw.at[record, end_position] if end_position is not None else None,
            )

    def _dates(self, raw: pd.DataFrame, position: int) -> pd.Series:
        """Dates of one column, in the format its first chunk settled (day- or month-first)."""
        known = self._date_formats.get(position)
        formats = (known,) if known else self.layout.source.date_formats
        parsed = parse_dates(raw[position], formats)
        if known is None and parsed.format is not None and raw[position].notna().any():
            ambiguous = not parsed.format.startswith("%Y")
            more_may_follow = len(raw) >= self._first_rows
            if ambiguous and more_may_follow and self.layout.sniffed.encoding not in RECORDS:
                settled = self._settle_date_format(position)
                if settled is not None and settled != parsed.format:
                    parsed = parse_dates(raw[position], (settled,))
            self._date_formats.setdefault(position, parsed.format or "")
        if parsed.bad.any():
            record = first_record(parsed.bad)
            raise self.error("not a date", record, position, raw.at[record, position])
        return parsed.values

    def _csv_table(self) -> dict[str, Any]:
        """How pandas finds the table: below the header, columns numbered, only "" missing."""
        layout = self.layout
        return {
            "encoding": layout.sniffed.encoding,
            "sep": layout.delimiter,
            "header": None,
            "names": list(range(len(layout.headers))),
            "skiprows": layout.header_index + 1,
            "keep_default_na": False,
            "na_values": [""],
            "engine": "c",
        }

    def _settle_date_format(self, position: int) -> str | None:
        """Choose a column's date format from the whole file, before a multi-chunk read.

        A first chunk whose dates all fit day-first (``05/03/2026``) says nothing about a later
        ``05/13/2026``; reading only that column up front decides once, for every chunk.
        """
        column = pd.read_csv(self.path, **self._csv_table(), usecols=[position], dtype="str")
        chosen = parse_dates(
            column[position].drop_duplicates(), self.layout.source.date_formats
        ).format
        if chosen is not None:
            self._date_formats[position] = chosen
        return chosen

    def _dimensions(self, raw: pd.DataFrame, out: pd.DataFrame) -> None:
        columns = self.layout.match.columns
        for target in (spec.ACCOUNT, spec.CAMPAIGN, spec.CREATOR, spec.ITEM):
            position = columns.get(target)
            if position is None:
                default = self.options.account if target == spec.ACCOUNT else None
                default = default or (
                    self.layout.preamble.account if target == spec.ACCOUNT else None
                )
                out[target] = default or ""
            elif target == spec.ITEM and len(self.layout.match.item_parts) > 1:
                parts = [_text(raw[p]) for p in self.layout.match.item_parts]
                out[target] = parts[0].str.cat(pd.concat(parts[1:], axis=1), sep=" / ")
            else:
                out[target] = _text(raw[position])
        platform_position = columns.get(spec.PLATFORM)
        fixed = self._fixed_platform()
        if platform_position is None:
            assert fixed is not None
            out["platform"] = fixed
        else:
            names = _text(raw[platform_position])
            missing = names == ""
            if missing.any() and fixed is None:
                record = first_record(missing)
                raise self.error("the platform is empty", record, platform_position, "")
            named = names.where(~missing, fixed or "")
            out["platform"] = _per_distinct(normalise_platform, named, "")
        currency_position = columns.get(spec.CURRENCY)
        if currency_position is not None:
            out["currency"] = _text(raw[currency_position]).str.upper()
        else:
            out["currency"] = self.layout.match.currency or ""

    def _measures(self, raw: pd.DataFrame, out: pd.DataFrame) -> None:
        decimal_comma = self.layout.delimiter == ";"
        for target, position in self.layout.match.columns.items():
            if target not in Measure.__members__.values():
                continue
            measure = Measure(target)
            parsed = parse_numbers(raw[position], decimal_comma=decimal_comma)
            if parsed.bad.any():
                record = first_record(parsed.bad)
                raise self.error("not a number", record, position, raw.at[record, position])
            values = parsed.values
            if measure not in SIGNED and (values < 0).any():
                record = first_record(values < 0)
                raise self.error(
                    f"{measure.value} cannot be negative",
                    record,
                    position,
                    raw.at[record, position],
                )
            if measure in MONEY:
                values = values.round(2)
            out[measure.value] = values.to_numpy(dtype=np.float64)
