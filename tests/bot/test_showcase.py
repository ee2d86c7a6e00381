"""The demo's Slack round trip, as `kpibot demo` runs it, on a store of demo data."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from pydantic import SecretStr

from bot.settings import Settings
from bot.showcase import QUESTION, round_trip
from kpi import demo
from kpi.store.engine import open_store
from tests.query_data import load


def test_round_trip_returns_the_posted_answer(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'kpibot.db'}"
    load(open_store(url), demo.generate(dt.datetime.now(dt.UTC).date(), days=21), tmp_path)
    settings = Settings(DATABASE_URL=url, SLACK_BOT_TOKEN=SecretStr("xoxb-ignored"))
    trip = round_trip(settings)
    assert trip.question == QUESTION and trip.status == 200
    assert 0 < trip.ack_ms <= trip.answer_ms
    assert trip.posted["blocks"][0]["type"] == "header"
    assert "tiktok" in str(trip.posted).lower()
