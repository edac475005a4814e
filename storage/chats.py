"""Which group chat is which division's: /bind moves a chat to a division."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlmodel.ext.asyncio.session import AsyncSession

from storage.cases import UnknownDivision
from storage.models import Division, EventRow
from storage.org import division_by_chat, get_division


@dataclass(frozen=True)
class Binding:
    """What /bind did: the division, and what the chat was taken from or replaced."""

    division: Division
    moved_from: Division | None = None  # the division this chat was bound to before
    replaced_chat: int | None = None  # the division's previous group chat, now bound to nothing
    unchanged: bool = False  # the chat was that division's already


async def bind_chat(*, session: AsyncSession, code: str, chat_id: int, actor_id: int,
                    now: datetime) -> Binding:
    """Make ``chat_id`` division ``code``'s group chat, in the caller's transaction.

    A chat belongs to one division: one bound elsewhere is moved, leaving that division without
    a chat; the division's previous chat is let go. UnknownDivision for a code not registered.
    """
    division = await get_division(session=session, code=code)
    if division is None:
        raise UnknownDivision(code)
    previous_chat = division.chat_id
    if previous_chat == chat_id:
        return Binding(division, unchanged=True)
    holder = await division_by_chat(session=session, chat_id=chat_id)
    if holder is not None:
        holder.chat_id = None
        session.add(holder)
        await session.flush()  # free the chat first: one chat, one division (a unique index)
    division.chat_id = chat_id
    session.add(division)
    session.add(EventRow(at=now, actor_id=actor_id, kind="chat_bound",
                         data={"division": division.code, "chat_id": chat_id,
                               "moved_from": holder.code if holder else None,
                               "replaced_chat": previous_chat}))
    await session.flush()
    return Binding(division, holder, previous_chat)
