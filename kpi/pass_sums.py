"""Sums shared by the targets judged together: one alert pass, or one target's replay.

An alert pass judges hundreds of targets, but they ask about few (scope, period) pairs: the 500
targets of the schedule benchmark judge 58. Read once per target, the same sums were summed again
and again (about 6 statements per target). A :class:`PassSums` reads each of them once:

* sums and ratios: the sums of every measure the pass's KPIs need, per first day, last day and
  currency of the rows (:func:`kpi.movers.dated_sums`), once per scope over the span of the
  windows its targets judge. Each KPI over a window follows from them with the rules of ``ask()``
  (:func:`kpi.movers.window_cells`), as in a replay;
* reach and follower growth, which cannot be summed over days: the cell of each (KPI, scope,
  window), from :func:`kpi.evaluate.cells`;
* what drove a miss: the sums per platform and campaign of a period and of the period before
  (:func:`kpi.movers.period_sums`), read once for every target missing in it, and aligned once
  for every KPI split over them. Scopes that only pick platforms or campaigns take their groups
  from the whole store's sums of the period.

Its frames are the store as it was when read, so it lives for one pass only: a pass is short, and
a later one must see what was imported since. It holds no connection; each read opens one.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence

import numpy as np
from sqlalchemy import Engine

from kpi import evaluate
from kpi.aggregate import Scope
from kpi.catalog import Catalog, Kpi, RatioKpi, SumKpi
from kpi.dimensions import Dimension
from kpi.evaluate import Cell
from kpi.movers import Change, DatedSums, PeriodSums, dated_sums, period_sums, window_cells
from kpi.periods import Period
from kpi.targets import Target

_Span = tuple[Scope, dt.date, dt.date]


class PassSums:
    """The store's sums for the KPIs of one pass, each read at most once (see the module doc)."""

    def __init__(
        self, engine: Engine, kpis: Iterable[Kpi], windows: Iterable[tuple[Scope, Period]] = ()
    ) -> None:
        """Sums for ``kpis``; ``windows`` are the (scope, window) pairs of sums and ratios the
        pass will ask about, if known: each scope is then read once, from its first window's
        first day to its last window's last day (on 1M rows, a month and the three weeks after
        it read together took 30 ms, its six windows one by one 90 ms)."""
        self.engine = engine
        self._spans: dict[Scope, tuple[dt.date, dt.date]] = {}
        for scope, window in windows:
            start, end = self._spans.get(scope, (window.start, window.end))
            self._spans[scope] = (min(start, window.start), max(end, window.end))
        #: Every measure of the pass's sums and ratios, read together: a KPI's sums are the
        #: same whichever other columns the statement also sums.
        self.measures = tuple(
            sorted(
                {m for kpi in kpis if isinstance(kpi, SumKpi | RatioKpi) for m in kpi.measures()}
            )
        )
        self._dated: dict[_Span, DatedSums] = {}
        self._cells: dict[tuple[Kpi, _Span], Cell | None] = {}
        self._grouped_sums: dict[tuple[_Span, tuple[Dimension, ...]], PeriodSums] = {}
        self._changes: dict[tuple[object, ...], Change] = {}

    def cells(self, kpi: Kpi, scope: Scope, windows: Sequence[Period]) -> list[Cell | None]:
        """The KPI over each window (None: no data). The sums and ratios of all the windows come
        from one read of their span, so overlapping rolling windows cost one statement too."""
        if isinstance(kpi, SumKpi | RatioKpi):
            missing = kpi.measures() - set(self.measures)
            if missing:
                raise ValueError(f"{kpi.name} needs {sorted(missing)}, not read in this pass")
            start, end = min(w.start for w in windows), max(w.end for w in windows)
            planned = self._spans.get(scope)
            if planned is not None and planned[0] <= start and end <= planned[1]:
                start, end = planned
            return window_cells(kpi, self._dated_sums((scope, start, end)), windows)
        return [self._cell(kpi, scope, window) for window in windows]

    @classmethod
    def judging(
        cls, engine: Engine, catalog: Catalog, judged: Iterable[tuple[Target, Period]]
    ) -> PassSums:
        """For judging each of these targets over its period: their KPIs' measures, and each
        scope's sums and ratios read over the span of their periods. A KPI the catalog does
        not know is left out, to fail when its target is judged, as it would alone."""
        known = [(kpi, t.scope, p) for t, p in judged if (kpi := catalog.get(t.kpi)) is not None]
        summed = [(scope, p) for kpi, scope, p in known if isinstance(kpi, SumKpi | RatioKpi)]
        return cls(engine, [kpi for kpi, _, _ in known], summed)

    def change(
        self, scope: Scope, period: Period, before: Period, dimensions: Sequence[Dimension]
    ) -> Change:
        """The sums of ``before`` and ``period`` per ``dimensions`` and currency, side by side
        for splitting a change: each period read once, each dimension aligned once, whichever
        KPIs are split over them."""
        key = ((scope, period.start, period.end), (scope, before.start, before.end), *dimensions)
        if key not in self._changes:
            self._changes[key] = Change(
                self._grouped(scope, period, dimensions), self._grouped(scope, before, dimensions)
            )
        return self._changes[key]

    def _grouped(self, scope: Scope, period: Period, dimensions: Sequence[Dimension]) -> PeriodSums:
        """A period's sums per ``dimensions``. In a pass over several scopes, a scope filtering
        only on those dimensions (a platform, a campaign) keeps the groups of the whole store's
        sums that it selects: every such scope then shares one read per period (on 1M rows, 12
        reads instead of 80 for the benchmark's misses)."""
        key = ((scope, period.start, period.end), tuple(dimensions))
        if key not in self._grouped_sums:
            filtered = {dimension for dimension, _ in scope.filters}
            if len(self._spans) > 1 and filtered and filtered <= set(dimensions):
                whole = self._grouped(Scope(), period, dimensions)
                self._grouped_sums[key] = _within(whole, scope)
            else:
                with self.engine.connect() as connection:
                    self._grouped_sums[key] = period_sums(
                        connection, self.measures, period, scope, dimensions
                    )
        return self._grouped_sums[key]

    def _dated_sums(self, span: _Span) -> DatedSums:
        if span not in self._dated:
            scope, start, end = span
            with self.engine.connect() as connection:
                self._dated[span] = dated_sums(connection, self.measures, start, end, scope)
        return self._dated[span]

    def _cell(self, kpi: Kpi, scope: Scope, window: Period) -> Cell | None:
        key = (kpi, (scope, window.start, window.end))
        if key not in self._cells:
            with self.engine.connect() as connection:
                found = evaluate.cells(connection, kpi, [window], scope)
            self._cells[key] = found[0] if found else None
        return self._cells[key]


def _within(sums: PeriodSums, scope: Scope) -> PeriodSums:
    """The rows of ``sums`` inside ``scope``, whose filters are on dimensions ``sums`` is
    grouped by: the sums the scope's own read would give, group by group."""
    inside = np.ones(len(sums.currency), dtype=bool)
    for dimension, values in scope.filters:
        inside &= np.isin(sums.keys[dimension.value], list(values))
    keys = {name: column[inside] for name, column in sums.keys.items()}
    return PeriodSums(sums.measures, keys, sums.currency[inside], sums.sums[inside])
