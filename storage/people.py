"""The people an operator manages from the command line: the first admin, the list, erasure."""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from datetime import datetime

from sqlalchemy import delete, update
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.domain.case import Role
from bot.domain.reminders import Joined, NudgeKind
from storage.models import (
    NAME,
    ChatData,
    ConversationState,
    EventRow,
    Invite,
    NudgeRow,
    User,
    UserData,
)

# What an erased name reads as, where a row must keep a name (an invitation that was used).
FORGOTTEN = "(forgotten)"


class PeopleError(Exception):
    """A change to people that cannot be made; its message is the operator's one line."""


async def add_admin(*, sessions: async_sessionmaker[AsyncSession], telegram_id: int, name: str,
                    now: datetime) -> tuple[User, bool]:
    """Make ``telegram_id`` an active admin named ``name``; (the user, whether it is new)."""
    name = " ".join(name.split())
    if telegram_id <= 0:
        raise PeopleError(f"{telegram_id} is not a person's Telegram id (those are positive; "
                          "a group's is negative)")
    if not name or len(name) > NAME:
        raise PeopleError(f"give the admin's name, 1 to {NAME} characters")
    async with sessions() as session, session.begin():
        user = await session.get(User, telegram_id, populate_existing=True)
        created = user is None
        if user is None:
            user = User(telegram_id=telegram_id, name=name, role=Role.ADMIN.value)
        user.name, user.role, user.division_code, user.active = name, Role.ADMIN.value, None, True
        session.add(user)
        # No name in the event: the audit trail outlives an erasure (see forget_user).
        session.add(EventRow(at=now, actor_id=None, kind="admin_added",
                             data={"telegram_id": telegram_id, "created": created}))
    return user, created


async def all_users(*, sessions: async_sessionmaker[AsyncSession]) -> list[User]:
    """Every registered user, active or not, by Telegram id."""
    async with sessions() as session:
        return list((await session.exec(select(User).order_by(col(User.telegram_id)))).all())


@dataclass
class Erasure:
    """What forgetting one person removed, table by table."""

    telegram_id: int
    rows: dict[str, int] = field(default_factory=dict)

    def __str__(self) -> str:
        done = ", ".join(f"{table}: {n}" for table, n in self.rows.items() if n)
        return done or "nothing"


def _holds(key: str, telegram_id: int) -> bool:
    """Whether a conversation key (``[chat_id,user_id]`` as JSON) is this person's."""
    try:
        parts = json.loads(key)
    except ValueError:
        return False
    return isinstance(parts, list) and telegram_id in parts


async def forget_user(*, sessions: async_sessionmaker[AsyncSession], telegram_id: int,
                      now: datetime) -> Erasure:
    """Erase one person's personal data, in one transaction, and record the erasure.

    Removed: their user row (name, language, role), their conversation drafts and chat data,
    and their name on the invitation they used and in the notice that told its maker they
    joined (sent or not); reminders still owed to them are dropped.
    Kept: the case history (steps done, decisions, documents, events), where they appear as a
    bare Telegram id: no event names a person (events are append-only and never edited; those
    written by ikabot 0.1.0's invitations did, and keep the name). The erasure is itself an
    event, naming nobody but the id.
    """
    erased = Erasure(telegram_id)
    async with sessions() as session, session.begin():
        user = await session.get(User, telegram_id, populate_existing=True)
        if user is None:
            raise PeopleError(f"no user {telegram_id} is registered (see `ikabot user list`)")
        await session.delete(user)
        erased.rows["users"] = 1
        result = await session.exec(delete(UserData).where(col(UserData.user_id) == telegram_id))
        erased.rows["user_data"] = result.rowcount
        # A private chat's id is the person's id.
        result = await session.exec(delete(ChatData).where(col(ChatData.chat_id) == telegram_id))
        erased.rows["chat_data"] = result.rowcount
        states = (await session.exec(select(ConversationState))).all()
        mine = [s for s in states if _holds(s.key, telegram_id)]
        for state in mine:
            await session.delete(state)
        erased.rows["conversation_states"] = len(mine)
        result = await session.exec(update(Invite).where(col(Invite.used_by) == telegram_id)
                                    .values(name=FORGOTTEN))
        erased.rows["invites"] = result.rowcount
        # The inviter's notice (JOINED: ``seq`` is the invitation) keeps the name it words.
        used = select(col(Invite.id)).where(col(Invite.used_by) == telegram_id)
        notices = (await session.exec(select(NudgeRow).where(
            col(NudgeRow.kind) == NudgeKind.JOINED.value, col(NudgeRow.seq).in_(used)))).all()
        for notice in notices:
            if notice.note:
                notice.note = replace(Joined.read(notice.note), name=FORGOTTEN).note()
        erased.rows["notices"] = len(notices)
        result = await session.exec(
            update(NudgeRow).where(col(NudgeRow.target) == f"user:{telegram_id}",
                                   col(NudgeRow.sent_at).is_(None),
                                   col(NudgeRow.dropped_at).is_(None))
            .values(dropped_at=now))
        erased.rows["nudges"] = result.rowcount
        session.add(EventRow(at=now, actor_id=None, kind="user_forgotten",
                             data={"telegram_id": telegram_id, "erased": dict(erased.rows)}))
    return erased
