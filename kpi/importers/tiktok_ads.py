"""TikTok Ads Manager export (csv).

Money columns carry no currency in the header: it comes from the ``Currency`` column. Clicks are
``Clicks (destination)``, the link clicks TikTok itself uses for CTR and CPC, never ``Clicks
(all)``. Masked small values (``<5``) are NULL.
"""

from __future__ import annotations

from kpi.importers import spec
from kpi.importers.spec import Source
from kpi.measures import Measure as M

SOURCE = Source(
    name="tiktok-ads",
    summary="TikTok Ads Manager export (daily with By Day, otherwise range totals)",
    columns={
        spec.DATE: ("by day", "date", "day"),
        spec.CAMPAIGN: ("campaign name", "nom de la campagne"),
        spec.ITEM: ("ad name", "nom de l'annonce"),
        spec.CURRENCY: ("currency", "devise"),
        M.SPEND: ("cost", "coût", "cout"),
        M.IMPRESSIONS: ("impressions",),
        M.REACH: ("reach", "couverture"),
        M.CLICKS: ("clicks (destination)", "clics (destination)"),
        M.CONVERSIONS: ("conversions",),
        M.VIDEO_VIEWS: ("video views", "vues de vidéo"),
        M.LIKES: ("paid likes", "j'aime payants"),
        M.COMMENTS: ("paid comments", "commentaires payants"),
        M.SHARES: ("paid shares", "partages payants"),
        M.FOLLOWS: ("paid follows", "abonnements payants"),
    },
    required=frozenset({spec.CAMPAIGN, M.SPEND, M.IMPRESSIONS}),
    signature=frozenset({"ad group name", "nom du groupe d'annonces"}),
    platform="tiktok",
    date_formats=("%Y-%m-%d", "%Y/%m/%d", "%d/%m/%Y"),
)
