"""The cards the bot sent about a case, so that it can edit them when the case moves."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.cases import UnknownCase
from storage.models import CaseRow, SentCard


async def _case_id(session: AsyncSession, ref: str) -> int:
    case_id = (await session.exec(select(CaseRow.id).where(col(CaseRow.ref) == ref))).first()
    if case_id is None:
        raise UnknownCase(ref)
    return case_id


async def remember_card(*, session: AsyncSession, ref: str, kind: str, round: int,
                        chat_id: int, message_id: int, sent_at: datetime) -> None:
    """Record a card sent about case ``ref``, in the caller's transaction."""
    session.add(SentCard(case_id=await _case_id(session, ref), kind=kind, round=round,
                         chat_id=chat_id, message_id=message_id, sent_at=sent_at))


async def cards(*, session: AsyncSession, ref: str, kind: str, round: int) -> list[SentCard]:
    """The ``kind`` cards sent about round ``round`` of case ``ref``, oldest first."""
    statement = (
        select(SentCard)
        .where(col(SentCard.case_id) == await _case_id(session, ref),
               col(SentCard.kind) == kind, col(SentCard.round) == round)
        .order_by(col(SentCard.id))
    )
    return list((await session.exec(statement)).all())


async def approval_cards(*, session: AsyncSession, refs: Sequence[str], kind: str
                         ) -> dict[tuple[str, int, int], tuple[int, ...]]:
    """The ``kind`` cards sent about these cases (a bounded batch), by (ref, round, chat)."""
    if not refs:
        return {}
    rows = await session.exec(
        select(CaseRow.ref, SentCard.round, SentCard.chat_id, SentCard.message_id)
        .join(CaseRow, col(CaseRow.id) == col(SentCard.case_id))
        .where(col(CaseRow.ref).in_(list(refs)), col(SentCard.kind) == kind)
        .order_by(col(SentCard.id)))
    found: dict[tuple[str, int, int], list[int]] = defaultdict(list)
    for ref, round_, chat_id, message_id in rows.all():
        found[ref, round_, chat_id].append(message_id)
    return {key: tuple(ids) for key, ids in found.items()}
