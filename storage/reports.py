"""What the reports read: cases in batches, the recent past of each step, and target dates."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import AsyncIterator, Callable, Iterable, Mapping, Sequence
from datetime import date, datetime, time
from typing import Any

from sqlalchemy import Select, Table, and_, case, func
from sqlalchemy import select as select_rows
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.domain.calendar import OfficeCalendar
from bot.domain.case import Case, CaseStatus, StepRun
from bot.domain.forecast import run_took
from bot.domain.targets import Target
from bot.domain.workload import StepTimes
from storage.cases import (
    UnknownCase,
    _ask,
    _case_row,
    _decision,
    _run,
    _same,
    _to_case,
    is_waiting,
)
from storage.models import Approval, CaseRow, CaseTarget, EventRow, InputRequest, StepRecord

BATCH = 500  # cases read at a time: their history is in memory only while they are drawn
RECENT = 200  # most recent done runs of each step the forecast learns from

# A filter's seam: narrows the cases a report reads (default: all), e.g. /status's filters.
# It gets a SELECT of the cases table and adds its WHERE clauses on CaseRow's columns.
Narrow = Callable[[Select[Any]], Select[Any]]

_CASES: Table = CaseRow.__table__  # type: ignore[attr-defined]
_STEPS: Table = StepRecord.__table__  # type: ignore[attr-defined]
_INPUTS: Table = InputRequest.__table__  # type: ignore[attr-defined]
_APPROVALS: Table = Approval.__table__  # type: ignore[attr-defined]
_TARGETS: Table = CaseTarget.__table__  # type: ignore[attr-defined]


def open_only(statement: Select[Any]) -> Select[Any]:
    """Only the open cases."""
    return statement.where(col(CaseRow.status) == CaseStatus.OPEN.value)


def with_target(statement: Select[Any]) -> Select[Any]:
    """Only the cases that have a target date: what a slip check reads."""
    return statement.where(_CASES.c.id.in_(select_rows(_TARGETS.c.case_id)))


async def _history(session: AsyncSession, table: Table, ids: Sequence[int]
                   ) -> dict[int, list[Any]]:
    """The rows of ``table`` for these cases, grouped by case, in the order written."""
    grouped: dict[int, list[Any]] = defaultdict(list)
    statement = select_rows(table).where(table.c.case_id.in_(ids)).order_by(table.c.id)
    for row in (await (await session.connection()).execute(statement)).all():
        grouped[row.case_id].append(row)
    return grouped


async def case_batches(*, session: AsyncSession, narrow: Narrow | None = None,
                       batch: int = BATCH) -> AsyncIterator[list[Case]]:
    """Every case ``narrow`` lets through, oldest first, ``batch`` at a time (keyset by id).

    Read as plain rows, not ORM objects (a third of an export's reading time went to building
    and tracking those); the rows have the models' column names, which is all _to_case reads.
    """
    last = 0
    while True:
        statement = select_rows(_CASES).where(_CASES.c.id > last)
        if narrow is not None:
            statement = narrow(statement)
        rows = (await (await session.connection()).execute(
            statement.order_by(_CASES.c.id).limit(batch))).all()
        if not rows:
            return
        ids = [r.id for r in rows]
        last = ids[-1]
        steps = await _history(session, _STEPS, ids)
        inputs = await _history(session, _INPUTS, ids)
        approvals = await _history(session, _APPROVALS, ids)
        yield [_to_case(r, [_run(s, _same) for s in steps[r.id]],  # type: ignore[arg-type]
                        [_ask(i) for i in inputs[r.id]],
                        [_decision(a) for a in approvals[r.id]]) for r in rows]
        if len(rows) < batch:
            return


async def recent_step_times(*, session: AsyncSession, keys: Iterable[str],
                            calendar: OfficeCalendar, per_step: int = RECENT
                            ) -> dict[str, list[int]]:
    """Working days the ``per_step`` most recently done runs of each step took, by step."""
    history: dict[str, list[int]] = {}
    for key in keys:
        statement = (
            select(StepRecord.started_at, StepRecord.done_at, StepRecord.data)
            .where(col(StepRecord.step) == key, col(StepRecord.done_at).is_not(None))
            .order_by(col(StepRecord.done_at).desc()).limit(per_step)
        )
        for started, done, data in (await session.exec(statement)).all():
            took = run_took(StepRun(key, 0, started, started, done, None, dict(data)), calendar)
            if took is not None:
                history.setdefault(key, []).append(took)
    return history


async def step_times_in(*, session: AsyncSession, year: int, calendar: OfficeCalendar,
                        keys: Iterable[str] | None = None, per_step: int | None = None
                        ) -> dict[str, StepTimes]:
    """Each step's working days and allowances over the runs done in ``year`` (the digest).

    Streamed as plain rows: a year of a large ministry is hundreds of thousands of runs, and
    only two small numbers of each are kept. With ``keys`` and ``per_step``, only each step's
    ``per_step`` most recently done runs of the year are read (on the step/done index): the
    weekly digest's medians, at a bounded cost however large the year.
    """
    since = calendar.at(date(year, 1, 1), time(0, 0))
    until = calendar.at(date(year + 1, 1, 1), time(0, 0))
    columns = (_STEPS.c.step, _STEPS.c.started_at, _STEPS.c.due_at, _STEPS.c.done_at,
               _STEPS.c.data)
    in_year = and_(_STEPS.c.done_at >= since, _STEPS.c.done_at < until)
    statements = ([select_rows(*columns).where(in_year)] if keys is None or per_step is None
                  else [select_rows(*columns).where(in_year, _STEPS.c.step == key)
                        .order_by(_STEPS.c.done_at.desc()).limit(per_step) for key in keys])
    times: dict[str, StepTimes] = {}
    for statement in statements:
        result = await (await session.connection()).stream(statement)
        async for step, started, due, done, data in result:
            times.setdefault(step, StepTimes()).add(
                StepRun(step, 0, started, due, done, None, dict(data)), calendar)
    return times


async def open_counts(*, session: AsyncSession, now: datetime) -> dict[str, tuple[int, int]]:
    """Open cases at each step and, of them, the late ones (past their current run's due
    moment, and not waiting on an outside party: a stopped clock is not late): two numbers
    per step, counted by the database."""
    latest = _STEPS.alias("latest")
    newest_round = (select_rows(func.max(latest.c.round))
                    .where(latest.c.case_id == _CASES.c.id,
                           latest.c.step == _CASES.c.current_step)
                    .scalar_subquery())
    current = and_(_STEPS.c.case_id == _CASES.c.id, _STEPS.c.step == _CASES.c.current_step,
                   _STEPS.c.round == newest_round)
    statement = (select_rows(_CASES.c.current_step, func.count(),
                             func.coalesce(func.sum(case(
                                 (and_(_STEPS.c.due_at < now,
                                       ~is_waiting(_CASES.c.due_at)), 1),
                                 else_=0)), 0))
                 .select_from(_CASES).join(_STEPS, current)
                 .where(_CASES.c.status == CaseStatus.OPEN.value)
                 .group_by(_CASES.c.current_step))
    rows = (await (await session.connection()).execute(statement)).all()
    return {step: (int(at), int(late)) for step, at, late in rows}


# --- target dates --------------------------------------------------------------------------


async def targets(*, session: AsyncSession, refs: Iterable[str] | None = None
                  ) -> dict[str, Target]:
    """The target dates of the cases among ``refs`` (every case's when None), by reference."""
    statement = select(CaseRow.ref, CaseTarget).join(
        CaseTarget, col(CaseTarget.case_id) == col(CaseRow.id))
    if refs is not None:
        statement = statement.where(col(CaseRow.ref).in_(sorted(set(refs))))
    return {ref: Target(ref, t.target_on, t.warned_late)
            for ref, t in (await session.exec(statement)).all()}


async def set_target(*, session: AsyncSession, ref: str, on: date, by: int, now: datetime
                     ) -> Target:
    """Set (or move) case ``ref``'s target date, with its event, in the caller's transaction.

    A moved target forgets the slip last warned: the new date gets its own warning.
    """
    row = await _case_row(session, ref)
    if row is None or row.id is None:
        raise UnknownCase(ref)
    target = await session.get(CaseTarget, row.id)
    before = target.target_on.isoformat() if target is not None else None
    if target is None:
        target = CaseTarget(case_id=row.id, target_on=on, set_by=by, set_at=now)
    else:
        target.target_on, target.set_by, target.set_at = on, by, now
        target.warned_late = target.warned_at = None
    session.add(target)
    session.add(EventRow(case_id=row.id, at=now, actor_id=by, kind="target_set",
                         data={"target": on.isoformat(), "before": before}))
    await session.flush()
    return Target(ref, on)


async def _target_row(session: AsyncSession, ref: str) -> CaseTarget | None:
    row = await _case_row(session, ref)
    return None if row is None or row.id is None else await session.get(CaseTarget, row.id)


async def mark_slip_warned(*, session: AsyncSession, ref: str, late: date, now: datetime
                           ) -> None:
    """Record, with its event, that the slip to ``late`` was warned, in the caller's
    transaction (the warning's own): no second warning until the next slip."""
    target = await _target_row(session, ref)
    if target is None:
        raise UnknownCase(ref)
    target.warned_late, target.warned_at = late, now
    session.add(target)
    session.add(EventRow(case_id=target.case_id, at=now, actor_id=None, kind="target_slipped",
                         data={"target": target.target_on.isoformat(), "late": late.isoformat()}))
    await session.flush()


async def clear_slip(*, session: AsyncSession, ref: str, now: datetime) -> None:
    """The case is back on target, with its event: its next slip is a new one."""
    target = await _target_row(session, ref)
    if target is not None and target.warned_late is not None:
        target.warned_late = target.warned_at = None
        session.add(target)
        session.add(EventRow(case_id=target.case_id, at=now, actor_id=None,
                             kind="target_back_on", data={"target": target.target_on.isoformat()}))
        await session.flush()


def target_dates(found: Mapping[str, Target]) -> dict[str, date]:
    """Just the dates, by reference."""
    return {ref: t.on for ref, t in found.items()}

