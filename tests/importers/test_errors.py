"""A refused file names the file, line, column and value, and leaves the store as it was."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import Engine

from kpi.errors import IngestError, UnknownSourceError
from tests.importers.store_queries import fixture, ingest, snapshot, total, write

HEADER = "date,platform,account,campaign,impressions,clicks,spend,currency\n"
GOOD = [
    "2026-05-01,meta,acme,A,1000,10,5.00,EUR\n",
    "2026-05-02,meta,acme,A,1100,11,5.50,EUR\n",
    "2026-05-03,meta,acme,A,1200,12,6.00,EUR\n",
]


@dataclass(frozen=True)
class Bad:
    """A one-cell change to the good file and the error it must give."""

    row: int
    old: str
    new: str
    line: int
    column: str
    reason: str

    def text(self) -> str:
        lines = list(GOOD)
        lines[self.row] = lines[self.row].replace(self.old, self.new, 1)
        return HEADER + "".join(lines)


CASES = {
    "not a number": Bad(1, ",11,", ",eleven,", 3, "clicks", "not a number"),
    "not a date": Bad(2, "2026-05-03", "2026-13-45", 4, "date", "not a date"),
    "empty platform": Bad(0, ",meta,", ",,", 2, "platform", "the platform is empty"),
}


@pytest.fixture
def loaded(engine: Engine) -> Engine:
    """A store that already holds an import, to show a refused file changes nothing."""
    ingest(engine, fixture("canonical_daily.csv"))
    return engine


@pytest.mark.parametrize("case", CASES.values(), ids=list(CASES))
def test_bad_cell_is_located(loaded: Engine, tmp_path: Path, case: Bad) -> None:
    path = write(tmp_path, "bad.csv", case.text())
    before = snapshot(loaded)

    with pytest.raises(IngestError) as caught:
        ingest(loaded, path)

    error, value = caught.value, case.new.strip(",")
    assert (error.path, error.line, error.column, error.value) == (
        str(path),
        case.line,
        case.column,
        value,
    )
    assert str(error) == (
        f"{path}, line {case.line}, column {case.column!r}, value {value!r}: {case.reason}"
    )
    assert snapshot(loaded) == before


def test_negative_count_is_refused(loaded: Engine, tmp_path: Path) -> None:
    path = write(tmp_path, "neg.csv", HEADER + GOOD[0] + GOOD[1].replace(",1100,", ",-5,"))
    before = snapshot(loaded)

    with pytest.raises(IngestError, match="impressions cannot be negative") as caught:
        ingest(loaded, path)

    assert (caught.value.line, caught.value.column) == (3, "impressions")
    assert f"{path}, line 3, column 'impressions'" in str(caught.value)
    assert snapshot(loaded) == before


def test_negative_count_names_the_cell_as_written(engine: Engine, tmp_path: Path) -> None:
    path = write(tmp_path, "neg.csv", HEADER + GOOD[0].replace(",1000,", ",-5,"))

    with pytest.raises(IngestError) as caught:
        ingest(engine, path)

    assert caught.value.value == "-5"


def test_errors_name_the_files_own_header_and_count_preamble_lines(
    engine: Engine, tmp_path: Path
) -> None:
    text = fixture("google_ads_daily.csv").read_text(encoding="utf-8")
    path = write(tmp_path, "gads.csv", text.replace("388.00", "3 8 8 ?"))

    with pytest.raises(IngestError) as caught:
        ingest(engine, path)

    assert (caught.value.line, caught.value.column, caught.value.value) == (6, "Cost", "3 8 8 ?")


def test_line_numbers_in_a_utf16_file(engine: Engine, tmp_path: Path) -> None:
    text = fixture("linkedin_ads_daily_utf16.csv").read_text(encoding="utf-16")
    path = write(tmp_path, "li.csv", text.replace("5/12/2026", "12/5/2026x"), "utf-16")

    with pytest.raises(IngestError) as caught:
        ingest(engine, path)

    assert (caught.value.line, caught.value.column, caught.value.value) == (
        9,
        "Start Date (in UTC)",
        "12/5/2026x",
    )


def test_line_number_counts_newlines_inside_quoted_cells(engine: Engine, tmp_path: Path) -> None:
    text = (
        "date,platform,campaign,clicks\n"
        '2026-05-01,meta,"Spring\nSale",10\n'
        '2026-05-02,meta,"Summer\r\n\r\nDeals",11\n'
        "2026-05-03,meta,Autumn,twelve\n"
    )
    path = write(tmp_path, "quoted.csv", text)

    with pytest.raises(IngestError) as caught:
        ingest(engine, path)

    assert (caught.value.line, caught.value.column, caught.value.value) == (7, "clicks", "twelve")


def test_period_ending_before_it_starts_is_refused(engine: Engine, tmp_path: Path) -> None:
    text = fixture("meta_ads_totals_en.csv").read_text(encoding="utf-8-sig")
    backwards = text.replace("2026-05-31,Acme US,Summer,Set B", "2026-04-30,Acme US,Summer,Set B")
    path = write(tmp_path, "meta.csv", backwards)

    with pytest.raises(IngestError, match="ends before it starts") as caught:
        ingest(engine, path)

    assert (caught.value.line, caught.value.column, caught.value.value) == (
        4,
        "Reporting ends",
        "2026-04-30",
    )


def test_missing_platform_column_is_refused(loaded: Engine, tmp_path: Path) -> None:
    path = write(tmp_path, "noplatform.csv", "date,campaign,clicks\n2026-05-01,A,3\n")
    before = snapshot(loaded)

    with pytest.raises(IngestError, match="platform") as named:
        ingest(loaded, path, source="canonical")
    with pytest.raises(UnknownSourceError, match="--platform"):
        ingest(loaded, path)

    assert named.value.path == str(path)
    assert snapshot(loaded) == before


def test_undated_rows_need_a_period(loaded: Engine, tmp_path: Path) -> None:
    path = write(tmp_path, "undated.csv", "platform,campaign,clicks\nmeta,A,3\n")
    before = snapshot(loaded)

    with pytest.raises(IngestError, match=r"pass --period START\.\.END") as caught:
        ingest(loaded, path)

    assert caught.value.path == str(path)
    assert snapshot(loaded) == before


def test_error_on_the_last_line_keeps_the_earlier_import(engine: Engine, tmp_path: Path) -> None:
    ingest(engine, write(tmp_path, "first.csv", HEADER + "".join(GOOD)))
    before = snapshot(engine)
    later = "".join(GOOD).replace(",10,", ",99,") + "2026-05-04,meta,acme,A,1300,13,oops,EUR\n"
    path = write(tmp_path, "second.csv", HEADER + later)

    with pytest.raises(IngestError) as caught:
        ingest(engine, path, chunk_rows=1)  # earlier chunks were already written: rolled back

    assert (caught.value.line, caught.value.column, caught.value.value) == (5, "spend", "oops")
    assert snapshot(engine) == before
    assert total(engine, "clicks") == 33


@pytest.mark.parametrize("chunk_rows", [1000, 1])
def test_duplicate_rows_are_refused_on_every_engine(
    engine: Engine, tmp_path: Path, chunk_rows: int
) -> None:
    text = "date,platform,item,clicks\n2026-05-01,meta,ad-1,1\n2026-05-01,meta,ad-1,2\n"
    path = write(tmp_path, "dup.csv", text)
    before = snapshot(engine)

    with pytest.raises(IngestError, match="same platform, account") as caught:
        ingest(engine, path, chunk_rows=chunk_rows)

    if chunk_rows > 1:  # found before writing, so both lines are named
        assert caught.value.line == 3
        assert "repeats line 2" in str(caught.value)
    assert snapshot(engine) == before
