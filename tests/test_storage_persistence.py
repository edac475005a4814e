"""PTB's persistence in the database: what one bot process stores, the next one reads back."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

import pytest
from sqlalchemy import event
from sqlalchemy.engine import URL
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession
from telegram.ext import PersistenceInput

from storage.db import make_engine, session_factory
from storage.migrate import upgrade
from storage.models import ChatData, ConversationState, UserData
from storage.persistence import DatabasePersistence

Sessions = async_sessionmaker[AsyncSession]
ADMIN_CHAT = (9001, 9001)  # a private chat's conversation key: (chat id, user id)
GROUP_KEY = (-1001000000002, 2001)
DRAFT = {"invite": {"role": "officer", "division": "BKKA", "names": ["a", "b"]}}


class Clock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = datetime(2026, 9, 1, 2, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


async def rows(sessions: Sessions, table: type[Any]) -> list[Any]:
    async with sessions() as session:
        return list((await session.exec(select(table))).all())


async def test_what_one_process_stores_the_next_reads_back(sessions: Sessions) -> None:
    first = DatabasePersistence(sessions)
    assert first.store_data == PersistenceInput(bot_data=False, callback_data=False)
    await first.update_conversation("invite", ADMIN_CHAT, "name")
    await first.update_conversation("invite", GROUP_KEY, "role")
    await first.update_conversation("report", ADMIN_CHAT, "note")
    await first.update_user_data(9001, DRAFT)
    await first.update_chat_data(-1001000000002, {"page": 2})

    second = DatabasePersistence(sessions)  # the bot, restarted
    assert await second.get_conversations("invite") == {ADMIN_CHAT: "name", GROUP_KEY: "role"}
    assert await second.get_conversations("report") == {ADMIN_CHAT: "note"}
    assert await second.get_conversations("unknown") == {}
    assert await second.get_user_data() == {9001: DRAFT}
    assert await second.get_chat_data() == {-1001000000002: {"page": 2}}
    assert await second.get_bot_data() == {} and await second.get_callback_data() is None


async def test_ended_conversations_and_emptied_data_leave_no_row(sessions: Sessions) -> None:
    persistence = DatabasePersistence(sessions)
    await persistence.update_conversation("invite", ADMIN_CHAT, "division")
    await persistence.update_user_data(9001, DRAFT)
    await persistence.update_user_data(2001, {"x": 1})
    await persistence.update_chat_data(-5, {"y": 1})

    await persistence.update_conversation("invite", ADMIN_CHAT, None)  # the conversation ended
    await persistence.update_user_data(9001, {})  # the draft was cleared
    await persistence.drop_user_data(2001)
    await persistence.drop_chat_data(-5)

    assert await rows(sessions, ConversationState) == []
    assert await rows(sessions, UserData) == []
    assert await rows(sessions, ChatData) == []
    restarted = DatabasePersistence(sessions)
    assert await restarted.get_conversations("invite") == {}
    assert await restarted.get_user_data() == {}


async def test_a_value_is_written_again_only_when_it_changed(sessions: Sessions) -> None:
    clock = Clock()
    persistence = DatabasePersistence(sessions, clock=clock)
    await persistence.update_user_data(9001, DRAFT)
    first_write = clock.now

    clock.now += timedelta(minutes=5)
    await persistence.update_user_data(9001, {"invite": dict(DRAFT["invite"])})  # equal
    await persistence.update_user_data(4001, {})  # never stored, still empty
    [row] = await rows(sessions, UserData)
    assert (row.user_id, row.updated_at) == (9001, first_write)

    await persistence.update_user_data(9001, {"invite": {"role": "viewer"}})
    [row] = await rows(sessions, UserData)
    assert row.data == {"invite": {"role": "viewer"}} and row.updated_at == clock.now


async def test_unchanged_is_judged_against_what_a_restart_loaded(sessions: Sessions) -> None:
    clock = Clock()
    await DatabasePersistence(sessions, clock=clock).update_user_data(9001, DRAFT)
    written = clock.now
    clock.now += timedelta(hours=1)
    restarted = DatabasePersistence(sessions, clock=clock)
    loaded = await restarted.get_user_data()
    await restarted.update_user_data(9001, loaded[9001])  # PTB hands back what it loaded
    [row] = await rows(sessions, UserData)
    assert row.updated_at == written


async def test_one_run_of_updates_is_one_transaction(engine: AsyncEngine,
                                                     sessions: Sessions) -> None:
    transactions = 0

    def count(*_: object) -> None:
        nonlocal transactions
        transactions += 1

    event.listen(engine.sync_engine, "begin", count)
    persistence = DatabasePersistence(sessions)
    # What Application.update_persistence does: every changed value at once, with gather.
    await asyncio.gather(
        *(persistence.update_user_data(user_id, {"n": user_id}) for user_id in range(1, 21)),
        *(persistence.update_conversation("invite", (user_id, user_id), "role")
          for user_id in range(1, 21)),
        persistence.update_chat_data(-7, {"z": True}),
    )
    event.remove(engine.sync_engine, "begin", count)

    assert transactions == 1
    assert len(await rows(sessions, UserData)) == 20
    assert len(await DatabasePersistence(sessions).get_conversations("invite")) == 20


@pytest.mark.parametrize("data", [
    {"when": datetime(2026, 9, 1, tzinfo=UTC)},  # not JSON at all
    {5: "an int key comes back as the string '5'"},
    {"pair": (1, 2)},  # a tuple comes back as a list
    {"nan": float("nan")},
])
async def test_data_that_would_read_back_different_is_refused(sessions: Sessions,
                                                              data: dict[Any, Any]) -> None:
    persistence = DatabasePersistence(sessions)
    with pytest.raises(TypeError, match="JSON"):
        await persistence.update_user_data(9001, data)
    with pytest.raises(TypeError, match="JSON"):
        await persistence.update_conversation("invite", ADMIN_CHAT, data)
    await persistence.flush()
    assert await rows(sessions, UserData) == []
    assert await rows(sessions, ConversationState) == []


async def test_a_fresh_database_gets_its_schema_before_the_first_load(
    blank_database_url: URL,
) -> None:
    engine = make_engine(blank_database_url)
    try:
        persistence = DatabasePersistence(session_factory(engine),
                                          prepare=partial(upgrade, engine))
        assert await persistence.get_user_data() == {}
        assert await persistence.get_chat_data() == {}
        await persistence.update_conversation("invite", ADMIN_CHAT, "role")
        assert await persistence.get_conversations("invite") == {ADMIN_CHAT: "role"}
    finally:
        await engine.dispose()


async def test_nul_and_control_characters_are_cleaned_before_they_are_stored(
    sessions: Sessions,
) -> None:
    persistence = DatabasePersistence(sessions)
    typed = {"report": {"ref": "IKA-2026-001", "venue": "Wisma\x00 Putra\x07\r\nbilik\t2"},
             "k\x00ey": ["a\x1bb"]}
    await persistence.update_user_data(2001, typed)
    await persistence.update_conversation("report_step", (2001,), "s\x00tate")
    # The next user's conversation is stored all the same (PostgreSQL refuses NUL outright).
    await persistence.update_user_data(2002, {"report": {"ref": "IKA-2026-002"}})

    restarted = DatabasePersistence(sessions)
    assert await restarted.get_user_data() == {
        2001: {"report": {"ref": "IKA-2026-001", "venue": "Wisma Putra\nbilik\t2"},
               "key": ["ab"]},
        2002: {"report": {"ref": "IKA-2026-002"}},
    }
    assert await restarted.get_conversations("report_step") == {(2001,): "state"}


async def test_a_value_the_database_refuses_is_dropped_and_the_others_are_stored(
    engine: AsyncEngine, sessions: Sessions, caplog: pytest.LogCaptureFixture,
) -> None:
    persistence = DatabasePersistence(sessions)
    secret = "the approver's reason, not for the log"
    huge_id = 2**70  # no database keeps it in a BIGINT
    await asyncio.gather(
        persistence.update_conversation("decision_reason", (3001, 3001), 0),
        persistence.update_user_data(huge_id, {"reason_for": secret}),
        persistence.update_user_data(3001, {"reason_for": "IKA-2026-001"}),
        persistence.update_chat_data(-7, {"z": True}),
    )
    restarted = DatabasePersistence(sessions)
    assert await restarted.get_user_data() == {3001: {"reason_for": "IKA-2026-001"}}
    assert await restarted.get_conversations("decision_reason") == {(3001, 3001): 0}
    assert await restarted.get_chat_data() == {-7: {"z": True}}
    assert "could not store the user_data of 1180591620717411303424" in caplog.text
    assert secret not in caplog.text

    # Dropped, not retried: neither by the shutdown's flush nor when PTB hands it over again.
    transactions = 0

    def count(*_: object) -> None:
        nonlocal transactions
        transactions += 1

    event.listen(engine.sync_engine, "begin", count)
    await persistence.flush()
    await persistence.update_user_data(huge_id, {"reason_for": secret})
    event.remove(engine.sync_engine, "begin", count)
    assert transactions == 0
