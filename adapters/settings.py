"""Settings from the environment and `.env` (pydantic-settings); names are DESIGN section 8's."""

from __future__ import annotations

from datetime import datetime
from urllib.parse import urlsplit

from pydantic import Field, ValidationError, ValidationInfo, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from core.clock import Clock, FixedClock, SystemClock, parse_iso
from core.db import DEFAULT_DATABASE_URL
from core.staff import (
    StaffDirectory,
    StaffSettingError,
    parse_approval_over,
    parse_staff,
    parse_staff_chats,
)


class SettingsError(ValueError):
    """A setting that cannot be used; the message names it."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_file=".env", extra="ignore", case_sensitive=True, env_ignore_empty=True
    )

    DATABASE_URL: str = DEFAULT_DATABASE_URL
    TELEGRAM_BOT_TOKEN: str | None = None
    TELEGRAM_WEBHOOK_SECRET: str | None = None
    TELEGRAM_API_BASE_URL: str = "https://api.telegram.org"
    SLACK_BOT_TOKEN: str | None = None
    SLACK_SIGNING_SECRET: str | None = None
    SLACK_APP_TOKEN: str | None = None
    SLACK_CLIENT_ID: str | None = None
    SLACK_CLIENT_SECRET: str | None = None
    SLACK_API_URL: str = "https://slack.com/api/"
    SLACK_COMMAND: str = "/plans"
    SLACK_STAFF_COMMAND: str = "/staff"
    STRIPE_SECRET_KEY: str | None = None
    STRIPE_WEBHOOK_SECRET: str | None = None
    STRIPE_API_BASE: str = "https://api.stripe.com"
    PLANBOT_PUBLIC_URL: str | None = None
    PLANBOT_CATALOG: str | None = None
    PLANBOT_SUPPORT_STAFF: str = ""
    PLANBOT_STAFF_CHATS: str = ""
    PLANBOT_APPROVAL_OVER: str = "1000"
    PLANBOT_HOST: str = "127.0.0.1"
    PLANBOT_PORT: int = Field(default=8000, ge=1, le=65535)
    PLANBOT_CLOCK: datetime | None = None

    @field_validator("PLANBOT_CLOCK", mode="before")
    @classmethod
    def _iso_clock(cls, value: object) -> object:
        if value is None or value == "":
            return None
        if isinstance(value, str):
            return parse_iso(value)
        return value

    @field_validator("PLANBOT_SUPPORT_STAFF", "PLANBOT_STAFF_CHATS", "PLANBOT_APPROVAL_OVER")
    @classmethod
    def _staff_setting(cls, value: str, info: ValidationInfo) -> str:
        """Staff settings are checked at start, so a typo never leaves a person without access."""
        parse = {
            "PLANBOT_SUPPORT_STAFF": parse_staff,
            "PLANBOT_STAFF_CHATS": parse_staff_chats,
            "PLANBOT_APPROVAL_OVER": parse_approval_over,
        }[str(info.field_name)]
        try:
            parse(value)
        except StaffSettingError as exc:
            raise ValueError(str(exc).partition(": ")[2]) from None
        return value

    @field_validator(
        "PLANBOT_PUBLIC_URL", "TELEGRAM_API_BASE_URL", "SLACK_API_URL", "STRIPE_API_BASE"
    )
    @classmethod
    def _web_address(cls, value: str | None) -> str | None:
        """A base URL is refused at start, not at the first request that would use it."""
        if value is not None:
            parts = urlsplit(value)
            if parts.scheme not in ("http", "https") or not parts.hostname:
                raise ValueError(f"{value!r} is not an http:// or https:// URL")
        return value

    @property
    def public_url(self) -> str:
        """Where people reach the web app; by default the local server itself."""
        if self.PLANBOT_PUBLIC_URL:
            return self.PLANBOT_PUBLIC_URL.rstrip("/")
        return f"http://{self.PLANBOT_HOST}:{self.PLANBOT_PORT}"

    def staff(self) -> StaffDirectory:
        """Support staff with their tiers, the staff chats and the approval threshold."""
        return StaffDirectory(
            parse_staff(self.PLANBOT_SUPPORT_STAFF),
            parse_staff_chats(self.PLANBOT_STAFF_CHATS),
            parse_approval_over(self.PLANBOT_APPROVAL_OVER),
        )

    def clock(self) -> Clock:
        return SystemClock() if self.PLANBOT_CLOCK is None else FixedClock(self.PLANBOT_CLOCK)


def load_settings() -> Settings:
    """Read settings, turning validation errors into one line that names the setting."""
    try:
        return Settings()
    except ValidationError as exc:
        first = exc.errors()[0]
        name = ".".join(str(part) for part in first["loc"]) or "settings"
        raise SettingsError(f"setting {name}: {first['msg']}") from exc
