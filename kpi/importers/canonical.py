"""The canonical format: the bot's own column names, written by pipelines and by ``kpibot demo``.

It also takes the common header spellings of hand-made or community exports (``spent``,
``reporting_start``, ``Impressions``, ``Likes``, ``Profile Visits``...) so that such files load
once ``--platform`` says where they come from. ``Profile Visits`` counts as clicks (the organic
click of an Instagram post); ``approved_conversion`` counts as new customers.
"""

from __future__ import annotations

from kpi.importers import spec
from kpi.importers.spec import Source
from kpi.measures import Measure as M

SOURCE = Source(
    name="canonical",
    summary="CSV with the canonical column names (or common aliases with --platform)",
    columns={
        spec.DATE: ("date", "day", "jour"),
        spec.PERIOD_START: (
            "period_start",
            "start_date",
            "reporting_start",
            "reporting starts",
            "date_start",
            "date de début",
        ),
        spec.PERIOD_END: (
            "period_end",
            "end_date",
            "reporting_end",
            "reporting ends",
            "date_stop",
            "date de fin",
        ),
        spec.PLATFORM: ("platform", "plateforme"),
        spec.ACCOUNT: ("account", "account name", "compte"),
        spec.CAMPAIGN: ("campaign", "campaign name", "campaign_id", "campagne"),
        spec.CREATOR: ("creator", "influencer", "créateur", "createur"),
        spec.ITEM: ("item", "ad_id", "ad id", "post_id", "post id"),
        spec.CURRENCY: ("currency", "currency code", "devise"),
        M.IMPRESSIONS: ("impressions", "lifetime post total impressions"),
        M.REACH: ("reach", "portée", "portee", "lifetime post total reach"),
        M.CLICKS: ("clicks", "link clicks", "clics", "profile visits"),
        M.LIKES: ("likes", "like", "reactions", "j'aime"),
        M.COMMENTS: ("comments", "comment", "commentaires"),
        M.SHARES: ("shares", "share", "partages"),
        M.SAVES: ("saves", "saved", "enregistrements"),
        M.VIDEO_VIEWS: ("video_views", "video views", "vues de vidéo"),
        M.CONVERSIONS: ("conversions", "total_conversion"),
        M.NEW_CUSTOMERS: ("new_customers", "new customers", "approved_conversion"),
        M.SPEND: ("spend", "spent", "amount spent (*)", "dépenses", "depenses"),
        M.REVENUE: ("revenue", "conversion value", "revenu", "chiffre d'affaires"),
        M.FOLLOWS: ("follows", "new followers", "nouveaux abonnés"),
        M.FOLLOWERS: ("followers", "total followers", "page total likes", "abonnés"),
        M.SESSIONS: ("sessions",),
        M.ENGAGED_SESSIONS: ("engaged_sessions", "engaged sessions"),
        M.USERS: ("users", "total users"),
        M.SENTIMENT_POSITIVE: ("sentiment_positive", "positive"),
        M.SENTIMENT_NEUTRAL: ("sentiment_neutral", "neutral"),
        M.SENTIMENT_NEGATIVE: ("sentiment_negative", "negative"),
    },
    required=frozenset({spec.PLATFORM}),
    date_formats=("%Y-%m-%d", "%Y%m%d", "%d/%m/%Y", "%m/%d/%Y", "%Y-%m-%dT%H:%M:%S"),
)
