"""A deterministic, believable year of marketing data for demos, screenshots and benchmarks.

The frame is in the canonical import format, so it exercises the same code paths as a real export:
NULL (NaN) where a platform does not report a measure, integral counts, money in cents, EUR only.
Rows are one per (day, platform, campaign[, creator]); each social platform also gets one organic
row per day (``campaign == ""``) that carries the page's engagement, ``follows`` and ``followers``.

Most paid campaigns sit near typical targets (CTR 1-2 % on paid social, CPC 0.5-2 EUR, ROAS 2-5x),
so that a demo can point at the few that clearly do not:

* ``Brand Video Awareness`` (facebook): CTR about 0.3 %, far below every other campaign.
* ``Lookalike Expansion`` (tiktok): ROAS about 0.6x, it loses money on every euro spent.
* ``Enterprise Demo Requests`` (linkedin): CPA near 900 EUR, many times that of the others
  (its ROAS is fine: the few deals it brings are large).

Influencer and organic rows report reach and engagement only: clicks, conversions and money come
from the ad platforms, which do not see creator posts or the page's own posts.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd

from kpi.measures import Measure

LOW_CTR_CAMPAIGN = "Brand Video Awareness"
LOW_ROAS_CAMPAIGN = "Lookalike Expansion"
HIGH_CPA_CAMPAIGN = "Enterprise Demo Requests"

#: Campaigns built to miss typical targets, so that a demo knows what the bot should flag.
MISSING_TARGET_CAMPAIGNS: tuple[str, ...] = (LOW_CTR_CAMPAIGN, LOW_ROAS_CAMPAIGN, HIGH_CPA_CAMPAIGN)

ACCOUNT = "acme"
CURRENCY = "EUR"

#: Web-analytics measures: only a GA4 property reports them, and the demo has none.
_WEB_ANALYTICS = frozenset({Measure.SESSIONS, Measure.ENGAGED_SESSIONS, Measure.USERS})
_MEASURE_COLUMNS = [m.value for m in Measure if m not in _WEB_ANALYTICS]
_COLUMNS = ["date", "platform", "account", "campaign", "creator", "item", "currency"]
_COLUMNS += _MEASURE_COLUMNS

#: Demand by month (index 0 = January), sampled mid-month and interpolated: a Q4 peak, a summer dip.
_MONTH_FACTOR = (0.85, 0.85, 0.95, 1.0, 1.0, 0.95, 0.9, 0.9, 1.0, 1.1, 1.4, 1.3)
_MID_MONTH_DAY = (15, 46, 74, 105, 135, 166, 196, 227, 258, 288, 319, 349)

#: Order values are Gamma-distributed with this shape (coefficient of variation 0.5).
_ORDER_SHAPE = 4.0

#: Share of comments a listening tool classifies, and how the classified ones split.
_CLASSIFIED, _POSITIVE, _NEGATIVE = 0.8, 0.55, 0.12

Counts = npt.NDArray[np.int64]
Floats = npt.NDArray[np.float64]
Measures = dict[Measure, Counts | Floats]


@dataclass(frozen=True)
class Window:
    """The yearly dates a seasonal campaign runs, so it recurs in whatever year the range covers."""

    month: int
    day: int
    days: int


@dataclass(frozen=True)
class Paid:
    """A campaign bought on an ad platform; the rates are its typical day, before noise.

    ``cvr`` is conversions per click, ``aov`` the mean revenue per conversion, ``new_share`` the
    share of conversions that are new customers: together they fix CPC, CPA and ROAS.
    """

    name: str
    platform: str
    impressions: int
    ctr: float
    cpm: float
    cvr: float
    aov: float
    new_share: float = 0.5
    window: Window | None = None


@dataclass(frozen=True)
class Influencer:
    """Creators posting for the brand: the platform reports their reach, not clicks or money."""

    name: str
    platform: str
    creators: tuple[str, ...]
    window: Window | None = None


@dataclass(frozen=True)
class Social:
    """Per-impression engagement of a social platform, and its page's audience."""

    likes: float
    comments: float
    shares: float
    saves: float | None
    video_views: float
    page_impressions: int
    followers: int
    follows_per_day: float
    unfollows_per_day: float


#: Weekday multipliers, Monday first: LinkedIn is a workday network, TikTok and Instagram peak
#: at the weekend.
WEEKDAY: dict[str, tuple[float, ...]] = {
    "facebook": (1.0, 1.0, 1.0, 1.0, 1.0, 1.05, 1.05),
    "instagram": (0.95, 0.95, 0.95, 1.0, 1.05, 1.2, 1.25),
    "tiktok": (0.9, 0.9, 0.95, 1.0, 1.1, 1.3, 1.35),
    "linkedin": (1.1, 1.2, 1.2, 1.1, 0.95, 0.45, 0.4),
    "google-ads": (1.05, 1.05, 1.05, 1.0, 0.95, 0.9, 0.95),
}

#: likes, comments, shares, saves and video views per impression; page impressions, followers at
#: the start, follows and unfollows per day.
SOCIAL: dict[str, Social] = {
    "facebook": Social(0.006, 0.0008, 0.0006, 0.0002, 0.12, 15_000, 48_000, 14.0, 5.0),
    "instagram": Social(0.02, 0.0015, 0.001, 0.0025, 0.25, 25_000, 31_000, 30.0, 8.0),
    "tiktok": Social(0.04, 0.002, 0.0025, 0.003, 0.55, 40_000, 12_000, 45.0, 10.0),
    "linkedin": Social(0.005, 0.0006, 0.0004, None, 0.05, 5_000, 8_500, 9.0, 2.0),
}

#: Typical daily impressions of each creator's sponsored content.
CREATORS: dict[str, int] = {
    "@lena.makes": 18_000,
    "@tom.trains": 9_000,
    "@mila.daily": 25_000,
    "@noor.eats": 12_000,
    "@sunny.sofia": 30_000,
    "@jay.dances": 60_000,
    "@the.fitfam": 35_000,
    "@kai.skates": 20_000,
    "@unbox.with.ben": 45_000,
}

_VALENTINES = Window(2, 1, 14)
_SPRING = Window(3, 15, 47)
_TOPVIEW = Window(3, 15, 14)
_WEBINARS = Window(4, 1, 61)
_SUMMER_GLOW = Window(6, 1, 61)
_SUMMER_SALE = Window(6, 20, 42)
_BACK_TO_SCHOOL = Window(8, 15, 30)
_YEAR_END = Window(11, 1, 45)
_HOLIDAYS = Window(11, 15, 45)
_BLACK_FRIDAY = Window(11, 20, 12)
_CHRISTMAS = Window(12, 1, 23)

# fmt: off
PAID: tuple[Paid, ...] = (
    # name, platform, daily impressions, CTR, CPM, conversions per click, order value, new share
    Paid("Always-on Prospecting", "facebook", 60_000, 0.012, 8.0, 0.025, 70.0, 0.7),
    Paid("Retargeting EU", "facebook", 25_000, 0.018, 11.0, 0.045, 70.0, 0.25),
    Paid("Retargeting DACH", "facebook", 15_000, 0.016, 12.0, 0.04, 80.0, 0.25),
    Paid(LOW_CTR_CAMPAIGN, "facebook", 90_000, 0.003, 4.0, 0.03, 70.0, 0.7),
    Paid("Spring Launch", "facebook", 40_000, 0.015, 9.0, 0.03, 65.0, window=_SPRING),
    Paid("Summer Sale", "facebook", 50_000, 0.014, 9.0, 0.035, 55.0, window=_SUMMER_SALE),
    Paid("Black Friday {year}", "facebook", 120_000, 0.02, 14.0, 0.05, 60.0, window=_BLACK_FRIDAY),
    Paid("Christmas Gifting {year}", "facebook", 70_000, 0.016, 12.0, 0.035, 85.0,
         window=_CHRISTMAS),
    Paid("Reels Prospecting", "instagram", 70_000, 0.009, 7.0, 0.02, 90.0, 0.7),
    Paid("Catalog Retargeting", "instagram", 30_000, 0.017, 10.0, 0.04, 70.0, 0.25),
    Paid("Stories Always-on", "instagram", 45_000, 0.01, 6.0, 0.025, 70.0),
    Paid("Valentine's Picks", "instagram", 30_000, 0.015, 10.0, 0.035, 75.0, window=_VALENTINES),
    Paid("Spring Launch", "instagram", 35_000, 0.013, 9.0, 0.03, 65.0, window=_SPRING),
    Paid("Back to School", "instagram", 40_000, 0.013, 8.0, 0.03, 50.0, window=_BACK_TO_SCHOOL),
    Paid("Black Friday {year}", "instagram", 100_000, 0.018, 13.0, 0.045, 60.0,
         window=_BLACK_FRIDAY),
    Paid("Spark Ads Always-on", "tiktok", 150_000, 0.01, 6.0, 0.022, 65.0, 0.7),
    Paid(LOW_ROAS_CAMPAIGN, "tiktok", 80_000, 0.011, 9.0, 0.009, 55.0, 0.8),
    Paid("TopView Launch Burst", "tiktok", 400_000, 0.012, 12.0, 0.03, 80.0, window=_TOPVIEW),
    Paid("Black Friday {year}", "tiktok", 200_000, 0.013, 8.0, 0.03, 55.0, window=_BLACK_FRIDAY),
    Paid("Thought Leadership", "linkedin", 20_000, 0.007, 16.0, 0.01, 600.0),
    Paid(HIGH_CPA_CAMPAIGN, "linkedin", 12_000, 0.008, 28.0, 0.004, 2_500.0, 0.9),
    Paid("ABM Key Accounts", "linkedin", 10_000, 0.009, 25.0, 0.02, 400.0, 0.3),
    Paid("Webinar Series Q2", "linkedin", 18_000, 0.011, 15.0, 0.06, 90.0, window=_WEBINARS),
    Paid("Year-end Report {year}", "linkedin", 22_000, 0.009, 16.0, 0.04, 120.0,
         window=_YEAR_END),
    Paid("Brand Search", "google-ads", 12_000, 0.08, 60.0, 0.08, 75.0, 0.3),
    Paid("Generic Search", "google-ads", 30_000, 0.035, 50.0, 0.03, 95.0, 0.7),
    Paid("Performance Max", "google-ads", 90_000, 0.012, 10.0, 0.035, 70.0),
    Paid("Shopping Always-on", "google-ads", 50_000, 0.015, 15.0, 0.03, 85.0),
    Paid("Black Friday {year}", "google-ads", 150_000, 0.025, 20.0, 0.05, 60.0,
         window=_BLACK_FRIDAY),
    Paid("Summer Sale", "google-ads", 60_000, 0.02, 16.0, 0.035, 55.0, window=_SUMMER_SALE),
)

INFLUENCERS: tuple[Influencer, ...] = (
    Influencer("Creator Collective", "instagram",
               ("@lena.makes", "@tom.trains", "@mila.daily", "@noor.eats")),
    Influencer("Summer Glow with Creators", "instagram", ("@sunny.sofia", "@lena.makes"),
               _SUMMER_GLOW),
    Influencer("#MoveWithAcme Challenge", "tiktok",
               ("@jay.dances", "@the.fitfam", "@mila.daily", "@kai.skates")),
    Influencer("Holiday Unboxing {year}", "tiktok", ("@unbox.with.ben", "@jay.dances"), _HOLIDAYS),
)
# fmt: on


@dataclass(frozen=True)
class _Calendar:
    """The generated days with the per-day factors every stream shares."""

    first: dt.date
    last: dt.date
    iso: npt.NDArray[np.str_]
    weekday: Counts
    season: Floats

    @classmethod
    def ending(cls, end: dt.date, days: int) -> _Calendar:
        index = pd.date_range(end=pd.Timestamp(end), periods=days, freq="D")
        season = np.interp(index.day_of_year, _MID_MONTH_DAY, _MONTH_FACTOR, period=365)
        return cls(
            first=end - dt.timedelta(days=days - 1),
            last=end,
            iso=np.asarray(index.strftime("%Y-%m-%d"), dtype=np.str_),
            weekday=np.asarray(index.day_of_week, dtype=np.int64),
            season=np.asarray(season, dtype=np.float64),
        )

    def demand(self, platform: str, run: slice) -> Floats:
        """How busy each day of ``run`` is on ``platform``: its weekday habit times the season."""
        return np.asarray(WEEKDAY[platform])[self.weekday[run]] * self.season[run]


def generate(end: dt.date, *, days: int = 365, seed: int = 7) -> pd.DataFrame:
    """Return ``days`` days of canonical fact rows ending at ``end`` (inclusive).

    The output depends only on the arguments, so tests, benchmarks and screenshots are repeatable.
    """
    if days < 1:
        raise ValueError(f"days must be at least 1, got {days}")
    calendar = _Calendar.ending(end, days)
    rng = np.random.default_rng(seed)
    frames = [*_paid_frames(calendar, rng), *_influencer_frames(calendar, rng)]
    frames += _organic_frames(calendar, rng)
    frame = pd.concat(frames, ignore_index=True).reindex(columns=_COLUMNS)
    frame[_MEASURE_COLUMNS] = frame[_MEASURE_COLUMNS].astype("float64")
    return frame.sort_values(["date", "platform", "campaign", "creator"], ignore_index=True)


def _paid_frames(calendar: _Calendar, rng: np.random.Generator) -> Iterator[pd.DataFrame]:
    for campaign in PAID:
        for name, run in _runs(campaign.name, campaign.window, calendar):
            measures = _paid_measures(campaign, calendar, run, rng)
            yield _rows(calendar, run, measures, platform=campaign.platform, campaign=name)


def _influencer_frames(calendar: _Calendar, rng: np.random.Generator) -> Iterator[pd.DataFrame]:
    for campaign in INFLUENCERS:
        social = SOCIAL[campaign.platform]
        for name, run in _runs(campaign.name, campaign.window, calendar):
            demand = calendar.demand(campaign.platform, run)
            for creator in campaign.creators:
                impressions = _volume(CREATORS[creator], demand, 0.35, rng)
                measures: Measures = {Measure.IMPRESSIONS: impressions}
                measures |= _engagement(impressions, social, 1.8, rng)
                yield _rows(
                    calendar,
                    run,
                    measures,
                    platform=campaign.platform,
                    campaign=name,
                    creator=creator,
                )


def _organic_frames(calendar: _Calendar, rng: np.random.Generator) -> Iterator[pd.DataFrame]:
    """One row per social platform and day: the page itself, and the only place followers live."""
    everyday = slice(None)
    for platform, social in SOCIAL.items():
        demand = calendar.demand(platform, everyday)
        impressions = _volume(social.page_impressions, demand, 0.2, rng)
        gained = rng.poisson(social.follows_per_day * demand)
        follows = gained - rng.poisson(social.unfollows_per_day, len(gained))
        measures: Measures = {
            Measure.IMPRESSIONS: impressions,
            Measure.FOLLOWS: follows,
            Measure.FOLLOWERS: social.followers + np.cumsum(follows),
        }
        measures |= _engagement(impressions, social, 2.5, rng)
        yield _rows(calendar, everyday, measures, platform=platform, campaign="")


def _runs(name: str, window: Window | None, calendar: _Calendar) -> Iterator[tuple[str, slice]]:
    """Yield each stretch of the range a campaign runs, named for the year it started."""
    if window is None:
        yield name, slice(None)
        return
    for year in range(calendar.first.year - 1, calendar.last.year + 1):
        start = dt.date(year, window.month, window.day)
        stop = start + dt.timedelta(days=window.days - 1)
        lo, hi = max(start, calendar.first), min(stop, calendar.last)
        if lo <= hi:
            offset = (lo - calendar.first).days
            yield name.format(year=year), slice(offset, offset + (hi - lo).days + 1)


def _paid_measures(
    campaign: Paid, calendar: _Calendar, run: slice, rng: np.random.Generator
) -> Measures:
    """Draw a funnel in order (impressions -> clicks -> conversions) so each stage fits the last.

    Q4 raises both auction prices and buyers' intent, a little less than it raises volume.
    """
    season = calendar.season[run]
    impressions = _volume(campaign.impressions, calendar.demand(campaign.platform, run), 0.12, rng)
    ctr = campaign.ctr * rng.lognormal(0.0, 0.08, len(impressions))
    clicks = rng.binomial(impressions, np.clip(ctr, 0.0, 1.0))
    conversions = rng.binomial(clicks, np.clip(campaign.cvr * season**0.5, 0.0, 1.0))
    cpm = campaign.cpm * season**0.3 * rng.lognormal(0.0, 0.05, len(impressions))
    orders = rng.gamma(conversions * _ORDER_SHAPE, campaign.aov / _ORDER_SHAPE)
    measures: Measures = {
        Measure.IMPRESSIONS: impressions,
        Measure.CLICKS: clicks,
        Measure.CONVERSIONS: conversions,
        Measure.NEW_CUSTOMERS: rng.binomial(conversions, campaign.new_share),
        Measure.SPEND: np.round(impressions / 1000 * cpm, 2),
        Measure.REVENUE: np.round(orders, 2),
    }
    social = SOCIAL.get(campaign.platform)
    if social is not None:
        measures |= _engagement(impressions, social, 1.0, rng)
    return measures


def _volume(typical: int, demand: Floats, noise: float, rng: np.random.Generator) -> Counts:
    """Daily impressions around the typical day; the noise is multiplicative, as budgets are."""
    return rng.poisson(typical * demand * rng.lognormal(0.0, noise, len(demand)))


def _engagement(
    impressions: Counts, social: Social, boost: float, rng: np.random.Generator
) -> Measures:
    """Engagement as binomial draws on impressions, so no count can exceed what was seen.

    ``boost`` lifts the rates for content people chose to follow (creators, the page itself).
    """

    def count(rate: float) -> Counts:
        daily = rate * boost * rng.lognormal(0.0, 0.1, len(impressions))
        return rng.binomial(impressions, np.clip(daily, 0.0, 1.0))

    comments = count(social.comments)
    saves = np.full(len(impressions), np.nan) if social.saves is None else count(social.saves)
    return {
        Measure.REACH: np.floor(impressions / rng.uniform(1.05, 1.6, len(impressions))),
        Measure.LIKES: count(social.likes),
        Measure.COMMENTS: comments,
        Measure.SHARES: count(social.shares),
        Measure.SAVES: saves,
        Measure.VIDEO_VIEWS: count(social.video_views),
        **_sentiment(comments, rng),
    }


def _sentiment(comments: Counts, rng: np.random.Generator) -> Measures:
    """Split the classified share of comments; the rest stay unclassified, as with real tools."""
    classified = rng.binomial(comments, _CLASSIFIED)
    positive = rng.binomial(classified, _POSITIVE)
    negative = rng.binomial(classified - positive, _NEGATIVE / (1.0 - _POSITIVE))
    return {
        Measure.SENTIMENT_POSITIVE: positive,
        Measure.SENTIMENT_NEUTRAL: classified - positive - negative,
        Measure.SENTIMENT_NEGATIVE: negative,
    }


def _rows(
    calendar: _Calendar,
    run: slice,
    measures: Measures,
    *,
    platform: str,
    campaign: str,
    creator: str = "",
) -> pd.DataFrame:
    identity = {
        "date": calendar.iso[run],
        "platform": platform,
        "account": ACCOUNT,
        "campaign": campaign,
        "creator": creator,
        "item": "",
        "currency": CURRENCY,
    }
    return pd.DataFrame(identity | {m.value: values for m, values in measures.items()})
