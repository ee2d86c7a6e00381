"""Settings from the environment and ``.env``, validated once at start-up.

Every setting is documented in ``.env.example``. Invalid values fail fast with the name of the key,
never later as a silent default.
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from pathlib import Path
from typing import Annotated
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from kpi.errors import ConfigError
from kpi.store.engine import DEFAULT_URL


class Settings(BaseSettings):
    """What an operator configures; names match the environment variables."""

    model_config = SettingsConfigDict(env_file=".env", extra="ignore", populate_by_name=True)

    database_url: str = Field(default=DEFAULT_URL, alias="DATABASE_URL")
    timezone: str = Field(default="UTC", alias="KPIBOT_TIMEZONE")
    week_start: int = Field(default=0, ge=0, le=6, alias="KPIBOT_WEEK_START")
    kpis_file: Path | None = Field(default=None, alias="KPIBOT_KPIS_FILE")

    slack_bot_token: SecretStr | None = Field(default=None, alias="SLACK_BOT_TOKEN")
    slack_signing_secret: SecretStr | None = Field(default=None, alias="SLACK_SIGNING_SECRET")
    slack_app_token: SecretStr | None = Field(default=None, alias="SLACK_APP_TOKEN")
    slack_api_url: str | None = Field(default=None, alias="SLACK_API_URL")
    host: str = Field(default="0.0.0.0", alias="KPIBOT_HOST")  # noqa: S104 - a server's job
    port: int = Field(default=3000, ge=0, le=65535, alias="PORT")
    web_workers: int = Field(default=2, ge=1, le=64, alias="KPIBOT_WEB_WORKERS")
    web_threads: int = Field(default=16, ge=1, le=256, alias="KPIBOT_WEB_THREADS")
    answer_threads: int = Field(default=8, ge=1, le=256, alias="KPIBOT_ANSWER_THREADS")
    admins: Annotated[tuple[str, ...], NoDecode] = Field(default=(), alias="KPIBOT_ADMINS")
    log_level: str = Field(default="INFO", alias="KPIBOT_LOG_LEVEL")

    scheduler_enabled: bool = Field(default=True, alias="KPIBOT_SCHEDULER")
    misfire_grace: dt.timedelta = Field(default=dt.timedelta(hours=6), alias="KPIBOT_MISFIRE_GRACE")
    data_lag: dt.timedelta = Field(default=dt.timedelta(days=1), alias="KPIBOT_DATA_LAG")
    delivery_lease: dt.timedelta = Field(
        default=dt.timedelta(minutes=2), alias="KPIBOT_DELIVERY_LEASE"
    )
    digest_kpis: Annotated[tuple[str, ...], NoDecode] = Field(
        default=("spend", "ctr", "cpc", "conversions", "roas"), alias="KPIBOT_DIGEST_KPIS"
    )

    @field_validator("misfire_grace", "data_lag", "delivery_lease", mode="before")
    @classmethod
    def _duration(cls, value: object) -> object:
        """``6h``, ``90m``, ``1d``, ``30s`` or plain seconds: how people write delays in .env."""
        if not isinstance(value, str):
            return value
        text = value.strip().lower()
        units = {"s": 1, "m": 60, "h": 3600, "d": 86400}
        number, unit = (text[:-1], units[text[-1]]) if text[-1:] in units else (text, 1)
        try:
            seconds = float(number) * unit
        except ValueError:
            raise ValueError("use a duration like 6h, 90m, 1d or 30s") from None
        if seconds < 0:
            raise ValueError("a duration cannot be negative")
        return dt.timedelta(seconds=seconds)

    @field_validator("digest_kpis", mode="before")
    @classmethod
    def _kpi_names(cls, value: object) -> object:
        """A comma list; the names are checked against the catalog when the bot starts."""
        if isinstance(value, str):
            return tuple(part.strip() for part in value.split(",") if part.strip())
        return value

    @field_validator("slack_bot_token", "slack_signing_secret", "slack_app_token", mode="before")
    @classmethod
    def _blank_is_unset(cls, value: object) -> object:
        """``SLACK_APP_TOKEN=`` as copied from .env.example means "not set", not Socket Mode."""
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("admins", mode="before")
    @classmethod
    def _user_ids(cls, value: object) -> object:
        """``U0123,U0456`` (spaces allowed); only Slack user ids, never names that can change."""
        if not isinstance(value, str):
            return value
        ids = tuple(part.strip() for part in value.split(",") if part.strip())
        for user_id in ids:
            if not (user_id[:1] in "UW" and user_id.isalnum() and user_id.isupper()):
                raise ValueError(f"{user_id!r} is not a Slack user id (like U012ABCDEF)")
        return ids

    @field_validator("slack_api_url")
    @classmethod
    def _api_url(cls, value: str | None) -> str | None:
        """Slack's client joins method names onto the base URL, which only works with a final /."""
        if value is None or not value.strip():
            return None
        if not value.startswith(("http://", "https://")):
            raise ValueError("use the Web API base URL, e.g. https://slack.com/api/")
        return value if value.endswith("/") else value + "/"

    @field_validator("log_level")
    @classmethod
    def _level(cls, value: str) -> str:
        level = value.strip().upper()
        if level not in {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}:
            raise ValueError("use DEBUG, INFO, WARNING, ERROR or CRITICAL")
        return level

    @field_validator("week_start", mode="before")
    @classmethod
    def _weekday(cls, value: object) -> object:
        """Accept ``monday``..``sunday`` as well as 0..6."""
        if isinstance(value, str) and not value.strip().isdigit():
            names = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
            word = value.strip().lower()
            if word not in names:
                raise ValueError("use a weekday name (monday) or 0-6 (0 = Monday)")
            return names.index(word)
        return value

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"{value!r} is not an IANA time zone (e.g. Europe/Paris)") from None
        return value

    @field_validator("database_url")
    @classmethod
    def _supported_database(cls, value: str) -> str:
        if not value.startswith(("sqlite", "postgresql")):
            raise ValueError("use sqlite:///path.db or postgresql+psycopg://user@host/db")
        return value

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def mode(self) -> Mode:
        return Mode.SOCKET if self.slack_app_token is not None else Mode.HTTP


class Mode(StrEnum):
    """How Slack reaches the bot: a WebSocket it opens (no public URL) or signed HTTP requests."""

    SOCKET = "socket"
    HTTP = "http"


#: Prefixes Slack issues, checked at start-up: a swapped token fails before the first command.
_PREFIXES = {"SLACK_BOT_TOKEN": "xoxb-", "SLACK_APP_TOKEN": "xapp-"}


def _check(needed: dict[str, SecretStr | None]) -> None:
    problems = []
    for key, secret in needed.items():
        value = "" if secret is None else secret.get_secret_value().strip()
        if not value:
            problems.append(f"{key} is missing (see .env.example)")
        elif key in _PREFIXES and not value.startswith(_PREFIXES[key]):
            problems.append(f"{key} must start with {_PREFIXES[key]}")
    if problems:
        raise ConfigError("cannot start the bot: " + "; ".join(problems))


def require_token(settings: Settings) -> None:
    """What posting needs (digests and alerts run from cron): the bot token only."""
    _check({"SLACK_BOT_TOKEN": settings.slack_bot_token})


def require_slack(settings: Settings) -> None:
    """Refuse to serve without the secrets the mode needs, naming each missing or malformed key."""
    needed = {"SLACK_BOT_TOKEN": settings.slack_bot_token}
    if settings.mode is Mode.HTTP:
        needed["SLACK_SIGNING_SECRET"] = settings.slack_signing_secret
    else:
        needed["SLACK_APP_TOKEN"] = settings.slack_app_token
    _check(needed)


def load_settings() -> Settings:
    """Settings from the environment, or a :class:`ConfigError` naming each bad key."""
    try:
        return Settings()
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in error['loc'])}: {error['msg']}" for error in exc.errors()
        )
        raise ConfigError(f"invalid settings: {problems}") from None
