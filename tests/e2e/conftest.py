"""End-to-end: the real Application, polling over real HTTP a Bot API fake on loopback."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy.engine import URL

from bot.app import build_application, serving
from bot.context import IkaApplication
from bot.fake_telegram import FakeTelegram
from bot.fake_telegram.world import User as TgUser
from bot.fake_telegram.world import World
from bot.settings import Settings
from storage.db import make_engine, session_factory
from storage.migrate import upgrade
from storage.org import import_org
from tests.builders import KL
from tests.conftest import empty_postgres

TOKEN = "123456:TEST-token-for-the-fake-api"
ORG_FILE = Path(__file__).parents[2] / "org.example.toml"
# The org file's group chats and people (see org.example.toml).
CHATS = {"AB": -1001000000001, "BKKA": -1001000000002, "BPI": -1001000000003,
         "BDP": -1001000000004}
PEOPLE = {9001: "Admin", 1001: "Aminah", 1002: "Badrul", 2001: "Chong", 2002: "Devi",
          2003: "Ehsan", 3001: "KSU", 3002: "TKSU", 4001: "Farah"}


@dataclass
class Clock:
    """A clock the test moves by hand."""

    now: datetime = field(default_factory=lambda: datetime(2026, 9, 1, 10, 0, tzinfo=KL))

    def __call__(self) -> datetime:
        return self.now


@dataclass
class Stage:
    """Everything but ikabot: the fake Telegram with the example org's people and chats, the
    clock, and the settings to build ikabot with (on a migrated, imported database)."""

    world: World
    users: dict[int, TgUser]
    clock: Clock
    settings: Settings

    def user(self, telegram_id: int) -> TgUser:
        return self.users[telegram_id]


@dataclass
class Bot(Stage):
    """What an end-to-end test works with: the stage, and ikabot running on it."""

    app: IkaApplication


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def stage_database(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The stage's database URL: a SQLite file; the PostgreSQL test database, emptied, for a
    test parametrized ``@pytest.mark.parametrize("stage_database", ["postgresql"],
    indirect=True)``."""
    if getattr(request, "param", "sqlite") == "postgresql":
        database: URL = request.getfixturevalue("_postgres_database")
        empty_postgres(database)
        return database.render_as_string(hide_password=False)
    return f"sqlite+aiosqlite:///{tmp_path / 'ikabot.db'}"


@pytest.fixture
async def stage(stage_database: str, tmp_path: Path, clock: Clock,
                monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Stage]:
    """The stage with ikabot not running: a test that stops and restarts ikabot serves it
    itself, ``async with serving(build_application(stage.settings, clock=stage.clock))``."""
    monkeypatch.chdir(tmp_path)  # no stray .env or ikabot.db from the developer's tree
    url = stage_database
    engine = make_engine(url)
    await upgrade(engine)
    await import_org(ORG_FILE, session_factory=session_factory(engine))
    await engine.dispose()
    async with FakeTelegram(TOKEN) as tg:
        world = tg.world
        users = {uid: world.add_user(uid, name) for uid, name in PEOPLE.items()}
        for uid in users:
            world.chats[uid].started = True  # each has written to the bot before
        for code, chat_id in CHATS.items():
            members = [u for u in users.values()]
            world.add_group(chat_id, f"IKA {code}", members=members, bot_member=True)
        settings = Settings(
            _env_file=None,  # type: ignore[call-arg]
            telegram_bot_token=TOKEN,
            telegram_base_url=tg.base_url,
            database_url=url,
            documents_dir=tmp_path / "documents",
            rate_limit_group_per_minute=1000,
            rate_limit_chat_per_second=1000,
            sweep_interval_seconds=3600,  # tests sweep by hand, on their own clock
        )
        yield Stage(world, users, clock, settings)


@pytest.fixture
async def bot(stage: Stage) -> AsyncIterator[Bot]:
    """ikabot running against the fake, with the example org and everyone's chats open."""
    application = build_application(stage.settings, clock=stage.clock)
    async with serving(application):
        yield Bot(stage.world, stage.users, stage.clock, stage.settings, application)
