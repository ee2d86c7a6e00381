"""LinkedIn Campaign Manager report (csv).

The file starts with a preamble (report name, ``Report Start``, ``Report End``, generation date,
account) and is often UTF-16 and tab-separated; the reader sniffs both. Dates are US ``M/D/YYYY``.
Without a daily time breakdown there is no ``Start Date`` column and each row covers the
preamble's window.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from kpi.importers import spec
from kpi.importers.dates import parse_one
from kpi.importers.spec import Preamble, Source
from kpi.importers.text import DELIMITERS, split
from kpi.measures import Measure as M

DATE_FORMATS = ("%m/%d/%Y", "%Y-%m-%d", "%d/%m/%Y")
_START_LABELS = ("report start", "date de début du rapport", "début du rapport")
_END_LABELS = ("report end", "date de fin du rapport", "fin du rapport")
_ACCOUNT_LABELS = ("account name", "nom du compte")


def _value_after(line: str, labels: tuple[str, ...]) -> str | None:
    for delimiter in DELIMITERS:
        cells = [cell.strip() for cell in split(line, delimiter)]
        for position, cell in enumerate(cells):
            label = spec.normalise_header(cell).rstrip(":").strip()
            if label in labels:
                rest = [c for c in cells[position + 1 :] if c]
                if rest:
                    return rest[0]
            for known in labels:
                if label.startswith(known + ":"):
                    return cell.split(":", 1)[1].strip() or None
    return None


def _us_date(value: str) -> dt.date | None:
    """Preamble dates are US month-first like the rows, sometimes followed by a time."""
    return parse_one(value.split(" ", maxsplit=1)[0] if "/" in value else value, DATE_FORMATS)


def read_preamble(lines: Sequence[str]) -> Preamble:
    start = end = None
    account = None
    for line in lines:
        if start is None and (value := _value_after(line, _START_LABELS)):
            start = _us_date(value)
        if end is None and (value := _value_after(line, _END_LABELS)):
            end = _us_date(value)
        if account is None:
            account = _value_after(line, _ACCOUNT_LABELS)
    return Preamble(start=start, end=end, account=account)


SOURCE = Source(
    name="linkedin-ads",
    summary="LinkedIn Campaign Manager report (UTF-16/tab or UTF-8/comma, with preamble)",
    columns={
        spec.DATE: ("start date (in utc)", "date de début (utc)", "start date"),
        spec.ACCOUNT: ("account name", "nom du compte"),
        spec.CAMPAIGN: ("campaign name", "nom de la campagne"),
        spec.ITEM: ("creative name", "nom de la création", "creative id"),
        spec.CURRENCY: ("currency", "devise"),
        M.SPEND: ("total spent", "amount spent", "dépenses totales", "montant dépensé"),
        M.IMPRESSIONS: ("impressions",),
        M.CLICKS: ("clicks", "clics"),
        M.LIKES: ("reactions", "réactions"),
        M.COMMENTS: ("comments", "commentaires"),
        M.SHARES: ("shares", "partages"),
        M.FOLLOWS: ("follows", "abonnements"),
        M.CONVERSIONS: ("conversions", "leads", "prospects"),
        M.REACH: ("reach", "couverture"),
        M.VIDEO_VIEWS: ("video views", "vues de vidéo"),
    },
    required=frozenset({spec.CAMPAIGN, M.SPEND, M.IMPRESSIONS}),
    signature=frozenset({"campaign group name", "nom du groupe de campagnes", "total spent"}),
    platform="linkedin",
    date_formats=DATE_FORMATS,
    preamble=read_preamble,
)
