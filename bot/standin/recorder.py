"""What arrived at the stand-in: every request as an immutable ``Call``, and a way to wait for them.

The bot answers Slack on its own threads (listeners run after the ack, retries sleep), so a test
cannot assert right after it triggered something: it waits on a condition until the calls it
expects have arrived, and a timeout says what did arrive instead, which is what one needs to
debug a failure.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Call:
    """One request the stand-in answered.

    ``method`` is the Web API method (``"chat.postMessage"``), or ``"upload"`` for bytes posted
    to an upload URL, or ``"response_url"`` for a post to a response URL. ``params`` holds the
    parsed query, form or JSON body (for an upload: ``file_id`` and ``size``); ``body`` the raw
    bytes. ``headers`` has lower-case names. ``url`` is the full URL that was called, so a
    response URL or upload URL can be compared with the one handed out. ``status`` and
    ``response`` are what the stand-in answered (``response`` is ``{}`` when the answer was not
    JSON). ``at`` is ``time.monotonic()`` on arrival, before any injected delay.
    """

    method: str
    params: dict[str, Any]
    headers: dict[str, str]
    status: int
    response: dict[str, Any]
    url: str
    body: bytes
    at: float


def _summary(calls: list[Call]) -> str:
    counts = Counter(call.method for call in calls)
    if not counts:
        return "nothing arrived"
    return "arrived: " + ", ".join(f"{method} x{n}" for method, n in sorted(counts.items()))


class Recorder:
    """A thread-safe, append-only log of calls that tests can wait on.

    ``on_call``, when given, is told of each call as it is recorded (``python -m bot.standin``
    uses it to write a JSON-lines log another process can read).
    """

    def __init__(self, on_call: Callable[[Call], None] | None = None) -> None:
        self._calls: list[Call] = []
        self._changed = threading.Condition()
        self._on_call = on_call

    def record(self, call: Call) -> None:
        """Append ``call`` and wake whoever waits for it."""
        with self._changed:
            self._calls.append(call)
            self._changed.notify_all()
        if self._on_call is not None:
            self._on_call(call)

    @property
    def calls(self) -> list[Call]:
        """A copy of every call so far, in order of arrival."""
        with self._changed:
            return list(self._calls)

    def calls_to(self, method: str) -> list[Call]:
        """The calls of one method, in order of arrival."""
        with self._changed:
            return [call for call in self._calls if call.method == method]

    def wait_for(self, method: str, count: int = 1, timeout: float = 10.0) -> list[Call]:
        """Block until at least ``count`` calls of ``method`` arrived; return all of them.

        Raises ``TimeoutError`` naming what arrived instead, so a failing test explains itself.
        """
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                matching = [call for call in self._calls if call.method == method]
                if len(matching) >= count:
                    return matching
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError(
                        f"waited {timeout:g}s for {count} call(s) to {method}, "
                        f"got {len(matching)}; {_summary(self._calls)}"
                    )
                self._changed.wait(remaining)

    def reset(self) -> None:
        """Forget every call (faults and workspace state are kept)."""
        with self._changed:
            self._calls.clear()
