"""Targets: what "on target" means for a KPI, and judging a closed period against it.

A target is a KPI, a comparator and threshold (``ctr >= 1.2%``), a grain (day, week, month,
quarter, or rolling N days) and an optional scope (filters). Judging a period gives met, missed,
no-data (nothing reported: never a false miss) or low-volume (too little data to judge), with the
margin on the good side positive. Targets live in the database; ``targets.toml`` can seed them.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import operator
import tomllib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path

from sqlalchemy import Engine, delete, insert, select, update

from kpi import evaluate
from kpi.aggregate import Scope
from kpi.answer import TargetState, TargetStatus
from kpi.catalog import Catalog, Direction, Kpi, LevelGrowthKpi, UniqueKpi, Unit
from kpi.dimensions import Dimension
from kpi.errors import ConfigError, KpiError
from kpi.periods import Grain, Period, last_closed
from kpi.store.schema import targets as targets_table

COMPARATORS: Mapping[str, Callable[[float, float], bool]] = {
    ">=": operator.ge,
    ">": operator.gt,
    "<=": operator.le,
    "<": operator.lt,
}


class TargetGrain(StrEnum):
    DAY = "day"
    WEEK = "week"
    MONTH = "month"
    QUARTER = "quarter"
    ROLLING = "rolling"


GRAIN_WORDS: Mapping[str, TargetGrain] = {
    "daily": TargetGrain.DAY,
    "day": TargetGrain.DAY,
    "weekly": TargetGrain.WEEK,
    "week": TargetGrain.WEEK,
    "monthly": TargetGrain.MONTH,
    "month": TargetGrain.MONTH,
    "quarterly": TargetGrain.QUARTER,
    "quarter": TargetGrain.QUARTER,
}


class TargetError(KpiError):
    """A target definition that cannot be used; the message says what to fix."""


@dataclass(frozen=True)
class Target:
    kpi: str
    comparator: str
    threshold: float
    grain: TargetGrain
    rolling_days: int | None = None
    filters: tuple[tuple[Dimension, tuple[str, ...]], ...] = ()
    channel: str | None = None
    id: int | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        if self.comparator not in COMPARATORS:
            raise TargetError(f"comparator must be one of {', '.join(COMPARATORS)}")
        if (self.grain is TargetGrain.ROLLING) != (self.rolling_days is not None):
            raise TargetError("a rolling target needs a number of days, and only it")
        if self.rolling_days is not None and not 1 <= self.rolling_days <= 366:
            raise TargetError("rolling targets cover 1 to 366 days")

    @property
    def scope(self) -> Scope:
        return Scope(self.filters)

    def describe(self) -> str:
        grain = (
            f"rolling {self.rolling_days} days" if self.rolling_days else self.grain.value + "ly"
        )
        grain = grain.replace("dayly", "daily")
        scope = " ".join(f"{d.value}={','.join(v)}" for d, v in self.filters)
        return " ".join(
            part for part in (self.kpi, self.comparator, str(self.threshold), grain, scope) if part
        )


def default_comparator(kpi: Kpi) -> str:
    """Higher is better means ``>=``; lower is better means ``<=``."""
    return "<=" if kpi.direction is Direction.LOWER else ">="


def parse_threshold(kpi: Kpi, text: str) -> float:
    """``1.2%`` (or ``1.2``) for a percent KPI is 0.012; ``€0.80``, ``3x`` and ``1,000`` as read."""
    cleaned = text.strip().replace(",", "").replace("€", "").replace("$", "").replace("£", "")
    percent = cleaned.endswith("%")
    cleaned = cleaned.rstrip("%").rstrip("x\u00d7").strip()
    try:
        number = float(cleaned)
    except ValueError:
        number = math.nan
    if not math.isfinite(number):
        raise TargetError(f"{text!r} is not a threshold (e.g. 1.2%, 0.80, 3x)")
    if percent and kpi.unit is not Unit.PERCENT:
        raise TargetError(f"{kpi.name} is not a percentage; write the threshold without %")
    return number / 100 if kpi.unit is Unit.PERCENT else number


def window(target: Target, today: dt.date, week_start: int = 0) -> Period:
    """The newest closed period the target judges."""
    if target.grain is TargetGrain.ROLLING:
        assert target.rolling_days is not None
        end = today - dt.timedelta(days=1)
        start = end - dt.timedelta(days=target.rolling_days - 1)
        return Period(start, end, f"rolling {target.rolling_days} days", Grain.RANGE)
    return last_closed(Grain(target.grain.value), today, week_start)


def judge(target: Target, kpi: Kpi, cell: evaluate.Cell | None) -> TargetStatus:
    """Met, missed, no data or low volume, from the KPI's value over the target's period."""
    assert target.id is not None
    status = TargetStatus(target.id, target.comparator, target.threshold, TargetState.NO_DATA, None)
    if cell is None or (cell.value is None and cell.volume is None):
        return status
    low = (
        kpi.min_volume > 0
        and not isinstance(kpi, UniqueKpi | LevelGrowthKpi)
        and (cell.volume is None or cell.volume < kpi.min_volume)
    )
    if low:
        return TargetStatus(
            target.id, target.comparator, target.threshold, TargetState.LOW_VOLUME, None
        )
    if cell.value is None:
        return status
    met = COMPARATORS[target.comparator](cell.value, target.threshold)
    margin = cell.value - target.threshold
    if target.comparator.startswith("<"):
        margin = -margin
    state = TargetState.MET if met else TargetState.MISSED
    return TargetStatus(target.id, target.comparator, target.threshold, state, margin)


def evaluate_target(
    engine: Engine, target: Target, catalog: Catalog, period: Period
) -> TargetStatus:
    kpi = catalog[target.kpi]
    with engine.connect() as connection:
        found = evaluate.cells(connection, kpi, [period], target.scope)
    return judge(target, kpi, found[0] if found else None)


def _scope_text(filters: Sequence[tuple[Dimension, tuple[str, ...]]]) -> str:
    return json.dumps({d.value: list(v) for d, v in filters}, sort_keys=True) if filters else ""


def _filters(text: str) -> tuple[tuple[Dimension, tuple[str, ...]], ...]:
    if not text:
        return ()
    raw = json.loads(text)
    return tuple(sorted((Dimension(k), tuple(v)) for k, v in raw.items()))


def save(engine: Engine, target: Target, *, now: dt.datetime, created_by: str | None = None) -> int:
    """Store a target, replacing the threshold of one with the same KPI, grain, scope, channel."""
    identity = {
        "kpi": target.kpi,
        "grain": target.grain.value,
        "rolling_days": target.rolling_days or 0,
        "scope": _scope_text(target.filters),
        "channel": target.channel or "",
    }
    table = targets_table
    with engine.begin() as connection:
        existing = connection.execute(
            select(table.c.id).where(*(table.c[name] == v for name, v in identity.items()))
        ).scalar_one_or_none()
        if existing is not None:
            connection.execute(
                update(table)
                .where(table.c.id == existing)
                .values(comparator=target.comparator, threshold=target.threshold)
            )
            return int(existing)
        statement = insert(table).values(
            **identity,
            comparator=target.comparator,
            threshold=target.threshold,
            created_by=created_by,
            created_at=now,
        )
        return int(connection.execute(statement.returning(table.c.id)).scalar_one())


def load(engine: Engine) -> list[Target]:
    with engine.connect() as connection:
        rows = connection.execute(select(targets_table).order_by(targets_table.c.id)).mappings()
        return [
            Target(
                kpi=row["kpi"],
                comparator=row["comparator"],
                threshold=row["threshold"],
                grain=TargetGrain(row["grain"]),
                rolling_days=row["rolling_days"] or None,
                filters=_filters(row["scope"]),
                channel=row["channel"] or None,
                id=row["id"],
            )
            for row in rows
        ]


def remove(engine: Engine, target_id: int) -> bool:
    with engine.begin() as connection:
        result = connection.execute(delete(targets_table).where(targets_table.c.id == target_id))
        return bool(result.rowcount)


def applicable(found: Sequence[Target], kpi: Kpi, filters: Scope, period: Period) -> Target | None:
    """The target that speaks for this question: same KPI, same scope, same kind of period."""
    for target in found:
        if target.kpi != kpi.name or Scope(target.filters) != filters:
            continue
        if target.grain is TargetGrain.ROLLING and target.rolling_days == period.days:
            return target
        if target.grain.value == period.grain.value:
            return target
    return None


def read_seed(path: Path, catalog: Catalog) -> list[Target]:
    """Targets from ``targets.toml``; every problem names the file and the entry.

    ::

        [[target]]
        kpi = "ctr"
        threshold = "1.2%"
        grain = "weekly"            # daily, weekly, monthly, quarterly, or rolling
        rolling_days = 28           # only with grain = "rolling"
        comparator = ">="           # optional: the KPI's direction by default
        filters = { platform = ["tiktok"] }
    """
    try:
        document = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"{path}: {exc}") from None
    found: list[Target] = []
    for number, entry in enumerate(document.get("target", []), start=1):
        where = f"{path}: target #{number}"
        try:
            kpi = catalog[str(entry["kpi"])]
            grain_word = str(entry.get("grain", "weekly"))
            grain = TargetGrain.ROLLING if grain_word == "rolling" else GRAIN_WORDS[grain_word]
            filters = tuple(
                sorted(
                    (Dimension(k), tuple(str(x) for x in v))
                    for k, v in dict(entry.get("filters", {})).items()
                )
            )
            found.append(
                Target(
                    kpi=kpi.name,
                    comparator=str(entry.get("comparator", default_comparator(kpi))),
                    threshold=parse_threshold(kpi, str(entry["threshold"])),
                    grain=grain,
                    rolling_days=entry.get("rolling_days"),
                    filters=filters,
                    channel=entry.get("channel"),
                )
            )
        except KeyError as exc:
            raise ConfigError(f"{where}: missing or unknown {exc}") from None
        except (KpiError, ValueError) as exc:
            raise ConfigError(f"{where}: {exc}") from None
    return found
