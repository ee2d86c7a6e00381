"""Jinja2 templates -> Block Kit messages: one render path for Slack and the terminal.

Each message kind is a template in ``templates/`` that writes the message as JSON. Templates
escape every dynamic value with the ``slack`` filter and serialise with ``tojson``, so a campaign
named ``<!channel>`` is shown, never executed. :func:`fit` then holds any rendered message to
Block Kit's limits, so a long digest degrades instead of being refused by Slack.
"""

from __future__ import annotations

import copy
import datetime as dt
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined

from bot import answer_view, schedule_views
from bot.schedule_views import AlertsRow
from kpi.answer import Answer
from kpi.catalog import BUILTIN, Catalog
from kpi.errors import KpiError
from kpi.request import Request

if TYPE_CHECKING:
    from kpi.alerting import Evaluation
    from kpi.digest import Digest
    from kpi.subscriptions import Subscription
    from kpi.targets import Target


def _templates() -> Path:
    """Where the message templates are: inside the package when installed from a wheel (see
    pyproject.toml), at the project's top level in a checkout or an editable install."""
    here = Path(__file__).resolve().parent
    installed = here / "templates"
    return installed if installed.is_dir() else here.parent / "templates"


DEFAULT_TEMPLATES = _templates()

ACTION_SHARE = "kpi_share"
ACTION_BY_PLATFORM = "kpi_by_platform"
ACTION_VS_LAST_YEAR = "kpi_vs_last_year"
#: The buttons of a target alert; each button's value is the target id, as text.
ACTION_SNOOZE_DAY = "alert_snooze_day"
ACTION_SNOOZE_WEEK = "alert_snooze_week"
ACTION_SNOOZE_PERIOD = "alert_snooze_period"
ACTION_ACKNOWLEDGE = "alert_acknowledge"

# Block Kit limits (docs.slack.dev/reference/block-kit/blocks); slack_sdk checks only some of them.
MAX_BLOCKS = 50
SECTION_TEXT = 3000
MAX_FIELDS = 10
FIELD_TEXT = 2000
HEADER_TEXT = 150
CONTEXT_ELEMENTS = 10
ACTIONS_ELEMENTS = 25
BUTTON_TEXT = 75
BUTTON_VALUE = 2000
#: Slack cuts the top-level ``text`` past this; a fallback is meant to be far shorter anyway.
FALLBACK_TEXT = 40_000

ELLIPSIS = "…"
_FENCE = "```"
#: Slack user ids (U…, W…) are uppercase letters and digits; nothing else becomes a mention.
_USER_ID = re.compile(r"[A-Z0-9]+")
#: Slack channel ids: C… (public) or G… (private); a name as typed ("#marketing") stays text.
_CHANNEL_ID = re.compile(r"[CG][A-Z0-9]+")


def escape(text: str) -> str:
    """Slack decodes only these three entities: HTML escaping would show ``&#39;`` literally."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def user(value: str) -> str:
    """A mention when ``value`` is a user id, else the escaped text (never a broadcast)."""
    return f"<@{value}>" if _USER_ID.fullmatch(value) else escape(value)


def channel(value: str) -> str:
    """A channel mention when ``value`` is a channel id, else the escaped text."""
    return f"<#{value}>" if _CHANNEL_ID.fullmatch(value) else escape(value)


_ESCAPED_CHANNEL = re.compile(r"&lt;#([CG][A-Z0-9]+)&gt;")


def plain(text: str) -> str:
    """Text escaped, except mentions of channel ids written ``<#C123>``, which stay links.

    For confirmations composed by the bot ("Digest for <#C123>: ..."): a channel link notifies
    nobody, whereas user mentions and ``<!channel>`` stay escaped text.
    """
    return _ESCAPED_CHANNEL.sub(r"<#\1>", escape(text))


def truncate(text: str, limit: int) -> str:
    """At most ``limit`` characters, ending in an ellipsis when cut.

    The cut never leaves half an entity (``&am``) or half a mention (``<@U1``), and closes a
    code block it cut open, so a shortened text still reads as intended.
    """
    if len(text) <= limit:
        return text
    cut = text[: limit - len(ELLIPSIS) - len("\n" + _FENCE)]
    if cut.rfind("&") > cut.rfind(";"):
        cut = cut[: cut.rfind("&")]
    if cut.rfind("<") > cut.rfind(">"):
        cut = cut[: cut.rfind("<")]
    closing = "\n" + _FENCE if cut.count(_FENCE) % 2 else ""
    return cut + ELLIPSIS + closing


def chunks(items: Iterable[str], limit: int) -> list[str]:
    """Already-escaped lines grouped so that each group, joined by newlines, fits ``limit``.

    Templates use it to split a long table or list over several sections.
    """
    groups: list[list[str]] = []
    size = 0
    for item in (truncate(item, limit) for item in items):
        if groups and size + 1 + len(item) <= limit:
            groups[-1].append(item)
            size += 1 + len(item)
        else:
            groups.append([item])
            size = len(item)
    return ["\n".join(group) for group in groups]


def _more(hidden: int) -> dict[str, Any]:
    return {"type": "mrkdwn", "text": f"{ELLIPSIS} and {hidden} more"}


def _fit_text(element: Mapping[str, Any], limit: int) -> dict[str, Any]:
    return {**element, "text": truncate(element["text"], limit)}


def _fit_block(block: dict[str, Any]) -> dict[str, Any] | None:
    """One block within its own limits; ``None`` when nothing valid is left of it."""
    kind = block.get("type")
    if kind == "header":
        block["text"] = _fit_text(block["text"], HEADER_TEXT)
    elif kind == "section":
        if "text" in block:
            block["text"] = _fit_text(block["text"], SECTION_TEXT)
        fields = [_fit_text(field, FIELD_TEXT) for field in block.get("fields", ())]
        if len(fields) > MAX_FIELDS:
            fields = [*fields[: MAX_FIELDS - 1], _more(len(fields) - MAX_FIELDS + 1)]
        if fields:
            block["fields"] = fields
    elif kind == "context":
        elements = [
            _fit_text(element, SECTION_TEXT) if "text" in element else element
            for element in block["elements"]
        ]
        if len(elements) > CONTEXT_ELEMENTS:
            hidden = len(elements) - CONTEXT_ELEMENTS + 1
            elements = [*elements[: CONTEXT_ELEMENTS - 1], _more(hidden)]
        block["elements"] = elements
    elif kind == "actions":
        # A cut value would reach the action handler corrupted: such a button is dropped.
        buttons = [
            {**element, "text": _fit_text(element["text"], BUTTON_TEXT)}
            if element.get("type") == "button"
            else element
            for element in block["elements"]
            if len(element.get("value", "")) <= BUTTON_VALUE
        ][:ACTIONS_ELEMENTS]
        if not buttons:
            return None
        block["elements"] = buttons
    return block


def fit(blocks: Sequence[Mapping[str, Any]], text: str) -> tuple[tuple[dict[str, Any], ...], str]:
    """Any message held to Block Kit's limits: texts cut with an ellipsis, extras summarised.

    Templates degrade where it reads well (a table says "… and 12 more"); this is the guard that
    makes sure no message, such as a digest of many KPIs, is ever refused by Slack.
    """
    fitted = [
        block
        for block in (_fit_block(copy.deepcopy(dict(block))) for block in blocks)
        if block is not None
    ]
    if len(fitted) > MAX_BLOCKS:
        hidden = len(fitted) - MAX_BLOCKS + 1
        fitted = [*fitted[: MAX_BLOCKS - 1], {"type": "context", "elements": [_more(hidden)]}]
    return tuple(fitted), truncate(text, FALLBACK_TEXT)


@dataclass(frozen=True)
class Message:
    """A rendered message: what ``chat.postMessage``/``respond`` take, and the terminal prints."""

    text: str
    blocks: tuple[dict[str, Any], ...]

    def payload(self) -> dict[str, Any]:
        return {"text": self.text, "blocks": list(self.blocks)}


class Renderer:
    """Renders each message kind from its template; ``render`` serves kinds added later."""

    def __init__(self, templates: Path = DEFAULT_TEMPLATES, catalog: Catalog = BUILTIN) -> None:
        #: Where alerts find the unit of their target's KPI: the catalog of ``kpis.toml``.
        self.catalog = catalog
        # S701 does not apply: Jinja's autoescape is HTML escaping, wrong for Slack (it shows
        # &#39; literally). Templates escape each value with the `slack` filter and build JSON
        # with `tojson` instead.
        self._env = Environment(
            loader=FileSystemLoader(templates),
            autoescape=False,  # noqa: S701
            undefined=StrictUndefined,
            extensions=["jinja2.ext.do"],
            trim_blocks=True,
            lstrip_blocks=True,
        )
        self._env.filters["slack"] = escape
        self._env.filters["chunks"] = chunks
        self._env.filters["user"] = user
        self._env.filters["channel"] = channel
        self._env.filters["plain"] = plain
        self._env.globals.update(
            SECTION_TEXT=SECTION_TEXT,
            ACTION_SHARE=ACTION_SHARE,
            ACTION_BY_PLATFORM=ACTION_BY_PLATFORM,
            ACTION_VS_LAST_YEAR=ACTION_VS_LAST_YEAR,
            ACTION_SNOOZE_DAY=ACTION_SNOOZE_DAY,
            ACTION_SNOOZE_WEEK=ACTION_SNOOZE_WEEK,
            ACTION_SNOOZE_PERIOD=ACTION_SNOOZE_PERIOD,
            ACTION_ACKNOWLEDGE=ACTION_ACKNOWLEDGE,
        )

    def render(self, kind: str, **context: Any) -> Message:
        """The message of ``templates/<kind>.json.j2``, within Block Kit's limits."""
        raw = self._env.get_template(f"{kind}.json.j2").render(**context)
        message = json.loads(raw)
        blocks, text = fit(message["blocks"], message["text"])
        return Message(text, blocks)

    def answer(
        self,
        answer: Answer,
        request: Request,
        *,
        button_value: str | None = None,
        shared_by: str | None = None,
    ) -> Message:
        """``shared_by`` becomes a mention only if it is a user id; anything else is text."""
        sharer_id = shared_by if shared_by and _USER_ID.fullmatch(shared_by) else None
        return self.render(
            "answer",
            view=answer_view.answer_view(answer, request),
            button_value=button_value,
            sharer_id=sharer_id,
            sharer_name=None if sharer_id else shared_by,
        )

    def help(self) -> Message:
        return self.render("help", view=answer_view.help_view())

    def kpi_list(self, catalog: Catalog) -> Message:
        return self.render("list", view=answer_view.list_view(catalog))

    def error(self, error: KpiError) -> Message:
        return self.render("error", view=answer_view.error_view(error))

    def failure(self, reference: str) -> Message:
        """Only the reference: a traceback would leak internals and help nobody in Slack."""
        return self.render("failure", reference=reference)

    # -- scheduled messages ------------------------------------------------------------------

    def digest(self, digest: Digest, subscription: Subscription) -> Message:
        """A channel's digest: each KPI, the top movers, data freshness; the chart is threaded."""
        return self.render("digest", view=schedule_views.digest_view(digest, subscription))

    def _evaluation(self, evaluation: Evaluation) -> schedule_views.EvaluationView:
        kpi = self.catalog.get(evaluation.target.kpi)
        return schedule_views.evaluation_view(evaluation, kpi)

    def alert(self, evaluation: Evaluation, *, follow_up: bool = False) -> Message:
        """A missed target, what drove it, and the snooze/acknowledge buttons; ``follow_up`` is
        the short "still missing" reply in the alert's thread."""
        return self.render("alert", view=self._evaluation(evaluation), follow_up=follow_up)

    def resolved(self, evaluation: Evaluation) -> Message:
        """Back on target, in the alert's thread."""
        return self.render("resolved", view=self._evaluation(evaluation))

    def no_data(self, evaluation: Evaluation) -> Message:
        """One notice that the target could not be judged: never a miss."""
        return self.render("no_data", view=self._evaluation(evaluation))

    def alert_handled(
        self,
        original: Mapping[str, Any],
        *,
        user_id: str,
        snoozed_until: dt.datetime | None = None,
    ) -> Message:
        """The alert updated after a click: ``original`` is the message as Slack echoes it in the
        click's payload; its buttons go, and a line says who snoozed (until when, shown in the
        datetime's own zone) or acknowledged it. ``user_id`` becomes a mention only if it is a
        user id."""
        kept = [block for block in original.get("blocks", ()) if block.get("type") != "actions"]
        return self.render(
            "alert_handled",
            kept=kept,
            original_text=str(original.get("text") or ""),
            user_id=user_id,
            until=None if snoozed_until is None else schedule_views.moment(snoozed_until),
        )

    # -- configuration replies ---------------------------------------------------------------

    def digest_list(
        self, subscriptions: Sequence[Subscription], default_kpis: Sequence[str]
    ) -> Message:
        view = schedule_views.digest_list_view(subscriptions, default_kpis)
        return self.render("digest_list", view=view)

    def target_list(self, targets: Sequence[Target], catalog: Catalog) -> Message:
        return self.render("target_list", view=schedule_views.target_list_view(targets, catalog))

    def alerts_overview(
        self,
        rows: Sequence[AlertsRow],
        *,
        now: dt.datetime | None = None,
        zone: dt.tzinfo | None = None,
    ) -> Message:
        """Every target's alerting: state, last check, snooze, acknowledgement, failed posts.

        Times show in ``zone`` (UTC as stored otherwise); with ``now``, a snooze that has ended
        is not shown.
        """
        view = schedule_views.alerts_view(rows, self.catalog, now, zone)
        return self.render("alerts", view=view)

    def target_test(self, target: Target, evaluations: Sequence[Evaluation]) -> Message:
        """How the target would have fared over ``evaluations`` (oldest first)."""
        view = schedule_views.target_test_view(target, evaluations, self.catalog.get(target.kpi))
        return self.render("target_test", view=view)

    def confirmation(self, text: str) -> Message:
        """A one-line confirmation of a configuration change: plain text, escaped, in which
        only channel links written ``<#C123>`` stay links (see :func:`plain`)."""
        return self.render("confirmation", text=text)

    def refusal(self, admins: Sequence[str] = ()) -> Message:
        """Configuration is for admins: names the listed ones (user ids become mentions; the
        first ten, then how many more)."""
        return self.render("refusal", admins=list(admins))
