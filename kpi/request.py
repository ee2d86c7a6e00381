"""A resolved KPI question: what the grammar produces and what ``query.ask`` answers.

It lives apart from both so that the CLI, Slack and the scheduler can build one without parsing
text, and the query layer never depends on the grammar.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import TypeAlias

from kpi.catalog import Kpi
from kpi.dimensions import Dimension
from kpi.periods import Period


class Breakdown(StrEnum):
    """What an answer can be split by: a dimension of the fact rows, or a calendar unit."""

    PLATFORM = "platform"
    CAMPAIGN = "campaign"
    CREATOR = "creator"
    ACCOUNT = "account"
    DAY = "day"
    WEEK = "week"
    MONTH = "month"

    @property
    def is_time(self) -> bool:
        return self in (Breakdown.DAY, Breakdown.WEEK, Breakdown.MONTH)


class ComparisonKind(StrEnum):
    """How :attr:`Request.comparison` was chosen, so an answer can say "vs previous week"."""

    PREVIOUS = "previous"
    YEAR_AGO = "year_ago"
    EXPLICIT = "explicit"
    NONE = "none"


#: Sorted by dimension, values sorted: equal questions give equal, hashable filters.
Filters: TypeAlias = tuple[tuple[Dimension, tuple[str, ...]], ...]


@dataclass(frozen=True)
class Request:
    """One resolved question. ``text`` is for echoing it back, so it takes no part in equality."""

    kpi: Kpi
    period: Period
    comparison: Period | None = None
    breakdown: Breakdown | None = None
    filters: Filters = ()
    comparison_kind: ComparisonKind = ComparisonKind.PREVIOUS
    text: str = field(default="", compare=False)
