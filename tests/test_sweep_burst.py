"""A morning burst: 1,000 due nudges over 200 chats, swept by two instances at once, each on
its own engine (as two processes would be) against one fake Telegram. Every nudge goes out once,
and every chat gets one message; with Telegram answering 429, nothing is lost either."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime, timedelta

import pytest
from sqlalchemy.engine import URL

from bot.app import build_application, build_services
from bot.context import IkaApplication
from bot.fake_telegram import FakeTelegram, World
from bot.services import Services
from bot.settings import Settings
from handlers.reminders import SweepReport, sweep
from storage.models import Division, DivisionKind
from storage.nudges import rows_for
from tests.builders import KL
from tests.seeding import opened, store

TOKEN = "123456:TEST-token-for-the-burst"
CHATS = 200
CASES_PER_CHAT = 5  # one nudge each: 1,000 in all
AB_CHAT = -1002000000000
REGISTERED = datetime(2026, 9, 1, 10, 0, tzinfo=KL)  # a Tuesday


def division_chat(n: int) -> int:
    return AB_CHAT - n


@dataclass
class Instance:
    """One of the two ikabots: its own services (engine, sessions) and its own Bot."""

    holder: str
    app: IkaApplication

    @property
    def services(self) -> Services:
        return self.app.services

    async def sweep(self, now: datetime) -> SweepReport:
        return await sweep(self.app.bot, self.services, holder=self.holder, now=now)


async def _seed(services: Services) -> datetime:
    """200 divisions with their chats and five cases each, at step 2 since this morning; the
    moment their "due today" nudges (one per case) are all due.

    The rules open the cases; their rows are written in bulk, as save_outcome would write them
    one by one, and their nudges planned by storage's own ``plan``.
    """
    outcomes = opened(services.procedure, ((f"IKA-2026-{n:03d}{k}", f"MOU {n}.{k}", f"D{n:03d}")
                                           for n in range(1, CHATS + 1)
                                           for k in range(1, CASES_PER_CHAT + 1)), REGISTERED)
    async with services.sessions() as session, session.begin():
        session.add(Division(code="AB", kind=DivisionKind.AB.value, name_ms="Bahagian AB",
                             name_en="AB", chat_id=AB_CHAT))
        session.add_all(Division(code=f"D{n:03d}", kind=DivisionKind.DIVISION.value,
                                 name_ms=f"Bahagian {n}", name_en=f"Division {n}",
                                 chat_id=division_chat(n)) for n in range(1, CHATS + 1))
        await session.flush()
        due = await store(session, outcomes, REGISTERED)  # all due the same afternoon
    return due - timedelta(hours=6)  # that morning, in office hours: "due today" is due


@pytest.fixture
async def world() -> AsyncIterator[tuple[World, str]]:
    """The fake Telegram, with AB's and the 200 divisions' group chats."""
    async with FakeTelegram(TOKEN) as tg:
        tg.world.add_group(AB_CHAT, "IKA AB", bot_member=True)
        for n in range(1, CHATS + 1):
            tg.world.add_group(division_chat(n), f"IKA D{n:03d}", bot_member=True)
        yield tg.world, tg.base_url


@pytest.fixture
async def instances(database_url: URL, world: tuple[World, str]
                    ) -> AsyncIterator[tuple[Instance, Instance, datetime]]:
    """Two ikabots on the seeded database; the moment the burst is due."""
    _, base_url = world
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        telegram_bot_token=TOKEN,
        telegram_base_url=base_url,
        database_url=database_url.render_as_string(hide_password=False),
        reminder_days_before=0,  # only "due today": one nudge per case
        rate_limit_per_second=10_000,  # the burst, not Telegram's pace, is under test
        rate_limit_chat_per_second=10_000,
        telegram_max_retries=1,  # the sweep never retries a 429: the nudges wait for a later sweep
    )
    apps = [build_application(settings, services=build_services(settings)) for _ in range(2)]
    try:
        due = await _seed(apps[0].services)
        for app in apps:
            await app.bot.initialize()
        yield Instance("sweeper-a", apps[0]), Instance("sweeper-b", apps[1]), due
    finally:
        for app in apps:
            await app.bot.shutdown()
            await app.services.engine.dispose()


def _sends_per_chat(world: World) -> Counter[int]:
    return Counter(int(str(params["chat_id"])) for params in world.calls("sendMessage"))


async def _rows_are_sent_once(instance: Instance, now: datetime) -> None:
    """Every nudge due by ``now`` is marked sent, with its message; the later ones wait."""
    async with instance.services.sessions() as session:
        rows = await rows_for(session=session)
    due = [row for row in rows if row.due_at <= now]
    assert len(due) == CHATS * CASES_PER_CHAT
    assert all(row.sent_at is not None and row.message_id is not None for row in due)
    assert Counter(row.target for row in due) == Counter(
        {f"division:D{n:03d}": CASES_PER_CHAT for n in range(1, CHATS + 1)})
    assert not [row for row in rows if row.due_at > now and row.sent_at is not None]


async def test_two_sweepers_deliver_a_burst_once_one_message_per_chat(
        instances: tuple[Instance, Instance, datetime], world: tuple[World, str]) -> None:
    first, second, now = instances
    fake, _ = world
    reports = await asyncio.gather(first.sweep(now), second.sweep(now))

    # A claim takes up to CLAIM_BATCH nudges (whole chats): whichever sweeper claims first may
    # hold the whole burst, and the other then finds nothing free. Never both the same row.
    assert sum(r.claimed for r in reports) == CHATS * CASES_PER_CHAT
    assert sum(r.messages for r in reports) == CHATS
    await _rows_are_sent_once(first, now)
    sends = _sends_per_chat(fake)
    assert sends == Counter({division_chat(n): 1 for n in range(1, CHATS + 1)})
    for n in (1, 77, CHATS):
        (message,) = fake.messages(division_chat(n))
        assert message.text.count("IKA-2026-") == CASES_PER_CHAT
        assert len(message.buttons) == CASES_PER_CHAT  # a "report done" button per case
    # Nothing is left for a later sweep, by either.
    later = now + timedelta(minutes=1)
    assert [r.claimed for r in await asyncio.gather(first.sweep(later), second.sweep(later))
            ] == [0, 0]


async def test_a_burst_under_429s_loses_nothing_and_sends_nothing_twice(
        instances: tuple[Instance, Instance, datetime], world: tuple[World, str]) -> None:
    first, second, now = instances
    fake, _ = world
    # The first six sends are refused "Too Many Requests, retry after 1": the sweep hands
    # those chats back at once (no retry that would stall the others), for a later sweep.
    fake.fail_next("sendMessage", status=429, retry_after=1, count=6)
    reports = await asyncio.gather(first.sweep(now), second.sweep(now))
    assert sum(r.claimed for r in reports) == CHATS * CASES_PER_CHAT
    postponed = sum(r.postponed for r in reports)
    assert postponed  # some chats' nudges were handed back…
    assert sum(r.messages for r in reports) < CHATS

    later = now
    for _ in range(5):  # …and later sweeps send them
        later += timedelta(seconds=2)
        again = await asyncio.gather(first.sweep(later), second.sweep(later))
        if not any(r.claimed for r in again):
            break
        reports.extend(again)
    assert sum(r.messages for r in reports) == CHATS
    assert sum(r.claimed for r in reports) == CHATS * CASES_PER_CHAT + postponed

    await _rows_are_sent_once(first, later)
    refused = [e for e in fake.errors if e[0] == "sendMessage"]
    assert len(refused) == 6 and {status for _, status, _ in refused} == {429}
    assert sum(_sends_per_chat(fake).values()) == CHATS + len(refused)
    for n in range(1, CHATS + 1):
        assert len(fake.messages(division_chat(n))) == 1, n  # delivered, and only once
