"""Invitations and chat bindings in the database, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.domain.case import Role
from storage.cases import UnknownDivision
from storage.chats import bind_chat
from storage.invites import InviteProblem, InviteRefused, create_invite, hash_code, redeem_invite
from storage.models import Division, EventRow, Invite, User
from storage.org import OrgSummary

Sessions = async_sessionmaker[AsyncSession]
NOW = datetime(2026, 9, 1, 2, 0, tzinfo=UTC)
TTL = timedelta(hours=72)


async def make(sessions: Sessions, role: Role = Role.OFFICER, division: str | None = "BPI"
               ) -> str:
    async with sessions() as session, session.begin():
        code, _ = await create_invite(session=session, role=role, division=division,
                                      name="Siti Aishah", created_by=9001, now=NOW, ttl=TTL)
    return code


async def redeem(sessions: Sessions, code: str, telegram_id: int = 5001,
                 now: datetime = NOW) -> User:
    async with sessions() as session, session.begin():
        user, _ = await redeem_invite(session=session, code=code, telegram_id=telegram_id,
                                      language="ms", now=now)
    return user


async def test_an_invitation_registers_once_and_only_its_hash_is_kept(
    sessions: Sessions, org: OrgSummary
) -> None:
    code = await make(sessions)
    assert 20 <= len(code) <= 64 and code.replace("-", "").replace("_", "").isalnum()
    user = await redeem(sessions, code)
    assert (user.name, user.role, user.division_code, user.language) == (
        "Siti Aishah", "officer", "BPI", "ms")
    with pytest.raises(InviteRefused) as refused:
        await redeem(sessions, code, telegram_id=5002)
    assert refused.value.problem is InviteProblem.USED
    async with sessions() as session:
        invite = (await session.exec(select(Invite))).one()
        kinds = (await session.exec(select(EventRow.kind).where(
            col(EventRow.kind) != "org_imported").order_by(col(EventRow.id)))).all()
        late = await session.get(User, 5002)
    assert invite.code_hash == hash_code(code) != code and code not in invite.model_dump_json()
    assert (invite.used_by, invite.used_at) == (5001, NOW) and late is None
    assert kinds == ["invite_created", "user_registered"]


@pytest.mark.parametrize(("code", "telegram_id", "later", "problem"), [
    ("forged-code-that-nobody-made-000", 5001, timedelta(0), InviteProblem.UNKNOWN),
    (None, 5001, TTL, InviteProblem.EXPIRED),
    (None, 1001, timedelta(0), InviteProblem.REGISTERED),  # Aminah, registered already
])
async def test_a_refused_invitation_changes_nothing(
    sessions: Sessions, org: OrgSummary, code: str | None, telegram_id: int,
    later: timedelta, problem: InviteProblem,
) -> None:
    made = await make(sessions)
    with pytest.raises(InviteRefused) as refused:
        await redeem(sessions, code or made, telegram_id=telegram_id, now=NOW + later)
    assert refused.value.problem is problem
    assert (refused.value.expires_at == NOW + TTL) is (problem is InviteProblem.EXPIRED)
    async with sessions() as session:
        invite = (await session.exec(select(Invite))).one()
        aminah = await session.get(User, 1001)
        newcomer = await session.get(User, 5001)
    assert invite.used_at is None and newcomer is None
    assert aminah is not None and aminah.role == "ab"


async def test_a_retired_user_is_taken_back_with_the_invitations_role(
    sessions: Sessions, org: OrgSummary
) -> None:
    async with sessions() as session, session.begin():
        farah = await session.get(User, 4001)
        assert farah is not None
        farah.active, farah.language = False, "en"
    user = await redeem(sessions, await make(sessions, Role.AB, "AB"), telegram_id=4001)
    assert (user.role, user.division_code, user.active, user.name) == (
        "ab", "AB", True, "Siti Aishah")


async def test_an_officer_invitation_needs_a_division(sessions: Sessions,
                                                      org: OrgSummary) -> None:
    with pytest.raises(ValueError, match="division"):
        await make(sessions, Role.OFFICER, None)


async def test_binding_moves_a_chat_and_lets_the_old_one_go(sessions: Sessions,
                                                            org: OrgSummary) -> None:
    bdp_chat, bkka_chat = -1001000000004, -1001000000002
    async with sessions() as session, session.begin():
        binding = await bind_chat(session=session, code="BKKA", chat_id=bdp_chat,
                                  actor_id=9001, now=NOW)
    assert binding.moved_from is not None and binding.moved_from.code == "BDP"
    assert binding.replaced_chat == bkka_chat and not binding.unchanged
    async with sessions() as session, session.begin():
        again = await bind_chat(session=session, code="BKKA", chat_id=bdp_chat,
                                actor_id=9001, now=NOW)
    assert again.unchanged
    async with sessions() as session:
        chats = {d.code: d.chat_id for d in (await session.exec(select(Division))).all()}
        events = (await session.exec(select(EventRow).where(
            col(EventRow.kind) == "chat_bound"))).all()
    assert chats["BKKA"] == bdp_chat and chats["BDP"] is None
    assert [e.data["moved_from"] for e in events] == ["BDP"]  # the no-op logged nothing
    with pytest.raises(UnknownDivision):
        async with sessions() as session, session.begin():
            await bind_chat(session=session, code="XYZ", chat_id=-5, actor_id=9001, now=NOW)
