"""Failures and slowness injected per method, so tests can prove the bot copes with a bad Slack.

Real Slack rate-limits (HTTP 429 with ``Retry-After``), has outages (500/503), refuses calls with
``ok: false`` (``not_in_channel``, ``channel_not_found``...) and is sometimes slow. Each of those
is armed for a number of calls (or until cleared) and consumed by the calls that hit it, so a
test can let the first attempt fail and check that the retry succeeded.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, replace
from typing import Any, Generic, TypeVar

T = TypeVar("T")


@dataclass(frozen=True)
class Failure:
    """How a failed call is answered: status, JSON body and extra headers."""

    status: int
    body: dict[str, Any]
    headers: dict[str, str]


@dataclass(frozen=True)
class _Armed(Generic[T]):
    what: T
    times: int | None


def failure_for(status: int | None, error: str | None, retry_after: int) -> Failure:
    """The answer Slack gives for a fault, from what ``SlackStandIn.fail`` was told.

    Without a status, an ``error`` means Slack's usual HTTP 200 ``ok: false``; with neither, a
    rate limit. A 429 always carries ``Retry-After``, which slack_sdk's retry handler reads.
    """
    if status is None:
        status = 429 if error is None else 200
    if status == 429:
        body = {"ok": False, "error": error or "ratelimited"}
        return Failure(status, body, {"Retry-After": str(retry_after)})
    default_error = "internal_error" if status >= 500 else "request_failed"
    return Failure(status, {"ok": False, "error": error or default_error}, {})


class Faults:
    """Per-method queues of armed failures and delays; thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._failures: dict[str, list[_Armed[Failure]]] = {}
        self._delays: dict[str, list[_Armed[float]]] = {}

    def add_failure(self, method: str, failure: Failure, times: int | None) -> None:
        """Answer the next ``times`` calls to ``method`` (all of them if None) with ``failure``."""
        with self._lock:
            self._failures.setdefault(method, []).append(_Armed(failure, times))

    def add_delay(self, method: str, seconds: float, times: int | None) -> None:
        """Hold the next ``times`` calls to ``method`` (all of them if None) for ``seconds``."""
        with self._lock:
            self._delays.setdefault(method, []).append(_Armed(seconds, times))

    def take_failure(self, method: str) -> Failure | None:
        """The failure this call to ``method`` gets, if one is armed; uses up one of its times."""
        with self._lock:
            return _take(self._failures, method)

    def take_delay(self, method: str) -> float:
        """How long this call to ``method`` is held (0 if no delay is armed)."""
        with self._lock:
            return _take(self._delays, method) or 0.0

    def clear(self) -> None:
        """Disarm everything."""
        with self._lock:
            self._failures.clear()
            self._delays.clear()


def _take(armed: dict[str, list[_Armed[T]]], method: str) -> T | None:
    queue = armed.get(method)
    if not queue:
        return None
    first = queue[0]
    if first.times is not None:
        if first.times <= 1:
            queue.pop(0)
        else:
            queue[0] = replace(first, times=first.times - 1)
    return first.what
