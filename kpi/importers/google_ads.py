"""Google Ads UI report download.

Line 1 is the report title and line 2 the date range (``"May 18, 2025 - August 15, 2025"``); the
header follows. Rows are daily only when segmented by ``Day``; otherwise each row is a total for
that range. ``Total: ...`` rows are skipped. Cost is in account currency (``Currency code``).
Impressions are not additive across landing pages, so a landing-page row keeps its URL as its item
and the query layer never treats those impressions as a plain sum of the account's.
"""

from __future__ import annotations

from collections.abc import Sequence

from kpi.importers import spec
from kpi.importers.dates import parse_range
from kpi.importers.spec import Preamble, Source
from kpi.measures import Measure as M


def read_preamble(lines: Sequence[str]) -> Preamble:
    for line in lines:
        window = parse_range(line.strip().strip('"'))
        if window is not None:
            return Preamble(start=window[0], end=window[1])
    return Preamble()


SOURCE = Source(
    name="google-ads",
    summary="Google Ads report download (title and date-range lines, Total rows)",
    columns={
        spec.DATE: ("day", "jour"),
        spec.ACCOUNT: ("account", "account name", "compte"),
        spec.CAMPAIGN: ("campaign", "campagne"),
        spec.ITEM: (
            "landing page",
            "page de destination",
            "ad group",
            "groupe d'annonces",
            "keyword",
            "search keyword",
            "mot clé",
            "age",
            "âge",
            "ad",
            "ad id",
        ),
        spec.CURRENCY: ("currency code", "code de la devise", "currency"),
        M.SPEND: ("cost", "coût", "cout"),
        M.IMPRESSIONS: ("impr.", "impressions"),
        M.CLICKS: ("clicks", "interactions", "clics"),
        M.CONVERSIONS: ("conversions", "conv."),
        M.REVENUE: ("conv. value", "valeur de conv.", "all conv. value"),
        M.VIDEO_VIEWS: ("views", "vues"),
    },
    required=frozenset({M.SPEND, M.IMPRESSIONS, spec.CURRENCY}),
    signature=frozenset(
        {
            "impr.",
            "avg. cpc",
            "avg. cpm",
            "coût/conv.",
            "cost / conv.",
            "currency code",
            "code de la devise",
        }
    ),
    platform="google-ads",
    date_formats=("%Y-%m-%d", "%m/%d/%Y", "%d/%m/%Y", "%b %d, %Y"),
    preamble=read_preamble,
)
