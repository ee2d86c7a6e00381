"""Who drove a change: the change of a KPI between two periods, split exactly over groups.

The contributions of all groups (platforms, campaigns) add up to the whole change, in the KPI's
unit, so "CTR -0.30 pp: tiktok -0.25 pp, meta -0.08 pp, ..." reads as a sum:

* A sum KPI (Σ formula): a group contributes its own change, ``X_i(period) - X_i(baseline)``.
* A ratio KPI ``R = N / D`` (a ratio of sums, times ``scale``): with ``R_b`` the baseline's total
  ratio and ``D_p``, ``D_b`` the total denominators, a group contributes
  ``scale * ((N_ip - R_b * D_ip) / D_p - (N_ib - R_b * D_ib) / D_b)``. The terms add up to
  ``R_p - R_b``: a group moves the KPI both by its own ratio changing and by its share of the
  denominator moving towards groups above or below the old average (mix).

A group present in one period only counts as zeros in the other. Measures a group does not
report count as 0 in these sums exactly when the total counts them (the total is the sum of what
is reported), so the decomposition is exact, floating-point rounding aside.

No movers (empty ``good`` and ``bad``) when the change itself has no value: no data or a zero
denominator in either period, amounts in several currencies (the rule of ``ask()``: money in
different currencies is never added), or a KPI that cannot be split over groups: unique counts
(reach: the groups' audiences overlap) and level growth (follower_growth: a level per series, not
a flow per group), and custom formulas that are not linear in the measures (``a * b``, a constant
term), whose change does not split into per-group parts.

The sums come from :func:`kpi.aggregate.window_sums` (the database sums; pandas sees one row per
group), grouped by several dimensions at once, so that a digest reads one frame per period and
splits every KPI by platform and by campaign from it (see :class:`PeriodSums`).
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd
from sqlalchemy import Connection, Engine

from kpi import aggregate
from kpi.aggregate import Scope
from kpi.catalog import Direction, Kpi, RatioKpi, SumKpi
from kpi.dimensions import Dimension
from kpi.evaluate import Cell, fill_unreported_terms
from kpi.formula import BinOp, Formula, MeasureRef, Neg, Op
from kpi.measures import MONEY, Measure
from kpi.periods import Period
from kpi.request import Filters

LIMIT = 3
#: Contributions this small relative to the values involved are floating-point rounding of 0
#: (a group whose ratio stayed at the old average), not movers.
ROUNDING = 1e-12


@dataclass(frozen=True)
class Mover:
    """One group's part of a KPI's change between two periods."""

    #: The dimension the change was split by: ``"platform"`` or ``"campaign"``.
    dimension: str
    #: The group's value of that dimension; rows without one (an empty campaign: a page's
    #: organic posts) are one group labelled ``"(no campaign)"``.
    label: str
    #: The group's part of the change, in the KPI's unit (a fraction for percent KPIs: -0.002 is
    #: -0.2 pp). The contributions of all groups add up to the change of the total.
    contribution: float
    #: The group's own KPI in the period; None without data or value (zero denominator).
    value: float | None
    #: The group's own KPI in the baseline period; None likewise (a group new this period).
    baseline_value: float | None


@dataclass(frozen=True)
class Movers:
    """The groups that drove a change, biggest ``|contribution|`` first (ties by label).

    ``good`` moved the KPI the way its direction calls better (up for CTR, down for CPC),
    ``bad`` the other way; groups whose contribution is 0 (up to floating-point rounding) are in
    neither. A neutral KPI (spend) has no better way: both are empty, as its changes are never
    coloured in answers.
    """

    good: tuple[Mover, ...] = ()
    bad: tuple[Mover, ...] = ()


NO_MOVERS = Movers()


# -- sums per group --------------------------------------------------------------------------


class PeriodSums:
    """Sums of measures over one period, per group of some dimensions and per currency.

    One query (:func:`period_sums`); :meth:`by` then adds the rows up per dimension, once per
    dimension, for every KPI that reads them.
    """

    def __init__(
        self,
        measures: Sequence[Measure],
        keys: Mapping[str, npt.NDArray[np.object_]],
        currency: npt.NDArray[np.object_],
        sums: npt.NDArray[np.float64],
    ) -> None:
        #: The measures, in the order of the columns of ``sums``.
        self.measures = tuple(measures)
        #: Per dimension, its value on each row (text, "" for none).
        self.keys = dict(keys)
        #: Each row's currency ("" for none).
        self.currency = currency
        #: One row per group and currency, one column per measure; NaN: not reported.
        self.sums = sums
        self._by: dict[str, _Grouped] = {}
        self._currencies: dict[tuple[Measure, ...], frozenset[str]] = {}

    def values(self, dimension: str) -> frozenset[str]:
        """The values of ``dimension`` with at least one row inside the period."""
        return frozenset(str(value) for value in self.keys[dimension])

    def by(self, dimension: str) -> _Grouped:
        """Σ of each measure per value of ``dimension`` (NaN where no row reports it)."""
        if dimension not in self._by:
            codes, uniques = pd.factorize(self.keys[dimension], sort=True)
            labels = [str(label) for label in uniques]
            if len(labels) == len(codes):  # one row per value (campaigns, mostly): no sums
                grouped = np.empty_like(self.sums)
                grouped[codes] = self.sums
            else:
                grouped = np.empty((len(labels), len(self.measures)), dtype=float)
                for column in range(len(self.measures)):
                    values = self.sums[:, column]
                    known = ~np.isnan(values)
                    count = np.bincount(codes, weights=known, minlength=len(labels))
                    total = np.bincount(
                        codes, weights=np.where(known, values, 0.0), minlength=len(labels)
                    )
                    grouped[:, column] = np.where(count > 0, total, np.nan)
            self._by[dimension] = _Grouped(labels, grouped)
        return self._by[dimension]

    def currencies(self, money: Iterable[Measure]) -> frozenset[str]:
        """The currencies of the rows that report any of ``money`` (rows without one are not
        counted, as in ``ask()``)."""
        key = tuple(sorted(set(money)))
        if key not in self._currencies:
            columns = [self.measures.index(m) for m in key]
            found: set[str] = set()
            if columns:
                paid = ~np.isnan(self.sums[:, columns]).all(axis=1)
                found = {str(c) for c in self.currency[paid]}
            self._currencies[key] = frozenset(c for c in found if c)
        return self._currencies[key]


@dataclass(frozen=True)
class _Grouped:
    """Sums per value of one dimension: ``labels`` in order, one row of ``sums`` each."""

    labels: list[str]
    sums: npt.NDArray[np.float64]


def period_sums(
    connection: Connection,
    measures: Iterable[Measure],
    period: Period,
    scope: Scope,
    dimensions: Sequence[Dimension],
) -> PeriodSums:
    """The sums of ``measures`` over the rows inside ``period``, per ``dimensions`` and currency.

    Groups with rows but none of the measures reported are kept (all NaN): they say the
    dimension's value had data in the period (see the digest's freshness).
    """
    chosen = sorted(set(measures))
    # Campaign before platform: grouping by platform first with a platform filter made SQLite
    # walk the series index and scan the period once per series (0.3 s instead of 5 ms).
    leading = sorted(dimensions, key=lambda d: d.value in aggregate.ROLLUP_DIMENSIONS)
    group = [*(d.value for d in leading), "currency"]
    frame = aggregate.window_sums(connection, period.start, period.end, chosen, scope, group)

    def text(name: str) -> npt.NDArray[np.object_]:
        return np.array(["" if v is None else str(v) for v in frame[name].tolist()], dtype=object)

    names = [m.value for m in chosen]
    sums = frame[names].to_numpy(dtype=float) if len(frame) else np.empty((0, len(chosen)))
    return PeriodSums(chosen, {d.value: text(d.value) for d in dimensions}, text("currency"), sums)


class Change:
    """The sums of two periods side by side, to split the change of several KPIs from
    ``before`` to ``now`` by several dimensions (a digest's KPIs by platform and by campaign)."""

    def __init__(self, now: PeriodSums, before: PeriodSums) -> None:
        if now.measures != before.measures:
            raise ValueError("both periods need the same measures")
        self.now, self.before = now, before
        self._aligned: dict[str, _Aligned] = {}

    def _align(self, dimension: str) -> _Aligned:
        if dimension not in self._aligned:
            after, prior = self.now.by(dimension), self.before.by(dimension)
            labels = sorted(set(after.labels) | set(prior.labels))
            position = {label: i for i, label in enumerate(labels)}
            self._aligned[dimension] = _Aligned(
                labels,
                _spread(after, position, len(self.now.measures)),
                _spread(prior, position, len(self.now.measures)),
            )
        return self._aligned[dimension]

    def split(
        self, kpi: Kpi, by: str, *, limit: int = LIMIT, direction: Direction | None = None
    ) -> Movers:
        """Split the change of ``kpi`` over the values of ``by`` (see the module doc).

        ``direction`` decides which contributions are good: the KPI's own by default; an alert
        passes the side its target calls better.
        """
        direction = kpi.direction if direction is None else direction
        if direction is Direction.NEUTRAL or limit <= 0 or not decomposable(kpi):
            return NO_MOVERS
        assert isinstance(kpi, SumKpi | RatioKpi)
        measures = sorted(kpi.measures())
        money = [m for m in measures if m in MONEY]
        if len(self.now.currencies(money) | self.before.currencies(money)) > 1:
            return NO_MOVERS
        aligned = self._align(by)
        columns = [self.now.measures.index(m) for m in measures]
        after, prior = aligned.after[:, columns], aligned.prior[:, columns]
        value_after = _value(kpi, _totals(after, measures))
        value_prior = _value(kpi, _totals(prior, measures))
        if value_after is None or value_prior is None:
            return NO_MOVERS
        # Every measure of the formula has a total (else no value above): a group not reporting
        # one adds 0 to it, so it counts as 0 here and the parts add up to the total.
        contributions = _contributions(kpi, measures, np.nan_to_num(after), np.nan_to_num(prior))
        if contributions is None:
            return NO_MOVERS
        higher = direction is Direction.HIGHER
        sides: dict[bool, list[tuple[float, str, int]]] = {True: [], False: []}
        noise = ROUNDING * (
            abs(value_after) + abs(value_prior) + float(np.abs(contributions).sum())
        )
        for position, contribution in enumerate(contributions.tolist()):
            if abs(contribution) > noise and math.isfinite(contribution):
                label = aligned.labels[position]
                sides[(contribution > 0) == higher].append((contribution, label, position))

        def chosen(found: list[tuple[float, str, int]]) -> tuple[Mover, ...]:
            found.sort(key=lambda item: (-abs(item[0]), item[1]))
            return tuple(
                Mover(
                    by,
                    _label(by, label),
                    contribution,
                    _value(kpi, _own(after[position], measures)),
                    _value(kpi, _own(prior[position], measures)),
                )
                for contribution, label, position in found[:limit]
            )

        return Movers(good=chosen(sides[True]), bad=chosen(sides[False]))


def _spread(grouped: _Grouped, position: Mapping[str, int], width: int) -> npt.NDArray[np.float64]:
    spread = np.full((len(position), width), np.nan)
    spread[[position[label] for label in grouped.labels]] = grouped.sums
    return spread


@dataclass(frozen=True)
class _Aligned:
    """One dimension's groups of both periods, in the same order (NaN: no data)."""

    labels: list[str]
    after: npt.NDArray[np.float64]
    prior: npt.NDArray[np.float64]


# -- linear forms ------------------------------------------------------------------------------


def _constant(formula: Formula) -> float | None:
    if formula.measures():
        return None
    return formula.evaluate({})


def _linear(formula: Formula) -> dict[Measure, float] | None:
    """The coefficients of a formula that is a linear combination of measures, without a
    constant term (``likes + comments``, ``revenue - spend``, ``2 * clicks``); otherwise None."""
    if isinstance(formula, MeasureRef):
        return {formula.measure: 1.0}
    constant = _constant(formula)
    if constant is not None or not formula.measures():
        return {} if constant == 0 else None
    if isinstance(formula, Neg):
        inner = _linear(formula.operand)
        return None if inner is None else {m: -c for m, c in inner.items()}
    if not isinstance(formula, BinOp):
        return None
    if formula.op in (Op.ADD, Op.SUB):
        left, right = _linear(formula.left), _linear(formula.right)
        if left is None or right is None:
            return None
        sign = 1.0 if formula.op is Op.ADD else -1.0
        combined = dict(left)
        for measure, coefficient in right.items():
            combined[measure] = combined.get(measure, 0.0) + sign * coefficient
        return combined
    if formula.op is Op.MUL:
        factor, other = _constant(formula.left), formula.right
        if factor is None:
            factor, other = _constant(formula.right), formula.left
    else:  # DIV: only by a constant
        factor, other = _constant(formula.right), formula.left
        factor = 1 / factor if factor else None
    inner = _linear(other)
    if factor is None or inner is None:
        return None
    return {m: c * factor for m, c in inner.items()}


def _vector(
    coefficients: Mapping[Measure, float], measures: Sequence[Measure]
) -> npt.NDArray[np.float64]:
    return np.array([coefficients.get(m, 0.0) for m in measures], dtype=float)


def decomposable(kpi: Kpi) -> bool:
    """Whether :func:`movers` can split this KPI's change over groups (see the module doc)."""
    if isinstance(kpi, SumKpi):
        return _linear(kpi.formula) is not None
    if isinstance(kpi, RatioKpi):
        return _linear(kpi.numerator) is not None and _linear(kpi.denominator) is not None
    return False


# -- decomposition -----------------------------------------------------------------------------


def _own(row: npt.NDArray[np.float64], measures: Sequence[Measure]) -> dict[Measure, float | None]:
    return {m: None if math.isnan(v) else v for m, v in zip(measures, row.tolist(), strict=True)}


def _totals(
    sums: npt.NDArray[np.float64], measures: Sequence[Measure]
) -> dict[Measure, float | None]:
    missing = [bool(gone) for gone in np.isnan(sums).all(axis=0, keepdims=False).flat]
    totals = np.nansum(sums, axis=0).tolist()
    return {
        m: None if gone else total for m, total, gone in zip(measures, totals, missing, strict=True)
    }


def _value(kpi: SumKpi | RatioKpi, sums: dict[Measure, float | None]) -> float | None:
    """The KPI of one group's (or the total's) sums, with the rules of ``ask()``; None for a
    group without data."""
    if all(value is None for value in sums.values()):
        return None
    fill_unreported_terms(kpi, sums)
    return kpi.value(sums)


def _label(dimension: str, value: str) -> str:
    return value or f"(no {dimension})"


def _contributions(
    kpi: SumKpi | RatioKpi,
    measures: Sequence[Measure],
    after: npt.NDArray[np.float64],
    prior: npt.NDArray[np.float64],
) -> npt.NDArray[np.float64] | None:
    if isinstance(kpi, SumKpi):
        form = _linear(kpi.formula)
        assert form is not None
        weights = _vector(form, measures)
        return after @ weights - prior @ weights
    numerator, denominator = _linear(kpi.numerator), _linear(kpi.denominator)
    assert numerator is not None and denominator is not None
    top, bottom = _vector(numerator, measures), _vector(denominator, measures)
    top_after, bottom_after = after @ top, after @ bottom
    top_prior, bottom_prior = prior @ top, prior @ bottom
    total_after, total_prior = math.fsum(bottom_after), math.fsum(bottom_prior)
    if total_after == 0 or total_prior == 0:
        return None
    ratio_prior = math.fsum(top_prior) / total_prior
    parts: npt.NDArray[np.float64] = kpi.scale * (
        (top_after - ratio_prior * bottom_after) / total_after
        - (top_prior - ratio_prior * bottom_prior) / total_prior
    )
    return parts


def movers(
    engine: Engine,
    kpi: Kpi,
    period: Period,
    baseline: Period,
    *,
    filters: Filters = (),
    by: Dimension,
    limit: int = LIMIT,
) -> Movers:
    """The groups of ``by`` that drove the change of ``kpi`` from ``baseline`` to ``period``.

    At most ``limit`` good and ``limit`` bad ones (see :class:`Movers`); empty when the change
    cannot be split (see the module doc: reach, follower growth, no value, mixed currencies).
    Two queries, one per period.
    """
    if not decomposable(kpi) or kpi.direction is Direction.NEUTRAL:
        return NO_MOVERS
    scope = Scope(tuple(filters))
    with engine.connect() as connection:
        now = period_sums(connection, kpi.measures(), period, scope, [by])
        before = period_sums(connection, kpi.measures(), baseline, scope, [by])
    return Change(now, before).split(kpi, by.value, limit=limit)


# -- a KPI over several windows from one dated frame ------------------------------------------


@dataclass(frozen=True)
class DatedSums:
    """Sums of measures per (first day, last day, currency) of the rows over a span of days:
    one query, from which the KPI of any window inside the span follows (a sparkline, a chart,
    overlapping rolling windows)."""

    measures: tuple[Measure, ...]
    #: (period_start, period_end, currency, sums in the order of ``measures``, None = not
    #: reported).
    rows: tuple[tuple[dt.date, dt.date, str, tuple[float | None, ...]], ...]


def dated_sums(
    connection: Connection,
    measures: Iterable[Measure],
    start: dt.date,
    end: dt.date,
    scope: Scope,
) -> DatedSums:
    """One grouped query over [start, end] (daily rollup when the scope allows it)."""
    chosen = tuple(sorted(set(measures)))
    frame = aggregate.window_sums(
        connection, start, end, chosen, scope, ["period_start", "period_end", "currency"]
    )
    rows = []
    names = [m.value for m in chosen]
    for first, last, currency, *values in frame[
        ["period_start", "period_end", "currency", *names]
    ].itertuples(index=False, name=None):
        rows.append(
            (
                _date(first),
                _date(last),
                "" if currency is None else str(currency),
                tuple(None if v is None or math.isnan(v) else float(v) for v in values),
            )
        )
    return DatedSums(chosen, tuple(rows))


def _date(value: object) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value)[:10])


def window_cells(
    kpi: SumKpi | RatioKpi, sums: DatedSums, windows: Sequence[Period]
) -> list[Cell | None]:
    """The KPI over each window (None: no row inside it), with the rules of ``ask()``: rows
    lying entirely inside the window, ratio of sums, unreported terms of a plain sum as 0, and
    no value when its money is in several currencies. Windows may overlap."""
    positions = [sums.measures.index(m) for m in sorted(kpi.measures())]
    money = [i for i, m in zip(positions, sorted(kpi.measures()), strict=True) if m in MONEY]
    found: list[Cell | None] = []
    for index, window in enumerate(windows):
        inside = [row for row in sums.rows if row[0] >= window.start and row[1] <= window.end]
        if not inside:
            found.append(None)
            continue
        currencies = sorted(
            {c for _, _, c, v in inside if c and any(v[i] is not None for i in money)}
        )
        if len(currencies) > 1:
            found.append(Cell(index, (), None, None, currencies=tuple(currencies)))
            continue
        totals: dict[Measure, float | None] = {}
        for measure, position in zip(sorted(kpi.measures()), positions, strict=True):
            present = [x for _, _, _, v in inside if (x := v[position]) is not None]
            totals[measure] = math.fsum(present) if present else None
        fill_unreported_terms(kpi, totals)
        currency = currencies[0] if currencies else None
        found.append(
            Cell(
                index,
                (),
                kpi.value(totals),
                kpi.volume(totals),
                totals,
                currency=currency,
                currencies=(currency,) if currency else (),
            )
        )
    return found
