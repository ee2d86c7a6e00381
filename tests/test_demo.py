"""The demo data must look like a real account and keep the invariants real exports keep."""

from __future__ import annotations

import datetime as dt
import time

import numpy as np
import pandas as pd
import pytest

from kpi import demo
from kpi.measures import MONEY, SIGNED, Measure

END = dt.date(2026, 6, 30)


@pytest.fixture(scope="module")
def frame() -> pd.DataFrame:
    return demo.generate(END)


@pytest.fixture(scope="module")
def paid(frame: pd.DataFrame) -> pd.DataFrame:
    """Per-campaign sums over the paid rows, with the KPIs the targets are set on."""
    columns = ["impressions", "clicks", "conversions", "spend", "revenue"]
    kpis = frame[frame["spend"].notna()].groupby("campaign")[columns].sum()
    kpis["ctr"] = kpis["clicks"] / kpis["impressions"]
    kpis["cpc"] = kpis["spend"] / kpis["clicks"]
    kpis["cpa"] = kpis["spend"] / kpis["conversions"]
    kpis["roas"] = kpis["revenue"] / kpis["spend"]
    return kpis


def reported(frame: pd.DataFrame, *columns: str) -> pd.DataFrame:
    return frame.dropna(subset=list(columns))


def measures(frame: pd.DataFrame, *, excluding: frozenset[Measure]) -> list[str]:
    return [m.value for m in Measure if m not in excluding and m.value in frame.columns]


def span(frame: pd.DataFrame, campaign: str) -> tuple[str, str]:
    dates = frame.loc[frame["campaign"] == campaign, "date"]
    return str(dates.min()), str(dates.max())


def campaign_kpi(paid: pd.DataFrame, campaign: str, name: str) -> float:
    return paid[name].astype(float).to_dict()[campaign]


def test_same_inputs_give_the_same_frame(frame: pd.DataFrame) -> None:
    pd.testing.assert_frame_equal(demo.generate(END), frame)


def test_another_seed_gives_other_numbers(frame: pd.DataFrame) -> None:
    other = demo.generate(END, seed=8)
    assert not other["impressions"].equals(frame["impressions"])


@pytest.mark.parametrize("days", [1, 30, 365])
def test_dates_are_exactly_the_days_ending_at_end(days: int) -> None:
    expected = {(END - dt.timedelta(days=n)).isoformat() for n in range(days)}
    assert set(demo.generate(END, days=days)["date"]) == expected


def test_fewer_than_one_day_is_refused() -> None:
    with pytest.raises(ValueError, match="days"):
        demo.generate(END, days=0)


def test_is_fast_enough_for_a_cli() -> None:
    started = time.perf_counter()
    demo.generate(END)
    assert time.perf_counter() - started < 2.0


def test_size_is_a_realistic_year(frame: pd.DataFrame) -> None:
    assert 10_000 <= len(frame) <= 15_000


def test_columns_are_canonical(frame: pd.DataFrame) -> None:
    identity = ["date", "platform", "account", "campaign", "creator", "item", "currency"]
    assert list(frame.columns[: len(identity)]) == identity
    assert set(frame.columns[len(identity) :]) <= {m.value for m in Measure}
    assert set(frame["currency"]) == {"EUR"}
    assert set(frame["item"]) == {""}


def test_one_row_per_day_platform_campaign_and_creator(frame: pd.DataFrame) -> None:
    assert not frame.duplicated(["date", "platform", "account", "campaign", "creator"]).any()


def test_the_five_platforms_are_present(frame: pd.DataFrame) -> None:
    expected = {"facebook", "instagram", "tiktok", "linkedin", "google-ads"}
    assert set(frame["platform"]) == expected


def test_about_thirty_campaigns(frame: pd.DataFrame) -> None:
    campaigns = set(frame["campaign"]) - {""}
    assert 25 <= len(campaigns) <= 35


def test_seasonal_campaigns_run_only_in_their_season(frame: pd.DataFrame) -> None:
    assert span(frame, "Black Friday 2025") == ("2025-11-20", "2025-12-01")


def test_a_season_cut_by_the_range_is_named_for_its_own_year() -> None:
    frame = demo.generate(dt.date(2026, 11, 25))
    assert span(frame, "Black Friday 2025") == ("2025-11-26", "2025-12-01")
    assert span(frame, "Black Friday 2026") == ("2026-11-20", "2026-11-25")


def test_creators_appear_only_on_influencer_campaigns(frame: pd.DataFrame) -> None:
    with_creator = frame[frame["creator"] != ""]
    influencer_names = set(with_creator["campaign"])
    assert 3 <= len(influencer_names) <= 5
    assert set(with_creator["platform"]) == {"instagram", "tiktok"}
    assert with_creator["creator"].str.startswith("@").all()
    assert (frame.loc[frame["campaign"].isin(influencer_names), "creator"] != "").all()


def test_unpaid_rows_report_no_money(frame: pd.DataFrame) -> None:
    unpaid = frame[(frame["creator"] != "") | (frame["campaign"] == "")]
    assert unpaid[["spend", "revenue", "clicks", "conversions"]].isna().all().all()


def test_measures_a_platform_lacks_are_null_not_zero(frame: pd.DataFrame) -> None:
    google = frame[frame["platform"] == "google-ads"]
    assert google[["reach", "likes", "sentiment_positive"]].isna().all().all()
    assert frame.loc[frame["platform"] == "linkedin", "saves"].isna().all()


def test_funnel_stages_never_exceed_the_one_before(frame: pd.DataFrame) -> None:
    funnel = reported(frame, "impressions", "reach", "clicks", "conversions", "new_customers")
    assert len(funnel) > 0
    assert (funnel["clicks"] <= funnel["impressions"]).all()
    assert (funnel["reach"] <= funnel["impressions"]).all()
    assert (funnel["conversions"] <= funnel["clicks"]).all()
    assert (funnel["new_customers"] <= funnel["conversions"]).all()


def test_sentiment_classifies_part_of_the_comments(frame: pd.DataFrame) -> None:
    social = reported(frame, "comments", "sentiment_positive")
    sentiment = social[["sentiment_positive", "sentiment_neutral", "sentiment_negative"]].sum(
        axis=1
    )
    assert (sentiment <= social["comments"]).all()
    assert 0.6 < sentiment.sum() / social["comments"].sum() < 0.95


def test_counts_are_whole_numbers(frame: pd.DataFrame) -> None:
    counts = frame[measures(frame, excluding=MONEY)].to_numpy()
    assert np.all(np.isnan(counts) | (counts == np.round(counts)))


def test_money_has_at_most_two_decimals(frame: pd.DataFrame) -> None:
    cents = frame[["spend", "revenue"]].dropna().to_numpy() * 100
    assert np.allclose(cents, np.round(cents), rtol=0, atol=1e-6)


def test_nothing_is_negative_but_follows(frame: pd.DataFrame) -> None:
    assert (frame[measures(frame, excluding=SIGNED)].fillna(0) >= 0).all().all()
    follows = frame["follows"].dropna()
    assert 0 < (follows < 0).mean() < 0.1


def test_followers_are_the_running_total_of_follows(frame: pd.DataFrame) -> None:
    page = frame[frame["followers"].notna()]
    assert set(page["campaign"]) == {""}
    assert not page.duplicated(["date", "platform"]).any()
    for _, rows in page.groupby("platform"):
        assert (rows["followers"].diff().iloc[1:] == rows["follows"].iloc[1:]).all()


def test_typical_campaigns_sit_near_typical_targets(paid: pd.DataFrame) -> None:
    typical = paid.drop(index=list(demo.MISSING_TARGET_CAMPAIGNS))
    assert 0.01 <= typical["ctr"].median() <= 0.02
    assert 0.5 <= typical["cpc"].median() <= 2.0
    assert 2.0 <= typical["roas"].median() <= 5.0


def test_missing_target_campaigns_are_in_the_data(paid: pd.DataFrame) -> None:
    assert set(demo.MISSING_TARGET_CAMPAIGNS) <= set(paid.index)


def test_low_ctr_campaign_is_far_below_the_rest(paid: pd.DataFrame) -> None:
    assert campaign_kpi(paid, demo.LOW_CTR_CAMPAIGN, "ctr") < paid["ctr"].median() / 3
    assert paid["ctr"].idxmin() == demo.LOW_CTR_CAMPAIGN


def test_low_roas_campaign_loses_money(paid: pd.DataFrame) -> None:
    assert campaign_kpi(paid, demo.LOW_ROAS_CAMPAIGN, "roas") < 1
    assert paid["roas"].idxmin() == demo.LOW_ROAS_CAMPAIGN


def test_high_cpa_campaign_costs_far_more_per_conversion(paid: pd.DataFrame) -> None:
    assert campaign_kpi(paid, demo.HIGH_CPA_CAMPAIGN, "cpa") > 10 * paid["cpa"].median()
    assert paid["cpa"].idxmax() == demo.HIGH_CPA_CAMPAIGN


@pytest.mark.parametrize(("platform", "busier"), [("linkedin", "weekday"), ("tiktok", "weekend")])
def test_weekday_habits_show(frame: pd.DataFrame, platform: str, busier: str) -> None:
    rows = frame[(frame["platform"] == platform) & (frame["campaign"] == "")]
    weekend = pd.to_datetime(rows["date"]).dt.day_of_week >= 5
    ratio = rows.loc[weekend, "impressions"].mean() / rows.loc[~weekend, "impressions"].mean()
    assert ratio < 0.7 if busier == "weekday" else ratio > 1.1


def test_fourth_quarter_is_the_peak(frame: pd.DataFrame) -> None:
    month = frame["date"].str[5:7]
    always_on = frame[frame["campaign"].isin(["", "Always-on Prospecting", "Performance Max"])]
    by_month = always_on.groupby(month)["impressions"].sum()
    assert by_month.idxmax() in {"11", "12"}
