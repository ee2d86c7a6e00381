"""Answers remembered until the data or the targets change.

The same few questions ("ctr last-week") are asked again and again, and an answer depends only
on the question, the day it is asked for, the store's content and the targets. The store only
changes through an import, and every import gets a new id, so the newest import id is a
version: an answer computed under it stays right until the next import. Targets are part of
the key (they are read for every answer anyway), so a changed threshold is seen at once.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections import OrderedDict
from collections.abc import Hashable, Sequence

from sqlalchemy import Engine, func, select

from kpi import query
from kpi.answer import Answer
from kpi.request import Request
from kpi.store.schema import imports
from kpi.targets import Target

#: Answers are small (a few KB); this bounds a worker's memory whatever is asked.
DEFAULT_SIZE = 512


def data_version(engine: Engine) -> int:
    """The newest import id: changes with every import, re-imports included (import rows are
    never deleted, so an id is never handed out twice)."""
    with engine.connect() as connection:
        return int(
            connection.execute(select(func.coalesce(func.max(imports.c.id), 0))).scalar_one()
        )


class AnswerCache:
    """A thread-safe LRU of answers keyed by everything an answer depends on."""

    def __init__(self, size: int = DEFAULT_SIZE) -> None:
        self._size = size
        self._answers: OrderedDict[Hashable, Answer] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def ask(
        self,
        engine: Engine,
        request: Request,
        *,
        today: dt.date,
        timezone: str,
        week_start: int,
        targets: Sequence[Target],
    ) -> Answer:
        """:func:`kpi.query.ask`'s answer, remembered. ``request.text`` is not part of the key
        (Request leaves it out of equality): two wordings of one question share it."""
        key = (request, today, timezone, week_start, tuple(targets), data_version(engine))
        with self._lock:
            found = self._answers.get(key)
            if found is not None:
                self._answers.move_to_end(key)
                self.hits += 1
                return found
            self.misses += 1
        computed = query.ask(
            engine, request, today=today, timezone=timezone, week_start=week_start, targets=targets
        )
        with self._lock:
            self._answers[key] = computed
            self._answers.move_to_end(key)
            while len(self._answers) > self._size:
                self._answers.popitem(last=False)
        return computed
