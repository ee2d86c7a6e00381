"""The demo's Slack tour, as `kpibot demo` runs it: an answer, a digest and an alert."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

from pydantic import SecretStr

from bot.settings import Settings
from bot.showcase import tour
from kpi import demo


def test_the_tour_shows_what_the_stand_in_received(tmp_path: Path) -> None:
    now = dt.datetime.now(dt.UTC)
    csv = tmp_path / "demo.csv"
    demo.generate(now.date() - dt.timedelta(days=1), days=60).to_csv(csv, index=False)
    settings = Settings(
        DATABASE_URL=f"sqlite:///{tmp_path / 'mine.db'}", SLACK_BOT_TOKEN=SecretStr("xoxb-x")
    )
    answer, digest, alert = tour(settings, csv, now)
    assert "HTTP 200" in answer.title
    assert answer.message["blocks"][0]["type"] == "header"
    assert "tiktok" in json.dumps(answer.message).lower()
    assert "digest" in digest.title and "PNG of" in digest.title
    assert "CTR" in json.dumps(digest.message) and digest.message["channel"] == "C0MARKETING"
    assert "alert_acknowledge" in json.dumps(alert.message)
    assert not (tmp_path / "mine.db").exists()  # the user's store is left alone
