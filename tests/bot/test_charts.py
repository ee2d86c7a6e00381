"""The digest chart: what each panel shows, and that a redrawn figure keeps nothing of the last
chart (each thread redraws the same figure for every chart with as many rows)."""

from __future__ import annotations

import datetime as dt
import io
import subprocess
import sys
import threading
from collections.abc import Sequence
from concurrent.futures import CancelledError, ThreadPoolExecutor
from concurrent.futures.process import BrokenProcessPool

import numpy as np
import psutil
import pytest
from matplotlib.figure import Figure
from PIL import Image

from bot import charts
from kpi.answer import Point
from kpi.catalog import BUILTIN
from kpi.digest import KpiSeries
from kpi.periods import grain_periods, resolve

WEEKS = grain_periods(resolve("last-week", dt.date(2026, 11, 23)), 12)
TITLE = "Weekly on Monday at 09:00 digest"


def line(name: str, values: Sequence[float | None], threshold: float | None = None) -> KpiSeries:
    return KpiSeries(
        BUILTIN[name], tuple(Point(p, v) for p, v in zip(WEEKS, values, strict=True)), threshold
    )


def rising(start: float, step: float) -> list[float | None]:
    return [start + step * i for i in range(len(WEEKS))]


FOUR: tuple[KpiSeries, ...] = (
    line("spend", rising(10_000, 150)),
    line("ctr", rising(0.011, 0.0002), threshold=0.012),
    line("cpc", rising(0.8, 0.01)),
    line("roas", rising(2.5, 0.1), threshold=3.0),
)
THREE: tuple[KpiSeries, ...] = (
    line("conversions", rising(300, -4), threshold=320),
    line("reach", [None] * 9 + [95_000, 91_000, 99_000]),
    line("engagement_rate", [None] * len(WEEKS)),
)


def pixels(png: bytes) -> np.ndarray:
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    return np.asarray(Image.open(io.BytesIO(png)).convert("RGB"))


def first_chart(panels: Sequence[KpiSeries]) -> bytes:
    """The chart as a thread's first one, on a figure drawn for nothing else before."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(charts.render, panels, TITLE).result()


def first_chart_titled(panels: Sequence[KpiSeries], title: str) -> bytes:
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(charts.render, panels, title).result()


def figure(rows: int) -> Figure:
    """The figure this thread redraws for charts of ``rows`` rows."""
    return charts._boards.by_rows[rows].figure


def test_size_follows_the_rows() -> None:
    wide = charts.PANEL_INCHES[0] * charts.COLUMNS * charts.DPI
    for panels, rows in ((FOUR[:1], 1), (THREE, 2), (FOUR + THREE, 4)):
        height, width, _ = pixels(charts.render(panels, TITLE)).shape
        assert width == round(wide)
        assert height == round((charts.PANEL_INCHES[1] * rows + charts.TITLE_INCHES) * charts.DPI)


def test_each_panel_shows_its_kpi_dates_values_and_target() -> None:
    charts.render(THREE, TITLE)
    axes = figure(2).axes
    assert [a.get_title(loc="left") for a in axes if a.get_visible()] == [
        "conversions",
        "reach",
        "engagement_rate",
    ]
    assert not axes[3].get_visible()  # three KPIs: the fourth place stays empty
    dates = [label.get_text() for label in axes[2].get_xticklabels()]
    assert dates == ["31 Aug", "14 Sep", "28 Sep", "12 Oct", "26 Oct", "09 Nov"]
    assert all(not label.get_visible() for label in axes[0].xaxis.get_ticklabels())
    assert axes[0].get_xlim() == (-0.5, 11.5)  # every period in place, even where reach has none
    assert axes[0].yaxis.get_major_formatter()(1234.5, 0) == "1,234"
    assert axes[2].yaxis.get_major_formatter()(0.0123, 0) == "1.23%"
    lo, hi = axes[0].get_ylim()
    assert lo <= 256 and hi >= 320  # the values and the target line are in view
    targets = [a for a in axes[0].lines if a.get_linestyle() == "--"]
    assert [t.get_visible() for t in targets] == [True]
    assert [t.get_visible() for a in axes[1:3] for t in a.lines if t.get_linestyle() == "--"] == [
        False,
        False,
    ]


def test_target_lines_are_red_and_only_where_there_is_a_target() -> None:
    red = np.array([0xD1, 0x24, 0x2F])

    def reds(panels: Sequence[KpiSeries]) -> int:
        return int(
            (np.abs(pixels(charts.render(panels, TITLE)).astype(int) - red).sum(2) < 30).sum()
        )

    assert reds(FOUR) > 0
    assert reds([line(s.kpi.name, [p.value for p in s.points]) for s in FOUR]) == 0


def test_a_redrawn_figure_keeps_nothing_of_the_chart_before() -> None:
    """Byte for byte the chart a fresh figure draws, whatever this thread drew before."""
    fresh = {panels: first_chart(panels) for panels in (FOUR, THREE, FOUR[:3])}
    for panels in (THREE, FOUR, FOUR[:3], THREE, FOUR[:3], FOUR):
        assert charts.render(panels, TITLE) == fresh[panels]


def test_threads_draw_at_once_on_figures_of_their_own() -> None:
    expected = {panels: charts.render(panels, TITLE) for panels in (FOUR, THREE)}
    barrier = threading.Barrier(4)

    def draw(panels: tuple[KpiSeries, ...]) -> bool:
        barrier.wait()
        return all(charts.render(panels, TITLE) == expected[panels] for _ in range(3))

    with ThreadPoolExecutor(4) as pool:
        assert all(pool.map(draw, [FOUR, THREE, FOUR, THREE]))


def test_the_worker_draws_the_same_png_as_this_process() -> None:
    drawer = charts.ChartDrawer()
    try:
        assert drawer.submit(FOUR, TITLE).result(timeout=60) == first_chart(FOUR)
    finally:
        drawer.close()


def test_a_thread_waiting_for_a_chart_draws_those_the_worker_has_not_begun(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """While the worker starts and draws the oldest charts, a thread that needs a chart draws it
    if the worker has not begun it, and draws the newest ones while it waits for one the worker
    has; every chart is the same PNG wherever drawn, and each is drawn once."""
    here: list[str] = []
    drawn = charts._Board.png

    def counted(board: charts._Board, panels: Sequence[KpiSeries], title: str) -> bytes:
        here.append(title)
        return drawn(board, panels, title)

    monkeypatch.setattr(charts._Board, "png", counted)  # this process only: not the worker
    drawer = charts.ChartDrawer()
    try:
        titles = [f"{TITLE} {index}" for index in range(6)]
        submitted = [drawer.submit(FOUR, title) for title in titles]
        last = charts.png(submitted[-1])
        assert here == [titles[-1]]  # the worker was still starting: drawn here, alone
        first = charts.png(submitted[0])  # begun by the worker: the newest drawn meanwhile
        assert titles[0] not in here and len(here) >= 2
        assert here[1] == titles[-2]
        found = [charts.png(chart) for chart in submitted]
        assert found[0] == first and found[-1] == last
        assert len(set(here)) == len(here)  # each once
        assert found == [first_chart_titled(FOUR, title) for title in titles]
    finally:
        drawer.close()


def test_charts_cancelled_by_a_shutdown_say_so() -> None:
    drawer = charts.ChartDrawer()
    submitted = [drawer.submit(THREE, f"{TITLE} {index}") for index in range(5)]
    drawer.close()  # cancels what the worker has not begun
    assert submitted[-1].cancelled()
    with pytest.raises(CancelledError):
        submitted[-1].result(timeout=60)


def test_a_dead_worker_is_replaced_at_the_next_chart() -> None:
    drawer = charts.ChartDrawer()
    try:
        drawer.submit(THREE, TITLE).result(timeout=60)
        for child in psutil.Process().children():
            if "resource_tracker" not in " ".join(child.cmdline()):  # the worker, not its tracker
                child.kill()
        drawn = None
        for _attempt in range(3):  # the pool may notice the death only on this chart's result
            try:
                drawn = drawer.submit(THREE, TITLE).result(timeout=60)
                break
            except BrokenProcessPool:
                continue
        assert drawn == first_chart(THREE)
    finally:
        drawer.close()


KILLED_OWNER = """
import sys
from bot import charts
from tests.bot.test_charts import THREE, TITLE
drawer = charts.ChartDrawer()
drawer.submit(THREE, TITLE).result(timeout=60)
print("drawn", flush=True)
sys.stdin.read()
"""


def test_the_worker_exits_when_its_process_is_killed() -> None:
    """A scheduler killed with SIGKILL never shuts its pool down: the worker must not outlive it."""
    owner = subprocess.Popen(
        [sys.executable, "-c", KILLED_OWNER], stdin=subprocess.PIPE, stdout=subprocess.PIPE
    )
    try:
        assert owner.stdout is not None
        assert owner.stdout.readline().strip() == b"drawn"
        workers = [
            child
            for child in psutil.Process(owner.pid).children()
            if "resource_tracker" not in " ".join(child.cmdline())
        ]
        assert len(workers) == 1

        owner.kill()
        owner.wait(timeout=30)

        _gone, alive = psutil.wait_procs(workers, timeout=30)
        assert alive == []
    finally:
        owner.kill()
        owner.wait(timeout=30)
