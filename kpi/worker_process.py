"""An iterator's items produced in a forked worker process, a few items ahead of the consumer.

A large import parses a chunk (pandas: read, clean, key, sum) while the previous one is written
(SQLite's ``executemany``). On threads the two take turns on the GIL, and writing ran twice as
slowly beside a parsing thread as alone; in two processes each has a core of its own.

The worker is forked, not spawned: a spawned interpreter spends seconds importing pandas before
it parses anything, and the producer runs only file-reading code, never the parent's database
connections (which a forked child must not touch), nor any lock another thread of the parent
may have held at the fork (a progress bar's refresh thread): it reads the file and writes to
its pipe. Items travel pickled over a pipe, sent by a thread of the worker from a short queue,
so the worker is at most :data:`AHEAD` items ahead and memory stays bounded. An exception
raised by the producer is raised again in the consumer, at the item that raised it.
"""

from __future__ import annotations

import multiprocessing
import queue
import threading
import traceback
from collections.abc import Callable, Generator, Iterator
from multiprocessing.connection import Connection
from typing import TypeVar, cast

T = TypeVar("T")

_ITEM, _END, _ERROR = "item", "end", "error"
#: Items the worker may hold ready beside the one it is producing: one in the pipe, the rest
#: queued for it. A checked chunk of 200,000 canonical rows pickles to about 23 MB.
AHEAD = 2


def fork_available() -> bool:
    """Whether this platform can fork a worker (Linux and the BSDs; not Windows)."""
    return "fork" in multiprocessing.get_all_start_methods()


def _produce(produce: Callable[[], Iterator[object]], sender: Connection) -> None:
    """Produce items while a thread sends the ones before (the pipe takes an item only as fast as
    the consumer reads it): the worker can run up to :data:`AHEAD` items ahead, so a slow item on
    either side is absorbed instead of stalling the other."""
    outbox: queue.Queue[tuple[str, object]] = queue.Queue(maxsize=AHEAD - 1)
    sending = threading.Thread(target=_send, args=(outbox, sender), name="kpibot-reader-send")
    sending.start()
    try:
        for item in produce():
            _queue(outbox, (_ITEM, item), sending)
        _queue(outbox, (_END, None), sending)
    except BaseException as exc:  # the consumer decides what an error means
        exc.add_note(f"in the worker process:\n{traceback.format_exc()}")
        _queue(outbox, (_ERROR, exc), sending)
    finally:
        sending.join()
        sender.close()


def _queue(
    outbox: queue.Queue[tuple[str, object]], message: tuple[str, object], sending: threading.Thread
) -> None:
    """Queue a message for the sending thread, unless it has stopped (the consumer is gone and
    the pipe broken): then the worker stops too instead of waiting forever."""
    while sending.is_alive():
        try:
            outbox.put(message, timeout=0.1)
            return
        except queue.Full:
            continue
    raise BrokenPipeError("the consumer stopped reading")


def _send(outbox: queue.Queue[tuple[str, object]], sender: Connection) -> None:
    while True:
        kind, payload = outbox.get()
        if kind == _ERROR:
            try:
                sender.send((_ERROR, payload))
            except Exception:  # an exception that cannot be pickled: send what it said
                exc = cast(BaseException, payload)
                message = f"{type(exc).__name__}: {exc}\n{exc.__notes__}"
                sender.send((_ERROR, RuntimeError(message)))
        else:
            sender.send((kind, payload))
        if kind != _ITEM:
            return


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
