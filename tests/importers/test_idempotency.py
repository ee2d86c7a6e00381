"""Re-imports and overlapping exports replace, never double; ``dry_run`` writes nothing."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from sqlalchemy import Engine

from tests.importers.store_queries import (
    day,
    fixture,
    ingest,
    rows,
    snapshot,
    total,
    totals_by,
    write,
)

HEADER = "date,platform,account,campaign,clicks\n"


def _daily(tmp_path: Path, name: str, first: int, last: int, clicks: int, account: str) -> Path:
    lines = [f"2026-05-{d:02d},meta,{account},A,{clicks + d}\n" for d in range(first, last + 1)]
    return write(tmp_path, name, HEADER + "".join(lines))


def _clicks_per_day(engine: Engine, **where: str) -> dict[dt.date, list[float | None]]:
    found: dict[dt.date, list[float | None]] = {}
    for row in rows(engine, "clicks", **where):
        found.setdefault(row.period_start, []).append(row["clicks"])
    return found


def test_importing_the_same_file_twice_changes_nothing(engine: Engine) -> None:
    first = ingest(engine, fixture("meta_ads_daily_en.csv"))
    before = snapshot(engine)

    again = ingest(engine, fixture("meta_ads_daily_en.csv"))

    assert (first.rows_written, first.rows_replaced) == (4, 0)
    assert (again.rows_written, again.rows_replaced) == (4, 4)
    after = snapshot(engine)
    assert (after.facts, after.series, after.sums) == (before.facts, before.series, before.sums)
    assert after.imports == before.imports + 1


def test_overlapping_exports_count_every_day_once(engine: Engine, tmp_path: Path) -> None:
    ingest(engine, _daily(tmp_path, "1-10.csv", 1, 10, clicks=0, account="acme"))
    report = ingest(engine, _daily(tmp_path, "5-15.csv", 5, 15, clicks=100, account="acme"))

    assert report.rows_replaced == 6
    per_day = _clicks_per_day(engine)
    assert sorted(per_day) == [day(f"2026-05-{d:02d}") for d in range(1, 16)]
    assert all(len(values) == 1 for values in per_day.values())
    assert {d.day: v[0] for d, v in per_day.items()} == {
        **{d: d for d in range(1, 5)},
        **{d: 100 + d for d in range(5, 16)},
    }


def test_replacing_is_scoped_to_the_account(engine: Engine, tmp_path: Path) -> None:
    ingest(engine, _daily(tmp_path, "a.csv", 1, 3, clicks=0, account="acme"))
    ingest(engine, _daily(tmp_path, "b.csv", 1, 3, clicks=10, account="globex"))

    report = ingest(engine, _daily(tmp_path, "a2.csv", 1, 3, clicks=100, account="acme"))

    assert report.rows_replaced == 3
    assert totals_by(engine, "clicks", "account") == {"acme": 306, "globex": 36}


def test_replacing_one_account_keeps_the_others_of_the_same_import(
    engine: Engine, tmp_path: Path
) -> None:
    """Earlier rows are picked by their import: the accounts of that import the new file does
    not hold must be told apart by their series."""
    both = "".join(
        f"2026-05-0{d},meta,{account},A,{d}\n" for d in (1, 2, 3) for account in ("acme", "globex")
    )
    ingest(engine, write(tmp_path, "both.csv", HEADER + both))

    report = ingest(engine, _daily(tmp_path, "acme.csv", 2, 3, clicks=100, account="acme"))

    assert report.rows_replaced == 2
    assert totals_by(engine, "clicks", "account") == {"acme": 1 + 102 + 103, "globex": 6}


def test_account_option_scopes_replacing_too(engine: Engine, tmp_path: Path) -> None:
    text = "date,platform,clicks\n2026-05-01,meta,1\n"
    ingest(engine, write(tmp_path, "x.csv", text), account="acme")
    ingest(engine, write(tmp_path, "y.csv", text.replace(",1\n", ",2\n")), account="globex")

    assert totals_by(engine, "clicks", "account") == {"acme": 1, "globex": 2}


def test_replacing_is_scoped_to_the_platform(engine: Engine, tmp_path: Path) -> None:
    ingest(engine, fixture("canonical_daily.csv"))
    text = "date,platform,account,campaign,clicks\n2026-05-01,facebook,acme,Spring Sale,7\n"

    report = ingest(engine, write(tmp_path, "fb.csv", text))

    assert report.rows_replaced == 1  # facebook on 2026-05-01 only
    assert totals_by(engine, "clicks", "platform") == {"facebook": 32, "instagram": 75}


def test_replacing_is_scoped_to_the_source(engine: Engine, tmp_path: Path) -> None:
    text = "date,platform,account,campaign,clicks\n2026-05-01,meta,Acme EU,Spring Sale,7\n"
    ingest(engine, write(tmp_path, "canonical.csv", text))

    report = ingest(engine, fixture("meta_ads_daily_en.csv"))

    assert report.rows_replaced == 0
    assert total(engine, "clicks") == 107


def test_dry_run_reports_but_writes_nothing(engine: Engine) -> None:
    empty = snapshot(engine)

    report = ingest(engine, fixture("google_ads_campaign.csv"), dry_run=True)

    assert report.dry_run
    assert (report.rows_written, report.rows_replaced, report.rows_skipped) == (3, 0, 3)
    assert snapshot(engine) == empty


def test_dry_run_reports_what_it_would_replace(engine: Engine, tmp_path: Path) -> None:
    ingest(engine, _daily(tmp_path, "1-10.csv", 1, 10, clicks=0, account="acme"))
    before = snapshot(engine)

    report = ingest(
        engine, _daily(tmp_path, "5-15.csv", 5, 15, clicks=100, account="acme"), dry_run=True
    )

    assert (report.rows_written, report.rows_replaced) == (11, 6)
    assert snapshot(engine) == before


def test_days_between_two_chunks_are_replaced_too(engine: Engine, tmp_path: Path) -> None:
    """Earlier rows are deleted chunk by chunk; days of the file's span no chunk holds (here
    3 to 8, between a first chunk of days 1-2 and a second of days 9-10) still are."""
    ingest(engine, _daily(tmp_path, "1-10.csv", 1, 10, clicks=0, account="acme"))
    text = HEADER + "".join(f"2026-05-{d:02d},meta,acme,A,{100 + d}\n" for d in (1, 2, 9, 10))

    report = ingest(engine, write(tmp_path, "ends.csv", text), chunk_rows=2)

    assert report.rows_replaced == 10
    assert {d.day: v for d, v in _clicks_per_day(engine).items()} == {
        1: [101],
        2: [102],
        9: [109],
        10: [110],
    }


def test_longer_periods_reaching_past_a_chunk_are_replaced(engine: Engine, tmp_path: Path) -> None:
    """A week that starts in one chunk's dates and ends in a later chunk's is in no single
    chunk's span: it is deleted once the file's span is known."""
    weekly = "period_start,period_end,platform,account,campaign,clicks\n"
    ingest(engine, write(tmp_path, "week.csv", weekly + "2026-05-01,2026-05-07,meta,acme,A,70\n"))

    report = ingest(
        engine, _daily(tmp_path, "1-10.csv", 1, 10, clicks=0, account="acme"), chunk_rows=3
    )

    assert report.rows_replaced == 1
    assert total(engine, "clicks") == sum(range(1, 11))
    assert all(len(values) == 1 for values in _clicks_per_day(engine).values())


def test_foreign_keys_hold_and_are_checked_again_after_an_import(
    engine: Engine, tmp_path: Path
) -> None:
    """Imports run without foreign-key checks on facts (SQLite turns them off for the import's
    connection, PostgreSQL has no such constraint since migration 0008): every fact still
    names a stored series and import, and SQLite's pooled connection checks again afterwards."""
    ingest(engine, _daily(tmp_path, "1-10.csv", 1, 10, clicks=0, account="acme"))
    ingest(engine, _daily(tmp_path, "5-15.csv", 5, 15, clicks=100, account="acme"))

    with engine.connect() as connection:
        orphans = connection.exec_driver_sql(
            "SELECT COUNT(*) FROM facts"
            " LEFT JOIN series ON series.id = facts.series_id"
            " LEFT JOIN imports ON imports.id = facts.import_id"
            " WHERE series.id IS NULL OR imports.id IS NULL"
        ).scalar_one()
        assert orphans == 0
        if engine.dialect.name == "sqlite":
            assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar_one() == 1
            assert connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall() == []
