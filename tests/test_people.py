"""`ikabot admin add`, `user list`, `user forget` over a real database; events stay append-only."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlmodel import col, select

from bot.domain.case import Role
from bot.domain.deadlines import Procedure
from bot.domain.reminders import Joined
from storage.invites import create_invite, redeem_invite
from storage.models import ConversationState, EventRow, Invite, NudgeRow, User, UserData
from storage.nudges import plan
from storage.org import get_user
from storage.people import FORGOTTEN, PeopleError, add_admin, all_users, forget_user
from tests.test_cli import ikabot
from tests.test_storage_cases import Sessions

NOW = datetime(2026, 9, 1, 2, 0, tzinfo=UTC)


async def test_admin_add_registers_or_promotes_and_logs_it(sessions: Sessions) -> None:
    user, created = await add_admin(sessions=sessions, telegram_id=555, name="  Siti  Aminah ",
                                    now=NOW)
    assert created and user.name == "Siti Aminah" and user.role == "admin"
    again, created = await add_admin(sessions=sessions, telegram_id=555, name="Siti", now=NOW)
    assert not created and again.name == "Siti"
    async with sessions() as session:
        stored = await get_user(session=session, telegram_id=555)
        events = (await session.exec(select(EventRow).where(
            col(EventRow.kind) == "admin_added"))).all()
    assert stored is not None and stored.actor().role is Role.ADMIN and stored.active
    assert [e.data for e in events] == [{"telegram_id": 555, "created": True},
                                        {"telegram_id": 555, "created": False}]
    assert [u.telegram_id for u in await all_users(sessions=sessions)] == [555]


@pytest.mark.parametrize("telegram_id, name, reason", [
    (-1001000000001, "AB group", "positive"), (777, "   ", "name")])
async def test_admin_add_refuses_a_group_id_or_no_name(sessions: Sessions, telegram_id: int,
                                                       name: str, reason: str) -> None:
    with pytest.raises(PeopleError, match=reason):
        await add_admin(sessions=sessions, telegram_id=telegram_id, name=name, now=NOW)
    assert await all_users(sessions=sessions) == []


async def test_forget_erases_personal_data_and_records_it_without_editing_events(
        sessions: Sessions, procedure: Procedure) -> None:
    await add_admin(sessions=sessions, telegram_id=9001, name="Admin", now=NOW)
    async with sessions() as session, session.begin():
        code, _ = await create_invite(session=session, role=Role.AB, division=None,
                                      name="Nur Aisyah", created_by=9001, now=NOW,
                                      ttl=timedelta(days=3))
    async with sessions() as session, session.begin():
        _, invite = await redeem_invite(session=session, code=code, telegram_id=1234,
                                        language="ms", now=NOW)
        assert invite.id is not None  # its maker is told, as /start plans it
        await plan(session=session, now=NOW, nudges=[procedure.planner.joined(
            invite.id, 9001, Joined(invite.role, invite.division_code, invite.name), NOW)])
        session.add(UserData(user_id=1234, data={"draft": "Nur's notes"}, updated_at=NOW))
        session.add(ConversationState(name="new_case", key="[1234,1234]", state="title",
                                      updated_at=NOW))
        session.add(ConversationState(name="new_case", key="[9001,9001]", state="title",
                                      updated_at=NOW))
    async with sessions() as session:
        before = [(e.id, e.kind, e.data) for e in (await session.exec(
            select(EventRow).order_by(col(EventRow.id)))).all()]

    erased = await forget_user(sessions=sessions, telegram_id=1234, now=NOW)
    assert erased.rows["users"] == erased.rows["user_data"] == 1
    assert erased.rows["conversation_states"] == erased.rows["invites"] == 1

    async with sessions() as session:
        assert await get_user(session=session, telegram_id=1234) is None
        assert (await session.get(UserData, 1234)) is None
        keys = (await session.exec(select(ConversationState.key))).all()
        invite = (await session.exec(select(Invite))).one()
        events = (await session.exec(select(EventRow).order_by(col(EventRow.id)))).all()
        notes = (await session.exec(select(NudgeRow.note))).all()
    assert keys == ["[9001,9001]"] and invite.name == FORGOTTEN and invite.used_by == 1234
    assert notes == [f"ab - {FORGOTTEN}"] and erased.rows["notices"] == 1  # the inviter's
    # The old events are exactly as they were; the erasure is one more, naming only the id.
    assert [(e.id, e.kind, e.data) for e in events[:-1]] == before
    assert events[-1].kind == "user_forgotten" and events[-1].data["telegram_id"] == 1234
    assert "Nur" not in str([e.data for e in events])  # no event ever named her
    with pytest.raises(PeopleError, match="no user 1234"):
        await forget_user(sessions=sessions, telegram_id=1234, now=NOW)


async def test_the_event_log_refuses_edits_and_deletes(sessions: Sessions) -> None:
    await add_admin(sessions=sessions, telegram_id=9001, name="Admin", now=NOW)
    for statement in ("UPDATE events SET data = '{}'", "DELETE FROM events"):
        with pytest.raises(DBAPIError, match="append-only"):
            async with sessions() as session, session.begin():
                await session.exec(text(statement))  # type: ignore[call-overload]
    async with sessions() as session:
        assert len((await session.exec(select(EventRow))).all()) == 1
        assert (await session.get(User, 9001)) is not None


def test_the_commands_make_list_and_forget_a_first_admin(tmp_path: Path) -> None:
    added = ikabot(tmp_path, "admin", "add", "424242", "Siti Aminah")
    assert added.returncode == 0, added.stderr
    assert "Siti Aminah (424242) added an admin" in added.stdout
    listed = ikabot(tmp_path, "user", "list")
    assert listed.returncode == 0
    assert any(line.split()[:3] == ["424242", "admin", "-"] and line.endswith("Siti Aminah")
               for line in listed.stdout.splitlines())
    forgotten = ikabot(tmp_path, "user", "forget", "424242")
    assert forgotten.returncode == 0 and "Forgot user 424242" in forgotten.stdout
    assert "0 users" in ikabot(tmp_path, "user", "list").stdout
    again = ikabot(tmp_path, "user", "forget", "424242")
    assert again.returncode == 2 and "no user 424242" in again.stderr
    bad = ikabot(tmp_path, "admin", "add", "-100123", "A group")
    assert bad.returncode == 2 and "positive" in bad.stderr
