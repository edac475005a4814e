"""Crashes during a burst, with real processes: 500 cards owed, `ikabot run` killed with
SIGKILL five times while it sends them. Nothing is lost, each kill re-sends at most one
message a chat, and everything is delivered within two minutes of the last restart.

What "at most one duplicate per kill" can honestly mean here. The sweep sends to many chats
at once (every chat's first message before any chat's second, at Telegram's pace), and marks
what Telegram accepted in batches (handlers/reminders.py ``_Marks``: one write for the chats'
sends of the same 50 ms, and a chat's next send waits for its last one's mark). A kill
therefore leaves unmarked at most one message in each chat that had one in flight, and that
one is sent again by the next process (Telegram offers no idempotency key to prevent it).
Several chats' sends are in flight at any moment, so one kill can re-send one message in each
of several chats: a bound of one duplicate per kill in all would need one message in flight
at a time, a fraction of Telegram's pace. The test asserts the strongest bound that holds:
for every kill and every chat, at most one card the killed process sent reaches that chat
again; no process sends a card twice by itself; so every duplicate is one kill's, and a chat
sees at most one duplicate per kill. It prints how many each kill caused (a few to a few
dozen, out of the 100 chats).

Every process claims with a 5-second lease so that the test stays fast (the default minute at
every kill would make it five minutes long; the mechanism is the same). The last one runs with
the default tick, a minute: what the last kill held comes back when its lease runs out, the
sweeper waking then rather than at its next tick, well within two minutes of the restart.
"""

from __future__ import annotations

import asyncio
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
SHORT_LEASE = 5  # SWEEP_LEASE_SECONDS of every process: the test stays fast
DEFAULT_TICK = Settings.model_fields["sweep_interval_seconds"].default  # the last process's
SETTLE = 0.2  # seconds for the fake to finish answering what a killed process had asked
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


def _sent(world: World) -> dict[int, list[str]]:
    """The cards each division's chat has received, in order (by case reference)."""
    return {n: [ref for message in world.messages(chat_of(n))
                if (ref := next((w for w in message.text.split() if w.startswith("IKA-")),
                                None)) is not None]
            for n in range(1, CHATS + 1)}


def _cards(world: World) -> Counter[str]:
    """How often each case's step-2 card reached its division's chat."""
    return Counter(ref for refs in _sent(world).values() for ref in refs)


async def _delivered(world: World, at_least: int, timeout: float) -> None:
    await world.wait_for(lambda: sum(_cards(world).values()) >= at_least or None,
                         timeout=timeout, what=f"{at_least} cards delivered")


def _resent_by_kill(sent: dict[int, list[str]], at_kills: list[dict[int, int]]
                    ) -> list[dict[int, int]]:
    """For each kill, per chat, how many cards the killed process sent that reached the chat
    again later; checking that no process sent a card twice by itself."""
    resent: list[dict[int, int]] = []
    bounds = [{n: 0 for n in sent}, *at_kills, {n: len(refs) for n, refs in sent.items()}]
    for before, after in zip(bounds, bounds[1:], strict=False):
        for n, refs in sent.items():
            own = refs[before[n]:after[n]]
            assert len(set(own)) == len(own), (n, own)  # a process never sends a card twice
    for before, at_kill in zip(bounds, at_kills, strict=False):
        resent.append({n: len(set(refs[before[n]:at_kill[n]]) & set(refs[at_kill[n]:]))
                       for n, refs in sent.items()})
    return resent


async def test_five_kills_during_a_burst_lose_nothing_and_resend_at_most_one_a_chat_each(
        tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'ikabot.db'}"
    await _seed(url)
    world = World(TOKEN)
    for n in range(1, CHATS + 1):
        world.add_group(chat_of(n), f"IKA D{n:03d}", bot_member=True)
    world.add_group(AB_CHAT, "IKA AB", bot_member=True)
    fast = {"SWEEP_LEASE_SECONDS": str(SHORT_LEASE), "SWEEP_INTERVAL_SECONDS": "1"}
    running: list[Instance] = []
    duplicates_after: list[int] = []
    at_kills: list[dict[int, int]] = []
    try:
        async with FakeTelegram(world=world) as api:
            for n, after in enumerate(KILLS_AFTER):
                instance = await Instance.start(tmp_path / f"run{n}", DATABASE_URL=url,
                                                TELEGRAM_BASE_URL=api.base_url, **fast)
                running.append(instance)
                await _delivered(world, after, STARTED)
                instance.process.send_signal(signal.SIGKILL)
                killed = time.monotonic()
                assert await instance.finish() == -signal.SIGKILL
                await asyncio.sleep(SETTLE)
                at_kills.append({k: len(refs) for k, refs in _sent(world).items()})
                duplicates_after.append(sum(c - 1 for c in _cards(world).values()))
            last = await Instance.start(tmp_path / "last", DATABASE_URL=url,
                                        TELEGRAM_BASE_URL=api.base_url,
                                        SWEEP_LEASE_SECONDS=str(SHORT_LEASE))  # default tick
            running.append(last)
            await last.wait_for_line("ikabot is ready", STARTED)
            restarted = time.monotonic()
            await world.wait_for(lambda: len(_cards(world)) == CHATS * CASES_PER_CHAT or None,
                                 timeout=120, what="every card delivered")
            done = time.monotonic()
            within, held_back = done - restarted, done - killed
            assert await last.stop() == 0, last.log
    finally:
        for instance in running:
            instance.kill()
    cards = _cards(world)
    assert len(cards) == CHATS * CASES_PER_CHAT  # none lost
    # Each kill re-sends at most what it had sent and not yet marked: one card a chat.
    resent = _resent_by_kill(_sent(world), at_kills)
    assert all(count <= 1 for by_chat in resent for count in by_chat.values()), resent
    per_chat: Counter[int] = Counter()
    for n in range(1, CHATS + 1):
        refs = Counter(next(w for w in m.text.split() if w.startswith("IKA-"))
                       for m in world.messages(chat_of(n)) if "IKA-" in m.text)
        per_chat[n] = sum(c - 1 for c in refs.values())
    assert max(per_chat.values()) <= len(KILLS_AFTER)
    assert sum(per_chat.values()) == sum(c - 1 for c in cards.values())
    # every duplicate is one kill's re-send
    assert sum(sum(by_chat.values()) for by_chat in resent) == sum(per_chat.values())
    # What the last kill held came back when its lease ran out, the sweeper woken then rather
    # than at its first tick a minute on, and went out at Telegram's pace (a few seconds).
    assert held_back < SHORT_LEASE + 20 < DEFAULT_TICK, held_back
    assert within < 120  # delivered within two minutes of the last restart
    services = build_services(Settings(_env_file=None,  # type: ignore[call-arg]
                                       telegram_bot_token=TOKEN, database_url=url))
    async with services.sessions() as session:
        rows = (await session.exec(select(NudgeRow).where(NudgeRow.kind == "card"))).all()
    await services.engine.dispose()
    assert len(rows) == CHATS * CASES_PER_CHAT and all(r.sent_at is not None for r in rows)
    # What each kill left to re-send, for whoever reads the test's output (-s).
    print(f"duplicates after each kill: {duplicates_after}; re-sent by each kill: "
          f"{[sum(by_chat.values()) for by_chat in resent]}; every card delivered "
          f"{held_back:.1f} s after the last kill, {within:.1f} s after the last restart")
