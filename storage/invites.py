"""Invitations: a one-time link that registers its holder with a role and a division.

The link's code is a bearer credential, so only its SHA-256 is stored: a copy of the database
(a backup, a test export) holds no working invitation. The code carries 192 random bits, so a
plain hash is as good as a slow one here: there is nothing to guess from it.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy import update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.domain.case import Role
from storage.cases import StorageError
from storage.models import EventRow, Invite, User

# token_urlsafe(24) is 32 characters of A-Z a-z 0-9 _ -, what Telegram allows in a deep link's
# start parameter (at most 64).
CODE_BYTES = 24


class InviteProblem(StrEnum):
    """Why an invitation did not register anyone."""

    UNKNOWN = "unknown"  # no such code: mistyped, cut short, or forged
    EXPIRED = "expired"
    USED = "used"
    REGISTERED = "registered"  # the person opening it is registered already


class InviteRefused(StorageError):
    """The invitation cannot be redeemed; nothing was changed."""

    def __init__(self, problem: InviteProblem, expires_at: datetime | None = None) -> None:
        super().__init__(f"invitation refused: {problem.value}")
        self.problem = problem
        self.expires_at = expires_at  # a copy: the rollback expires the row's attributes


def hash_code(code: str) -> str:
    """What the database keeps of an invitation code."""
    return hashlib.sha256(code.encode()).hexdigest()


async def create_invite(
    *,
    session: AsyncSession,
    role: Role,
    division: str | None,
    name: str,
    created_by: int,
    now: datetime,
    ttl: timedelta,
) -> tuple[str, Invite]:
    """A new invitation and its code (shown once, never stored), in the caller's transaction."""
    if role is Role.OFFICER and division is None:
        raise ValueError("an officer's invitation needs their division")
    code = secrets.token_urlsafe(CODE_BYTES)
    invite = Invite(code_hash=hash_code(code), role=role.value, division_code=division,
                    name=name, created_by=created_by, created_at=now, expires_at=now + ttl)
    session.add(invite)
    await session.flush()  # the id, for the event
    # No name in the events: the audit trail outlives an erasure (storage.people.forget_user),
    # so a person is named only on the invitation's row, which an erasure clears.
    session.add(EventRow(at=now, actor_id=created_by, kind="invite_created",
                         data={"invite": invite.id, "role": role.value, "division": division,
                               "expires_at": invite.expires_at.isoformat()}))
    return code, invite


async def redeem_invite(
    *,
    session: AsyncSession,
    code: str,
    telegram_id: int,
    language: str | None,
    now: datetime,
) -> tuple[User, Invite]:
    """Register ``telegram_id`` as the invitation says and use it up; InviteRefused if not.

    In the caller's transaction: raise out of it and nothing is changed. A user who was retired
    (``active = false``) is taken back with the invitation's role.
    """
    invite = (await session.exec(select(Invite).where(col(Invite.code_hash) == hash_code(code))
                                 .execution_options(populate_existing=True))).first()
    if invite is None:
        raise InviteRefused(InviteProblem.UNKNOWN)
    if invite.used_at is not None:
        raise InviteRefused(InviteProblem.USED)
    if now >= invite.expires_at:
        raise InviteRefused(InviteProblem.EXPIRED, invite.expires_at)
    user = await session.get(User, telegram_id, populate_existing=True)
    if user is not None and user.active:
        raise InviteRefused(InviteProblem.REGISTERED)
    # Used up only if nobody used it in the meantime: two people opening the same link at once
    # cannot both register (PostgreSQL runs both transactions side by side).
    taken = await session.exec(
        update(Invite)
        .where(col(Invite.id) == invite.id, col(Invite.used_at).is_(None))
        .values(used_at=now, used_by=telegram_id)
        .execution_options(synchronize_session=False)
    )
    if taken.rowcount != 1:
        raise InviteRefused(InviteProblem.USED)
    invite.used_at, invite.used_by = now, telegram_id
    if user is None:
        user = User(telegram_id=telegram_id, name=invite.name, role=invite.role)
    user.name, user.role, user.division_code = invite.name, invite.role, invite.division_code
    user.language = language or user.language  # a returning user keeps a choice Telegram lacks
    user.active = True
    session.add(user)
    session.add(EventRow(at=now, actor_id=telegram_id, kind="user_registered",
                         data={"invite": invite.id, "invited_by": invite.created_by,
                               "role": invite.role, "division": invite.division_code,
                               "language": language}))
    await session.flush()
    return user, invite
