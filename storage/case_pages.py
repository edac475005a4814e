"""Lists of cases read one page at a time: filtered, counted and ordered in SQL.

A page is the list's order (overdue first, then by due moment, then as registered; closed
cases the latest closed first) cut with LIMIT/OFFSET and read with each case's current step in
one statement; the count comes from the cases table alone (``ix_cases_listing``).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, time, tzinfo
from typing import Any

from sqlalchemy import (
    ColumnElement,
    and_,
    bindparam,
    exists,
    false,
    func,
    literal,
    or_,
    union_all,
)
from sqlalchemy import case as case_when
from sqlalchemy import select as sa_select
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.domain.case import Case, CaseStatus, Phase
from bot.domain.case_filter import CaseFilter, year_bounds
from storage.cases import assemble, case_with_run
from storage.models import CaseCountry, CaseRow, StepRecord


@dataclass(frozen=True)
class CasePage:
    """One page of a list: how many cases match, how many of them are overdue, and the page
    (each case with its current step only, unless read with its history)."""

    total: int
    overdue: int
    offset: int
    cases: list[Case]


@dataclass(frozen=True)
class Acting:
    """Whose open steps /done lists: every step (admins), AB's steps, or a lead division's."""

    all_steps: bool = False
    ab_steps: tuple[str, ...] = ()  # step keys AB owns, when the reader is AB
    lead_steps: tuple[str, ...] = ()  # step keys the lead division owns
    division: str | None = None  # the reader's division, for the lead's steps


def _overdue(now: Any) -> ColumnElement[bool]:
    """The current step's work is past its due moment (the rules' is_overdue, in SQL)."""
    return and_(col(CaseRow.status) == CaseStatus.OPEN.value,
                col(CaseRow.phase) == Phase.WORK.value,
                col(CaseRow.due_at) < now)


def _with_country(code: str, *, in_order: bool) -> ColumnElement[bool]:
    """The case is with the country ``code``. Counted, its cases are read from the country's
    index (IN); read ``in_order`` along the listing index and cut at a page, each case is
    looked up (EXISTS), so that the database neither reads nor sorts all of them."""
    if in_order:
        return exists().where(col(CaseCountry.case_id) == col(CaseRow.id),
                              col(CaseCountry.country) == code)
    return col(CaseRow.id).in_(
        select(col(CaseCountry.case_id)).where(col(CaseCountry.country) == code))


def _conditions(found: CaseFilter, now: Any, tz: tzinfo, *,
                in_order: bool = False) -> list[ColumnElement[bool]]:
    """What the filter asks of a case besides its status (``in_order``: see _with_country)."""
    where: list[ColumnElement[bool]] = []
    if found.division:
        where.append(col(CaseRow.lead_division) == found.division)
    if found.country:
        where.append(_with_country(found.country, in_order=in_order))
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


def narrowing(found: CaseFilter, now: datetime, tz: tzinfo) -> Callable[[Any], Any]:
    """A statement over cases narrowed to what ``found`` keeps (for the export's batches)."""
    statuses = sorted(status.value for status in found.statuses)
    where = [col(CaseRow.status).in_(statuses), *_conditions(found, now, tz)]
    return lambda statement: statement.where(*where)


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


def _parts(found: CaseFilter, now: Any) -> list[tuple[int, ColumnElement[bool]]]:
    """The list as ranges of ``ix_cases_listing``, each already in the list's order within:
    (its place in the list, which cases it holds)."""
    status, phase, due = col(CaseRow.status), col(CaseRow.phase), col(CaseRow.due_at)
    is_open = status == CaseStatus.OPEN.value
    parts: list[tuple[int, ColumnElement[bool]]] = []
    if CaseStatus.OPEN in found.statuses:
        work = and_(is_open, phase == Phase.WORK.value)
        parts.append((0, _overdue(now)))
        if not found.overdue:
            parts.append((1, and_(work, due >= now)))
            parts += [(1, and_(is_open, phase == other.value))
                      for other in Phase if other is not Phase.WORK]
            parts.append((2, and_(work, due.is_(None))))  # none, unless stored by other means
    closed = sorted(s.value for s in found.statuses if s is not CaseStatus.OPEN)
    if closed and not found.overdue:
        parts.append((3, status.in_(closed)))
    return parts or [(0, false())]  # closed and overdue: nothing is both


@functools.lru_cache(maxsize=512)
def _statements(found: CaseFilter, acting: Acting | None, tz: tzinfo) -> tuple[Any, Any]:
    """The count and the page for a filter, built once: the moment and the page are bound."""
    now: Any = bindparam("now")
    where = [*_conditions(found, now, tz), *_acting(acting)]
    along = [*_conditions(found, now, tz, in_order=True), *_acting(acting)]
    statuses = col(CaseRow.status).in_(sorted(s.value for s in found.statuses))
    counted = select(func.count()).select_from(CaseRow).where(statuses, *where)
    counting = select(counted.scalar_subquery(),
                      counted.where(_overdue(now)).scalar_subquery())
    # Each part is read in index order and cut at offset + limit, then the few rows kept are
    # ordered: no sort of every matching case, however many there are.
    closed_at = case_when((col(CaseRow.due_at).is_(None), col(CaseRow.updated_at)))
    ranges = []
    for place, which in _parts(found, now):
        order = ((col(CaseRow.updated_at).desc(), col(CaseRow.id)) if place == 3
                 else (col(CaseRow.due_at), col(CaseRow.id)))
        part = (sa_select(literal(place).label("place"), col(CaseRow.id).label("id"))
                .where(which, *along).order_by(*order).limit(bindparam("upto")).subquery())
        ranges.append(sa_select(part.c.place, part.c.id))
    picked = union_all(*ranges).subquery("picked")
    current = and_(col(StepRecord.case_id) == col(CaseRow.id),
                   col(StepRecord.step) == col(CaseRow.current_step),
                   col(StepRecord.round) == col(CaseRow.round))
    paging = (
        select(CaseRow, StepRecord)
        .join(picked, picked.c.id == CaseRow.id)
        .outerjoin(StepRecord, current)
        # Open cases overdue first, then by due moment; closed ones the latest closed first;
        # then as registered.
        .order_by(picked.c.place, col(CaseRow.due_at), closed_at.desc(), col(CaseRow.id))
        .offset(bindparam("offset")).limit(bindparam("limit"))
    )
    return counting, paging


async def read_page(*, session: AsyncSession, found: CaseFilter, now: datetime, tz: tzinfo,
                    offset: int, limit: int, acting: Acting | None = None,
                    history: bool = False) -> CasePage:
    """The cases ``found`` selects, counted, and the page from ``offset`` in the list's order.

    Two statements: the count and the page. The page's cases carry only their current step's
    run (what a list shows) unless ``history``, which reads the page's whole history in three
    more. An ``offset`` past the end gives the last page (a list that got shorter since).
    """
    counting, paging = _statements(found, acting, tz)
    total, late = (await session.exec(counting, params={"now": now})).one()
    total, late = int(total), int(late)
    if not total:
        return CasePage(0, 0, 0, [])
    if offset >= total:
        offset = (total - 1) // limit * limit
    statement: Any = paging
    rows = list((await session.exec(statement, params={
        "now": now, "offset": offset, "limit": limit, "upto": offset + limit})).all())
    if history:
        cases = await assemble(session, [row for row, _ in rows], copy=False)
    else:
        cases = [case_with_run(row, run) for row, run in rows]
    return CasePage(total, late, offset, cases)
