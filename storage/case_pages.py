"""Lists of cases read one page at a time: filtered, counted and ordered in SQL.

A page is the list's order (overdue first, then by due moment, then as registered; closed
cases the latest closed first) cut with
LIMIT/OFFSET, its cases read with their history in four statements whatever the number of
cases stored; the count comes from the cases table alone (``ix_cases_listing``).
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import UTC, datetime, time, tzinfo
from typing import Any

from sqlalchemy import ColumnElement, Text, and_, cast, false, func, or_
from sqlalchemy import case as case_when
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.domain.case import Case, CaseStatus, Phase
from bot.domain.case_filter import CaseFilter, year_bounds
from storage.cases import assemble
from storage.models import CaseRow


@dataclass(frozen=True)
class CasePage:
    """One page of a list: how many cases match, how many of them are overdue, and the page."""

    total: int
    overdue: int
    offset: int
    cases: list[Case]


@dataclass(frozen=True)
class Acting:
    """Whose open steps /done lists: every step (admins), AB's steps, or a lead division's."""

    all_steps: bool = False
    ab_steps: Collection[str] = ()  # step keys AB owns, when the reader is AB
    lead_steps: Collection[str] = ()  # step keys the lead division owns
    division: str | None = None  # the reader's division, for the lead's steps


def _overdue(now: datetime) -> ColumnElement[bool]:
    """The current step's work is past its due moment (the rules' is_overdue, in SQL)."""
    return and_(col(CaseRow.status) == CaseStatus.OPEN.value,
                col(CaseRow.phase) == Phase.WORK.value,
                col(CaseRow.due_at) < now)


def _conditions(found: CaseFilter, now: datetime, tz: tzinfo) -> list[ColumnElement[bool]]:
    where: list[ColumnElement[bool]] = [
        col(CaseRow.status).in_(sorted(s.value for s in found.statuses))]
    if found.division:
        where.append(col(CaseRow.lead_division) == found.division)
    if found.country:
        # The codes are stored as a JSON list of two-letter strings: '["JP", "ID"]' on both
        # databases, so the quoted code matches exactly one element.
        where.append(cast(col(CaseRow.countries), Text).like(f'%"{found.country}"%'))
    if found.instrument:
        where.append(col(CaseRow.instrument) == found.instrument.value)
    if found.level:
        where.append(col(CaseRow.level) == found.level.value)
    if found.step:
        where.append(col(CaseRow.current_step) == found.step)
    if found.overdue:
        where.append(_overdue(now))
    if found.year:
        first, after = year_bounds(found.year)
        if found.statuses & {CaseStatus.OPEN}:
            where.append(and_(col(CaseRow.received_on) >= first,
                              col(CaseRow.received_on) < after))
        else:
            # A closed case is not changed again: its last change is when it was closed.
            start, end = (datetime.combine(d, time(), tz).astimezone(UTC) for d in (first, after))
            where.append(and_(col(CaseRow.updated_at) >= start, col(CaseRow.updated_at) < end))
    return where


def _acting(acting: Acting | None) -> list[ColumnElement[bool]]:
    if acting is None or acting.all_steps:
        return []
    allowed: list[ColumnElement[bool]] = []
    if acting.ab_steps:
        allowed.append(col(CaseRow.current_step).in_(sorted(acting.ab_steps)))
    if acting.division and acting.lead_steps:
        allowed.append(and_(col(CaseRow.current_step).in_(sorted(acting.lead_steps)),
                            col(CaseRow.lead_division) == acting.division))
    return [or_(*allowed) if allowed else false()]


async def read_page(*, session: AsyncSession, found: CaseFilter, now: datetime, tz: tzinfo,
                    offset: int, limit: int, acting: Acting | None = None) -> CasePage:
    """The cases ``found`` selects, counted, and the page from ``offset`` in the list's order.

    An ``offset`` past the end gives the last page (a list that got shorter since it was shown).
    """
    where = [*_conditions(found, now, tz), *_acting(acting)]
    overdue = _overdue(now)
    total, late = (await session.exec(
        select(func.count(), func.coalesce(func.sum(case_when((overdue, 1), else_=0)), 0))
        .select_from(CaseRow).where(*where))).one()
    total, late = int(total), int(late)
    if offset >= total > 0:
        offset = (total - 1) // limit * limit
    statement: Any = (
        select(CaseRow).where(*where)
        # Open cases overdue first, then by due moment; closed ones (no due moment) the
        # latest closed first; then as registered.
        .order_by(case_when((overdue, 0), else_=1), col(CaseRow.due_at).is_(None),
                  col(CaseRow.due_at),
                  case_when((col(CaseRow.due_at).is_(None), col(CaseRow.updated_at))).desc(),
                  col(CaseRow.id))
        .offset(offset).limit(limit)
    )
    rows = list((await session.exec(statement)).all()) if total else []
    return CasePage(total, late, offset, await assemble(session, rows, copy=False))
