"""Real public Meta files (shared/data/real): reference totals from its README."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Engine

from kpi.errors import IngestError
from tests.importers.store_queries import day, ingest, nulls, periods, rows, total, totals_by

KAGGLE = "meta_ads_kaggle_facebook_ad_campaign_2017.csv"
UCI = "facebook_page_posts_uci_dataset_Facebook.csv"
INSTAGRAM = "instagram_posts_daily_thecleverprogrammer.csv"
YEAR_2014 = (day("2014-01-01"), day("2014-12-31"))

#: campaign -> impressions, clicks, spend, conversions, new customers (README, unshifted rows);
#: the re-aligned rows have no campaign id, so they are stored with an empty campaign.
KAGGLE_BY_CAMPAIGN = {
    "916": (482_925, 113, 149.71, 58, 24),
    "936": (8_128_187, 1_984, 2_893.37, 537, 183),
    "1178": (69_902_476, 9_577, 16_577.16, 1_050, 378),
    "": (134_921_240, 26_491, 39_084.99, 1_619, 494),
}
KAGGLE_MEASURES = ("impressions", "clicks", "spend", "conversions", "new_customers")


def test_kaggle_reference_totals(engine: Engine, real_data: Path) -> None:
    report = ingest(engine, real_data / KAGGLE, source="canonical", platform="facebook")

    assert report.rows_written == 1143
    assert total(engine, "impressions") == 213_434_828
    assert total(engine, "clicks") == 38_165
    assert total(engine, "spend") == pytest.approx(58_705.23, abs=0.005)
    assert total(engine, "conversions") == 3_264
    assert total(engine, "new_customers") == 1_079  # approved_conversion
    assert {r.platform for r in rows(engine)} == {"facebook"}
    assert {r.period_start for r in rows(engine)} == {day(f"2017-08-{d}") for d in range(17, 31)}
    assert all(r.period_start == r.period_end for r in rows(engine))


def test_kaggle_shifted_rows_are_realigned_with_a_warning(engine: Engine, real_data: Path) -> None:
    report = ingest(engine, real_data / KAGGLE, source="canonical", platform="facebook")

    shifted = [w for w in report.warnings if "shifted" in w]
    assert len(shifted) == 1
    assert shifted[0].startswith(
        "382 rows were shifted 2 columns left (lines 763, 764, 765, 766, 767 and 377 more)"
    )
    assert "campaign_id, fb_campaign_id" in shifted[0]


def test_kaggle_totals_per_campaign(engine: Engine, real_data: Path) -> None:
    ingest(engine, real_data / KAGGLE, source="canonical", platform="facebook")

    for position, measure in enumerate(KAGGLE_MEASURES):
        expected = {c: pytest.approx(v[position], abs=0.005) for c, v in KAGGLE_BY_CAMPAIGN.items()}
        assert totals_by(engine, measure, "campaign") == expected, measure


def test_uci_posts_need_a_period(engine: Engine, real_data: Path) -> None:
    with pytest.raises(IngestError, match=r"--period START\.\.END") as caught:
        ingest(engine, real_data / UCI, source="canonical", platform="facebook")

    assert caught.value.path == str(real_data / UCI)


def test_uci_posts_with_a_period(engine: Engine, real_data: Path) -> None:
    report = ingest(
        engine, real_data / UCI, source="canonical", platform="facebook", period=YEAR_2014
    )

    assert report.rows_written == 500
    assert periods(engine) == {YEAR_2014}
    assert total(engine, "reach") == 6_951_680
    assert total(engine, "impressions") == 14_792_974
    assert total(engine, "likes") == 88_795
    assert total(engine, "comments") == 3_741
    assert total(engine, "shares") == 13_524
    assert (nulls(engine, "likes"), nulls(engine, "shares")) == (1, 4)  # the empty cells


def test_instagram_reference_totals(engine: Engine, real_data: Path) -> None:
    report = ingest(engine, real_data / INSTAGRAM, platform="instagram")

    assert report.source == "canonical"
    assert report.rows_written == 176
    assert [(c.platform, c.start, c.end) for c in report.coverage] == [
        ("instagram", day("2021-12-10"), day("2022-06-03"))
    ]
    assert total(engine, "impressions") == 3_464_652
    assert total(engine, "likes") == 53_286
    assert total(engine, "comments") == 1_382
    assert total(engine, "shares") == 4_561
    assert total(engine, "saves") == 67_414
    assert total(engine, "clicks") == 31_204  # Profile Visits
    assert total(engine, "follows") == 19_616
