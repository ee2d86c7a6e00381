"""Meta Business Suite content exports: one lifetime row per post, stored publish date -> today."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine

from tests.importers.store_queries import TODAY, day, fixture, ingest, nulls, rows, total, write


def test_instagram_posts_run_from_publish_date_to_today(engine: Engine) -> None:
    report = ingest(engine, fixture("meta_posts_instagram.csv"))

    assert report.source == "meta-posts"
    assert report.rows_written == 3
    stored = rows(engine, "impressions", "reach", "likes", "follows")
    assert [(r.period_start, r.period_end) for r in stored] == [
        (day("2026-05-03"), TODAY),  # Publish time 05/03/2026 14:30 is month first
        (day("2026-05-10"), TODAY),
        (day("2026-06-01"), TODAY),
    ]
    assert [r.item for r in stored] == [
        "17890000000000001",
        "17890000000000002",
        "17890000000000003",
    ]
    assert {r.account for r in stored} == {"acme.studio"}


def test_instagram_views_are_impressions(engine: Engine) -> None:
    ingest(engine, fixture("meta_posts_instagram.csv"))

    assert total(engine, "impressions") == 65700  # "15,000" + "42,500" + 8200
    assert total(engine, "reach") == 46000
    assert total(engine, "likes") == 3370
    assert total(engine, "saves") == 575
    assert total(engine, "follows") == 100
    assert nulls(engine, "follows") == 1


def test_facebook_posts_with_older_impressions_header(engine: Engine) -> None:
    report = ingest(engine, fixture("meta_posts_facebook.csv"))

    assert report.source == "meta-posts"
    stored = rows(engine, "impressions", "likes", "comments", "shares")
    assert [r.period for r in stored] == [
        (day("2026-04-28"), TODAY),
        (day("2026-05-02"), TODAY),
    ]
    assert {r.account for r in stored} == {"Acme Studio"}
    assert [r["impressions"] for r in stored] == [12400, 30250]
    assert [r["likes"] for r in stored] == [310, 980]  # Reactions


def test_a_newer_export_replaces_the_lifetime_rows(engine: Engine) -> None:
    ingest(engine, fixture("meta_posts_instagram.csv"), today=day("2026-07-01"))
    report = ingest(engine, fixture("meta_posts_instagram.csv"))

    assert report.rows_replaced == 3
    assert {r.period_end for r in rows(engine)} == {TODAY}
    assert total(engine, "impressions") == 65700


def test_instagram_and_facebook_posts_are_kept_apart(engine: Engine, tmp_path: Path) -> None:
    facebook = fixture("meta_posts_facebook.csv").read_text(encoding="utf-8-sig")
    ingest(engine, fixture("meta_posts_instagram.csv"))
    ingest(engine, write(tmp_path, "fb.csv", facebook.replace("Acme Studio", "acme.studio")))

    assert {r.platform for r in rows(engine)} == {"instagram", "facebook"}
    assert total(engine, "likes", platform="instagram") == 3370
