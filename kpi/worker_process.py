"""An iterator's items produced in a forked worker process, one item ahead of the consumer.

A large import parses a chunk (pandas: read, clean, key, sum) while the previous one is written
(SQLite's ``executemany``). On threads the two take turns on the GIL, and writing ran twice as
slowly beside a parsing thread as alone; in two processes each has a core of its own.

The worker is forked, not spawned: a spawned interpreter spends seconds importing pandas before
it parses anything, and the producer runs only file-reading code, never the parent's database
connections (which a forked child must not touch), nor any lock another thread of the parent
may have held at the fork (a progress bar's refresh thread): it reads the file and writes to
its pipe. Items travel pickled over a pipe; the pipe
holds one item, so the worker is at most one item ahead and memory stays bounded. An exception
raised by the producer is raised again in the consumer, at the item that raised it.
"""

from __future__ import annotations

import multiprocessing
import traceback
from collections.abc import Callable, Generator, Iterator
from multiprocessing.connection import Connection
from typing import TypeVar

T = TypeVar("T")

_ITEM, _END, _ERROR = "item", "end", "error"


def fork_available() -> bool:
    """Whether this platform can fork a worker (Linux and the BSDs; not Windows)."""
    return "fork" in multiprocessing.get_all_start_methods()


def _produce(produce: Callable[[], Iterator[object]], sender: Connection) -> None:
    try:
        for item in produce():
            sender.send((_ITEM, item))
        sender.send((_END, None))
    except BaseException as exc:  # the consumer decides what an error means
        exc.add_note(f"in the worker process:\n{traceback.format_exc()}")
        try:
            sender.send((_ERROR, exc))
        except Exception:  # an exception that cannot be pickled: send what it said
            sender.send((_ERROR, RuntimeError(f"{type(exc).__name__}: {exc}\n{exc.__notes__}")))
    finally:
        sender.close()


def produced_in_worker(produce: Callable[[], Iterator[T]]) -> Generator[T]:
    """The items of ``produce()``, computed in a forked worker while the caller uses the last one.

    Closing the returned generator early (the consumer failed) stops the worker.
    """
    context = multiprocessing.get_context("fork")
    receiver, sender = context.Pipe(duplex=False)
    worker = context.Process(
        target=_produce, args=(produce, sender), name="kpibot-reader", daemon=True
    )
    worker.start()
    sender.close()  # the worker's end: the parent keeps only its own, so EOF means it ended
    try:
        while True:
            try:
                kind, payload = receiver.recv()
            except EOFError:
                worker.join()
                raise RuntimeError(
                    f"the reader process ended without a result (exit code {worker.exitcode})"
                ) from None
            if kind == _END:
                return
            if kind == _ERROR:
                raise payload
            yield payload
    finally:
        receiver.close()
        if worker.is_alive():
            worker.terminate()
        worker.join()
