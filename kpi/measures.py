"""Canonical measures and how each may be aggregated.

Every importer maps platform columns onto these names, and every KPI formula is written in them.
Additivity lives here, in one place, because getting it wrong silently corrupts numbers: reach and
users are unique people in a row's own window, followers is a level, so none of them may be summed.
"""

from __future__ import annotations

from enum import StrEnum


class Measure(StrEnum):
    """A canonical measure column of the fact table."""

    IMPRESSIONS = "impressions"
    REACH = "reach"
    CLICKS = "clicks"
    LIKES = "likes"
    COMMENTS = "comments"
    SHARES = "shares"
    SAVES = "saves"
    VIDEO_VIEWS = "video_views"
    CONVERSIONS = "conversions"
    NEW_CUSTOMERS = "new_customers"
    SPEND = "spend"
    REVENUE = "revenue"
    FOLLOWS = "follows"
    FOLLOWERS = "followers"
    SESSIONS = "sessions"
    ENGAGED_SESSIONS = "engaged_sessions"
    USERS = "users"
    SENTIMENT_POSITIVE = "sentiment_positive"
    SENTIMENT_NEUTRAL = "sentiment_neutral"
    SENTIMENT_NEGATIVE = "sentiment_negative"


#: Unique-people counts: valid only for the exact window of the row that reports them.
UNIQUE_COUNTS: frozenset[Measure] = frozenset({Measure.REACH, Measure.USERS})

#: Levels (a value at a point in time), never a flow.
LEVELS: frozenset[Measure] = frozenset({Measure.FOLLOWERS})

NON_ADDITIVE: frozenset[Measure] = UNIQUE_COUNTS | LEVELS

ADDITIVE: frozenset[Measure] = frozenset(Measure) - NON_ADDITIVE

#: Amounts of money: additive only within one currency, rounded to cents on import.
MONEY: frozenset[Measure] = frozenset({Measure.SPEND, Measure.REVENUE})

#: Measures that may legitimately be negative. Net follows can drop below zero; nothing else can.
SIGNED: frozenset[Measure] = frozenset({Measure.FOLLOWS})

ALL: tuple[Measure, ...] = tuple(Measure)
