"""Crashes during a burst, with real processes: 500 cards owed, `ikabot run` killed with
SIGKILL five times while it sends them. Nothing is lost, a crash re-sends at most one message
a chat (the one it had sent but not yet marked), and everything is delivered soon after the
last restart, once the dead processes' leases run out."""

from __future__ import annotations

import signal
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

from sqlmodel import select

from bot.app import build_services
from bot.domain.case import Actor, Instrument, Level, Role, Source
from bot.domain.rules import CompleteStep, NewCase, Outcome, apply, register_case
from bot.fake_telegram import FakeTelegram, World
from bot.settings import Settings
from storage.cases import create_case
from storage.migrate import upgrade
from storage.models import Division, DivisionKind, NudgeRow
from tests.test_leader import STARTED, TOKEN, Instance

CHATS, CASES_PER_CHAT = 100, 5  # 500 cards, each its own message
KILLS_AFTER = (30, 110, 190, 270, 350)  # messages delivered when each kill comes
LEASE = 5  # SWEEP_LEASE_SECONDS: what a crash delays the messages it held by
AB_CHAT = -1004000000000
AMINAH = Actor(1001, Role.AB, "AB")


def chat_of(n: int) -> int:
    return AB_CHAT - n


async def _seed(url: str) -> None:
    """100 divisions, five cases each registered now and their lead divisions informed: the
    cards of step 2 are owed, due at once."""
    await upgrade(url)
    settings = Settings(_env_file=None, telegram_bot_token=TOKEN,  # type: ignore[call-arg]
                        database_url=url)
    services = build_services(settings)
    async with services.sessions() as session, session.begin():
        session.add(Division(code="AB", kind=DivisionKind.AB.value, name_ms="Bahagian AB",
                             name_en="AB", chat_id=AB_CHAT))
        session.add_all(Division(code=f"D{n:03d}", kind=DivisionKind.DIVISION.value,
                                 name_ms=f"Bahagian {n}", name_en=f"Division {n}",
                                 chat_id=chat_of(n)) for n in range(1, CHATS + 1))
    now = datetime.now(UTC)
    for n in range(1, CHATS + 1):
        for k in range(CASES_PER_CHAT):
            def build(ref: str, n: int = n, k: int = k) -> Outcome:
                new = NewCase(ref, f"MOU {n}.{k}", Instrument.MOU, Level.BILATERAL, ("ID",),
                              Source.KLN, f"D{n:03d}", now.date())
                registered = register_case(new, actor=AMINAH, now=now,
                                           procedure=services.procedure)
                return registered.then(apply(registered.case, CompleteStep("receive"),
                                             actor=AMINAH, now=now,
                                             procedure=services.procedure))

            await create_case(sessions=services.sessions, year=now.year, build=build)
    await services.engine.dispose()


def _cards(world: World) -> Counter[str]:
    """How often each case's step-2 card reached its division's chat."""
    cards: Counter[str] = Counter()
    for n in range(1, CHATS + 1):
        for message in world.messages(chat_of(n)):
            ref = next((w for w in message.text.split() if w.startswith("IKA-")), None)
            if ref is not None:
                cards[ref] += 1
    return cards


async def _delivered(world: World, at_least: int, timeout: float) -> None:
    await world.wait_for(lambda: sum(_cards(world).values()) >= at_least or None,
                         timeout=timeout, what=f"{at_least} cards delivered")


async def test_five_kills_during_a_burst_lose_nothing_and_resend_at_most_one_a_chat(
        tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'ikabot.db'}"
    await _seed(url)
    world = World(TOKEN)
    for n in range(1, CHATS + 1):
        world.add_group(chat_of(n), f"IKA D{n:03d}", bot_member=True)
    world.add_group(AB_CHAT, "IKA AB", bot_member=True)
    settings = {"DATABASE_URL": url, "SWEEP_LEASE_SECONDS": str(LEASE),
                "SWEEP_INTERVAL_SECONDS": "1"}
    running: list[Instance] = []
    duplicates_after: list[int] = []
    try:
        async with FakeTelegram(world=world) as api:
            for n, after in enumerate(KILLS_AFTER):
                instance = await Instance.start(tmp_path / f"run{n}",
                                                TELEGRAM_BASE_URL=api.base_url, **settings)
                running.append(instance)
                await _delivered(world, after, STARTED)
                instance.process.send_signal(signal.SIGKILL)
                assert await instance.finish() == -signal.SIGKILL
                duplicates_after.append(sum(c - 1 for c in _cards(world).values()))
            last = await Instance.start(tmp_path / "last", TELEGRAM_BASE_URL=api.base_url,
                                        **settings)
            running.append(last)
            await last.wait_for_line("ikabot is ready", STARTED)
            restarted = time.monotonic()
            await world.wait_for(lambda: len(_cards(world)) == CHATS * CASES_PER_CHAT or None,
                                 timeout=120, what="every card delivered")
            within = time.monotonic() - restarted
            assert await last.stop() == 0, last.log
    finally:
        for instance in running:
            instance.kill()
    cards = _cards(world)
    assert len(cards) == CHATS * CASES_PER_CHAT  # none lost
    # A kill re-sends at most what it had sent and not yet marked: one message a chat (a card
    # in flight at two kills may come three times, once more for each).
    per_chat: Counter[int] = Counter()
    for n in range(1, CHATS + 1):
        refs = Counter(next(w for w in m.text.split() if w.startswith("IKA-"))
                       for m in world.messages(chat_of(n)) if "IKA-" in m.text)
        per_chat[n] = sum(c - 1 for c in refs.values())
    assert max(per_chat.values()) <= len(KILLS_AFTER)
    assert sum(per_chat.values()) == sum(c - 1 for c in cards.values())
    assert within < 120  # delivered within two minutes of the last restart
    services = build_services(Settings(_env_file=None,  # type: ignore[call-arg]
                                       telegram_bot_token=TOKEN, database_url=url))
    async with services.sessions() as session:
        rows = (await session.exec(select(NudgeRow).where(NudgeRow.kind == "card"))).all()
    await services.engine.dispose()
    assert len(rows) == CHATS * CASES_PER_CHAT and all(r.sent_at is not None for r in rows)
    # What each kill left to re-send, for whoever reads the test's output (-s).
    print(f"duplicates after each kill: {duplicates_after}; the rest delivered in {within:.1f} s")
