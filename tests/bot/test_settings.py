"""Slack settings are validated at start-up, and errors name the key to fix."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import SecretStr

from bot.settings import Mode, Settings, load_settings, require_slack
from kpi.errors import ConfigError

SLACK_KEYS = (
    "SLACK_BOT_TOKEN",
    "SLACK_SIGNING_SECRET",
    "SLACK_APP_TOKEN",
    "SLACK_API_URL",
    "KPIBOT_ADMINS",
    "PORT",
    "KPIBOT_LOG_LEVEL",
    "KPIBOT_MISFIRE_GRACE",
    "KPIBOT_DATA_LAG",
    "KPIBOT_DIGEST_KPIS",
)


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: object) -> None:
    for key in SLACK_KEYS:
        monkeypatch.delenv(key, raising=False)
    monkeypatch.chdir(str(tmp_path))  # no stray .env


def test_http_mode_needs_a_bot_token_and_a_signing_secret() -> None:
    settings = load_settings()
    assert settings.mode is Mode.HTTP
    with pytest.raises(ConfigError) as caught:
        require_slack(settings)
    assert "SLACK_BOT_TOKEN is missing" in str(caught.value)
    assert "SLACK_SIGNING_SECRET is missing" in str(caught.value)


def test_socket_mode_needs_the_app_token_not_the_signing_secret(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-1")
    monkeypatch.setenv("SLACK_APP_TOKEN", "xapp-1")
    settings = load_settings()
    assert settings.mode is Mode.SOCKET
    require_slack(settings)


def test_a_swapped_token_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xapp-1-oops")
    monkeypatch.setenv("SLACK_SIGNING_SECRET", "s3cret")
    with pytest.raises(ConfigError, match="SLACK_BOT_TOKEN must start with xoxb-"):
        require_slack(load_settings())


def test_blank_secrets_count_as_missing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-1")
    monkeypatch.setenv("SLACK_SIGNING_SECRET", "   ")
    with pytest.raises(ConfigError, match="SLACK_SIGNING_SECRET is missing"):
        require_slack(load_settings())


def test_secrets_never_show_in_a_repr(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-very-secret")
    settings = load_settings()
    assert "very-secret" not in repr(settings)
    assert "very-secret" not in str(settings.model_dump())


def test_admins_are_user_ids(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KPIBOT_ADMINS", "U012ABC, W0456DEF ,")
    assert load_settings().admins == ("U012ABC", "W0456DEF")
    monkeypatch.setenv("KPIBOT_ADMINS", "alice")
    with pytest.raises(ConfigError, match=r"KPIBOT_ADMINS.*not a Slack user id"):
        load_settings()


def test_api_url_gets_its_final_slash(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SLACK_API_URL", "http://127.0.0.1:9/api")
    assert load_settings().slack_api_url == "http://127.0.0.1:9/api/"
    monkeypatch.setenv("SLACK_API_URL", "127.0.0.1:9/api")
    with pytest.raises(ConfigError, match="SLACK_API_URL"):
        load_settings()


@pytest.mark.parametrize(("key", "value"), [("PORT", "99999"), ("KPIBOT_LOG_LEVEL", "loud")])
def test_invalid_values_name_their_key(
    monkeypatch: pytest.MonkeyPatch, key: str, value: str
) -> None:
    monkeypatch.setenv(key, value)
    with pytest.raises(ConfigError, match=key):
        load_settings()


def test_settings_can_be_built_in_code() -> None:
    settings = Settings(SLACK_BOT_TOKEN=SecretStr("xoxb-1"), SLACK_SIGNING_SECRET=SecretStr("s"))
    require_slack(settings)


def test_every_setting_is_documented_in_env_example() -> None:
    example = (Path(__file__).resolve().parents[2] / ".env.example").read_text()
    documented = {
        line.lstrip("# ").split("=", 1)[0] for line in example.splitlines() if "=" in line
    }
    missing = {field.alias for field in Settings.model_fields.values()} - documented
    assert not missing, f"undocumented in .env.example: {sorted(str(key) for key in missing)}"


@pytest.mark.parametrize(
    ("text", "seconds"), [("6h", 21600), ("90m", 5400), ("1d", 86400), ("30s", 30), ("45", 45)]
)
def test_durations_read_as_people_write_them(
    monkeypatch: pytest.MonkeyPatch, text: str, seconds: int
) -> None:
    monkeypatch.setenv("KPIBOT_MISFIRE_GRACE", text)
    assert load_settings().misfire_grace.total_seconds() == seconds


@pytest.mark.parametrize("text", ["soon", "-1h", "h"])
def test_bad_durations_name_their_key(monkeypatch: pytest.MonkeyPatch, text: str) -> None:
    monkeypatch.setenv("KPIBOT_DATA_LAG", text)
    with pytest.raises(ConfigError, match="KPIBOT_DATA_LAG"):
        load_settings()


def test_digest_kpis_are_a_comma_list(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KPIBOT_DIGEST_KPIS", "ctr, roas")
    assert load_settings().digest_kpis == ("ctr", "roas")
