"""Sums shared by the KPIs computed together: one alert pass, one digest pass, or a replay.

An alert pass judges hundreds of targets and a digest pass shows a thousand KPI lines, but they
ask about few (scope, period) pairs: the 500 targets of the schedule benchmark judge 58, and its
200 digests show 145 (KPI, scope) lines over 12 scopes. Read once per target or per line, the
same sums were summed again and again. A :class:`PassSums` reads each of them once:

* sums and ratios: the sums of every measure the pass's KPIs need, per first day, last day and
  currency of the rows (:func:`kpi.movers.dated_sums`), once per scope over the span of the
  windows it is asked about (planned ahead by an alert pass; for a digest, the span of its chart,
  which holds its sparkline and comparison too). Each KPI over a window follows from them with
  the rules of ``ask()`` (:func:`kpi.movers.window_cells`), and is kept per window;
* reach and follower growth, which cannot be summed over days: their exact-window path,
  :func:`kpi.evaluate.cells`, once per (KPI, scope, window) for a verdict (with reach's bounds),
  and once per (KPI, scope) for the run of periods of a chart (:meth:`PassSums.series`);
* what drove a change: the sums per platform and campaign of a period and of the period before
  (:func:`kpi.movers.period_sums`), read once for every target missing in it or digest showing
  it, and aligned once for every KPI split over them. In a pass over several scopes, scopes that
  only pick platforms or campaigns take their groups from the whole store's sums of the period.

Values can differ from ``ask()`` alone in the last digits: ``math.fsum`` over the rows' dates
instead of the database's running sum (checked on the schedule benchmark's 500 targets: at most
3.7e-15 relative, no state changed).

Its frames are the store as it was when read, so it lives for one pass only: a pass is short, and
a later one must see what was imported since. It holds no connection; each read opens one. It
may be shared between threads (a scheduler's digest jobs): at worst a value is computed twice.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import replace

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
_Window = tuple[Kpi, _Span]


class PassSums:
    """The store's sums for the KPIs of one pass, each read at most once (see the module doc)."""

    def __init__(
        self,
        engine: Engine,
        kpis: Iterable[Kpi],
        windows: Iterable[tuple[Scope, Period]] = (),
        *,
        whole_store_groups: bool = False,
    ) -> None:
        """Sums for ``kpis``; ``windows`` are the (scope, window) pairs of sums and ratios the
        pass will ask about, if known: each scope is then read once, from its first window's
        first day to its last window's last day (on 1M rows, a month and the three weeks after
        it read together took 30 ms, its six windows one by one 90 ms).

        ``whole_store_groups``: the pass covers several scopes, so that a scope filtering only
        on platforms or campaigns takes its sums per platform and campaign from the whole
        store's (one read per period for all of them; for a single scope, its own read is
        cheaper)."""
        self.engine = engine
        self._spans: dict[Scope, tuple[dt.date, dt.date]] = {}
        for scope, window in windows:
            start, end = self._spans.get(scope, (window.start, window.end))
            self._spans[scope] = (min(start, window.start), max(end, window.end))
        self._whole_store_groups = whole_store_groups
        #: Every measure of the pass's sums and ratios, read together: a KPI's sums are the
        #: same whichever other columns the statement also sums.
        self.measures = tuple(
            sorted(
                {m for kpi in kpis if isinstance(kpi, SumKpi | RatioKpi) for m in kpi.measures()}
            )
        )
        #: Per scope, the spans read so far (a tuple, replaced whole, so that a thread can look
        #: through it while another adds to it).
        self._dated: dict[Scope, tuple[tuple[dt.date, dt.date, DatedSums], ...]] = {}
        self._summed: dict[_Window, Cell | None] = {}
        self._cells: dict[_Window, Cell | None] = {}
        self._series: dict[_Window, Cell | None] = {}
        self._grouped_sums: dict[tuple[_Span, tuple[Dimension, ...]], PeriodSums] = {}
        self._changes: dict[tuple[object, ...], Change] = {}

    def covers(self, kpis: Iterable[Kpi]) -> bool:
        """Whether every measure these KPIs sum is read by this pass."""
        read = set(self.measures)
        return all(kpi.measures() <= read for kpi in kpis if isinstance(kpi, SumKpi | RatioKpi))

    def cells(self, kpi: Kpi, scope: Scope, windows: Sequence[Period]) -> list[Cell | None]:
        """The KPI over each window (None: no data), as a target judges it: reach with its
        bounds where it is not exact. The sums and ratios of all the windows come from one read
        of their span, so overlapping rolling windows cost one statement too."""
        if isinstance(kpi, SumKpi | RatioKpi):
            return self._summed_cells(kpi, scope, windows)
        return [self._cell(kpi, scope, window) for window in windows]

    def series(self, kpi: Kpi, scope: Scope, periods: Sequence[Period]) -> list[Cell | None]:
        """The KPI over each of a run of periods (a chart, a sparkline), as ``ask()``'s
        sparkline computes it: reach only where a row gives it exactly, without bounds. Reach
        and follower growth are computed for all the periods in one call; each period's cell is
        kept, so a sparkline inside the periods of a chart drawn before reads nothing."""
        if isinstance(kpi, SumKpi | RatioKpi):
            return self._summed_cells(kpi, scope, periods)
        keys = [(kpi, (scope, period.start, period.end)) for period in periods]
        if any(key not in self._series for key in keys):
            with self.engine.connect() as connection:
                found = evaluate.cells(connection, kpi, periods, scope, with_bounds=False)
            by_bucket = {cell.bucket: cell for cell in found}
            for index, key in enumerate(keys):
                self._series.setdefault(key, by_bucket.get(index))
        return _numbered([self._series[key] for key in keys])

    @classmethod
    def judging(
        cls, engine: Engine, catalog: Catalog, judged: Iterable[tuple[Target, Period]]
    ) -> PassSums:
        """For judging each of these targets over its period: their KPIs' measures, and each
        scope's sums and ratios read over the span of their periods. A KPI the catalog does
        not know is left out, to fail when its target is judged, as it would alone."""
        known = [(kpi, t.scope, p) for t, p in judged if (kpi := catalog.get(t.kpi)) is not None]
        summed = [(scope, p) for kpi, scope, p in known if isinstance(kpi, SumKpi | RatioKpi)]
        return cls(
            engine,
            [kpi for kpi, _, _ in known],
            summed,
            whole_store_groups=len({scope for scope, _ in summed}) > 1,
        )

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
        """A period's sums per ``dimensions``. With ``whole_store_groups``, a scope filtering
        only on those dimensions (a platform, a campaign) keeps the groups of the whole store's
        sums that it selects: every such scope then shares one read per period (on 1M rows, 12
        reads instead of 80 for the benchmark's misses)."""
        key = ((scope, period.start, period.end), tuple(dimensions))
        if key not in self._grouped_sums:
            filtered = {dimension for dimension, _ in scope.filters}
            if self._whole_store_groups and filtered and filtered <= set(dimensions):
                whole = self._grouped(Scope(), period, dimensions)
                self._grouped_sums[key] = _within(whole, scope)
            else:
                with self.engine.connect() as connection:
                    self._grouped_sums[key] = period_sums(
                        connection, self.measures, period, scope, dimensions
                    )
        return self._grouped_sums[key]

    def _summed_cells(
        self, kpi: SumKpi | RatioKpi, scope: Scope, windows: Sequence[Period]
    ) -> list[Cell | None]:
        """Sums and ratios per window, from the dated sums of a span holding the windows
        missing so far (computed once per window: a digest's sparkline is in its chart)."""
        missing = kpi.measures() - set(self.measures)
        if missing:
            raise ValueError(f"{kpi.name} needs {sorted(missing)}, not read in this pass")
        keys = [(kpi, (scope, window.start, window.end)) for window in windows]
        todo = [
            window for window, key in zip(windows, keys, strict=True) if key not in self._summed
        ]
        if todo:
            start, end = min(w.start for w in todo), max(w.end for w in todo)
            found = window_cells(kpi, self._dated_sums(scope, start, end), todo)
            for window, cell in zip(todo, found, strict=True):
                self._summed.setdefault((kpi, (scope, window.start, window.end)), cell)
        return _numbered([self._summed[key] for key in keys])

    def _dated_sums(self, scope: Scope, start: dt.date, end: dt.date) -> DatedSums:
        """The dated sums of a span holding [start, end]: the scope's planned span when it
        does, else any span read already that does, else [start, end] itself."""
        planned = self._spans.get(scope)
        if planned is not None and planned[0] <= start and end <= planned[1]:
            start, end = planned
        read = self._dated.get(scope, ())
        for first, last, sums in read:
            if first <= start and end <= last:
                return sums
        with self.engine.connect() as connection:
            sums = dated_sums(connection, self.measures, start, end, scope)
        self._dated[scope] = (*self._dated.get(scope, ()), (start, end, sums))
        return sums

    def _cell(self, kpi: Kpi, scope: Scope, window: Period) -> Cell | None:
        key = (kpi, (scope, window.start, window.end))
        if key not in self._cells:
            with self.engine.connect() as connection:
                found = evaluate.cells(connection, kpi, [window], scope)
            self._cells[key] = found[0] if found else None
        return self._cells[key]


def _numbered(cells: list[Cell | None]) -> list[Cell | None]:
    """Cells kept from other calls, numbered by their place in this one (``Cell.bucket``)."""
    return [
        cell if cell is None or cell.bucket == index else replace(cell, bucket=index)
        for index, cell in enumerate(cells)
    ]


def _within(sums: PeriodSums, scope: Scope) -> PeriodSums:
    """The rows of ``sums`` inside ``scope``, whose filters are on dimensions ``sums`` is
    grouped by: the sums the scope's own read would give, group by group."""
    inside = np.ones(len(sums.currency), dtype=bool)
    for dimension, values in scope.filters:
        inside &= np.isin(sums.keys[dimension.value], list(values))
    keys = {name: column[inside] for name, column in sums.keys.items()}
    return PeriodSums(sums.measures, keys, sums.currency[inside], sums.sums[inside])
