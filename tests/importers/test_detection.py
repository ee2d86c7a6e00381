"""Without ``--source`` the header decides; one that fits several sources, or none, is refused."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Engine

from kpi.errors import AmbiguousSourceError, IngestError, UnknownSourceError
from kpi.importers import registry
from kpi.importers.text import sniff
from tests.importers.store_queries import FIXTURES, day, fixture, ingest, snapshot, write

EXPECTED = {
    "canonical_daily.csv": "canonical",
    "meta_ads_daily_en.csv": "meta-ads",
    "meta_ads_totals_en.csv": "meta-ads",
    "meta_ads_daily_fr.csv": "meta-ads",
    "meta_ads_totals_fr.csv": "meta-ads",
    "meta_posts_instagram.csv": "meta-posts",
    "meta_posts_facebook.csv": "meta-posts",
    "tiktok_ads_daily.csv": "tiktok-ads",
    "tiktok_ads_totals.csv": "tiktok-ads",
    "linkedin_ads_daily_utf16.csv": "linkedin-ads",
    "linkedin_ads_daily_utf8.csv": "linkedin-ads",
    "linkedin_ads_totals.csv": "linkedin-ads",
    "google_ads_campaign.csv": "google-ads",
    "google_ads_daily.csv": "google-ads",
    "google_ads_excel_utf16.csv": "google-ads",
    "google_ads_fr.csv": "google-ads",
    "ga4_channels.csv": "ga4",
    "ga4_daily.csv": "ga4",
    "ga4_two_tables.csv": "ga4",
    "ga4_fr.csv": "ga4",
}
#: Fits tiktok-ads (campaign, ad group, cost, impressions) and google-ads (currency code).
AMBIGUOUS = "Campaign name,Ad group name,Currency code,Cost,Impressions\nA,B,USD,1.00,10\n"


def _detected(path: Path) -> str:
    return registry.layout(sniff(path), None, platform_given=False).source.name


def test_every_fixture_is_listed() -> None:
    assert {p.name for p in FIXTURES.iterdir()} == set(EXPECTED)


@pytest.mark.parametrize(("name", "source"), EXPECTED.items())
def test_source_is_detected_from_the_header(name: str, source: str) -> None:
    assert _detected(fixture(name)) == source


@pytest.mark.parametrize(
    ("name", "header_line"),
    [
        ("google_ads_campaign.csv", 2),
        ("linkedin_ads_daily_utf16.csv", 5),
        ("ga4_channels.csv", 9),
        ("meta_ads_daily_en.csv", 0),
    ],
)
def test_preamble_lines_are_passed_over(name: str, header_line: int) -> None:
    layout = registry.layout(sniff(fixture(name)), None, platform_given=False)

    assert layout.header_index == header_line


def test_a_header_that_fits_two_sources_is_ambiguous(tmp_path: Path) -> None:
    path = write(tmp_path, "both.csv", AMBIGUOUS)

    with pytest.raises(AmbiguousSourceError) as caught:
        _detected(path)

    assert set(caught.value.candidates) == {"tiktok-ads", "google-ads"}
    assert "tiktok-ads" in str(caught.value)
    assert "google-ads" in str(caught.value)
    assert "--source" in str(caught.value)


def test_naming_the_source_settles_an_ambiguous_header(engine: Engine, tmp_path: Path) -> None:
    path = write(tmp_path, "both.csv", AMBIGUOUS)

    report = ingest(
        engine, path, source="tiktok-ads", period=(day("2026-05-01"), day("2026-05-31"))
    )

    assert report.source == "tiktok-ads"


def test_an_unknown_header_is_refused(engine: Engine, tmp_path: Path) -> None:
    path = write(tmp_path, "odd.csv", "when,what,how much\n2026-05-01,x,3\n")
    before = snapshot(engine)

    with pytest.raises(UnknownSourceError, match="no source recognises"):
        ingest(engine, path)

    assert snapshot(engine) == before


def test_an_unknown_source_name_is_refused(engine: Engine) -> None:
    with pytest.raises(UnknownSourceError, match="'facebook-ads'") as caught:
        ingest(engine, fixture("meta_ads_daily_en.csv"), source="facebook-ads")

    assert "meta-ads" in str(caught.value)  # the message lists the known names


def test_a_named_source_that_does_not_fit_is_refused(engine: Engine) -> None:
    with pytest.raises(IngestError, match="no header row") as caught:
        ingest(engine, fixture("ga4_channels.csv"), source="tiktok-ads")

    assert caught.value.path == str(fixture("ga4_channels.csv"))
