"""Settings from the environment and ``.env``, validated once at start-up.

Every setting is documented in ``.env.example``. Invalid values fail fast with the name of the key,
never later as a silent default.
"""

from __future__ import annotations

from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from kpi.errors import ConfigError
from kpi.store.engine import DEFAULT_URL


class Settings(BaseSettings):
    """What an operator configures; names match the environment variables."""

    model_config = SettingsConfigDict(env_file=".env", extra="ignore", populate_by_name=True)

    database_url: str = Field(default=DEFAULT_URL, alias="DATABASE_URL")
    timezone: str = Field(default="UTC", alias="KPIBOT_TIMEZONE")
    week_start: int = Field(default=0, ge=0, le=6, alias="KPIBOT_WEEK_START")
    kpis_file: Path | None = Field(default=None, alias="KPIBOT_KPIS_FILE")

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


def load_settings() -> Settings:
    """Settings from the environment, or a :class:`ConfigError` naming each bad key."""
    try:
        return Settings()
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in error['loc'])}: {error['msg']}" for error in exc.errors()
        )
        raise ConfigError(f"invalid settings: {problems}") from None
