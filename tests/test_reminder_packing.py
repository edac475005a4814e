"""A chat owed many reminders at once gets as few messages as Telegram allows: 50 due cases in
one message with their 100 buttons, each case on one line; a few cases keep their full lines."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime, timedelta

import pytest
from sqlalchemy.engine import URL

from bot.app import build_application
from bot.context import IkaApplication
from bot.fake_telegram import FakeTelegram, World
from bot.settings import Settings
from bot.text import shown_length
from handlers.reminders import sweep
from storage.models import Division, DivisionKind
from tests.builders import KL
from tests.seeding import opened, store

TOKEN = "123456:TEST-token-for-packing"
REGISTERED = datetime(2026, 9, 1, 10, 0, tzinfo=KL)  # a Tuesday
CHATS = {"D01": (-1004000000001, "ms", 50), "D02": (-1004000000002, "en", 50),
         "D03": (-1004000000003, "ms", 3)}
LONG_TITLE = ("Memorandum Persefahaman antara Kementerian Dalam Negeri Malaysia dan Kementerian "
              "Keselamatan Awam mengenai kerjasama pencegahan jenayah rentas sempadan")


async def _seed(app: IkaApplication) -> datetime:
    """Each division's cases at step 2 since this morning; the moment "due today" is due."""
    services = app.services
    cases = ((f"IKA-2026-{code[1:]}{k:03d}", f"{LONG_TITLE} ({k})", code)
             for code, (_, _, count) in CHATS.items() for k in range(1, count + 1))
    outcomes = opened(services.procedure, cases, REGISTERED)
    async with services.sessions() as session, session.begin():
        session.add_all(Division(code=code, kind=DivisionKind.DIVISION.value,
                                 name_ms=f"Bahagian {code}", name_en=f"Division {code}",
                                 chat_id=chat_id, language=lang)
                        for code, (chat_id, lang, _) in CHATS.items())
        await session.flush()
        due = await store(session, outcomes, REGISTERED)
    return due - timedelta(hours=6)


@pytest.fixture
async def swept(database_url: URL) -> AsyncIterator[World]:
    """The morning's reminders swept once, against the fake (which enforces Telegram's limits
    on a message's length and its buttons)."""
    async with FakeTelegram(TOKEN) as tg:
        for code, (chat_id, _, _) in CHATS.items():
            tg.world.add_group(chat_id, f"IKA {code}", bot_member=True)
        settings = Settings(_env_file=None,  # type: ignore[call-arg]
                            telegram_bot_token=TOKEN, telegram_base_url=tg.base_url,
                            database_url=database_url.render_as_string(hide_password=False),
                            reminder_days_before=0, rate_limit_per_second=10_000,
                            rate_limit_chat_per_second=10_000)
        app = build_application(settings)
        try:
            now = await _seed(app)
            await app.bot.initialize()
            report = await sweep(app.bot, app.services, holder="packing", now=now)
            assert report.claimed == sum(count for _, _, count in CHATS.values())
            assert not report.failed and not report.postponed
            yield tg.world
        finally:
            await app.bot.shutdown()
            await app.services.engine.dispose()


async def test_fifty_due_cases_go_in_one_message_with_their_hundred_buttons(
        swept: World) -> None:
    for code, lang, step, button in (("D01", "ms", "Langkah 2", "✅ Laporkan selesai"),
                                     ("D02", "en", "Step 2", "✅ Report done")):
        chat_id = CHATS[code][0]
        (message,) = swept.messages(chat_id)
        lines = [line for line in (message.text or "").splitlines()[1:] if line]
        assert len(lines) == 50 and shown_length(message.text or "") <= 4096
        for k, line in enumerate(sorted(lines), start=1):
            ref = f"IKA-2026-{code[1:]}{k:03d}"
            assert line.startswith(f"{ref} · {step} · ")
            assert line.endswith("…")  # the title's start, cut
        assert all(("tarikh akhir hari ini" if lang == "ms" else "due today") in line
                   for line in lines)
        buttons = [label for row in message.buttons for label, _ in row]
        assert len(buttons) == 100
        assert sum(label.startswith(button) for label in buttons) == 50


async def test_a_few_due_cases_keep_their_full_lines(swept: World) -> None:
    (message,) = swept.messages(CHATS["D03"][0])
    text = message.text or ""
    assert text.count(LONG_TITLE) == 3
    assert text.count("Langkah 2: ") == 3 and text.count("Tarikh akhir ialah hari ini") == 3
