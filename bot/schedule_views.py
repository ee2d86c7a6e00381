"""View models of the scheduled messages (digests, target alerts) and the configuration replies.

Like :mod:`bot.answer_view`, everything here is raw, readable text (a CTR reads ``1.23%``); the
templates add the Slack markup, escape each value, and turn validated ids into mentions.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from bot import formatting
from bot.answer_view import (
    COMPARATORS,
    MONTHS,
    TABLE_ROWS,
    _shown,
    _target,
    dates,
    title,
)
from kpi.alert_states import AlertState
from kpi.answer import TargetState
from kpi.catalog import Catalog, Kpi
from kpi.movers import Mover
from kpi.periods import Grain, Period
from kpi.request import Filters
from kpi.targets import Target, TargetGrain

if TYPE_CHECKING:
    # Only read here: answers do not need these modules loaded.
    from kpi.alerting import Evaluation
    from kpi.digest import Digest, DigestLine, KpiMovers
    from kpi.subscriptions import Subscription

#: Entries of a list reply (digests, targets, alerts); the rest is counted ("… and 60 more").
LIST_ROWS = 40
#: KPIs named in a digest's fallback text.
FALLBACK_KPIS = 3
#: Periods named in "would have fired on ..."; the rest is counted.
FIRED_NAMES = 10
WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_PERIOD_WORDS = {
    TargetGrain.DAY: "day",
    TargetGrain.WEEK: "week",
    TargetGrain.MONTH: "month",
    TargetGrain.QUARTER: "quarter",
}
_STATE_MARKS = {TargetState.MET: "✅ ", TargetState.MISSED: "❌ "}


# -- shared phrases ------------------------------------------------------------------------------


def scope(filters: Filters) -> str:
    """``platform: tiktok; campaign: A, B``, as in answers; empty for all the data."""
    return "; ".join(f"{dimension}: {', '.join(values)}" for dimension, values in filters)


def moment(when: dt.datetime, zone: dt.tzinfo | None = None) -> str:
    """``Tue 24 Nov 09:00 CET``: in ``zone`` when given, else in the datetime's own zone."""
    local = when.astimezone(zone) if zone is not None else when
    name = local.tzname()
    shown = f"{WEEKDAYS[local.weekday()]} {local.day} {MONTHS[local.month - 1]} {local:%H:%M}"
    return f"{shown} {name}" if name else shown


def grain(target: Target) -> str:
    """``weekly``, ``daily``, ``rolling 28 days``."""
    if target.grain is TargetGrain.ROLLING:
        return f"rolling {target.rolling_days} days"
    return "daily" if target.grain is TargetGrain.DAY else f"{target.grain.value}ly"


# A KPI may be None: a target of a KPI the catalog no longer defines still shows, its numbers
# as stored.


def value(kpi: Kpi | None, number: float | None) -> str:
    """A value in the KPI's unit (``1.23%``)."""
    if kpi is None:
        return formatting.NO_VALUE if number is None else f"{number:g}"
    return formatting.value(kpi, number)


def signed(kpi: Kpi | None, number: float) -> str:
    """A difference in the KPI's unit, signed: ``-0.38 pp`` for percent KPIs."""
    return f"{number:+g}" if kpi is None else formatting.difference(kpi, number)


def name(target: Target, kpi: Kpi | None) -> str:
    return target.kpi if kpi is None else title(kpi)


def threshold(target: Target, kpi: Kpi | None) -> str:
    """``≥ 1.20%``."""
    comparator = COMPARATORS.get(target.comparator, target.comparator)
    return f"{comparator} {value(kpi, target.threshold)}"


def target_name(target: Target, kpi: Kpi | None) -> str:
    """``CTR ≥ 1.20% weekly``."""
    return f"{name(target, kpi)} {threshold(target, kpi)} {grain(target)}"


def period_phrase(target: Target, period: Period) -> str:
    """``week 16-22 Nov 2026``, ``22 Nov 2026`` for a day, ``28 days 26 Oct - 22 Nov 2026``
    (with en dashes)."""
    if target.grain is TargetGrain.ROLLING:
        return f"{target.rolling_days} days {dates(period)}"
    if target.grain is TargetGrain.DAY:
        return dates(period)
    return f"{_PERIOD_WORDS[target.grain]} {dates(period)}"


def period_name(period: Period) -> str:
    """The calendar name of a period (``2026-W38``, ``2026-09``), else its dates."""
    name = period.label.partition(" (")[0]
    if period.grain in (Grain.WEEK, Grain.MONTH, Grain.QUARTER, Grain.DAY) and name:
        return name
    return dates(period)


def _stored_period(key: str) -> str:
    """A stored period key (``2026-11-16..2026-11-22``) as dates; as stored if it is not one."""
    start, separator, end = key.partition("..")
    try:
        first, last = dt.date.fromisoformat(start), dt.date.fromisoformat(end)
        return dates(Period(first, last, key, Grain.RANGE)) if separator else key
    except ValueError:
        return key


# -- digest --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DigestLineView:
    name: str
    value: str
    #: The change vs the previous period, arrow and good/bad mark; empty without a comparison.
    change: str
    #: ``✅ Target ≥ 1.20% — met (+0.30 pp)``, or the low-volume notice; empty without either.
    target: str
    #: The 8-period sparkline; empty without any value.
    trend: str


@dataclass(frozen=True)
class MoverGroup:
    """One KPI's movers along one dimension: ``tiktok -0.25 pp`` each."""

    dimension: str
    good: tuple[str, ...]
    bad: tuple[str, ...]


@dataclass(frozen=True)
class KpiMoversView:
    name: str
    groups: tuple[MoverGroup, ...]


@dataclass(frozen=True)
class DigestView:
    title: str
    lines: tuple[DigestLineView, ...]
    movers: tuple[KpiMoversView, ...]
    #: ``tiktok: data to 22 Nov``, one per platform.
    fresh: tuple[str, ...]
    #: One warning per platform without data in the digest's period.
    missing: tuple[str, ...]
    scope: str
    #: The first KPIs in one line each (``CTR 1.23% ▲ +3.1% …``), for the fallback text.
    summary: tuple[str, ...]
    more: int


def _digest_target(line: DigestLine) -> str:
    """The target's threshold and state; a low volume is never judged, target or not."""
    answer, kpi = line.answer, line.kpi
    low = f"low volume (under {kpi.min_volume:,.0f})"
    if answer.target is None:
        return low if answer.low_volume else ""
    heading, state = _target(kpi, answer.target, answer.currency)
    if answer.low_volume:
        return f"{heading} — not judged: {low}"
    return f"{_STATE_MARKS.get(answer.target.state, '')}{heading} — {state}"


def _digest_line(line: DigestLine) -> DigestLineView:
    answer, kpi = line.answer, line.kpi
    change = ""
    if answer.comparison is not None:
        change = formatting.change(kpi, answer.comparison, answer.currency)
    return DigestLineView(
        name=title(kpi),
        value=_shown(kpi, answer.value, answer.currency, answer.bounds),
        change=change,
        target=_digest_target(line),
        trend=formatting.sparkline([point.value for point in answer.series]),
    )


def _mover(kpi: Kpi, mover: Mover, currency: str | None) -> str:
    return f"{mover.label} {formatting.difference(kpi, mover.contribution, currency)}"


def _kpi_movers(found: KpiMovers, currency: str | None) -> KpiMoversView | None:
    groups = tuple(
        MoverGroup(
            dimension,
            tuple(_mover(found.kpi, mover, currency) for mover in movers.good),
            tuple(_mover(found.kpi, mover, currency) for mover in movers.bad),
        )
        for dimension, movers in (
            ("platforms", found.by_platform),
            ("campaigns", found.by_campaign),
        )
        if movers.good or movers.bad
    )
    return KpiMoversView(title(found.kpi), groups) if groups else None


def digest_view(digest: Digest, subscription: Subscription) -> DigestView:
    cadence = subscription.schedule.cadence.value.capitalize()
    lines = tuple(_digest_line(line) for line in digest.lines)
    currencies = {line.kpi.name: line.answer.currency for line in digest.lines}
    movers = tuple(
        view
        for found in digest.movers
        if (view := _kpi_movers(found, currencies.get(found.kpi.name))) is not None
    )
    year = digest.period.end.year
    fresh = tuple(
        f"{item.platform}: "
        + ("no data yet" if item.last_date is None else f"data to {_date(item.last_date, year)}")
        for item in digest.freshness
    )
    missing = tuple(
        f"{item.platform} has no data for {dates(digest.period)}"
        + ("" if item.last_date is None else f" (data to {_date(item.last_date, year)})")
        + ": the figures leave it out"
        for item in digest.freshness
        if item.missing_in_period
    )
    summary = tuple(
        " ".join(part for part in (line.name, line.value, line.change) if part)
        for line in lines[:FALLBACK_KPIS]
    )
    return DigestView(
        title=f"{cadence} digest · {dates(digest.period)} ({digest.timezone})",
        lines=lines,
        movers=movers,
        fresh=fresh,
        missing=missing,
        scope=scope(subscription.filters),
        summary=summary,
        more=len(lines) - len(summary),
    )


def _date(day: dt.date, year: int) -> str:
    """``22 Nov``, with the year only when it is not the digest's."""
    shown = f"{day.day} {MONTHS[day.month - 1]}"
    return shown if day.year == year else f"{shown} {day.year}"


# -- alerts --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class EvaluationView:
    """One judgement of a target, as the phrases of the alert, follow-up, resolved and no-data
    messages."""

    kpi: str
    state: TargetState
    value: str
    #: ``≥ 1.20%``.
    threshold: str
    #: Signed, positive on the good side (``-0.38 pp``); empty without a value.
    margin: str
    #: ``week 16-22 Nov 2026`` (with an en dash, as everywhere below).
    period: str
    #: ``16-22 Nov 2026``.
    dates: str
    grain: str
    scope: str
    #: ``Brand Video Awareness (campaign): -0.25 pp, 0.45% vs 0.60% before``.
    drivers: tuple[str, ...]
    #: The button value: the target's id as text; None for a target not saved.
    target_id: str | None


def _driver(kpi: Kpi | None, mover: Mover) -> str:
    """``Generic Search (campaign): -0.02 pp, 3.63% vs 3.50% before``; the group's own values
    only where it has them (a new campaign has none before)."""
    after, before = mover.value, mover.baseline_value
    shown = f"{mover.label} ({mover.dimension}): {signed(kpi, mover.contribution)}"
    if after is not None and before is not None:
        return f"{shown}, {value(kpi, after)} vs {value(kpi, before)} before"
    if after is not None:
        return f"{shown}, {value(kpi, after)} (no value before)"
    if before is not None:
        return f"{shown}, no value now ({value(kpi, before)} before)"
    return shown


def evaluation_view(evaluation: Evaluation, kpi: Kpi | None) -> EvaluationView:
    target, status = evaluation.target, evaluation.status
    return EvaluationView(
        kpi=name(target, kpi),
        state=status.state,
        value=value(kpi, evaluation.value),
        threshold=threshold(target, kpi),
        margin="" if status.margin is None else signed(kpi, status.margin),
        period=period_phrase(target, evaluation.period),
        dates=dates(evaluation.period),
        grain=grain(target),
        scope=scope(target.filters),
        drivers=tuple(_driver(kpi, mover) for mover in evaluation.drivers),
        target_id=None if target.id is None else str(target.id),
    )


# -- configuration replies -----------------------------------------------------------------------


@dataclass(frozen=True)
class DigestEntry:
    #: A channel id (shown as a mention) or the name as typed.
    channel: str
    schedule: str
    kpis: str
    scope: str
    created_by: str | None


@dataclass(frozen=True)
class DigestListView:
    entries: tuple[DigestEntry, ...]
    more: int


def digest_list_view(
    subscriptions: Sequence[Subscription], default_kpis: Sequence[str]
) -> DigestListView:
    shown = subscriptions[:LIST_ROWS]
    entries = tuple(
        DigestEntry(
            channel=item.channel,
            schedule=item.schedule.describe(),
            kpis=", ".join(item.kpis) if item.kpis else f"default ({', '.join(default_kpis)})",
            scope=scope(item.filters),
            created_by=item.created_by,
        )
        for item in shown
    )
    return DigestListView(entries, len(subscriptions) - len(shown))


@dataclass(frozen=True)
class TargetEntry:
    #: ``#3``; empty for a target not saved.
    id: str
    #: ``CTR ≥ 1.20% weekly``.
    name: str
    scope: str
    channel: str | None


@dataclass(frozen=True)
class TargetListView:
    entries: tuple[TargetEntry, ...]
    more: int


def _target_entry(target: Target, catalog: Catalog) -> TargetEntry:
    return TargetEntry(
        id="" if target.id is None else f"#{target.id}",
        name=target_name(target, catalog.get(target.kpi)),
        scope=scope(target.filters),
        channel=target.channel,
    )


def target_list_view(targets: Sequence[Target], catalog: Catalog) -> TargetListView:
    shown = targets[:LIST_ROWS]
    entries = tuple(_target_entry(target, catalog) for target in shown)
    return TargetListView(entries, len(targets) - len(shown))


@dataclass(frozen=True)
class AlertsRow:
    """One target in ``/kpi alerts``: where its alerting stands, and the deliveries that failed
    (their Slack error codes, such as ``not_in_channel``)."""

    target: Target
    state: AlertState | None
    failed: tuple[str, ...] = ()


@dataclass(frozen=True)
class AlertsEntry:
    target: TargetEntry
    #: ``missed in 16-22 Nov 2026 (0.82%), checked Mon 23 Nov 09:30 UTC``.
    status: str
    state: TargetState | None
    #: ``snoozed until Tue 24 Nov 09:00 UTC``; empty when not snoozed.
    snoozed: str
    #: A user id (shown as a mention) or a name; None when not acknowledged.
    acknowledged_by: str | None
    acknowledged_at: str
    failed: tuple[str, ...]


@dataclass(frozen=True)
class AlertsView:
    entries: tuple[AlertsEntry, ...]
    more: int
    #: ``12 targets: 3 missed, 1 no data, 2 with failed deliveries``.
    summary: str


def _status(state: AlertState | None, kpi: Kpi | None, zone: dt.tzinfo | None) -> str:
    if state is None:
        return "not checked yet"
    words = {
        TargetState.MET: "met",
        TargetState.MISSED: "missed",
        TargetState.NO_DATA: "no data",
        TargetState.LOW_VOLUME: "not judged (low volume)",
    }
    shown = "" if state.value is None else f" ({value(kpi, state.value)})"
    return (
        f"{words[state.state]} in {_stored_period(state.period)}{shown}, "
        f"checked {moment(state.evaluated_at, zone)}"
    )


def alerts_view(
    rows: Sequence[AlertsRow], catalog: Catalog, now: dt.datetime | None, zone: dt.tzinfo | None
) -> AlertsView:
    shown = rows[:LIST_ROWS]
    entries = []
    for row in shown:
        state = row.state
        snoozed = ""
        until = None if state is None else state.snoozed_until
        if state is not None and until is not None and (now is None or state.snoozed(now)):
            snoozed = f"snoozed until {moment(until, zone)}"
        acknowledged = state.acknowledged_by if state is not None else None
        when = state.acknowledged_at if state is not None else None
        entries.append(
            AlertsEntry(
                target=_target_entry(row.target, catalog),
                status=_status(state, catalog.get(row.target.kpi), zone),
                state=None if state is None else state.state,
                snoozed=snoozed,
                acknowledged_by=acknowledged,
                acknowledged_at="" if when is None else moment(when, zone),
                failed=row.failed,
            )
        )
    counts = [
        (sum(row.state is not None and row.state.state is kind for row in rows), word)
        for kind, word in ((TargetState.MISSED, "missed"), (TargetState.NO_DATA, "no data"))
    ]
    failing = sum(bool(row.failed) for row in rows)
    counts.append((failing, "with failed deliveries" if failing != 1 else "with a failed delivery"))
    noun = "target" if len(rows) == 1 else "targets"
    parts = [f"{count} {word}" for count, word in counts if count]
    summary = f"{len(rows)} {noun}" + (f": {', '.join(parts)}" if parts else "")
    return AlertsView(tuple(entries), len(rows) - len(shown), summary)


@dataclass(frozen=True)
class TargetTestView:
    #: ``CTR ≥ 1.20% weekly``.
    name: str
    scope: str
    #: ``Replayed over the last 12 weeks: would have fired 2 times, on 2026-W38 and W41``.
    summary: str
    #: Aligned lines: period, value, outcome; header first.
    table: tuple[str, ...]


def fired(evaluations: Sequence[Evaluation]) -> list[Period]:
    """The periods whose judgement would have posted an alert: a miss that opens an episode
    (the episode lasts until the target is met again; see ``kpi.alert_states``)."""
    opened, found = False, []
    for evaluation in evaluations:
        state = evaluation.status.state
        if state is TargetState.MISSED and not opened:
            found.append(evaluation.period)
        opened = (opened or state is TargetState.MISSED) and state is not TargetState.MET
    return found


def _names(periods: Sequence[Period]) -> str:
    """``2026-W38, W41 and W45``: a repeated year is said once."""
    names: list[str] = []
    year = ""
    for period in periods[:FIRED_NAMES]:
        name = period_name(period)
        if name[:5] == year and name[5:6] in ("W", "Q"):
            name = name[5:]
        else:
            year = name[:5]
        names.append(name)
    hidden = len(periods) - len(names)
    if hidden:
        return f"{', '.join(names)} and {hidden} more"
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"


def _replayed(target: Target, count: int) -> str:
    if target.grain is TargetGrain.ROLLING:
        return f"{count} windows of {target.rolling_days} days"
    word = _PERIOD_WORDS[target.grain]
    return f"{count} {word}" + ("s" if count != 1 else "")


def target_test_view(
    target: Target, evaluations: Sequence[Evaluation], kpi: Kpi | None
) -> TargetTestView:
    found = fired(evaluations)
    if not evaluations:
        summary = "Nothing to replay: no closed period yet"
    elif found:
        times = "once" if len(found) == 1 else f"{len(found)} times"
        summary = (
            f"Replayed over the last {_replayed(target, len(evaluations))}: "
            f"would have fired {times}, on {_names(found)}"
        )
    else:
        summary = (
            f"Replayed over the last {_replayed(target, len(evaluations))}: would never have fired"
        )
    cells = [("period", target.kpi, "outcome")]
    for evaluation in evaluations[-TABLE_ROWS:]:
        status = evaluation.status
        outcome = status.state.value if kpi is None else _target(kpi, status, None)[1]
        mark = " ← alert" if evaluation.period in found else ""
        cells.append((period_name(evaluation.period), value(kpi, evaluation.value), outcome + mark))
    widths = [max(len(cell[column]) for cell in cells) for column in range(2)]
    table = tuple(
        f"{period:<{widths[0]}}  {shown:>{widths[1]}}  {outcome}"
        for period, shown, outcome in cells
    )
    hidden = len(evaluations) - TABLE_ROWS
    if hidden > 0:
        table = (*table, f"… and {hidden} earlier periods")
    return TargetTestView(
        target_name(target, kpi), scope(target.filters), summary, table if evaluations else ()
    )
