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
from collections.abc import Callable, Iterator
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


class ProducedInWorker(Iterator[T]):
    """The items of ``produce()``, computed in a forked worker while the caller uses the ones
    before.

    The worker is forked when this is created, not at the first item, so it reads while the
    caller still sets up (hashes the file, opens its transaction). :meth:`close` stops the
    worker, whether or not any item was taken: call it when the consumer fails.
    """

    def __init__(self, produce: Callable[[], Iterator[T]]) -> None:
        context = multiprocessing.get_context("fork")
        self._receiver, sender = context.Pipe(duplex=False)
        self._worker = context.Process(
            target=_produce, args=(produce, sender), name="kpibot-reader", daemon=True
        )
        self._worker.start()
        sender.close()  # the worker's end: the parent keeps only its own, so EOF means it ended

    def __next__(self) -> T:
        if self._receiver.closed:
            raise StopIteration
        try:
            kind, payload = self._receiver.recv()
        except EOFError:
            self.close()
            raise RuntimeError(
                f"the reader process ended without a result (exit code {self._worker.exitcode})"
            ) from None
        if kind == _ITEM:
            return cast(T, payload)
        self.close()
        if kind == _ERROR:
            raise cast(BaseException, payload)
        raise StopIteration

    def close(self) -> None:
        self._receiver.close()
        if self._worker.is_alive():
            self._worker.terminate()
        self._worker.join()
