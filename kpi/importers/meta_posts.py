"""Meta Business Suite content export: one row per Facebook or Instagram post, lifetime totals.

A row's numbers cover the post's whole life up to the export, so it is stored from the publish
date to the day of import; re-importing a newer export replaces it. Instagram exports name the
account (``Account username``), Facebook ones the page (``Page name``): that sets the platform.
``Views`` (newer exports) and ``Impressions`` (older ones) are the same measure.
"""

from __future__ import annotations

from collections.abc import Mapping

from kpi.importers import spec
from kpi.importers.spec import Source
from kpi.measures import Measure as M

COLUMNS: Mapping[str, tuple[str, ...]] = {
    spec.PERIOD_START: ("publish time", "heure de publication", "horário de publicação"),
    spec.ITEM: ("post id", "identifiant de la publication", "id da publicação"),
    spec.ACCOUNT: ("account username", "page name", "account name", "nom de la page"),
    M.IMPRESSIONS: ("views", "impressions", "vues"),
    M.REACH: ("reach", "couverture"),
    M.LIKES: ("likes", "reactions", "j'aime", "réactions"),
    M.COMMENTS: ("comments", "commentaires"),
    M.SHARES: ("shares", "partages"),
    M.SAVES: ("saves", "enregistrements"),
    M.FOLLOWS: ("follows", "abonnements"),
    M.CLICKS: ("link clicks", "clics sur un lien"),
}

SOURCE = Source(
    name="meta-posts",
    summary="Meta Business Suite content export (lifetime totals per post)",
    columns=COLUMNS,
    required=frozenset({spec.PERIOD_START, spec.ITEM}),
    platform="meta",
    platform_by_header={
        "account username": "instagram",
        "account id": "instagram",
        "page id": "facebook",
        "page name": "facebook",
    },
    date_formats=("%m/%d/%Y %H:%M", "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S", "%d/%m/%Y %H:%M"),
    lifetime_rows=True,
)
