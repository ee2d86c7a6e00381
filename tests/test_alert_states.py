"""The alerting policy (one alert per episode, follow-ups, resolution, no data) and its rows."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

import pytest
from sqlalchemy import Engine, event, insert

from kpi import alert_states, targets
from kpi.alert_states import Action, AlertState, decide
from kpi.answer import TargetState
from kpi.store.schema import deliveries
from kpi.targets import Target, TargetGrain

NOW = dt.datetime(2026, 11, 24, 9, 0, tzinfo=dt.UTC)
MET, MISSED, NO_DATA, LOW = (
    TargetState.MET,
    TargetState.MISSED,
    TargetState.NO_DATA,
    TargetState.LOW_VOLUME,
)


def _state(state: TargetState, **fields: object) -> AlertState:
    return AlertState(1, state, "2026-11-09..2026-11-15", NOW - dt.timedelta(days=7), **fields)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("previous", "state", "action"),
    [
        (None, MISSED, Action.ALERT),
        (None, MET, Action.NOTHING),
        (None, NO_DATA, Action.NO_DATA),
        (None, LOW, Action.NOTHING),
        (_state(MET), MISSED, Action.ALERT),
        (_state(MISSED, episode_alert_id=7), MISSED, Action.STILL_MISSING),
        (_state(MISSED, episode_alert_id=7, acknowledged_by="U1"), MISSED, Action.NOTHING),
        (
            _state(MISSED, episode_alert_id=7, snoozed_until=NOW + dt.timedelta(hours=1)),
            MISSED,
            Action.NOTHING,
        ),
        (
            _state(MISSED, episode_alert_id=7, snoozed_until=NOW - dt.timedelta(hours=1)),
            MISSED,
            Action.STILL_MISSING,
        ),
        (_state(MET, snoozed_until=NOW + dt.timedelta(days=1)), MISSED, Action.NOTHING),
        (_state(MISSED, episode_alert_id=7), MET, Action.RESOLVED),
        (_state(MISSED, episode_alert_id=7, acknowledged_by="U1"), MET, Action.RESOLVED),
        (_state(MISSED, episode_alert_id=7), NO_DATA, Action.NO_DATA),
        (_state(NO_DATA), NO_DATA, Action.NOTHING),
        (_state(NO_DATA, episode_alert_id=7), MISSED, Action.STILL_MISSING),
        (_state(MISSED, episode_alert_id=7), LOW, Action.NOTHING),
    ],
)
def test_policy(previous: AlertState | None, state: TargetState, action: Action) -> None:
    assert decide(previous, state, NOW) is action


def test_rows_round_trip_and_go_with_their_target(engine: Engine) -> None:
    target_id = targets.save(
        engine, Target("ctr", ">=", 0.01, TargetGrain.WEEK, channel="C1"), now=NOW
    )
    assert alert_states.load(engine) == {}
    assert not alert_states.snooze(engine, target_id, NOW)
    first = AlertState(
        target_id, MISSED, "2026-11-16..2026-11-22", NOW, 0.008, episode_alert_id=None
    )
    alert_states.record(engine, first)
    assert alert_states.load(engine) == {target_id: first}
    until = NOW + dt.timedelta(days=7)
    assert alert_states.snooze(engine, target_id, until)
    assert alert_states.acknowledge(engine, target_id, "U0ALICE", NOW)
    stored = alert_states.load(engine)[target_id]
    assert stored.snoozed_until == until and stored.acknowledged_by == "U0ALICE"
    assert stored.snoozed(NOW) and not stored.snoozed(until)
    targets.remove(engine, target_id)
    assert alert_states.load(engine) == {}


def test_a_pass_records_its_states_in_one_statement(engine: Engine) -> None:
    ids = [
        targets.save(engine, Target(kpi, ">=", 0.01, TargetGrain.WEEK, channel="C1"), now=NOW)
        for kpi in ("ctr", "cpc", "roas")
    ]
    verdicts = ((MISSED, 0.008), (MET, 0.3), (NO_DATA, None))
    judged = [
        AlertState(target_id, state, "2026-11-16..2026-11-22", NOW, value)
        for target_id, (state, value) in zip(ids, verdicts, strict=True)
    ]
    statements: list[tuple[str, bool]] = []

    def count(_conn: object, _cursor: object, statement: str, *args: object) -> None:
        statements.append((statement, bool(args[-1])))

    event.listen(engine, "before_cursor_execute", count)
    try:
        alert_states.record(engine, *judged)
        alert_states.record(engine)  # nothing judged: nothing written
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert len(statements) == 1 and statements[0][1]  # one executemany
    assert alert_states.load(engine) == dict(zip(ids, judged, strict=True))
    again = replace(judged[0], state=MET, value=0.02, episode_alert_id=None)
    alert_states.record(engine, again)
    assert alert_states.load(engine)[ids[0]] == again


def test_clicks_during_a_pass_survive_its_states(engine: Engine) -> None:
    """A pass records states it loaded seconds before: a Snooze or Acknowledge clicked in between
    is kept while the episode goes on, and an acknowledgement ends with its episode."""
    target_id = targets.save(
        engine, Target("ctr", ">=", 0.01, TargetGrain.WEEK, channel="C1"), now=NOW
    )
    week = "2026-11-16..2026-11-22"
    with engine.begin() as connection:
        alert = connection.execute(
            insert(deliveries)
            .values(
                kind="alert",
                subject_id=target_id,
                channel="C1",
                period=week,
                status="posted",
                message="{}",
                claimed_at=NOW,
                claimed_by="test",
            )
            .returning(deliveries.c.id)
        ).scalar_one()
    alert_states.record(
        engine, AlertState(target_id, MISSED, week, NOW, 0.008, episode_alert_id=alert)
    )
    loaded = alert_states.load(engine)[target_id]  # the next pass starts
    until = NOW + dt.timedelta(days=1)
    assert alert_states.snooze(engine, target_id, until)
    assert alert_states.acknowledge(engine, target_id, "U0ALICE", NOW)
    still = replace(loaded, period="2026-11-23..2026-11-29", evaluated_at=NOW, value=0.007)
    alert_states.record(engine, still)  # built from the state loaded before the clicks
    stored = alert_states.load(engine)[target_id]
    assert (stored.period, stored.value) == (still.period, 0.007)
    assert stored.snoozed_until == until
    assert (stored.acknowledged_by, stored.acknowledged_at) == ("U0ALICE", NOW)
    closed = replace(still, state=MET, period="2026-11-30..2026-12-06", episode_alert_id=None)
    alert_states.record(engine, closed)
    stored = alert_states.load(engine)[target_id]
    assert (stored.acknowledged_by, stored.acknowledged_at) == (None, None)
    assert stored.snoozed_until == until  # a snooze runs out by itself
