"""What every handler and job needs, built once per application and handed to them."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncEngine

from bot.domain.deadlines import Procedure
from bot.i18n import Translator, Translators
from bot.settings import Settings
from storage.cases import Sessions
from storage.db import read_session_factory
from storage.leader import Leadership
from storage.org_cache import OrgCache

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    """The real clock: now, aware, in UTC."""
    return datetime.now(UTC)


@dataclass
class Services:
    """The app's long-lived parts: settings, the SOP, translations, the database, the clock."""

    settings: Settings
    procedure: Procedure
    translators: Translators
    engine: AsyncEngine
    sessions: Sessions
    leadership: Leadership  # the right to serve the database, taken before reading it
    clock: Clock = utc_now
    # Wakes the outbox's sweep after a change wrote messages; the sweep sets it once running.
    wake_outbox: Callable[[], None] = lambda: None
    # Sessions that only read (no write lock on SQLite), and the org kept in memory.
    readers: Sessions = field(init=False)
    org: OrgCache = field(init=False)

    def __post_init__(self) -> None:
        self.readers = read_session_factory(self.engine)
        self.org = OrgCache(self.readers)

    def now(self) -> datetime:
        """The current moment, from the injected clock."""
        return self.clock()

    def translator(self, lang: str | None) -> Translator:
        """The translator for ``lang`` (the default language for anything else)."""
        return self.translators.get(lang)

    @property
    def documents_dir(self) -> Path:
        """Where received documents are copied."""
        return self.settings.documents_dir
