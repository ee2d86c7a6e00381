"""Digest and alert passes end to end: demo store, real rendering, the ledger, the stand-in."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from concurrent.futures import Future
from concurrent.futures.process import BrokenProcessPool
from dataclasses import replace
from pathlib import Path
from typing import Any
from unittest.mock import create_autospec

import pandas as pd
import pytest
from pydantic import SecretStr
from sqlalchemy import Engine

from bot.charts import ChartDrawer
from bot.delivery import Status
from bot.jobs import Jobs
from bot.services import Services, build_services
from bot.settings import Settings
from bot.slack_clients import web_client
from bot.standin import Channel, SlackStandIn
from kpi import alert_states, demo, subscriptions, targets
from kpi.alert_states import Action
from kpi.alerting import evaluate_for_alert
from kpi.answer import TargetState
from kpi.dimensions import Dimension
from kpi.importers.reader import ReadOptions
from kpi.ingest import ingest_file
from kpi.periods import Grain, last_closed
from kpi.schedules import Cadence, Schedule
from kpi.store.engine import open_store
from kpi.subscriptions import Subscription
from kpi.targets import Target, TargetGrain
from tests.query_data import load

TODAY = dt.date(2026, 11, 23)  # a Monday
#: The demo data runs three weeks past TODAY, so that later weeks can be judged too.
DATA_END = dt.date(2026, 12, 13)
#: Tuesday: last week (16-22 Nov) closed Monday 00:00 and the 1-day data lag has passed.
TUESDAY = dt.datetime(2026, 11, 24, 9, 0, tzinfo=dt.UTC)


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("jobs")
    engine = open_store(f"sqlite:///{folder / 'demo.db'}")
    load(engine, demo.generate(DATA_END, days=120), folder)
    engine.dispose()
    return folder / "demo.db"


@pytest.fixture
def slack() -> Iterator[SlackStandIn]:
    channels = [Channel("C0GENERAL", "general"), Channel("C0MARKETING", "marketing")]
    with SlackStandIn(channels=channels) as standin:
        yield standin


@pytest.fixture
def jobs(store: Path, tmp_path: Path, slack: SlackStandIn) -> Jobs:
    copy = tmp_path / "kpibot.db"
    copy.write_bytes(store.read_bytes())
    settings = Settings(
        DATABASE_URL=f"sqlite:///{copy}",
        SLACK_BOT_TOKEN=SecretStr("xoxb-standin-token"),
        SLACK_API_URL=slack.api_url,
    )
    services: Services = build_services(settings)
    made = Jobs.posting_with(services, web_client(settings))
    made.ledger.pacer._interval = 0  # pacing is tested on its own; keep this test fast
    return made


def _blocks(params: dict[str, Any]) -> str:
    blocks = params.get("blocks", [])
    return json.dumps(json.loads(blocks) if isinstance(blocks, str) else blocks)


def test_a_digest_is_posted_once_with_its_chart_in_the_thread(
    jobs: Jobs, slack: SlackStandIn
) -> None:
    engine = jobs.services.engine
    subscription_id = subscriptions.save(
        engine,
        Subscription("C0MARKETING", Schedule(Cadence.WEEKLY, 9, 0, weekday=0), ("ctr", "roas")),
        now=TUESDAY,
    )
    posted = jobs.digest(subscription_id, TODAY)
    assert posted is not None and posted.status is Status.POSTED
    assert posted.period == "2026-11-16..2026-11-22"
    (message,) = slack.calls_to("chat.postMessage")
    assert message.params["channel"] == "C0MARKETING"
    shown = _blocks(message.params)
    assert "CTR" in shown and "ROAS" in shown and "16" in shown
    (complete,) = slack.calls_to("files.completeUploadExternal")
    assert complete.params["thread_ts"] == posted.ts
    (upload,) = slack.calls_to("upload")
    assert upload.body.startswith(b"\x89PNG")
    assert jobs.digest(subscription_id, TODAY) is None
    assert jobs.digest_pass(TODAY) == []
    assert len(slack.calls_to("chat.postMessage")) == 1


def test_a_chart_that_cannot_be_drawn_leaves_the_digest_to_go_out_without_it(
    jobs: Jobs, slack: SlackStandIn, caplog: pytest.LogCaptureFixture
) -> None:
    failed: Future[bytes] = Future()
    failed.set_exception(BrokenProcessPool("the chart worker died"))
    drawer = create_autospec(ChartDrawer, instance=True)
    drawer.submit.return_value = failed
    jobs.services.charts = drawer
    subscriptions.save(
        jobs.services.engine,
        Subscription("C0MARKETING", Schedule(Cadence.WEEKLY, 9, 0, weekday=0), ("ctr",)),
        now=TUESDAY,
    )
    (sent,) = jobs.digest_pass(TODAY)
    assert sent.status is Status.POSTED
    assert len(slack.calls_to("chat.postMessage")) == 1
    assert slack.calls_to("files.completeUploadExternal") == []
    assert "the chart of the digest to C0MARKETING was not drawn" in caplog.text
    assert jobs.digest_pass(TODAY) == []  # the digest is not sent again for its chart


def test_a_preview_shows_the_message_and_draws_no_chart(jobs: Jobs, slack: SlackStandIn) -> None:
    drawer = create_autospec(ChartDrawer, instance=True)
    jobs.services.charts = drawer
    weekly = Schedule(Cadence.WEEKLY, 9, 0, weekday=0)
    subscription = Subscription("C0MARKETING", weekly, ("ctr", "roas"))
    message = jobs.preview(subscription, TODAY)
    shown = _blocks(message.payload())
    assert "CTR" in shown and "ROAS" in shown
    drawer.submit.assert_not_called()
    assert slack.calls == []


def test_a_pass_shares_one_drawing_between_channels_with_the_same_chart(
    jobs: Jobs, slack: SlackStandIn
) -> None:
    for channel in ("C0GENERAL", "C0MARKETING"):
        subscriptions.save(
            jobs.services.engine,
            Subscription(channel, Schedule(Cadence.WEEKLY, 9, 0, weekday=0), ("ctr", "spend")),
            now=TUESDAY,
        )
    drawn: list[str] = []
    submit = jobs.services.charts.submit

    def counted(panels: Any, title: str) -> Future[bytes]:
        drawn.append(title)
        return submit(panels, title)

    jobs.services.charts.submit = counted  # type: ignore[method-assign]
    assert len(jobs.digest_pass(TODAY)) == 2
    assert drawn == [f"KPIs by week, to {last_closed(Grain.WEEK, TODAY).label}"]
    uploads = slack.calls_to("upload")
    assert len(uploads) == 2 and uploads[0].body == uploads[1].body


def test_default_kpis_and_a_removed_subscription(jobs: Jobs, slack: SlackStandIn) -> None:
    engine = jobs.services.engine
    subscription_id = subscriptions.save(
        engine, Subscription("C0GENERAL", Schedule(Cadence.DAILY, 8, 30)), now=TUESDAY
    )
    (sent,) = jobs.digest_pass(TODAY)
    assert sent.period == "2026-11-22..2026-11-22"
    shown = _blocks(slack.calls_to("chat.postMessage")[0].params)
    for name in ("Spend", "CTR", "CPC", "Conversions", "ROAS"):
        assert name in shown
    subscriptions.remove(engine, "C0GENERAL")
    assert jobs.digest(subscription_id, TODAY + dt.timedelta(days=1)) is None


def _ctr_last_week(jobs: Jobs) -> float:
    target = Target("ctr", ">=", 0.0, TargetGrain.WEEK, channel="C0MARKETING")
    period = last_closed(Grain.WEEK, TODAY)
    found = evaluate_for_alert(jobs.services.engine, target, jobs.services.catalog, period=period)
    assert found.value is not None
    return found.value


def test_an_alert_episode_from_miss_to_back_on_target(jobs: Jobs, slack: SlackStandIn) -> None:
    engine = jobs.services.engine
    actual = _ctr_last_week(jobs)
    target_id = targets.save(
        engine,
        Target("ctr", ">=", actual * 1.5, TargetGrain.WEEK, channel="C0MARKETING"),
        now=TUESDAY,
    )
    (first,) = jobs.alerts_pass(TUESDAY)
    assert first.action is Action.ALERT and first.delivery is not None
    alert = slack.calls_to("chat.postMessage")[-1]
    shown = _blocks(alert.params)
    assert "alert_acknowledge" in shown and "alert_snooze_week" in shown
    assert jobs.alerts_pass(TUESDAY) == []  # the same period is judged once
    assert jobs.alerts_pass(TUESDAY + dt.timedelta(hours=5)) == []

    # A week later, still missing: one follow-up, in the alert's thread.
    (second,) = jobs.alerts_pass(TUESDAY + dt.timedelta(days=7))
    assert second.action is Action.STILL_MISSING
    follow_up = slack.calls_to("chat.postMessage")[-1]
    assert follow_up.params["thread_ts"] == first.delivery.ts

    # Acknowledged: the next missed week stays quiet.
    alert_states.acknowledge(engine, target_id, "U0ALICE", TUESDAY + dt.timedelta(days=8))
    posts = len(slack.calls_to("chat.postMessage"))
    (third,) = jobs.alerts_pass(TUESDAY + dt.timedelta(days=14))
    assert third.action is Action.NOTHING
    assert len(slack.calls_to("chat.postMessage")) == posts

    # The target is lowered, the next week meets it: "back on target" in the same thread.
    targets.save(
        engine, Target("ctr", ">=", 0.0001, TargetGrain.WEEK, channel="C0MARKETING"), now=TUESDAY
    )
    (fourth,) = jobs.alerts_pass(TUESDAY + dt.timedelta(days=21))
    assert fourth.action is Action.RESOLVED
    resolved = slack.calls_to("chat.postMessage")[-1]
    assert resolved.params["thread_ts"] == first.delivery.ts
    stored = alert_states.load(engine)[target_id]
    assert stored.state is TargetState.MET and stored.episode_alert_id is None
    assert stored.acknowledged_by is None


def test_no_data_is_one_notice_not_a_miss(jobs: Jobs, slack: SlackStandIn) -> None:
    engine = jobs.services.engine
    targets.save(
        engine,
        Target(
            "ctr",
            ">=",
            0.01,
            TargetGrain.WEEK,
            filters=((Dimension.PLATFORM, ("snapchat",)),),
            channel="C0GENERAL",
        ),
        now=TUESDAY,
    )
    (first,) = jobs.alerts_pass(TUESDAY)
    assert first.action is Action.NO_DATA
    assert first.delivery is not None and first.delivery.status is Status.POSTED
    (second,) = jobs.alerts_pass(TUESDAY + dt.timedelta(days=7))
    assert second.action is Action.NOTHING
    assert len(slack.calls_to("chat.postMessage")) == 1
    assert "No data" in _blocks(slack.calls_to("chat.postMessage")[0].params)


def test_targets_without_a_channel_are_not_alerted(jobs: Jobs, slack: SlackStandIn) -> None:
    targets.save(jobs.services.engine, Target("ctr", ">=", 0.9, TargetGrain.WEEK), now=TUESDAY)
    assert jobs.alerts_pass(TUESDAY) == []
    assert slack.calls_to("chat.postMessage") == []


def test_each_alert_pass_reads_the_store_afresh(
    jobs: Jobs, slack: SlackStandIn, tmp_path: Path
) -> None:
    """A pass shares its sums between its targets, never with a later pass: a target judged
    after an import sees the imported rows, even for a period judged before it."""
    engine = jobs.services.engine
    before = _ctr_last_week(jobs)
    goal = Target("ctr", ">=", before * 1.5, TargetGrain.WEEK, channel="C0MARKETING")
    targets.save(engine, goal, now=TUESDAY)
    (first,) = jobs.alerts_pass(TUESDAY)
    assert first.action is Action.ALERT

    week = last_closed(Grain.WEEK, TODAY)
    surge = [
        {
            "period_start": day.isoformat(),
            "period_end": day.isoformat(),
            "platform": "facebook",
            "campaign": "Surge",
            "currency": "EUR",
            "impressions": 200_000,
            "clicks": 100_000,
        }
        for day in (week.start + dt.timedelta(days=i) for i in range(week.days))
    ]
    path = tmp_path / "surge.csv"
    pd.DataFrame(surge).to_csv(path, index=False)
    ingest_file(engine, path, ReadOptions(today=TODAY), now=TUESDAY, source="canonical")
    after = _ctr_last_week(jobs)
    assert after > before * 1.5

    other = targets.save(engine, replace(goal, channel="C0GENERAL"), now=TUESDAY)
    (second,) = jobs.alerts_pass(TUESDAY)
    assert second.target_id == other and second.action is Action.NOTHING
    stored = alert_states.load(engine)[other]
    assert stored.state is TargetState.MET and stored.value == after


def test_a_digest_pass_reads_the_targets_once(
    jobs: Jobs, slack: SlackStandIn, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = jobs.services.engine
    for channel in ("C0GENERAL", "C0MARKETING"):
        subscriptions.save(
            engine, Subscription(channel, Schedule(Cadence.DAILY, 8, 30), ("ctr",)), now=TUESDAY
        )
    reads: list[Engine] = []

    def counted(engine: Engine) -> list[Target]:
        reads.append(engine)
        return stored(engine)

    stored = targets.load
    monkeypatch.setattr(targets, "load", counted)
    assert len(jobs.digest_pass(TODAY)) == 2
    assert len(reads) == 1


def test_states_recorded_after_the_claims_keep_each_alert_once_across_failures(
    jobs: Jobs, slack: SlackStandIn, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A pass records its targets' states together, after their claims. A pass that fails
    half-way keeps the states of the targets it acted on; a pass that dies before recording
    any (the process killed) leaves its targets to be judged again, and their claims make the
    second judgement post nothing more."""
    engine = jobs.services.engine
    actual = _ctr_last_week(jobs)
    first, second = (
        targets.save(
            engine,
            Target("ctr", ">=", actual * 1.5, TargetGrain.WEEK, channel=channel),
            now=TUESDAY,
        )
        for channel in ("C0GENERAL", "C0MARKETING")
    )
    renderer = jobs.services.renderer
    rendered = renderer.alert
    calls: list[int] = []

    def fails_second(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        if len(calls) == 2:
            raise RuntimeError("rendering failed")
        return rendered(*args, **kwargs)

    monkeypatch.setattr(renderer, "alert", fails_second)
    with pytest.raises(RuntimeError, match="rendering failed"):
        jobs.alerts_pass(TUESDAY)
    assert set(alert_states.load(engine)) == {first}  # the first target's state is kept
    monkeypatch.setattr(renderer, "alert", rendered)

    recorded = alert_states.record

    def dies(*_args: Any) -> None:
        raise KeyboardInterrupt  # killed between the claims and the states

    monkeypatch.setattr(alert_states, "record", dies)
    with pytest.raises(KeyboardInterrupt):
        jobs.alerts_pass(TUESDAY)
    assert set(alert_states.load(engine)) == {first}
    monkeypatch.setattr(alert_states, "record", recorded)

    (again,) = jobs.alerts_pass(TUESDAY)  # the second target, judged again
    assert again.target_id == second and again.action is Action.ALERT
    assert again.delivery is not None and again.delivery.status is Status.POSTED
    posts = [call.params["channel"] for call in slack.calls_to("chat.postMessage")]
    assert sorted(posts) == ["C0GENERAL", "C0MARKETING"]  # each alert once
    stored = alert_states.load(engine)
    assert stored[second].episode_alert_id == again.delivery.id
    assert jobs.alerts_pass(TUESDAY) == []
