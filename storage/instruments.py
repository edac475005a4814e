"""Signed instruments: filed cases with the dates their filing recorded."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.domain.case import CaseStatus
from storage.models import CaseRow, StepRecord


@dataclass(frozen=True)
class Instrument:
    """A filed case's instrument and when it expires (or is due for review)."""

    ref: str
    title: str
    lead_division: str
    sulit: bool
    expires_on: date
    signed_on: date | None = None
    in_force_on: date | None = None


def _day(value: object) -> date | None:
    return date.fromisoformat(value) if isinstance(value, str) else None


async def expiring(*, session: AsyncSession, file_step: str, start: date, end: date
                   ) -> list[Instrument]:
    """Instruments filed at ``file_step`` that expire from ``start`` to ``end``, soonest first."""
    rows = await session.exec(
        select(CaseRow, StepRecord).join(StepRecord, col(StepRecord.case_id) == col(CaseRow.id))
        .where(col(CaseRow.status) == CaseStatus.COMPLETED.value,
               col(StepRecord.step) == file_step, col(StepRecord.done_at).is_not(None)))
    found: list[Instrument] = []
    for case, record in rows.all():
        expires = _day(record.data.get("expires_on"))
        if expires is not None and start <= expires <= end:
            found.append(Instrument(case.ref, case.title, case.lead_division,
                                    case.classification == "sulit", expires,
                                    _day(record.data.get("signed_on")),
                                    _day(record.data.get("in_force_on"))))
    return sorted(found, key=lambda i: (i.expires_on, i.ref))
