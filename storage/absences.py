"""Approvers' absences and who acts for them, as rows."""

from __future__ import annotations

from datetime import date, datetime

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.domain.absence import Absence
from storage import nudges  # as a module: nudges reads the absences to find who decides
from storage.models import AbsenceRow


def _absence(row: AbsenceRow) -> Absence:
    return Absence(row.user_id, row.start, row.end, row.acting_id)


async def absences_on(*, session: AsyncSession, day: date) -> list[Absence]:
    """Every absence that covers ``day``, oldest recorded first."""
    rows = await session.exec(select(AbsenceRow).where(
        col(AbsenceRow.start) <= day, col(AbsenceRow.end) >= day,
        col(AbsenceRow.cancelled_at).is_(None)).order_by(col(AbsenceRow.id)))
    return [_absence(row) for row in rows.all()]


async def coming_absences(*, session: AsyncSession, today: date) -> list[Absence]:
    """Absences not yet over, soonest first."""
    rows = await session.exec(select(AbsenceRow).where(
        col(AbsenceRow.end) >= today, col(AbsenceRow.cancelled_at).is_(None))
        .order_by(col(AbsenceRow.start), col(AbsenceRow.id)))
    return [_absence(row) for row in rows.all()]


async def record_absence(*, session: AsyncSession, absence: Absence, set_by: int,
                         now: datetime) -> None:
    """Record ``absence`` in the caller's transaction, replacing the approver's overlapping ones.

    The Ya/Tidak cards and chases not yet sent for the days away go to the one acting.
    """
    overlapping = await session.exec(select(AbsenceRow).where(
        col(AbsenceRow.user_id) == absence.user_id, col(AbsenceRow.cancelled_at).is_(None),
        col(AbsenceRow.start) <= absence.end, col(AbsenceRow.end) >= absence.start))
    for row in overlapping.all():
        row.cancelled_at = now
        session.add(row)
    session.add(AbsenceRow(user_id=absence.user_id, start=absence.start, end=absence.end,
                           acting_id=absence.acting_id, set_by=set_by, set_at=now))
    await session.flush()
    await nudges.retarget_approvers(session=session, now=now)


async def end_absences(*, session: AsyncSession, user_id: int, now: datetime,
                       today: date) -> int:
    """Cancel the approver's absences not yet over: they are back, and get their Ya/Tidak
    cards and chases not yet sent again. How many were cancelled."""
    rows = (await session.exec(select(AbsenceRow).where(
        col(AbsenceRow.user_id) == user_id, col(AbsenceRow.cancelled_at).is_(None),
        col(AbsenceRow.end) >= today))).all()
    for row in rows:
        row.cancelled_at = now
        session.add(row)
    await session.flush()
    if rows:
        await nudges.retarget_approvers(session=session, now=now)
    return len(rows)
