"""Google Analytics 4 report download or Exploration export.

The ``#`` preamble carries ``Start date`` and ``End date`` (``YYYYMMDD``, labels localised). A
standard report has no date column, so each row is a total of that window; with the ``Date``
dimension the rows are daily. A file can hold several tables; only the first matching one is read,
up to the next blank or ``#`` line. The first column (channel group, source / medium, campaign...)
becomes the campaign. Users are unique people: stored with their window, never summed.
"""

from __future__ import annotations

from collections.abc import Sequence

from kpi.importers import spec
from kpi.importers.dates import parse_one
from kpi.importers.spec import Preamble, Source
from kpi.measures import Measure as M

_START = ("start date", "date de début", "data de início")
_END = ("end date", "date de fin", "data de término")


def _labelled(line: str, labels: tuple[str, ...]) -> str | None:
    text = line.lstrip("#").strip()
    label, separator, value = text.partition(":")
    if separator and spec.normalise_header(label) in labels:
        return value.strip()
    return None


def read_preamble(lines: Sequence[str]) -> Preamble:
    start = end = None
    for line in lines:
        if not line.lstrip().startswith("#"):
            continue
        if (value := _labelled(line, _START)) is not None:
            start = parse_one(value)
        if (value := _labelled(line, _END)) is not None:
            end = parse_one(value)
    return Preamble(start=start, end=end)


SOURCE = Source(
    name="ga4",
    summary="Google Analytics 4 report or exploration CSV (# preamble with start and end dates)",
    columns={
        spec.DATE: ("date",),
        spec.CAMPAIGN: (
            "session default channel group",
            "session primary channel group (default channel group)",
            "session source / medium",
            "session campaign",
            "first user default channel group",
            "groupe de canaux par défaut de la session",
            "source/support de la session",
            "campagne de la session",
        ),
        M.SESSIONS: ("sessions",),
        M.ENGAGED_SESSIONS: ("engaged sessions", "sessions avec engagement"),
        M.USERS: (
            "total users",
            "users",
            "active users",
            "utilisateurs actifs",
            "nombre total d'utilisateurs",
        ),
        M.CONVERSIONS: ("key events", "conversions", "événements clés"),
        M.REVENUE: ("total revenue", "revenu total", "revenus totaux"),
    },
    required=frozenset({M.SESSIONS}),
    signature=frozenset(
        {
            "engaged sessions",
            "sessions avec engagement",
            "active users",
            "total users",
            "utilisateurs actifs",
            "key events",
            "engagement rate",
        }
    ),
    platform="ga4",
    date_formats=("%Y%m%d", "%Y-%m-%d"),
    preamble=read_preamble,
    table_ends_at_blank=True,
)
