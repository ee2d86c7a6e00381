"""One pass of each scheduled job: digests, target alerts, the delivery sweep.

The scheduler, ``kpibot digest run`` / ``kpibot alerts run`` (for cron) and the Slack commands
(``/kpi digest now``) all call these, so every path shares the ledger's "exactly once": running
a pass twice for the same period posts nothing new.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
from collections import deque
from collections.abc import Sequence
from concurrent.futures import Future
from dataclasses import dataclass

from slack_sdk import WebClient

from bot.charts import png
from bot.delivery import Claim, Delivery, Kind, Ledger
from bot.rendering import Message
from bot.services import Services
from kpi import alert_states, subscriptions, targets
from kpi.alert_states import Action, AlertState
from kpi.alerting import Evaluation, closed_period, evaluate_for_alert
from kpi.answer import TargetState
from kpi.catalog import Kpi
from kpi.digest import Digest, DigestCache, build_digest
from kpi.errors import KpiError
from kpi.pass_sums import PassSums
from kpi.periods import Period, last_closed
from kpi.subscriptions import Subscription
from kpi.targets import Target

logger = logging.getLogger("kpibot.jobs")


def period_key(period: Period) -> str:
    """The ledger's period: exact dates, so a period is the same key for every process."""
    return f"{period.start.isoformat()}..{period.end.isoformat()}"


@dataclass(frozen=True)
class PreparedDigest:
    """A digest built and rendered, waiting for its chart before it is claimed and posted."""

    subscription: Subscription
    digest: Digest
    message: Message
    chart: Future[bytes]


@dataclass(frozen=True)
class AlertOutcome:
    target_id: int
    period: str
    action: Action
    delivery: Delivery | None
    #: Where the target stands after this judgement, as the pass records it.
    state: AlertState


#: Digests due at one time share their computations for this long (see DigestCache): long
#: enough for a Monday 09:00 burst, short enough that a later import is seen.
CACHE_SECONDS = 600.0


class Jobs:
    def __init__(self, services: Services, ledger: Ledger) -> None:
        self.services = services
        self.ledger = ledger
        self._cache: tuple[dt.date, float, DigestCache] | None = None
        self._cache_lock = threading.Lock()

    def _shared_cache(self, today: dt.date) -> DigestCache:
        """One cache for the digests of one day's burst, whichever job thread asks."""
        with self._cache_lock:
            now = time.monotonic()
            if (
                self._cache is None
                or self._cache[0] != today
                or now - self._cache[1] > CACHE_SECONDS
            ):
                self._cache = (today, now, DigestCache(self.services.catalog))
            return self._cache[2]

    @classmethod
    def posting_with(cls, services: Services, client: WebClient) -> Jobs:
        """Jobs whose ledger posts with ``client``, leased as configured."""
        ledger = Ledger(
            services.engine,
            client,
            clock=services.clock,
            pacer=services.pacer,
            lease=services.settings.delivery_lease,
        )
        return cls(services, ledger)

    # -- digests --------------------------------------------------------------------------

    def _kpis(self, subscription: Subscription) -> list[Kpi]:
        catalog = self.services.catalog
        names = subscription.kpis or self.services.settings.digest_kpis
        return [catalog[name] for name in names]

    def digest_period(self, subscription: Subscription, today: dt.date) -> Period:
        return last_closed(subscription.schedule.grain, today, self.services.settings.week_start)

    def digest_sent(self, subscription: Subscription, today: dt.date) -> bool:
        assert subscription.id is not None
        key = period_key(self.digest_period(subscription, today))
        return self.ledger.find(Kind.DIGEST, subscription.id, subscription.channel, key) is not None

    def _compose(
        self, subscription: Subscription, today: dt.date, goals: Sequence[Target] | None
    ) -> tuple[Digest, Message]:
        settings = self.services.settings
        digest = build_digest(
            self.services.engine,
            self._kpis(subscription),
            grain=subscription.schedule.grain,
            today=today,
            timezone=settings.timezone,
            week_start=settings.week_start,
            filters=subscription.filters,
            targets=targets.load(self.services.engine) if goals is None else goals,
            cache=self._shared_cache(today),
        )
        return digest, self.services.renderer.digest(digest, subscription)

    def preview(self, subscription: Subscription, today: dt.date) -> Message:
        """The digest's message as it would be posted now; no chart is drawn for a preview."""
        return self._compose(subscription, today, None)[1]

    def prepare(
        self, subscription: Subscription, today: dt.date, goals: Sequence[Target] | None = None
    ) -> PreparedDigest:
        """The digest's content and message, its chart under way in the chart worker, against
        ``goals`` (the stored targets, read here unless a pass read them once for all)."""
        digest, message = self._compose(subscription, today, goals)
        title = f"KPIs by {subscription.schedule.grain.value}, to {digest.period.label}"
        # Channels with the same KPIs and scope get the same chart: drawn once per burst.
        chart = self._shared_cache(today).remember(
            ("chart", title, digest.series),
            lambda: self.services.charts.submit(digest.series, title),
        )
        return PreparedDigest(subscription, digest, message, chart)

    def send(self, prepared: PreparedDigest) -> Delivery | None:
        """Claim and post a prepared digest, then its chart in the digest's thread; nothing if
        another pass or process claimed it first. A chart that could not be drawn is logged
        and left out: the digest goes out without it rather than not at all.

        The chart is awaited before the claim, so that the digest and its chart are claimed
        together: a crash after the claim leaves the sweep both to post, in order."""
        subscription = prepared.subscription
        assert subscription.id is not None
        key = period_key(prepared.digest.period)
        try:
            chart: bytes | None = png(prepared.chart)
        except Exception:
            logger.exception("the chart of the digest to %s was not drawn", subscription.channel)
            chart = None
        replies = []
        if chart is not None:
            replies.append(
                Claim(
                    Kind.CHART,
                    subscription.id,
                    subscription.channel,
                    key,
                    {
                        "filename": f"digest-{prepared.digest.period.start}.png",
                        "title": "KPIs vs targets",
                    },
                    attachment=chart,
                )
            )
        claimed = self.ledger.claim_thread(
            Claim(
                Kind.DIGEST,
                subscription.id,
                subscription.channel,
                key,
                prepared.message.payload(),
            ),
            replies,
        )
        if claimed is None:
            return None
        digest, threaded = claimed
        posted = self.ledger.deliver(digest)
        for reply in threaded:
            self.ledger.deliver(reply, parent=posted)
        logger.info(
            "digest %s to %s for %s: %s", subscription.id, subscription.channel, key, posted.status
        )
        return posted

    def digest(
        self, subscription_id: int, today: dt.date, goals: Sequence[Target] | None = None
    ) -> Delivery | None:
        """Send one subscription's digest for the period closed on ``today``, once (``goals``:
        see :meth:`prepare`)."""
        subscription = subscriptions.get(self.services.engine, subscription_id)
        if subscription is None or self.digest_sent(subscription, today):
            return None
        return self.send(self.prepare(subscription, today, goals))

    def digest_pass(self, today: dt.date) -> list[Delivery]:
        """Each subscription's digest for the period closed on ``today`` (``kpibot digest run``).

        The targets, and which digests went out already, are read once for the whole pass.
        Digests are prepared in order and each is sent once its chart is drawn, so the chart
        worker draws while the next digests are built and the earlier ones posted.
        """
        engine = self.services.engine
        goals = targets.load(engine)
        due = [(item, self.digest_period(item, today)) for item in subscriptions.load(engine)]
        taken = self.ledger.taken(Kind.DIGEST, {period_key(period) for _, period in due})
        sent: list[Delivery] = []
        waiting: deque[PreparedDigest] = deque()

        def send_first() -> None:
            delivery = self.send(waiting.popleft())
            if delivery is not None:
                sent.append(delivery)

        for subscription, period in due:
            if (subscription.id, subscription.channel, period_key(period)) in taken:
                continue
            try:
                waiting.append(self.prepare(subscription, today, goals))
            except KpiError as error:
                logger.error("digest to %s cannot be built: %s", subscription.channel, error)
                continue
            while waiting and waiting[0].chart.done():
                send_first()
        while waiting:
            send_first()
        return sent

    # -- alerts ---------------------------------------------------------------------------

    def alerts_pass(self, now: dt.datetime | None = None) -> list[AlertOutcome]:
        """Judge every target with a channel once per newly closed period and post what the
        policy says (see kpi.alert_states).

        The targets due share one :class:`PassSums`: those asking about the same scope and
        period are judged from one read of the store, and nothing read outlives the pass. Their
        new states are recorded together at the end, in one transaction (see :meth:`_act`).
        """
        moment = now or self.services.clock()
        engine, settings = self.services.engine, self.services.settings
        states = alert_states.load(engine)
        due: list[tuple[Target, Period, str]] = []
        for target in targets.load(engine):
            assert target.id is not None
            if not target.channel:
                continue
            period = closed_period(
                target, moment, settings.zone, settings.data_lag, settings.week_start
            )
            if period is None:
                continue
            key = period_key(period)
            previous = states.get(target.id)
            if previous is None or previous.period != key:
                due.append((target, period, key))
        catalog = self.services.catalog
        sums = PassSums.judging(engine, catalog, [(target, period) for target, period, _ in due])
        outcomes: list[AlertOutcome] = []
        try:
            for target, period, key in due:
                assert target.id is not None
                evaluation = evaluate_for_alert(engine, target, catalog, period=period, sums=sums)
                outcomes.append(self._act(evaluation, states.get(target.id), key, moment))
        finally:
            # Each state after its target's claim (see _act), so all of them after the loop: a
            # pass that stops half-way keeps the states of the targets it acted on.
            alert_states.record(engine, *(outcome.state for outcome in outcomes))
        return outcomes

    def _act(
        self, evaluation: Evaluation, previous: AlertState | None, key: str, now: dt.datetime
    ) -> AlertOutcome:
        """Claim and post what the policy says for a judgement, and say which state to record.

        The state must be recorded after the claim, never before: recorded first, a crash
        before the claim would leave the period judged and its alert never posted. Recorded
        after, a crash leaves the target to be judged again, and the claim's unique key turns
        the second post into a no-op (the sweep posts a claim left unposted). So the pass can
        record its states once all its claims are made."""
        target = evaluation.target
        assert target.id is not None and target.channel
        state = evaluation.status.state
        action = alert_states.decide(previous, state, now)
        renderer = self.services.renderer
        episode = previous.episode_alert_id if previous is not None else None
        delivery = None
        planned: tuple[Kind, Message, int | None] | None = None
        match action:
            case Action.ALERT:
                planned = (Kind.ALERT, renderer.alert(evaluation), None)
            case Action.STILL_MISSING:
                planned = (Kind.ALERT, renderer.alert(evaluation, follow_up=True), episode)
            case Action.RESOLVED:
                planned = (Kind.RESOLVED, renderer.resolved(evaluation), episode)
            case Action.NO_DATA:
                planned = (Kind.NO_DATA, renderer.no_data(evaluation), None)
        if planned is not None:
            kind, message, parent = planned
            claim = Claim(kind, target.id, target.channel, key, message.payload(), parent_id=parent)
            # Lost the claim to another process: report its delivery, posted once all the same.
            delivery = self.ledger.submit(claim) or self.ledger.find(
                kind, target.id, target.channel, key
            )
        if action is Action.ALERT and delivery is not None:
            episode = delivery.id
        closes = state is TargetState.MET
        fresh = closes or action is Action.ALERT  # an acknowledgement lasts one episode
        judged = AlertState(
            target_id=target.id,
            state=state,
            period=key,
            evaluated_at=now,
            value=evaluation.value,
            episode_alert_id=None if closes else episode,
            snoozed_until=previous.snoozed_until if previous else None,
            acknowledged_by=None if fresh or previous is None else previous.acknowledged_by,
            acknowledged_at=None if fresh or previous is None else previous.acknowledged_at,
        )
        return AlertOutcome(target.id, key, action, delivery, judged)

    # -- sweep ----------------------------------------------------------------------------

    def sweep(self) -> Sequence[Delivery]:
        return self.ledger.sweep()
