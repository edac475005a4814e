"""What an update costs the database: statements and sessions per kind of update.

Counted with SQLAlchemy's events on ikabot's own engine while the real application serves the
fake Telegram, so that a change that makes an update read more (a query per case, a session per
lookup, a write lock taken to read) fails here.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import event

from bot.callbacks import Choice, Report, encode
from tests.e2e.conftest import CHATS, Bot
from tests.e2e.test_status import at, register

AMINAH, CHONG, STRANGER = 1001, 2001, 5555
CONTROL = ("BEGIN", "COMMIT", "ROLLBACK")


@dataclass
class Costs:
    """Statements (without BEGIN/COMMIT/ROLLBACK), connections checked out, write locks."""

    statements: list[str] = field(default_factory=list)
    sessions: int = 0
    write_locks: int = 0

    def reset(self) -> None:
        self.statements.clear()
        self.sessions = self.write_locks = 0


@contextmanager
def counting(bot: Bot) -> Iterator[Costs]:
    engine = bot.app.services.engine.sync_engine
    costs = Costs()

    def on_statement(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if statement.startswith("BEGIN IMMEDIATE"):
            costs.write_locks += 1
        if not statement.startswith(CONTROL):
            costs.statements.append(statement)

    def on_checkout(*_args: Any) -> None:
        costs.sessions += 1

    event.listen(engine, "before_cursor_execute", on_statement)
    event.listen(engine.pool, "checkout", on_checkout)
    try:
        yield costs
    finally:
        event.remove(engine, "before_cursor_execute", on_statement)
        event.remove(engine.pool, "checkout", on_checkout)


async def cost_of(bot: Bot, costs: Costs, update: Callable[[], Awaitable[object]]) -> Costs:
    """What ``update`` cost, up to the moment it was handled in full.

    Updates are handled one after another, so once a stranger's message sent afterwards is
    answered the update before it is done; the stranger's own answer reads nothing (the org
    is in memory), which the counts below include and so prove as well.
    """
    costs.reset()
    await update()
    await bot.world.send_text(bot.world.users[STRANGER], "/status")
    await bot.world.wait_for_message(STRANGER, "5555")
    return Costs(list(costs.statements), costs.sessions, costs.write_locks)


async def test_statements_and_sessions_per_kind_of_update(bot: Bot) -> None:
    refs = [await register(bot, f"MoU {n}", date(2026, 9, 1), at(date(2026, 9, 1)))
            for n in range(30)]
    ab_step = await register(bot, "MoU AB", date(2026, 9, 1), at(date(2026, 9, 1)),
                             inform=False)
    world, group = bot.world, CHATS["AB"]
    world.add_user(STRANGER, "Stranger")
    world.chats[STRANGER].started = True

    async def say(who: int, text: str, chat: int | None = None) -> None:
        await world.send_text(bot.user(who), text, chat=chat)
        await world.wait_for_message(chat or who)

    # The registrations woke the outbox: its sweep (the cases' cards, at Telegram's pace) is
    # let finish first, so that what it reads is not counted as an update's.
    await bot.app.sweeper.idle()  # type: ignore[attr-defined]
    with counting(bot) as costs:
        await say(AMINAH, "/status")  # warms the org cache, as the first update after start does
        listed = await cost_of(bot, costs, lambda: say(AMINAH, "/status", group))
        # the count, and the page with each case's current step: whatever the page's size
        assert len(listed.statements) == 2 and listed.sessions == 1, listed.statements
        assert listed.write_locks == 0  # reads never take SQLite's write lock

        page = world.messages(group)[-1]

        async def turn() -> None:
            before = page.text
            await world.tap(bot.user(AMINAH), page, page.data_for("▶"))
            await world.wait_for(lambda: page.text != before, what="page 2")

        turned = await cost_of(bot, costs, turn)
        assert (len(turned.statements), turned.sessions, turned.write_locks) == (2, 1, 0)

        one = await cost_of(bot, costs, lambda: say(AMINAH, f"/status {refs[0]}"))
        # The case with its history and its target date (for the forecast) in one statement;
        # how long steps took is read at most every ten minutes (handlers.reports.read_history).
        assert (len(one.statements), one.sessions, one.write_locks) == (1, 1, 0), one.statements

        done = await cost_of(bot, costs, lambda: say(CHONG, "/done"))
        assert (len(done.statements), done.sessions, done.write_locks) == (2, 1, 0)

        text = await cost_of(bot, costs, lambda: world.send_text(
            bot.user(CHONG), "terima kasih", chat=CHATS["BKKA"]))
        assert (len(text.statements), text.sessions) == (0, 0)  # nobody to answer: no query

        card = await say_and_get_card(bot, ab_step)

        async def tap_done() -> None:
            await world.tap(bot.user(AMINAH), card, encode(Report(ab_step, "receive")))
            await world.wait_for(lambda: card.buttons == [], what="the card's buttons gone")

        # The tap's own cost: what the change tells the chats is the outbox's, sent by the
        # sweep it wakes (measured by bench/sweep.py), so the sweep waits till after.
        wake = bot.app.services.wake_outbox
        bot.app.services.wake_outbox = lambda: None
        tapped = await cost_of(bot, costs, tap_done)
        bot.app.services.wake_outbox = wake
        # The change, its events and its outbox rows: one session, one write lock.
        assert tapped.write_locks == 1 and tapped.sessions == 1, tapped.statements
        await bot.app.sweeper.run()  # type: ignore[attr-defined]  # its messages, out now

        await say(AMINAH, "/lang")
        choice = world.messages(AMINAH)[-1]

        async def choose_english() -> None:
            await world.tap(bot.user(AMINAH), choice, encode(Choice("lang", "en")))
            await world.wait_for(lambda: "English" in (choice.text or ""), what="language set")

        changed = await cost_of(bot, costs, choose_english)
        after = await cost_of(bot, costs, lambda: say(AMINAH, "/status"))
        # /lang changed a user: the next update (here the stranger's) reads the org again, once
        assert changed.write_locks == 1 and changed.sessions == 2
        assert [s for s in changed.statements if "FROM divisions" in s or "FROM users" in s]
        assert (len(after.statements), after.sessions, after.write_locks) == (2, 1, 0)
        assert (world.messages(AMINAH)[-1].text or "").startswith("31 open cases")


async def say_and_get_card(bot: Bot, ref: str) -> Any:
    """A message in AB's group with the button that reports step 1 of ``ref`` done."""
    await bot.world.send_text(bot.user(AMINAH), "/done", chat=CHATS["AB"])
    message = await bot.world.wait_for_message(CHATS["AB"], "?")
    assert any(data == encode(Report(ref, "receive")) for row in message.buttons
               for _, data in row)
    return message
