"""Meta Ads Manager "Export table data", with or without the day breakdown.

Without a breakdown every row is the total of the selected range, stored with its true start and
end. The currency is read from the money headers (``Amount spent (EUR)``). Link clicks are the
clicks of CTR and CPC, as in Ads Manager's own CTR (link click-through rate). The first row of an
export is often an account summary with blank campaign and ad names: it is skipped.
"""

from __future__ import annotations

from kpi.importers import spec
from kpi.importers.spec import Source
from kpi.measures import Measure as M

SOURCE = Source(
    name="meta-ads",
    summary="Meta Ads Manager table export (daily or range totals)",
    columns={
        spec.DATE: ("day", "jour", "dia"),
        spec.PERIOD_START: ("reporting starts", "début des rapports", "início dos relatórios"),
        spec.PERIOD_END: ("reporting ends", "fin des rapports", "término dos relatórios"),
        spec.ACCOUNT: ("account name", "nom du compte"),
        spec.CAMPAIGN: ("campaign name", "nom de la campagne"),
        spec.ITEM: (
            "ad set name",
            "nom de l'ensemble de publicités",
            "ad id",
            "ad name",
            "identifiant de la publicité",
            "nom de la publicité",
        ),
        M.SPEND: ("amount spent (*)", "montant dépensé (*)", "valor usado (*)"),
        M.IMPRESSIONS: ("impressions",),
        M.REACH: ("reach", "couverture", "alcance"),
        M.CLICKS: ("link clicks", "clics sur un lien", "cliques no link"),
        M.CONVERSIONS: ("purchases", "achats", "results", "résultats"),
        M.REVENUE: (
            "purchases conversion value",
            "valeur de conversion des achats",
            "purchase conversion value",
        ),
        M.LIKES: ("post reactions", "réactions à la publication"),
        M.COMMENTS: ("post comments", "commentaires sur la publication"),
        M.SHARES: ("post shares", "partages de la publication"),
        M.SAVES: ("post saves", "enregistrements de la publication"),
        M.VIDEO_VIEWS: ("thruplays", "3-second video plays"),
    },
    required=frozenset({M.SPEND, M.IMPRESSIONS}),
    platform="meta",
    date_formats=("%Y-%m-%d", "%d/%m/%Y", "%m/%d/%Y"),
    blank_dimensions_is_summary=True,
)
