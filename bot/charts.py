"""The digest's chart: each KPI's series of closed periods against its target line, as a PNG.

Figures are built with matplotlib's object API on the Agg canvas, never ``pyplot``: pyplot keeps
global state, and digests for many channels are drawn on several threads at once.
"""

from __future__ import annotations

import io
import math
from collections.abc import Sequence

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter

from kpi.catalog import Unit
from kpi.digest import KpiSeries

COLUMNS = 2
#: Enough for a phone screen and a desktop thread; small files upload fast.
PANEL_INCHES = (4.2, 2.4)
DPI = 100
#: Date labels per panel; more overlap at this size and cost drawing time.
MAX_TICKS = 6


def _tick(series: KpiSeries) -> FuncFormatter:
    kpi = series.kpi
    if kpi.unit is Unit.PERCENT:
        return FuncFormatter(lambda value, _pos: f"{value * 100:.2f}%")
    return FuncFormatter(
        lambda value, _pos: f"{value:,.0f}" if abs(value) >= 100 else f"{value:.2f}"
    )


def render(panels: Sequence[KpiSeries], title: str) -> bytes:
    """One panel per KPI, two columns; a KPI without any value is drawn as an empty panel."""
    rows = max(1, math.ceil(len(panels) / COLUMNS))
    figure = Figure(figsize=(PANEL_INCHES[0] * COLUMNS, PANEL_INCHES[1] * rows + 0.5), dpi=DPI)
    FigureCanvasAgg(figure)
    figure.suptitle(title, fontsize=11)
    for index, series in enumerate(panels):
        axes = figure.add_subplot(rows, COLUMNS, index + 1)
        labels = [point.period.start.strftime("%d %b") for point in series.points]
        values = [math.nan if point.value is None else point.value for point in series.points]
        axes.plot(range(len(values)), values, marker="o", linewidth=1.6, color="#1f6feb")
        if series.threshold is not None:
            axes.axhline(series.threshold, linestyle="--", linewidth=1.2, color="#d1242f")
            axes.text(0, series.threshold, " target", color="#d1242f", fontsize=7, va="bottom")
        axes.set_title(series.kpi.name, fontsize=9, loc="left")
        every = max(1, len(labels) // MAX_TICKS)
        ticks = range(0, len(labels), every)
        axes.set_xticks(ticks, [labels[i] for i in ticks], rotation=45, fontsize=6, ha="right")
        axes.yaxis.set_major_formatter(_tick(series))
        axes.tick_params(axis="y", labelsize=7)
        axes.grid(alpha=0.25)
    # Fixed margins: tight_layout measured every text and then drew the figure twice.
    figure.subplots_adjust(
        left=0.08,
        right=0.98,
        top=1 - 0.45 / figure.get_figheight(),
        bottom=0.12,
        hspace=0.75,
        wspace=0.25,
    )
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()
