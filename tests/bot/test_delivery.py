"""The delivery ledger on both engines against the Slack stand-in: once, and never lost."""

from __future__ import annotations

import datetime as dt
import json
import threading
from collections.abc import Iterator

import pytest
from pydantic import SecretStr
from sqlalchemy import Engine

from bot.delivery import Claim, Kind, Ledger, Pacer, Status
from bot.settings import Settings
from bot.slack_clients import web_client
from bot.standin import Channel, SlackStandIn

MESSAGE = {
    "text": "Weekly digest",
    "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": "hi"}}],
}


class Clock:
    def __init__(self) -> None:
        self.now = dt.datetime(2026, 11, 23, 9, 0, tzinfo=dt.UTC)

    def __call__(self) -> dt.datetime:
        return self.now


@pytest.fixture
def slack() -> Iterator[SlackStandIn]:
    channels = [Channel("C0GENERAL", "general"), Channel("C0SECRET", "secret", bot_is_member=False)]
    with SlackStandIn(channels=channels) as standin:
        yield standin


@pytest.fixture
def clock() -> Clock:
    return Clock()


def _ledger(engine: Engine, slack: SlackStandIn, clock: Clock) -> Ledger:
    settings = Settings(
        SLACK_BOT_TOKEN=SecretStr("xoxb-standin-token"), SLACK_API_URL=slack.api_url
    )
    return Ledger(engine, web_client(settings), clock=clock, pacer=Pacer(interval=0))


def _claim(channel: str = "C0GENERAL", period: str = "2026-11-16..2026-11-22") -> Claim:
    return Claim(Kind.DIGEST, 1, channel, period, MESSAGE)


def test_a_claim_is_taken_once_and_posted_once(
    engine: Engine, slack: SlackStandIn, clock: Clock
) -> None:
    ledger = _ledger(engine, slack, clock)
    posted = ledger.submit(_claim())
    assert posted is not None and posted.status is Status.POSTED and posted.ts
    assert ledger.submit(_claim()) is None
    assert ledger.claim(_claim()) is None
    calls = slack.calls_to("chat.postMessage")
    assert len(calls) == 1
    assert calls[0].params["channel"] == "C0GENERAL"
    metadata = calls[0].params["metadata"]
    metadata = json.loads(metadata) if isinstance(metadata, str) else metadata
    assert metadata["event_payload"]["delivery_id"] == posted.id
    assert ledger.submit(_claim(period="2026-11-23..2026-11-29")) is not None


def test_concurrent_claims_have_one_winner(
    engine: Engine, slack: SlackStandIn, clock: Clock
) -> None:
    ledgers = [_ledger(engine, slack, clock) for _ in range(8)]
    barrier = threading.Barrier(len(ledgers))
    results: list[object] = []

    def race(ledger: Ledger) -> None:
        barrier.wait()
        results.append(ledger.submit(_claim()))

    threads = [threading.Thread(target=race, args=(ledger,)) for ledger in ledgers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(result is not None for result in results) == 1
    assert len(slack.calls_to("chat.postMessage")) == 1


def test_a_rate_limit_is_waited_out_and_posted_once(
    engine: Engine, slack: SlackStandIn, clock: Clock
) -> None:
    slack.fail("chat.postMessage", status=429, retry_after=1, times=1)
    posted = _ledger(engine, slack, clock).submit(_claim())
    assert posted is not None and posted.status is Status.POSTED
    assert [call.status for call in slack.calls_to("chat.postMessage")] == [429, 200]


def test_an_outage_leaves_the_claim_for_the_sweep(
    engine: Engine, slack: SlackStandIn, clock: Clock
) -> None:
    ledger = _ledger(engine, slack, clock)
    slack.fail("chat.postMessage", status=503, times=None)
    pending = ledger.submit(_claim())
    assert pending is not None and pending.status is Status.CLAIMED
    assert pending.attempts == 1 and pending.error
    assert ledger.sweep() == []  # the lease has not run out
    slack.clear_faults()
    clock.now += ledger.lease
    (posted,) = ledger.sweep()
    assert posted.status is Status.POSTED
    assert [call.status for call in slack.calls_to("chat.postMessage")].count(200) == 1
    clock.now += ledger.lease * 10
    assert ledger.sweep() == []


def test_a_claim_whose_process_died_is_posted_by_the_sweep(
    engine: Engine, slack: SlackStandIn, clock: Clock
) -> None:
    dead = _ledger(engine, slack, clock)
    assert dead.claim(_claim()) is not None  # ... and the process is killed here
    survivor = _ledger(engine, slack, clock)
    assert survivor.sweep() == []
    clock.now += survivor.lease
    rivals = [_ledger(engine, slack, clock) for _ in range(4)]
    barrier = threading.Barrier(len(rivals))
    swept: list[int] = []

    def sweep(ledger: Ledger) -> None:
        barrier.wait()
        swept.extend(delivery.id for delivery in ledger.sweep())

    threads = [threading.Thread(target=sweep, args=(ledger,)) for ledger in rivals]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(swept) == 1
    assert len(slack.calls_to("chat.postMessage")) == 1


def test_a_permanent_error_fails_loudly_and_is_listed(
    engine: Engine, slack: SlackStandIn, clock: Clock, caplog: pytest.LogCaptureFixture
) -> None:
    ledger = _ledger(engine, slack, clock)
    failed = ledger.submit(_claim(channel="C0SECRET"))
    assert failed is not None and failed.status is Status.FAILED
    assert failed.error == "not_in_channel"
    assert "not_in_channel" in caplog.text
    assert [delivery.id for delivery in ledger.failed()] == [failed.id]
    clock.now += ledger.lease * 100
    assert ledger.sweep() == []


def test_retries_give_up_after_max_attempts(
    engine: Engine, slack: SlackStandIn, clock: Clock
) -> None:
    ledger = _ledger(engine, slack, clock)
    ledger.max_attempts = 2
    slack.fail("chat.postMessage", error="internal_error", times=None)
    pending = ledger.submit(_claim())
    assert pending is not None and pending.status is Status.CLAIMED
    clock.now += ledger.lease
    (failed,) = ledger.sweep()
    assert failed.status is Status.FAILED and "gave up after 2 attempts" in (failed.error or "")


def test_a_chart_goes_in_its_digest_thread(
    engine: Engine, slack: SlackStandIn, clock: Clock
) -> None:
    ledger = _ledger(engine, slack, clock)
    digest = ledger.submit(_claim())
    assert digest is not None
    chart = Claim(
        Kind.CHART,
        1,
        "C0GENERAL",
        digest.period,
        {"filename": "ctr.png", "title": "CTR"},
        attachment=b"\x89PNG fake",
        parent_id=digest.id,
    )
    posted = ledger.submit(chart)
    assert posted is not None and posted.status is Status.POSTED
    (complete,) = slack.calls_to("files.completeUploadExternal")
    assert complete.params["thread_ts"] == digest.ts
    assert complete.params["channel_id"] == "C0GENERAL"
    assert slack.calls_to("upload")[0].params["size"] == len(b"\x89PNG fake")


def test_a_threaded_delivery_waits_for_its_parent(
    engine: Engine, slack: SlackStandIn, clock: Clock
) -> None:
    ledger = _ledger(engine, slack, clock)
    parent = ledger.claim(_claim())
    assert parent is not None
    child = ledger.submit(Claim(Kind.RESOLVED, 1, "C0GENERAL", "p2", MESSAGE, parent_id=parent.id))
    assert child is not None and child.status is Status.CLAIMED
    ledger.deliver(parent)
    clock.now += ledger.lease
    (done,) = ledger.sweep()
    assert done.status is Status.POSTED
    threaded = slack.calls_to("chat.postMessage")[-1]
    assert threaded.params["thread_ts"] == ledger.get(parent.id).ts


def test_the_delivery_returned_is_the_one_stored(
    engine: Engine, slack: SlackStandIn, clock: Clock
) -> None:
    ledger = _ledger(engine, slack, clock)
    claimed = ledger.claim(_claim())
    assert claimed is not None and claimed == ledger.get(claimed.id)
    posted = ledger.deliver(claimed)
    assert posted.status is Status.POSTED and posted == ledger.get(claimed.id)
    slack.fail("chat.postMessage", status=503, times=None)
    pending = ledger.submit(_claim(period="p2"))
    assert pending is not None and pending.attempts == 1
    assert pending == ledger.get(pending.id)
    failed = ledger.submit(_claim(channel="C0SECRET"))
    assert failed is not None and failed == ledger.get(failed.id)


def test_a_digest_and_its_chart_are_claimed_together_and_swept_in_order(
    engine: Engine, slack: SlackStandIn, clock: Clock
) -> None:
    chart = Claim(Kind.CHART, 1, "C0GENERAL", _claim().period, {"filename": "c.png"}, b"\x89PNG")
    dead = _ledger(engine, slack, clock)
    claimed = dead.claim_thread(_claim(), [chart])
    assert claimed is not None  # ... and the process is killed here
    digest, (reply,) = claimed
    assert reply.parent_id == digest.id and reply.attachment == b"\x89PNG"
    survivor = _ledger(engine, slack, clock)
    assert survivor.claim_thread(_claim(), [chart]) is None
    assert survivor.taken(Kind.DIGEST, {digest.period, "other"}) == {
        (1, "C0GENERAL", digest.period)
    }
    assert survivor.taken(Kind.DIGEST, {"other"}) == set()
    clock.now += survivor.lease
    assert [delivery.kind for delivery in survivor.sweep()] == [Kind.DIGEST, Kind.CHART]
    (complete,) = slack.calls_to("files.completeUploadExternal")
    assert complete.params["thread_ts"] == survivor.get(digest.id).ts
    assert len(slack.calls_to("chat.postMessage")) == 1


def test_pacing_spaces_posts_per_channel() -> None:
    slept: list[float] = []
    pacer = Pacer(interval=1.0, sleep=slept.append)
    pacer.wait("C1")
    pacer.wait("C2")
    pacer.wait("C1")
    assert len(slept) == 1 and 0.9 < slept[0] <= 1.0
