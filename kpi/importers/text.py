"""Reading the top of an export: encoding, header row, delimiter and preamble.

Exports put titles, date ranges and ``#`` comments above the header, in UTF-8, UTF-8 with a BOM,
UTF-16 (LinkedIn, Google Ads "Excel CSV", Business Suite) or Windows-1252. The header is the first
row in which a source finds all its required columns, so preambles need no per-source line counts.
"""

from __future__ import annotations

import codecs
import csv
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pyarrow.parquet as pq

SAMPLE_LINES = 60
DELIMITERS = ("\t", ";", ",")
_BLOCK = 1 << 20


@dataclass(frozen=True)
class Sniffed:
    """A file's encoding and its first lines, decoded."""

    path: Path
    encoding: str
    lines: tuple[str, ...]


def detect_encoding(path: Path) -> str:
    """BOMs decide; otherwise the whole file must decode as UTF-8, or it is read as cp1252."""
    with path.open("rb") as handle:
        head = handle.read(4)
        if head.startswith(codecs.BOM_UTF8):
            return "utf-8-sig"
        if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
            return "utf-16"
        handle.seek(0)
        decoder = codecs.getincrementaldecoder("utf-8")()
        try:
            while block := handle.read(_BLOCK):
                decoder.decode(block)
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            return "cp1252"
    return "utf-8"


#: Files whose rows are records, not text lines: their "header" is the column names, tab-joined.
PARQUET, JSON_LINES = "parquet", "json-lines"
_RECORD_FORMATS = {".parquet": PARQUET, ".jsonl": JSON_LINES, ".ndjson": JSON_LINES}
_JSON_SAMPLE = 100


def record_format(path: Path) -> str | None:
    return _RECORD_FORMATS.get(path.suffix.lower())


def _record_columns(path: Path, kind: str) -> list[str]:
    if kind == PARQUET:
        return list(pq.ParquetFile(path).schema_arrow.names)
    names: dict[str, None] = {}
    with path.open(encoding="utf-8-sig") as handle:
        for number, line in enumerate(handle):
            if number >= _JSON_SAMPLE:
                break
            if line.strip():
                try:
                    record = json.loads(line)
                except json.JSONDecodeError:
                    break  # reported with its line when the rows are read
                if isinstance(record, dict):
                    names.update(dict.fromkeys(record))
    return list(names)


def sniff(path: Path) -> Sniffed:
    kind = record_format(path)
    if kind is not None:
        return Sniffed(path, kind, ("\t".join(_record_columns(path, kind)),))
    encoding = detect_encoding(path)
    lines: list[str] = []
    with path.open(encoding=encoding, newline="") as handle:
        for line in handle:
            lines.append(line.rstrip("\r\n"))
            if len(lines) >= SAMPLE_LINES:
                break
    return Sniffed(path, encoding, tuple(lines))


def split(line: str, delimiter: str) -> list[str]:
    return next(csv.reader([line], delimiter=delimiter), [])


def table_length(path: Path, encoding: str, header_index: int) -> int:
    """Rows in the table below the header, up to the first blank or ``#`` line (GA4)."""
    count = 0
    with path.open(encoding=encoding, newline="") as handle:
        for number, line in enumerate(handle):
            if number <= header_index:
                continue
            stripped = line.strip()
            if not stripped or stripped.startswith("#"):
                break
            count += 1
    return count


class LineLocator:
    """Maps a data record (0 = first row below the header) to its physical line, lazily.

    Quoted cells may hold newlines, so record N is not always line header + N + 1. Scanning with
    the csv module is exact but slow, so it only runs when a message needs a line number.
    """

    def __init__(self, path: Path, encoding: str, delimiter: str, header_index: int) -> None:
        self._path = path
        self._encoding = encoding
        self._delimiter = delimiter
        self._header_index = header_index
        self._starts: list[int] | None = None

    def line(self, record: int) -> int:
        if record_format(self._path) is not None:
            return record + 1  # JSON Lines: the line; Parquet: the row, counted from 1
        if self._starts is None:
            self._starts = list(self._record_starts())
        if 0 <= record < len(self._starts):
            return self._starts[record]
        return self._header_index + 2 + record

    def _record_starts(self) -> Iterator[int]:
        with self._path.open(encoding=self._encoding, newline="") as handle:
            for _ in range(self._header_index):
                handle.readline()
            reader = csv.reader(handle, delimiter=self._delimiter)
            next(reader, None)
            previous = reader.line_num
            for _row in reader:
                yield self._header_index + previous + 1
                previous = reader.line_num
