"""The result of a KPI question: plain frozen data that Slack, the CLI and JSON all render.

Values are raw numbers in the KPI's unit (a CTR of 1.23 % is 0.0123); formatting belongs to the
renderers. ``None`` always means "no value" (no data, a zero denominator, mixed currencies), never
0 and never NaN.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from enum import StrEnum

from kpi.catalog import Kpi
from kpi.periods import Period


class Verdict(StrEnum):
    """How a change reads given the KPI's direction."""

    GOOD = "good"
    BAD = "bad"
    FLAT = "flat"
    NEUTRAL = "neutral"
    UNKNOWN = "unknown"


class TargetState(StrEnum):
    MET = "met"
    MISSED = "missed"
    NO_DATA = "no-data"
    LOW_VOLUME = "low-volume"


@dataclass(frozen=True)
class Bounds:
    """Labelled limits of a non-additive value (reach) that no row gives exactly."""

    lower: float
    upper: float


@dataclass(frozen=True)
class Comparison:
    period: Period
    value: float | None
    change: float | None
    change_pct: float | None
    #: For percent KPIs: the change in percentage points (0.002 is +0.2 pp).
    change_pp: float | None
    verdict: Verdict


@dataclass(frozen=True)
class BreakdownRow:
    """One group of a breakdown; ``key`` names it (``{"platform": "tiktok"}``)."""

    key: tuple[tuple[str, str], ...]
    value: float | None
    volume: float | None
    others: bool = False
    bounds: Bounds | None = None

    @property
    def label(self) -> str:
        return " / ".join(value for _name, value in self.key) or "(none)"


@dataclass(frozen=True)
class Point:
    """One period of the sparkline series."""

    period: Period
    value: float | None


@dataclass(frozen=True)
class Coverage:
    days_with_data: int
    days_in_window: int
    last_date_by_platform: tuple[tuple[str, dt.date], ...]


@dataclass(frozen=True)
class TargetStatus:
    target_id: int
    comparator: str
    threshold: float
    state: TargetState
    #: value - threshold, signed so that a positive margin is on the good side.
    margin: float | None


@dataclass(frozen=True)
class Answer:
    kpi: Kpi
    period: Period
    timezone: str
    value: float | None
    currency: str | None
    volume: float | None
    low_volume: bool
    bounds: Bounds | None = None
    comparison: Comparison | None = None
    breakdown_by: str | None = None
    breakdown: tuple[BreakdownRow, ...] = ()
    series: tuple[Point, ...] = ()
    coverage: Coverage | None = None
    target: TargetStatus | None = None
    warnings: tuple[str, ...] = field(default=())
