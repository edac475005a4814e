"""A deployment without an org file: the first admin from the command line, and the ids the
bot tells (a stranger's Telegram id, a group's chat id)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from bot.app import build_application, serving
from bot.fake_telegram import FakeTelegram
from bot.settings import Settings
from storage.db import make_engine, session_factory
from storage.migrate import upgrade
from storage.people import add_admin
from tests.e2e.conftest import TOKEN


async def test_a_first_admin_learns_the_ids_from_the_bot(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'ikabot.db'}"
    engine = make_engine(url)
    await upgrade(engine)
    await add_admin(sessions=session_factory(engine), telegram_id=9100, name="Pentadbir",
                    now=datetime(2026, 9, 1, 2, tzinfo=UTC))
    await engine.dispose()
    async with FakeTelegram(TOKEN) as tg:
        admin = tg.world.add_user(9100, "Pentadbir", language_code="ms")
        stranger = tg.world.add_user(9200, "Nur", language_code="en")
        for person in (admin, stranger):
            tg.world.chats[person.id].started = True
        group = tg.world.add_group(-1003000000001, "IKA AB", members=[admin, stranger],
                                   bot_member=True)
        settings = Settings(_env_file=None,  # type: ignore[call-arg]
                            telegram_bot_token=TOKEN, telegram_base_url=tg.base_url,
                            database_url=url, documents_dir=tmp_path / "documents")
        async with serving(build_application(settings)):
            await tg.world.send_text(stranger, "hello")
            told = await tg.world.wait_for_message(stranger.id)
            assert "Telegram ID 9200" in (told.text or "")

            await tg.world.send_text(admin, "/bind", chat=group.id)
            answer = await tg.world.wait_for_message(group.id)
    text = answer.text or ""
    assert "Tiada bahagian lagi" in text and "ikabot org import FILE" in text
    assert "ID sembang kumpulan ini ialah -1003000000001." in text
