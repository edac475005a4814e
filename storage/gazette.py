"""The gazette: holidays the government announced that the holidays package does not know.

A change to it is logged, and every open case's due date not yet passed is counted again on
the new calendar, each case in its own transaction with its event and its re-planned reminders.
"""

from __future__ import annotations

import dataclasses
from datetime import date, datetime

from sqlalchemy import and_
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.domain.case import CaseStatus
from bot.domain.deadlines import Procedure
from bot.domain.rules import recount
from storage.cases import ConcurrentChange, Sessions, change_case
from storage.models import CaseRow, EventRow, GazettedDay, StepRecord


@dataclasses.dataclass(frozen=True)
class Moved:
    """A case whose current step's due date the gazette moved."""

    ref: str
    step: str
    before: datetime
    after: datetime


async def read_gazette(*, session: AsyncSession) -> tuple[tuple[date, str | None], ...]:
    """The gazette as the office calendar takes it."""
    rows = await session.exec(select(GazettedDay).order_by(col(GazettedDay.day)))
    return tuple((row.day, row.name if row.holiday else None) for row in rows.all())


async def gazetted_days(*, session: AsyncSession) -> list[GazettedDay]:
    """Every gazetted day, oldest first."""
    return list((await session.exec(select(GazettedDay).order_by(col(GazettedDay.day)))).all())


async def with_gazette(*, sessions: Sessions, procedure: Procedure) -> Procedure:
    """``procedure`` on the calendar with the stored gazette."""
    async with sessions() as session:
        gazette = await read_gazette(session=session)
    if gazette == procedure.calendar.gazette:
        return procedure
    return dataclasses.replace(procedure, calendar=procedure.calendar.with_gazette(gazette))


async def set_day(*, sessions: Sessions, procedure: Procedure, day: date, name: str | None,
                  holiday: bool, by: int | None, now: datetime
                  ) -> tuple[Procedure, list[Moved]]:
    """Gazette ``day``: a holiday named ``name``, or (``holiday`` False) a working day after all;
    ``name`` None with ``holiday`` True takes the day out of the gazette again.

    Returns the procedure on the new calendar and the due dates it moved.
    """
    async with sessions() as session, session.begin():
        row = await session.get(GazettedDay, day)
        before = (row.name if row.holiday else None) if row is not None else "-"
        if name is None and holiday:
            if row is not None:
                await session.delete(row)
            kind = "holiday_removed"
        else:
            text = name or ""
            if row is None:
                session.add(GazettedDay(day=day, holiday=holiday, name=text, added_by=by,
                                        added_at=now))
            else:
                row.holiday, row.name, row.added_by, row.added_at = holiday, text, by, now
                session.add(row)
            kind = "holiday_added" if holiday else "holiday_struck"
        session.add(EventRow(case_id=None, at=now, actor_id=by, kind=kind,
                             data={"day": day.isoformat(), "name": name, "before": before}))
    changed = await with_gazette(sessions=sessions, procedure=procedure)
    why = f"{kind}:{day.isoformat()}:{name or ''}"
    return changed, await recount_open(sessions=sessions, procedure=changed, now=now, why=why)


async def recount_open(*, sessions: Sessions, procedure: Procedure, now: datetime,
                       why: str) -> list[Moved]:
    """Count every open case's current due date again; the ones that moved.

    Only the cases whose current step is due after ``now`` are read, one at a time, each
    changed in its own transaction: a gazette change never holds every open case in memory.
    """
    async with sessions() as session:
        rows = await session.exec(
            select(CaseRow.ref).join(StepRecord, and_(
                col(StepRecord.case_id) == col(CaseRow.id),
                col(StepRecord.step) == col(CaseRow.current_step),
                col(StepRecord.done_at).is_(None)))
            .where(col(CaseRow.status) == CaseStatus.OPEN.value, col(StepRecord.due_at) > now)
            .order_by(col(CaseRow.id)))
        refs = list(dict.fromkeys(rows.all()))
    moved: list[Moved] = []
    for ref in refs:
        for _ in range(3):  # a case changed meanwhile is read again
            try:
                outcome = await change_case(
                    sessions=sessions, ref=ref,
                    change=lambda case: recount(case, now=now, procedure=procedure, why=why))
            except ConcurrentChange:
                continue
            for event in outcome.events:
                if event.kind == "due_recounted" and event.step:
                    moved.append(Moved(ref, event.step, datetime.fromisoformat(
                        event.data["from"]), datetime.fromisoformat(event.data["due_at"])))
            break
    return moved
