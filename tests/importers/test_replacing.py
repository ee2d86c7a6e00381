"""What an import replaces, against a model of the rule: for each platform and account in the
file, the earlier rows of the same source that lie inside the dates the file covers for them.

The importer deletes those rows chunk by chunk, in pieces shared by the chunk's platforms and
accounts, and the rest once the file is read. Small chunks cut days in two, so the pieces differ
from pair to pair; the stored rows and the count of rows replaced must still follow the rule.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import hypothesis.strategies as st
from hypothesis import HealthCheck, given, settings
from sqlalchemy import Engine, delete

from kpi.store.schema import facts, imports, rollup_day, rollup_month, rollup_year, series
from tests.importers.store_queries import ingest, rows, write

FIRST = dt.date(2026, 4, 27)
PAIRS = (("meta", "acme"), ("meta", "globex"), ("tiktok", "acme"))
#: (platform, account, campaign, first day, last day): one stored or exported row's identity.
Key = tuple[str, str, str, dt.date, dt.date]
Export = dict[Key, int]


@st.composite
def exports(draw: st.DrawFn) -> Export:
    """A file's rows: mostly days, now and then a longer period, on some of the pairs."""
    pairs = draw(st.lists(st.sampled_from(PAIRS), min_size=1, max_size=3, unique=True))
    found: Export = {}
    for _ in range(draw(st.integers(1, 14))):
        platform, account = draw(st.sampled_from(pairs))
        start = FIRST + dt.timedelta(days=draw(st.integers(0, 9)))
        length = draw(st.sampled_from([0, 0, 0, 0, 2, 6]))
        campaign = draw(st.sampled_from(["A", "B"]))
        key = (platform, account, campaign, start, start + dt.timedelta(days=length))
        found[key] = draw(st.integers(0, 999))
    return found


def _text(export: Export) -> str:
    """The rows in date order, as an export is, so a small chunk ends within a day."""
    lines = [
        f"{start},{end},{platform},{account},{campaign},{clicks}\n"
        for (platform, account, campaign, start, end), clicks in sorted(
            export.items(), key=lambda item: (item[0][3], item[0][:3], item[0][4])
        )
    ]
    return "period_start,period_end,platform,account,campaign,clicks\n" + "".join(lines)


def _replace(stored: Export, export: Export) -> int:
    """The rule, applied to the model of the store; returns how many rows it replaced."""
    spans: dict[tuple[str, str], tuple[dt.date, dt.date]] = {}
    for platform, account, _, start, end in export:
        first, last = spans.get((platform, account), (start, end))
        spans[(platform, account)] = (min(first, start), max(last, end))
    replaced = [
        key
        for key in stored
        if (key[0], key[1]) in spans
        and spans[(key[0], key[1])][0] <= key[3]
        and key[4] <= spans[(key[0], key[1])][1]
    ]
    for key in replaced:
        del stored[key]
    stored.update(export)
    return len(replaced)


def _stored(engine: Engine) -> Export:
    return {
        (row.platform, row.account, row.campaign, row.period_start, row.period_end): int(
            row["clicks"] or 0
        )
        for row in rows(engine, "clicks")
    }


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(files=st.lists(exports(), min_size=2, max_size=3), chunk_rows=st.integers(1, 6))
def test_an_import_replaces_what_the_rule_says_and_nothing_else(
    engine: Engine, tmp_path: Path, files: list[Export], chunk_rows: int
) -> None:
    with engine.begin() as connection:
        for table in (rollup_day, rollup_month, rollup_year, facts, series, imports):
            connection.execute(delete(table))
    model: Export = {}
    for number, export in enumerate(files):
        path = write(tmp_path, f"export{number}.csv", _text(export))

        report = ingest(engine, path, source="canonical", chunk_rows=chunk_rows)

        assert report.rows_replaced == _replace(model, export)
        assert _stored(engine) == model
