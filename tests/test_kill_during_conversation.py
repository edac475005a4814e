"""A kill -9 a moment after a conversation's question loses nothing: `ikabot run` for real."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

from bot.fake_telegram import FakeTelegram
from tests.conftest import ORG_EXAMPLE
from tests.test_cli import ikabot
from tests.test_leader import STARTED, TOKEN, Instance

AMINAH = 1001  # an AB officer in the example org, who writes Malay
# PTB's own writes come every 5 s: a state stored well within that was written after its update.
WRITTEN_WITHIN = 2.0


async def _stored_states(db: Path) -> list[tuple[str, str]]:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + WRITTEN_WITHIN
    while True:
        with sqlite3.connect(db) as connection:
            rows = connection.execute("SELECT name, state FROM conversation_states").fetchall()
        if rows or loop.time() > deadline:
            return [(str(name), str(state)) for name, state in rows]
        await asyncio.sleep(0.02)


async def test_a_registration_killed_a_moment_after_its_question_goes_on(
        tmp_path: Path) -> None:
    imported = await asyncio.to_thread(ikabot, tmp_path, "org", "import", str(ORG_EXAMPLE))
    assert imported.returncode == 0, imported.stderr
    async with FakeTelegram(TOKEN) as tg:
        world = tg.world
        aminah = world.add_user(AMINAH, "Aminah")
        world.chats[AMINAH].started = True
        first = await Instance.start(tmp_path, TELEGRAM_BASE_URL=tg.base_url)
        try:
            await world.wait_for(lambda: world.polling, timeout=STARTED, what="the bot polls")
            await world.send_text(aminah, "/new")
            await world.wait_for_message(AMINAH, contains="IKA baharu", timeout=30)
            assert await _stored_states(tmp_path / "ikabot.db") == [("new_case", '"title"')]
        finally:
            first.kill()  # SIGKILL: no shutdown, no last write of the persistence
            await first.finish()
        second = await Instance.start(tmp_path, TELEGRAM_BASE_URL=tg.base_url)
        try:
            await world.wait_for(lambda: world.polling, timeout=STARTED, what="the bot polls")
            await world.send_text(aminah, "MoU kerjasama keselamatan sempadan")
            await world.wait_for_message(AMINAH, contains="instrumen", timeout=30)
        finally:
            assert await second.stop() == 0, second.log
