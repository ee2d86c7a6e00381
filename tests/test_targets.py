"""Targets: thresholds in the KPI's unit, closed windows, and judging without false alarms."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import Engine

from kpi.answer import TargetState
from kpi.catalog import BUILTIN
from kpi.dimensions import Dimension
from kpi.errors import ConfigError
from kpi.targets import (
    Target,
    TargetError,
    TargetGrain,
    default_comparator,
    evaluate_target,
    load,
    parse_threshold,
    read_seed,
    remove,
    save,
    window,
)
from tests.conftest import NOW
from tests.query_data import load as load_facts

TODAY = dt.date(2026, 11, 23)


@pytest.mark.parametrize(
    ("kpi", "text", "expected"),
    [
        ("ctr", "1.2%", 0.012),
        ("ctr", "1.2", 0.012),
        ("cpc", "€0.80", 0.8),
        ("roas", "3x", 3.0),
        ("clicks", "1,000", 1000.0),
    ],
)
def test_thresholds_are_read_in_the_kpi_unit(kpi: str, text: str, expected: float) -> None:
    assert parse_threshold(BUILTIN[kpi], text) == pytest.approx(expected)


def test_bad_thresholds_say_what_to_write() -> None:
    for text in ("lots", "nan", "inf", "1e999", "-inf%"):
        with pytest.raises(TargetError, match="not a threshold"):
            parse_threshold(BUILTIN["ctr"], text)
    with pytest.raises(TargetError, match="not a percentage"):
        parse_threshold(BUILTIN["clicks"], "5%")


def test_default_comparator_follows_the_direction() -> None:
    assert default_comparator(BUILTIN["ctr"]) == ">="
    assert default_comparator(BUILTIN["cpc"]) == "<="


@pytest.mark.parametrize(
    ("grain", "rolling", "start", "end"),
    [
        (TargetGrain.DAY, None, "2026-11-22", "2026-11-22"),
        (TargetGrain.WEEK, None, "2026-11-16", "2026-11-22"),
        (TargetGrain.MONTH, None, "2026-10-01", "2026-10-31"),
        (TargetGrain.QUARTER, None, "2026-07-01", "2026-09-30"),
        (TargetGrain.ROLLING, 28, "2026-10-26", "2026-11-22"),
    ],
)
def test_targets_judge_the_last_closed_period(
    grain: TargetGrain, rolling: int | None, start: str, end: str
) -> None:
    period = window(Target("ctr", ">=", 0.01, grain, rolling), TODAY)
    assert (period.start.isoformat(), period.end.isoformat()) == (start, end)


def test_evaluation_states(engine: Engine, tmp_path: Path) -> None:
    rows = [
        {"date": d.isoformat(), "platform": "tiktok", "impressions": 20_000, "clicks": 250}
        for d in (dt.date(2026, 11, 16) + dt.timedelta(days=i) for i in range(7))
    ]
    load_facts(engine, pd.DataFrame(rows), tmp_path)
    week = window(Target("ctr", ">=", 0.01, TargetGrain.WEEK), TODAY)
    scoped = ((Dimension.PLATFORM, ("tiktok",)),)
    met = Target("ctr", ">=", 0.01, TargetGrain.WEEK, filters=scoped, id=1)
    missed = Target("ctr", ">=", 0.013, TargetGrain.WEEK, id=2)
    nothing = Target(
        "ctr", ">=", 0.01, TargetGrain.WEEK, filters=((Dimension.PLATFORM, ("x",)),), id=3
    )
    assert evaluate_target(engine, met, BUILTIN, week).state is TargetState.MET
    status = evaluate_target(engine, missed, BUILTIN, week)
    assert status.state is TargetState.MISSED and status.margin == pytest.approx(-0.0005)
    assert evaluate_target(engine, nothing, BUILTIN, week).state is TargetState.NO_DATA
    day = window(Target("ctr", ">=", 0.01, TargetGrain.DAY), TODAY)
    low = evaluate_target(engine, Target("ctr", ">=", 0.01, TargetGrain.DAY, id=4), BUILTIN, day)
    assert low.state is TargetState.MET  # 20,000 impressions a day: above the minimum volume
    tiny = Target("cpa", "<=", 5.0, TargetGrain.WEEK, id=5)
    assert evaluate_target(engine, tiny, BUILTIN, week).state is TargetState.NO_DATA


def test_targets_are_stored_updated_and_removed(engine: Engine) -> None:
    target = Target(
        "ctr", ">=", 0.012, TargetGrain.WEEK, filters=((Dimension.PLATFORM, ("tiktok",)),)
    )
    first = save(engine, target, now=NOW)
    again = save(
        engine, Target("ctr", ">=", 0.015, TargetGrain.WEEK, filters=target.filters), now=NOW
    )
    assert first == again
    stored = load(engine)
    assert [(t.id, t.threshold, t.filters) for t in stored] == [(first, 0.015, target.filters)]
    assert remove(engine, first) and not remove(engine, first)
    assert load(engine) == []


def test_seed_file(tmp_path: Path) -> None:
    seed = tmp_path / "targets.toml"
    seed.write_text(
        '[[target]]\nkpi = "taux-de-clic"\nthreshold = "1.2%"\ngrain = "weekly"\n'
        'filters = { platform = ["tiktok"] }\n\n'
        '[[target]]\nkpi = "cpc"\nthreshold = "0.9"\ngrain = "rolling"\nrolling_days = 28\n',
        encoding="utf-8",
    )
    first, second = read_seed(seed, BUILTIN)
    assert (first.kpi, first.comparator) == ("ctr", ">=")
    assert first.threshold == pytest.approx(0.012)
    assert second.comparator == "<=" and second.rolling_days == 28
    seed.write_text('[[target]]\nkpi = "crt"\nthreshold = "1%"\n', encoding="utf-8")
    with pytest.raises(ConfigError, match="target #1"):
        read_seed(seed, BUILTIN)
