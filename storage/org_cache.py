"""The organisation kept in memory: who is writing and the divisions, read once, not per update.

Every session of this process that commits a change to a user or a division (an org import,
/bind, /invite, /lang) makes every cache read the organisation afresh on its next use; a change
made by another process (``ikabot org import`` beside a running bot) is seen within ``ttl``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import Session
from sqlmodel import col, select

from storage.cases import Sessions
from storage.models import Division, DivisionKind, User

DEFAULT_TTL = 60.0  # seconds before a change made by another process is seen

_changes = 0  # bumped by every commit in this process that changed a user or a division


def _touches_org(session: Session) -> bool:
    return any(isinstance(row, User | Division)
               for row in (*session.new, *session.dirty, *session.deleted))


@event.listens_for(Session, "before_flush")
def _note_org_change(session: Session, _context: Any, _instances: Any) -> None:
    if _touches_org(session):
        session.info["org_changed"] = True


@event.listens_for(Session, "after_commit")
def _count_org_change(session: Session) -> None:
    global _changes
    if session.info.pop("org_changed", False):
        _changes += 1


@event.listens_for(Session, "after_rollback")
def _forget_org_change(session: Session) -> None:
    session.info.pop("org_changed", None)


@dataclass(frozen=True)
class Org:
    """Divisions and users as they were read; shared between updates, so never to be changed."""

    divisions: dict[str, Division]
    by_chat: dict[int, Division]
    users: dict[int, User]  # active or not: those who left keep their names on what they did

    def user(self, telegram_id: int) -> User | None:
        """The registered user with this Telegram id (active or not), or None."""
        return self.users.get(telegram_id)

    def division_by_chat(self, chat_id: int) -> Division | None:
        """The division whose group chat this is, or None."""
        return self.by_chat.get(chat_id)

    def name(self, telegram_id: int | None) -> str:
        """A person's name, their id if they are not known, "-" for nobody."""
        if telegram_id is None:
            return "-"
        user = self.users.get(telegram_id)
        return user.name if user is not None else str(telegram_id)

    def lead_divisions(self) -> list[str]:
        """The codes of the divisions that may lead cases."""
        return [code for code, d in self.divisions.items()
                if d.kind == DivisionKind.DIVISION.value]


class OrgCache:
    """The organisation, read in one session when first needed and again after a change."""

    def __init__(self, sessions: Sessions, *, ttl: float = DEFAULT_TTL,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._sessions, self._ttl, self._clock = sessions, ttl, clock
        self._org: Org | None = None
        self._seen, self._read_at = -1, 0.0

    def invalidate(self) -> None:
        """Read the organisation afresh on the next use."""
        self._org = None

    async def get(self) -> Org:
        """The organisation as it is now (as far as this process can tell)."""
        fresh = self._seen == _changes and self._clock() - self._read_at < self._ttl
        if self._org is not None and fresh:
            return self._org
        seen, read_at = _changes, self._clock()
        async with self._sessions() as session:
            divisions = list((await session.exec(
                select(Division).order_by(col(Division.code)))).all())
            users = list((await session.exec(select(User))).all())
        self._org = Org({d.code: d for d in divisions},
                        {d.chat_id: d for d in divisions if d.chat_id is not None},
                        {u.telegram_id: u for u in users})
        self._seen, self._read_at = seen, read_at
        return self._org
