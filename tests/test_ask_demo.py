"""`kpibot ask` on the demo data: a sensible answer for every built-in KPI and breakdown."""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import Engine

from kpi.catalog import BUILTIN, LevelGrowthKpi, UniqueKpi
from kpi.grammar import parse
from kpi.query import ask
from kpi.request import Breakdown, Request
from tests.conftest import NOW

#: The demo_store fixture (conftest) ends the day before.
TODAY = NOW.date()


@pytest.mark.parametrize("name", BUILTIN.names())
@pytest.mark.parametrize("breakdown", [None, *Breakdown])
def test_every_kpi_and_breakdown_answers(
    demo_store: Engine, name: str, breakdown: Breakdown | None
) -> None:
    request = parse(f"{name} last-week", BUILTIN, TODAY)
    assert isinstance(request, Request)
    answer = ask(
        demo_store, Request(request.kpi, request.period, request.comparison, breakdown), today=TODAY
    )
    kpi = BUILTIN[name]
    if isinstance(kpi, UniqueKpi):
        assert answer.value is not None or answer.bounds is not None
    else:
        assert answer.value is not None, answer.warnings
        assert answer.comparison is not None and answer.comparison.value is not None
    if not isinstance(kpi, UniqueKpi | LevelGrowthKpi):
        assert answer.volume is not None and answer.volume > 0
    if breakdown is not None:
        assert answer.breakdown, f"{name} by {breakdown} is empty"
    if breakdown is Breakdown.DAY:
        assert len(answer.breakdown) == 7
    assert not any("mixed currencies" in w for w in answer.warnings)


def test_cli_answers_as_json_and_as_text(tmp_path: Path) -> None:
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'kpibot.db'}"}
    run = [sys.executable, "-c", "from bot.cli import main; main()"]
    subprocess.run(
        [*run, "demo", "--days", "40"], env=env, cwd=tmp_path, check=True, capture_output=True
    )
    yesterday = dt.date.today() - dt.timedelta(days=1)
    result = subprocess.run(
        [*run, "ask", "ctr last-week by platform", "--as-of", yesterday.isoformat(), "--json"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=True,
    )
    answer = json.loads(result.stdout)
    assert set(answer) == {"kpi", "period", "value", "unit", "comparison", "breakdown", "warnings"}
    assert set(answer["period"]) == {"start", "end", "label", "timezone"}
    assert set(answer["comparison"]) == {"start", "end", "value", "change", "change_pct"}
    assert answer["unit"] == "percent" and 0 < answer["value"] < 0.1
    assert {row["key"]["platform"] for row in answer["breakdown"]} >= {"tiktok", "facebook"}
    text = subprocess.run(
        [*run, "ask", "ctr last-week by platform", "--as-of", yesterday.isoformat()],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    value = f"{answer['value'] * 100:.2f}%"
    assert text.startswith("CTR · ") and f"\n{value}\n" in text, text
    assert "vs previous week" in text and re.search(r"^tiktok +\d+\.\d\d% +[\d,]+$", text, re.M)
    assert "```" not in text and "Share in channel" not in text
    bad = subprocess.run(
        [*run, "ask", "crt last-week"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    assert bad.returncode == 1 and "did you mean ctr" in bad.stderr
