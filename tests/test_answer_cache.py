"""Remembered answers: reused for the same question, day and targets, dropped by an import."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd
from sqlalchemy import Engine

from kpi.answer import Answer
from kpi.answer_cache import AnswerCache, data_version
from kpi.catalog import BUILTIN
from kpi.grammar import parse
from kpi.importers.reader import ReadOptions
from kpi.ingest import ingest_file
from kpi.request import Request
from kpi.targets import Target, TargetGrain
from tests.conftest import NOW
from tests.query_data import load

TODAY = dt.date(2026, 11, 23)


def _frame(clicks: int) -> pd.DataFrame:
    return pd.DataFrame(
        {"date": ["2026-11-17"], "platform": ["tiktok"], "impressions": [1000], "clicks": [clicks]}
    )


def _ask(cache: AnswerCache, engine: Engine, text: str, targets: tuple[Target, ...] = ()) -> Answer:
    request = parse(text, BUILTIN, TODAY)
    assert isinstance(request, Request)
    return cache.ask(engine, request, today=TODAY, timezone="UTC", week_start=0, targets=targets)


def test_same_question_is_computed_once_until_an_import(engine: Engine, tmp_path: Path) -> None:
    load(engine, _frame(10), tmp_path)
    cache = AnswerCache()
    first = _ask(cache, engine, "ctr last-week")
    assert _ask(cache, engine, "CTR  last-week") is first  # another wording, the same question
    assert (cache.hits, cache.misses) == (1, 1)
    before = data_version(engine)
    export = tmp_path / "again.csv"
    _frame(20).to_csv(export, index=False)  # a re-import of the same day replaces its rows
    ingest_file(engine, export, ReadOptions(today=TODAY), now=NOW, source="canonical")
    assert data_version(engine) > before
    fresh = _ask(cache, engine, "ctr last-week")
    assert fresh.value == 0.02 and first.value == 0.01


def test_a_changed_target_is_seen_at_once(engine: Engine, tmp_path: Path) -> None:
    load(engine, _frame(10), tmp_path)
    cache = AnswerCache()
    low = (Target("ctr", ">=", 0.005, TargetGrain.WEEK, id=1),)
    high = (Target("ctr", ">=", 0.05, TargetGrain.WEEK, id=1),)
    met = _ask(cache, engine, "ctr last-week", low)
    missed = _ask(cache, engine, "ctr last-week", high)
    assert met.target is not None and missed.target is not None
    assert met.target.state != missed.target.state


def test_least_recently_used_answers_go_first(engine: Engine, tmp_path: Path) -> None:
    load(engine, _frame(10), tmp_path)
    cache = AnswerCache(size=2)
    _ask(cache, engine, "ctr last-week")
    _ask(cache, engine, "clicks last-week")
    _ask(cache, engine, "ctr last-week")
    _ask(cache, engine, "impressions last-week")  # evicts clicks
    _ask(cache, engine, "ctr last-week")
    assert cache.hits == 2
    _ask(cache, engine, "clicks last-week")
    assert cache.misses == 4
