"""Items produced in a forked worker: order, errors raised where they happened, clean stops."""

from __future__ import annotations

import multiprocessing
import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from kpi.errors import IngestError
from kpi.worker_process import AHEAD, ProducedInWorker


def _numbers(count: int) -> Iterator[int]:
    yield from range(count)


def test_items_arrive_in_order_from_another_process() -> None:
    def produce() -> Iterator[tuple[int, int]]:
        for number in range(5):
            yield number, os.getpid()

    received = list(ProducedInWorker(produce))

    assert [number for number, _ in received] == [0, 1, 2, 3, 4]
    assert {pid for _, pid in received} != {os.getpid()}


def test_an_error_is_raised_after_the_items_before_it_with_its_location() -> None:
    def produce() -> Iterator[int]:
        yield 1
        raise IngestError("not a number", path="a.csv", line=3, column="clicks", value="x")

    items = ProducedInWorker(produce)
    assert next(items) == 1
    with pytest.raises(IngestError) as raised:
        next(items)

    assert (raised.value.path, raised.value.line, raised.value.column, raised.value.value) == (
        "a.csv",
        3,
        "clicks",
        "x",
    )
    assert str(raised.value) == "a.csv, line 3, column 'clicks', value 'x': not a number"
    assert "in the worker process" in raised.value.__notes__[0]


def test_an_error_that_cannot_be_pickled_still_arrives() -> None:
    class Local(Exception):  # defined in a function: pickle cannot find it by name
        pass

    def produce() -> Iterator[int]:
        raise Local("it broke")
        yield 0

    with pytest.raises(RuntimeError, match="Local: it broke"):
        list(ProducedInWorker(produce))


def test_a_worker_that_dies_is_an_error_not_an_empty_file() -> None:
    def produce() -> Iterator[int]:
        yield 1
        os.kill(os.getpid(), signal.SIGKILL)
        yield 2

    with pytest.raises(RuntimeError, match="ended without a result"):
        list(ProducedInWorker(produce))


def _readers() -> list[multiprocessing.process.BaseProcess]:
    return [p for p in multiprocessing.active_children() if p.name == "kpibot-reader"]


def test_closing_early_stops_the_worker() -> None:
    items = ProducedInWorker(lambda: _numbers(1_000_000))
    assert next(items) == 0
    assert len(_readers()) == 1

    items.close()

    assert _readers() == []


def test_the_worker_runs_ahead_by_a_bounded_number_of_items(tmp_path: Path) -> None:
    """Items larger than the pipe's buffer: the worker holds ``AHEAD`` of them ready and has
    produced one more, then waits, however long the consumer takes."""
    produced = tmp_path / "produced"

    def produce() -> Iterator[bytes]:
        for number in range(10):
            with produced.open("a") as log:
                log.write(f"{number}\n")
            yield bytes(4 << 20)

    def made() -> int:
        return len(produced.read_text().split()) if produced.exists() else 0

    items = ProducedInWorker(produce)
    next(items)
    deadline = time.monotonic() + 30
    while made() < AHEAD + 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.5)  # time enough to run further, were it not held back

    assert made() == AHEAD + 2  # the one consumed, AHEAD ready, one waiting to be queued
    assert len(list(items)) == 9


def test_the_worker_starts_at_once_and_closing_before_any_item_stops_it() -> None:
    """Forked when created, so it reads while the consumer sets up; a consumer that fails before
    its first item still stops it."""
    items = ProducedInWorker(lambda: _numbers(1_000_000))
    assert len(_readers()) == 1

    items.close()

    assert _readers() == []
    assert list(items) == []
