"""From what someone typed to the message that answers it: the one path every `/kpi` reply takes.

Buttons on an answer ("By platform", "vs last year", "Share in channel") re-ask the same question
as of the same day, so the value the button carries is the question text plus that day. Clicks are
signed by Slack, but the value is still parsed defensively: it is text a user's client sent.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from enum import StrEnum

from bot.rendering import Message
from bot.services import Services
from kpi import grammar, targets
from kpi.errors import KpiError
from kpi.periods import year_ago
from kpi.request import Breakdown, ComparisonKind, Request


class Variant(StrEnum):
    """How a button changes the question it was attached to."""

    BY_PLATFORM = "by-platform"
    VS_LAST_YEAR = "vs-last-year"


@dataclasses.dataclass(frozen=True)
class Asked:
    """A question, the day it was answered for, and the buttons already applied to it.

    This is what an answer's buttons carry, so "vs last year" on a by-platform answer keeps
    the breakdown.
    """

    text: str
    as_of: dt.date
    variants: tuple[Variant, ...] = ()

    def encode(self) -> str:
        data = {"q": self.text, "d": self.as_of.isoformat(), "v": list(self.variants)}
        return json.dumps(data, ensure_ascii=False)

    @classmethod
    def decode(cls, value: str) -> Asked:
        try:
            data = json.loads(value)
            return cls(
                text=str(data["q"])[: grammar.MAX_LENGTH],
                as_of=dt.date.fromisoformat(data["d"]),
                variants=tuple(Variant(item) for item in data.get("v", ())),
            )
        except (ValueError, KeyError, TypeError, AttributeError):
            raise KpiError("this button belongs to an older message; ask again with /kpi") from None

    def with_variant(self, variant: Variant) -> Asked:
        if variant in self.variants:
            return self
        return dataclasses.replace(self, variants=(*self.variants, variant))


def _vary(request: Request, variant: Variant) -> Request:
    if variant is Variant.BY_PLATFORM:
        return dataclasses.replace(request, breakdown=Breakdown.PLATFORM)
    return dataclasses.replace(
        request, comparison=year_ago(request.period), comparison_kind=ComparisonKind.YEAR_AGO
    )


def reply(services: Services, asked: Asked, *, shared_by: str | None = None) -> Message:
    """The rendered reply; raises :class:`KpiError` for what the user typed wrong.

    Answers shared in a channel carry no buttons: they would act for whoever clicks, in a place
    where the answer is no longer theirs.
    """
    settings, renderer = services.settings, services.renderer
    parsed = grammar.parse(asked.text, services.catalog, asked.as_of, settings.week_start)
    if isinstance(parsed, grammar.HelpCommand):
        return renderer.help()
    if isinstance(parsed, grammar.ListCommand):
        return renderer.kpi_list(services.catalog)
    request = parsed
    for variant in asked.variants:
        request = _vary(request, variant)
    answer = services.answers.ask(
        services.engine,
        request,
        today=asked.as_of,
        timezone=settings.timezone,
        week_start=settings.week_start,
        targets=targets.load(services.engine),
    )
    button_value = None if shared_by else asked.encode()
    return renderer.answer(answer, request, button_value=button_value, shared_by=shared_by)
