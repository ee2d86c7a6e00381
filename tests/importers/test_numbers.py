"""Number cells written for people: separators, ``%``, currency symbols, decimal commas, nulls."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Engine

from kpi.errors import IngestError
from tests.importers.store_queries import ingest, nulls, rows, total, write, zeros

NBSP, NNBSP = "\u00a0", "\u202f"

#: item -> (cell as written in a comma-separated file, value expected in the store)
COMMA_CELLS: dict[str, tuple[str, float | None]] = {
    "plain": ("1234", 1234),
    "thousands": ('"1,234"', 1234),
    "thousands and decimals": ('"1,234.56"', 1234.56),
    "percent": ("6.20%", 6.2),
    "euro": ("€12.50", 12.5),
    "dollar": ('"$1,000.00"', 1000),
    "pound": ("£3", 3),
    "iso code": ("12.5 EUR", 12.5),
    "no-break space": (f"1{NBSP}234", 1234),
    "zero": ("0", 0),
    "dashes": ("--", None),
    "spaced dashes": (" --", None),
    "blank": ("", None),
    "masked": ("<5", None),
}

#: item -> (cell as written in a semicolon-separated file, value expected in the store)
SEMICOLON_CELLS: dict[str, tuple[str, float | None]] = {
    "dot thousands": ("1.234,56", 1234.56),
    "space thousands": ("1 234,56", 1234.56),
    "narrow no-break space": (f"1{NNBSP}234,56", 1234.56),
    "decimal comma": ("12,5", 12.5),
    "percent": ("12,5 %", 12.5),
    "thousands only": ("1.234", 1234),
    "euro": ("€ 99,90", 99.9),
    "zero": ("0", 0),
    "dashes": ("--", None),
    "blank": ("", None),
}


def _export(tmp_path: Path, cells: dict[str, tuple[str, float | None]], sep: str) -> Path:
    lines = [sep.join(["date", "platform", "item", "conversions"])]
    lines += [sep.join(["2026-05-01", "meta", item, cell]) for item, (cell, _) in cells.items()]
    return write(tmp_path, "numbers.csv", "\n".join(lines) + "\n")


@pytest.mark.parametrize(
    ("sep", "cells"), [(",", COMMA_CELLS), (";", SEMICOLON_CELLS)], ids=["comma", "semicolon"]
)
def test_number_cells(
    engine: Engine, tmp_path: Path, sep: str, cells: dict[str, tuple[str, float | None]]
) -> None:
    ingest(engine, _export(tmp_path, cells, sep))

    stored = {r.item: r["conversions"] for r in rows(engine, "conversions")}
    expected = {
        item: None if value is None else pytest.approx(value) for item, (_, value) in cells.items()
    }
    assert stored == expected


def test_null_stays_distinct_from_zero(engine: Engine, tmp_path: Path) -> None:
    ingest(engine, _export(tmp_path, COMMA_CELLS, ","))

    assert nulls(engine, "conversions") == 4
    assert zeros(engine, "conversions") == 1


def test_money_is_rounded_to_cents(engine: Engine, tmp_path: Path) -> None:
    text = "date,platform,currency,spend,revenue\n2026-05-01,meta,USD,1.429999948,10.005001\n"

    ingest(engine, write(tmp_path, "money.csv", text))

    assert total(engine, "spend") == 1.43
    assert total(engine, "revenue") == 10.01


def test_dot_decimals_in_a_semicolon_file_are_not_multiplied(
    engine: Engine, tmp_path: Path
) -> None:
    text = "date;platform;currency;spend\n2026-05-01;meta;EUR;12.50\n"
    path = write(tmp_path, "dots.csv", text)

    try:
        ingest(engine, path)
    except IngestError:
        return  # refusing the ambiguous cell would be fine too
    assert total(engine, "spend") == pytest.approx(12.5)
