"""The digest's chart: each KPI's series of closed periods against its target line, as a PNG.

Figures are built with matplotlib's object API on the Agg canvas, never ``pyplot``: pyplot keeps
global state, and digests for many channels are drawn on several threads at once.

Drawing cost. A digest pass draws dozens of charts, and building a figure is most of a chart's
cost: every panel's axes, ticks (each a handful of lines and texts) and a new renderer, whose
text measurements start cold. So each thread keeps one :class:`_Board` per number of panel rows
and redraws it with the next chart's data: the same artists, the same renderer and its cached
text layout. Every panel title has a fixed position and the axes have no axis labels, so
matplotlib does not measure the tick labels to place them; margins are fixed for the same
reason (``tight_layout`` measured every text and drew the figure twice).

Drawing place. Even so, charts were 40 % of a 200-digest pass, and drawing holds the GIL. A
:class:`ChartDrawer` draws them in a process of its own, so a burst's charts take the second core
while this process queries, renders messages and posts. Once the digests of a burst are built
(1.8 s of a 6 s pass on PostgreSQL), this process only waited for the worker, which still had
most of the 49 charts to draw. Now a thread waiting for a chart draws, meanwhile, the charts
the worker has not begun, newest first (:func:`png`), while the worker goes on from the oldest.
"""

from __future__ import annotations

import io
import logging
import math
import multiprocessing
import os
import threading
from collections.abc import Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool

from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.text import Text
from matplotlib.ticker import FixedFormatter, FixedLocator, FuncFormatter, MaxNLocator

from kpi.catalog import Unit
from kpi.digest import KpiSeries

logger = logging.getLogger("kpibot.charts")

COLUMNS = 2
#: Enough for a phone screen and a desktop thread (840 px wide); small files upload fast.
PANEL_INCHES = (4.2, 2.1)
DPI = 100
#: Inches above the first row of panels, for the chart's title.
TITLE_INCHES = 0.5
#: Date labels per panel; more overlap at this size and cost drawing time.
MAX_TICKS = 6
#: Value labels per panel, at most about this many intervals.
VALUE_BINS = 4
#: zlib's fastest level: encoding at the default (6) was about a quarter of a chart's time, and
#: level 1 saves about a quarter of that (5 ms) for a file about 15 % larger (90 kB for 5 KPIs).
PNG_COMPRESSION = 1
LINE_COLOR = "#1f6feb"
TARGET_COLOR = "#d1242f"

_PERCENT = FuncFormatter(lambda value, _pos: f"{value * 100:.2f}%")
_NUMBER = FuncFormatter(
    lambda value, _pos: f"{value:,.0f}" if abs(value) >= 100 else f"{value:.2f}"
)


class _Panel:
    """One KPI's axes with the artists every chart redraws: its line, target line and label."""

    def __init__(self, axes: Axes) -> None:
        self.axes = axes
        (self.line,) = axes.plot([], [], marker="o", linewidth=1.6, color=LINE_COLOR)
        self.target = axes.axhline(0, linestyle="--", linewidth=1.2, color=TARGET_COLOR)
        self.target_label: Text = axes.text(
            0, 0, " target", color=TARGET_COLOR, fontsize=7, va="bottom"
        )
        axes.yaxis.set_major_locator(MaxNLocator(nbins=VALUE_BINS, steps=[1, 2, 2.5, 5, 10]))
        # No tick marks: the grid shows where the labels are, with half the lines to draw.
        axes.tick_params(axis="both", labelsize=7, bottom=False, left=False)
        axes.grid(alpha=0.25)
        # Without these, every draw measures the tick labels to place empty axis labels.
        axes.xaxis.set_label_coords(0.5, 0.0)
        axes.yaxis.set_label_coords(0.0, 0.5)

    def show(self, series: KpiSeries, *, dated: bool) -> None:
        """Draw ``series`` in this panel, leaving nothing of the chart drawn before; ``dated``
        labels its dates (the lowest panel of a column: the others share its dates)."""
        axes = self.axes
        axes.set_visible(True)
        axes.set_title(series.kpi.name, fontsize=9, loc="left", y=1.0)
        count = len(series.points)
        values = [math.nan if point.value is None else point.value for point in series.points]
        self.line.set_data(range(count), values)
        threshold = series.threshold
        for artist in (self.target, self.target_label):
            artist.set_visible(threshold is not None)
        if threshold is not None:
            self.target.set_ydata([threshold, threshold])
            self.target_label.set_position((0, threshold))
        if threshold is not None or not all(map(math.isnan, values)):
            axes.relim(visible_only=True)
            axes.autoscale_view(scalex=False)
        else:  # nothing to scale to: a new panel's limits, not those of the chart before
            empty = axes.yaxis.get_major_locator().nonsingular(-math.inf, math.inf)
            axes.set_ylim(*empty, auto=None)
        axes.set_xlim(-0.5, count - 0.5)
        every = max(1, math.ceil(count / MAX_TICKS))
        ticks = range(0, count, every)
        labels = [series.points[i].period.start.strftime("%d %b") for i in ticks]
        axes.xaxis.set_major_locator(FixedLocator(list(ticks)))
        axes.xaxis.set_major_formatter(FixedFormatter(labels))
        axes.tick_params(axis="x", labelbottom=dated)
        axes.yaxis.set_major_formatter(_PERCENT if series.kpi.unit is Unit.PERCENT else _NUMBER)


class _Board:
    """A figure of ``rows`` rows of panels, redrawn for every chart with that many rows."""

    def __init__(self, rows: int) -> None:
        height = PANEL_INCHES[1] * rows + TITLE_INCHES
        self.figure = Figure(figsize=(PANEL_INCHES[0] * COLUMNS, height), dpi=DPI)
        FigureCanvasAgg(self.figure)
        self.panels = [
            _Panel(self.figure.add_subplot(rows, COLUMNS, index + 1))
            for index in range(rows * COLUMNS)
        ]
        self.figure.subplots_adjust(
            left=0.08,
            right=0.98,
            top=1 - TITLE_INCHES / height,
            bottom=0.3 / height,
            hspace=0.45,
            wspace=0.22,
        )

    def png(self, panels: Sequence[KpiSeries], title: str) -> bytes:
        """The chart of ``panels``, in order; the places after the last panel stay empty."""
        self.figure.suptitle(title, fontsize=11, y=1 - 0.08 / self.figure.get_figheight(), va="top")
        for index, panel in enumerate(self.panels):
            if index < len(panels):
                panel.show(panels[index], dated=index + COLUMNS >= len(panels))
            else:
                panel.axes.set_visible(False)
        buffer = io.BytesIO()
        self.figure.savefig(buffer, format="png", pil_kwargs={"compress_level": PNG_COMPRESSION})
        return buffer.getvalue()


class _Boards(threading.local):
    """Each thread's boards, by number of rows: a figure is never drawn by two threads."""

    def __init__(self) -> None:
        self.by_rows: dict[int, _Board] = {}


_boards = _Boards()


def render(panels: Sequence[KpiSeries], title: str) -> bytes:
    """One panel per KPI, two columns; a KPI without any value is drawn as an empty panel."""
    rows = max(1, math.ceil(len(panels) / COLUMNS))
    board = _boards.by_rows.get(rows)
    if board is None:
        board = _boards.by_rows[rows] = _Board(rows)
    return board.png(panels, title)


def _exit_with_parent() -> None:
    """Worker initializer: a worker whose process was killed (SIGKILL, out of memory) would
    otherwise wait for charts forever, one more orphan at every restart."""
    parent = multiprocessing.parent_process()
    if parent is not None:
        threading.Thread(target=_exit_when_gone, args=(parent,), daemon=True).start()


def _exit_when_gone(parent: multiprocessing.process.BaseProcess) -> None:
    parent.join()  # the parent's sentinel closes when it ends, however it ends
    os._exit(0)


class Chart(Future[bytes]):
    """A chart sent to the worker: its PNG once drawn, by the worker or, through :func:`png`,
    by a thread that would otherwise wait for it."""

    def __init__(
        self,
        drawing: Future[bytes],
        panels: Sequence[KpiSeries],
        title: str,
        undrawn: _Undrawn,
    ) -> None:
        super().__init__()
        self._drawing, self._panels, self._title = drawing, tuple(panels), title
        self._undrawn = undrawn
        self._taken = False
        self._take_lock = threading.Lock()
        drawing.add_done_callback(self._drawn)

    def _drawn(self, drawing: Future[bytes]) -> None:
        self._undrawn.forget(self)
        if drawing.cancelled():
            if not self._taken:  # the pool shut down: cancelled for whoever waits, as before
                self.cancel()
            return  # else taken back by this process, which sets the result
        error = drawing.exception()
        if error is None:
            self.set_result(drawing.result())
        else:
            self.set_exception(error)

    def draw_unless_begun(self) -> None:
        """Withdraw the chart from the worker and draw it in this thread, if the worker has not
        begun it (and no other thread did so first)."""
        with self._take_lock:
            if self._taken:
                return
            self._taken = True  # before cancel(), which runs _drawn
            if not self._drawing.cancel():  # begun, or drawn already
                self._taken = False
                return
        try:
            self.set_result(render(self._panels, self._title))
        except Exception as error:  # reported to whoever waits, as the worker's would be
            self.set_exception(error)

    def wait_drawing(self) -> None:
        """Until this chart is drawn, draw here the charts the worker has not begun: this one
        first, then the newest (the worker takes the oldest first, so the two meet in the
        middle of a burst's queue instead of this thread waiting for all of it)."""
        self.draw_unless_begun()
        while not self.done():
            other = self._undrawn.newest()
            if other is None:
                return
            other.draw_unless_begun()


class _Undrawn:
    """The charts sent to the worker and not drawn yet, oldest first."""

    def __init__(self) -> None:
        self._charts: dict[Chart, None] = {}
        self._lock = threading.Lock()

    def add(self, chart: Chart) -> None:
        with self._lock:
            if not chart.done():
                self._charts[chart] = None

    def forget(self, chart: Chart) -> None:
        with self._lock:
            self._charts.pop(chart, None)

    def newest(self) -> Chart | None:
        """The newest chart sent, no longer listed (None when there is none)."""
        with self._lock:
            return self._charts.popitem()[0] if self._charts else None


def png(chart: Future[bytes]) -> bytes:
    """The PNG of a chart from :meth:`ChartDrawer.submit`. Until it is drawn, this thread draws
    the charts the worker has not begun (see :meth:`Chart.wait_drawing`) instead of waiting for
    the worker: the same :func:`render`, so the same bytes, and each chart drawn once."""
    if isinstance(chart, Chart):
        chart.wait_drawing()
    return chart.result()


class ChartDrawer:
    """Draws charts in one worker process, started on first use and kept for the next bursts.

    The worker is spawned, never forked: the scheduler and the web workers run threads, and a
    forked copy of a process holding locks can deadlock. A worker that dies (killed, out of
    memory) is replaced at the next chart; the charts it held fail, and their digests go out
    without them (see ``bot.jobs``). A worker whose parent dies exits too.
    """

    def __init__(self) -> None:
        self._pool: ProcessPoolExecutor | None = None
        self._lock = threading.Lock()
        self._undrawn = _Undrawn()

    def submit(self, panels: Sequence[KpiSeries], title: str) -> Future[bytes]:
        """The PNG of :func:`render`, drawn in the worker (or by :func:`png`)."""
        with self._lock:
            for _attempt in range(2):
                if self._pool is None:
                    context = multiprocessing.get_context("spawn")
                    self._pool = ProcessPoolExecutor(
                        max_workers=1, mp_context=context, initializer=_exit_with_parent
                    )
                try:
                    drawing = self._pool.submit(render, tuple(panels), title)
                    chart = Chart(drawing, panels, title, self._undrawn)
                    self._undrawn.add(chart)
                    return chart
                except BrokenProcessPool:
                    logger.warning("the chart worker died; starting another")
                    self._pool.shutdown(wait=False)
                    self._pool = None
            raise BrokenProcessPool("the chart worker could not be started")

    def close(self) -> None:
        with self._lock:
            if self._pool is not None:
                self._pool.shutdown(wait=True, cancel_futures=True)
                self._pool = None
