"""Settings from the environment and `.env` (see `.env.example` for each one)."""

from __future__ import annotations

from datetime import time
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import holidays
from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from bot.domain.calendar import WEEKDAYS, OfficeCalendar
from bot.domain.reminders import ReminderPolicy

Language = Literal["ms", "en"]


class Settings(BaseSettings):
    """Everything an operator may set; nothing here is read at import time."""

    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    telegram_bot_token: SecretStr | None = None
    telegram_base_url: str = "https://api.telegram.org"
    database_url: str = "sqlite+aiosqlite:///ikabot.db"
    timezone: str = "Asia/Kuala_Lumpur"
    office_start: time = time(9, 0)
    office_end: time = time(17, 0)
    working_days: str = "mon,tue,wed,thu,fri"
    holiday_country: str | None = "MY"
    holiday_subdivision: str | None = "PJY"
    count_working_days: bool = False
    default_language: Language = "ms"
    sop_file: Path | None = None
    documents_dir: Path = Path("documents")
    # How long an invitation link made with /invite may be used (once), in hours.
    invite_ttl_hours: int = Field(default=72, gt=0)
    # Reminders: a nudge N working days before the due date and on it; every overdue working
    # day to the owner, and from the Nth also to AB; a weekly digest to AB; how often the
    # bot looks for what is due.
    reminder_days_before: int = Field(default=1, ge=0, le=10)
    escalate_from_overdue_day: int = Field(default=2, ge=1, le=30)
    digest_day: str = "mon"
    sweep_interval_seconds: float = Field(default=60, gt=0, le=3600)
    # How long a sweeper's claim on the messages it is sending lasts (renewed while it sends):
    # what a crash can delay them by.
    sweep_lease_seconds: float = Field(default=60, ge=3, le=600)
    # PostgreSQL with a standby: how often a standby asks for the leader's lock (and the leader
    # checks it still holds it). A dead leader is replaced within about this long.
    leader_retry_seconds: float = Field(default=10, gt=0, le=60)
    # Telegram's limits (PTB's AIORateLimiter): messages a second overall, a minute per group.
    rate_limit_per_second: float = 29  # a little under Telegram's 30
    rate_limit_group_per_minute: float = 20
    rate_limit_chat_per_second: float = 1
    telegram_max_retries: int = 3
    # Webhook mode (`ikabot run --webhook`): where Telegram posts updates, and its secret.
    webhook_url: str | None = None
    webhook_listen: str = "127.0.0.1"
    webhook_port: int = 8443
    webhook_secret: SecretStr | None = None

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            # ZoneInfoNotFoundError is a KeyError, which pydantic would not report as invalid
            raise ValueError(f"unknown time zone {value!r} (e.g. Asia/Kuala_Lumpur)") from exc
        return value

    @field_validator("digest_day")
    @classmethod
    def _weekday(cls, value: str) -> str:
        day = value.strip().lower()[:3]
        if day not in WEEKDAYS:
            raise ValueError("use a day name such as mon")
        return day

    @field_validator("working_days")
    @classmethod
    def _weekdays(cls, value: str) -> str:
        days = [d.strip().lower()[:3] for d in value.split(",") if d.strip()]
        unknown = [d for d in days if d not in WEEKDAYS]
        if unknown or not days:
            raise ValueError(f"use names like mon,tue,wed,thu,fri (not {', '.join(unknown)})")
        return ",".join(days)

    @field_validator("holiday_country", "holiday_subdivision", "sop_file", "webhook_url",
                     "webhook_secret", mode="before")
    @classmethod
    def _blank_is_none(cls, value: object) -> object:
        return None if isinstance(value, str) and value.strip().lower() in ("", "none") else value

    @field_validator("database_url")
    @classmethod
    def _async_driver(cls, value: str) -> str:
        """Accept plain sqlite:// and postgresql:// URLs and pick the async driver for them."""
        if value.startswith("sqlite:"):
            return "sqlite+aiosqlite:" + value.removeprefix("sqlite:")
        for plain in ("postgresql:", "postgres:"):
            if value.startswith(plain):
                return "postgresql+psycopg:" + value.removeprefix(plain)
        try:
            backend = make_url(value).get_backend_name()
        except ArgumentError as exc:
            raise ValueError("not a database URL (e.g. sqlite:///ikabot.db)") from exc
        if backend not in ("sqlite", "postgresql"):
            raise ValueError(f"ikabot stores its data in SQLite or PostgreSQL, not {backend}")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> Settings:
        if self.office_end <= self.office_start:
            raise ValueError("OFFICE_END must be later than OFFICE_START")
        if self.holiday_country is not None:
            try:  # fail at start, not at the first reminder, for a country `holidays` lacks
                holidays.country_holidays(self.holiday_country, subdiv=self.holiday_subdivision)
            except NotImplementedError as exc:
                raise ValueError(f"HOLIDAY_COUNTRY/HOLIDAY_SUBDIVISION: {exc}") from exc
        return self

    def reminder_policy(self) -> ReminderPolicy:
        """The reminder policy these settings describe."""
        return ReminderPolicy.from_names(self.reminder_days_before,
                                         self.escalate_from_overdue_day, self.digest_day)

    def calendar(self) -> OfficeCalendar:
        """The office calendar these settings describe."""
        return OfficeCalendar(
            tz=ZoneInfo(self.timezone),
            office_start=self.office_start,
            office_end=self.office_end,
            working_weekdays=frozenset(WEEKDAYS.index(d) for d in self.working_days.split(",")),
            holiday_country=self.holiday_country,
            holiday_subdivision=self.holiday_subdivision,
        )

    def bot_api_url(self) -> str:
        """`<root>/bot`: PTB appends the token, as a local Bot API server expects."""
        return self.telegram_base_url.rstrip("/") + "/bot"

    def bot_file_url(self) -> str:
        """`<root>/file/bot`: PTB appends the token."""
        return self.telegram_base_url.rstrip("/") + "/file/bot"
