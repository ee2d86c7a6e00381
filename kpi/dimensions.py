"""Dimensions a fact row is described by, and that answers can be filtered or broken down by."""

from __future__ import annotations

from enum import StrEnum


class Dimension(StrEnum):
    """A descriptive column of a fact row (stored in the series table)."""

    PLATFORM = "platform"
    ACCOUNT = "account"
    CAMPAIGN = "campaign"
    CREATOR = "creator"
    ITEM = "item"


#: Platform names the bot knows, used to normalise imports and to recognise a bare platform word.
PLATFORMS: tuple[str, ...] = (
    "facebook",
    "instagram",
    "meta",
    "tiktok",
    "linkedin",
    "google-ads",
    "ga4",
    "youtube",
    "x",
)

_PLATFORM_ALIASES = {
    "fb": "facebook",
    "ig": "instagram",
    "google ads": "google-ads",
    "google": "google-ads",
    "adwords": "google-ads",
    "google_ads": "google-ads",
    "linkedin ads": "linkedin",
    "tiktok ads": "tiktok",
    "meta ads": "meta",
}


def normalise_platform(name: str) -> str:
    """``Facebook`` -> ``facebook``, ``Google Ads`` -> ``google-ads``: one spelling per platform."""
    lowered = " ".join(name.strip().lower().split())
    return _PLATFORM_ALIASES.get(lowered, lowered.replace(" ", "-").replace("_", "-"))
