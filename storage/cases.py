"""Cases in the database: number, load, save and change them, each change one transaction.

The rules (bot.domain.rules) decide; this module only stores what they decided. A change is
saved with an optimistic lock (``UPDATE … WHERE version = :expected``) together with the rows of
its history and one event row per domain Event, in the caller's transaction.
"""

from __future__ import annotations

import copy
import copy as copy_module
import dataclasses
import functools
from collections import defaultdict
from collections.abc import Awaitable, Callable, Iterable, Sequence
from datetime import UTC, datetime
from typing import Any, TypeVar

from sqlalchemy import (
    BigInteger,
    Boolean,
    ColumnElement,
    Select,
    Text,
    and_,
    bindparam,
    cast,
    func,
    literal,
    null,
    union_all,
    update,
)
from sqlalchemy import case as case_when
from sqlalchemy import select as sa_select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlalchemy.orm import aliased
from sqlmodel import SQLModel, col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.domain.case import (
    Case,
    CaseStatus,
    Classification,
    Decision,
    Event,
    InputAsk,
    Instrument,
    Level,
    Phase,
    Source,
    StepRun,
)
from bot.domain.clock import waiting
from bot.domain.rules import Outcome
from bot.domain.targets import Target
from storage import nudges
from storage.models import (
    Approval,
    CaseCountry,
    CaseRow,
    CaseTarget,
    Division,
    Document,
    EventRow,
    InputRequest,
    RefCounter,
    StepRecord,
)

REF_PREFIX = "IKA"
LOAD_BATCH = 500  # references bound in one statement by load_cases

Sessions = async_sessionmaker[AsyncSession]
Row = TypeVar("Row", bound=SQLModel)


class StorageError(Exception):
    """A change that storage refuses to make."""


class UnknownCase(StorageError):
    """No case has this reference."""

    def __init__(self, ref: str) -> None:
        super().__init__(f"no case {ref}")
        self.ref = ref


class UnknownDivision(StorageError):
    """A case names a lead division that is not registered."""

    def __init__(self, code: str) -> None:
        super().__init__(f"no division {code}")
        self.code = code


class ConcurrentChange(StorageError):
    """The case changed since it was read: nothing was written; load it again and retry."""

    def __init__(self, ref: str, expected_version: int) -> None:
        super().__init__(f"case {ref} is no longer at version {expected_version}")
        self.ref, self.expected_version = ref, expected_version


# --- references --------------------------------------------------------------------------


async def next_ref(*, session: AsyncSession, year: int) -> str:
    """The next case reference of ``year`` (IKA-2026-001), counted in the caller's transaction.

    A counter row per year, bumped by one atomic upsert: concurrent registrations queue on the
    row (PostgreSQL) or the write lock (SQLite) and never get the same number, and a rolled-back
    registration gives its number back.
    """
    connection = await session.connection()
    insert = pg_insert if connection.dialect.name == "postgresql" else sqlite_insert
    table = SQLModel.metadata.tables[RefCounter.__tablename__]
    statement = (
        insert(table)
        .values(year=year, last=1)
        .on_conflict_do_update(index_elements=[table.c.year], set_={"last": table.c.last + 1})
        .returning(table.c.last)
    )
    number = (await session.exec(statement)).scalar_one()
    return f"{REF_PREFIX}-{year}-{number:03d}"


# --- reading -------------------------------------------------------------------------------


async def _rows(session: AsyncSession, model: type[Row],
                cases: Sequence[int] | Select[Any]) -> list[Row]:
    """Every row of ``model`` for these cases, in the order they were written.

    ``cases`` is a bounded list of ids (one case, one page) or a query of ids, never the ids
    of an unbounded set: a parameter per case fails above 65,535 on PostgreSQL.
    """
    statement = (
        select(model)
        .where(col(model.case_id).in_(cases))  # type: ignore[attr-defined]
        .order_by(col(model.id))  # type: ignore[attr-defined]
        # A session may outlive a transaction (expire_on_commit=False): always read afresh.
        .execution_options(populate_existing=True)
    )
    return list((await session.exec(statement)).all())


def _to_case(row: CaseRow, steps: list[StepRun], inputs: list[InputAsk],
             decisions: list[Decision]) -> Case:
    return Case(
        ref=row.ref,
        title=row.title,
        instrument=Instrument(row.instrument),
        level=Level(row.level),
        countries=tuple(row.countries),
        source=Source(row.source),
        lead_division=row.lead_division,
        received_on=row.received_on,
        status=CaseStatus(row.status),
        current_step=row.current_step,
        phase=Phase(row.phase),
        round=row.round,
        steps=steps,
        inputs=inputs,
        decisions=sorted(decisions, key=lambda d: d.round),
        classification=Classification(row.classification),
        version=row.version,
    )


def _run(s: StepRecord, copied: Callable[[dict[str, Any]], dict[str, Any]]) -> StepRun:
    # JSON values are deep-copied for the rules, which must never mutate what the session
    # tracks; a case only read and rendered shares them.
    return StepRun(key=s.step, round=s.round, started_at=s.started_at, due_at=s.due_at,
                   done_at=s.done_at, done_by=s.done_by, data=copied(s.data))


def _ask(i: InputRequest) -> InputAsk:
    return InputAsk(code=i.code, round=i.round, asked_at=i.asked_at,
                    received_at=i.received_at, received_by=i.received_by)


def _decision(a: Approval) -> Decision:
    return Decision(round=a.round, approved=a.approved, by=a.decided_by, at=a.decided_at,
                    reason=a.reason, on_behalf_of=a.on_behalf_of)


def case_with_run(row: CaseRow, run: StepRecord | None) -> Case:
    """The case of ``row`` with only its current step's run, as a list shows it: not for the
    rules, which need the whole history."""
    return _to_case(row, [_run(run, _same)] if run is not None else [], [], [])


def _same(value: dict[str, Any]) -> dict[str, Any]:
    return value


async def assemble(session: AsyncSession, rows: Sequence[CaseRow], *,
                   copy: bool = True, cases: Select[Any] | None = None) -> list[Case]:
    """Domain cases for ``rows``, their history read in three queries whatever their number.

    The history is selected by ``cases`` (a query of the rows' ids) when given, else by the
    rows' ids, which must then be a bounded number (a page, a batch). ``copy`` False shares
    the JSON values with the rows: for cases that are only read.
    """
    ids: Sequence[int] | Select[Any] = (
        cases if cases is not None else [r.id for r in rows if r.id is not None])
    if not rows:
        return []
    # Grouped by case in one pass each: linear in the rows, however many cases are read.
    steps: dict[int, list[StepRecord]] = defaultdict(list)
    for step in await _rows(session, StepRecord, ids):
        steps[step.case_id].append(step)
    inputs: dict[int, list[InputRequest]] = defaultdict(list)
    for request in await _rows(session, InputRequest, ids):
        inputs[request.case_id].append(request)
    approvals: dict[int, list[Approval]] = defaultdict(list)
    for approval in await _rows(session, Approval, ids):
        approvals[approval.case_id].append(approval)
    copied = copy_module.deepcopy if copy else _same
    return [
        _to_case(row, [_run(s, copied) for s in steps[row.id]],
                 [_ask(i) for i in inputs[row.id]],
                 [_decision(a) for a in approvals[row.id]])
        for row in rows
        if row.id is not None
    ]


async def _case_row(session: AsyncSession, ref: str, *, for_update: bool = False) -> CaseRow | None:
    statement = select(CaseRow).where(col(CaseRow.ref) == ref)
    if for_update:
        # PostgreSQL: a second writer waits here and then reads the first one's result.
        # SQLite ignores FOR UPDATE; its BEGIN IMMEDIATE already serialises writers.
        statement = statement.with_for_update()
    statement = statement.execution_options(populate_existing=True)
    return (await session.exec(statement)).first()


@functools.cache
def _case_with_history() -> Any:
    """The statement that reads a case (``:ref``), its history and its target date, built
    once."""
    history = _history(bindparam("ref"))
    return (
        select(CaseRow, history, col(CaseTarget.target_on), col(CaseTarget.warned_late))
        .outerjoin(history, history.c.case_id == CaseRow.id)
        .outerjoin(CaseTarget, col(CaseTarget.case_id) == col(CaseRow.id))
        .where(col(CaseRow.ref) == bindparam("ref"))
        .order_by(history.c.kind, history.c.id)
        .execution_options(populate_existing=True)
    )


def _history(ref: Any) -> Any:
    """Every step run, input asked and decision of case ``ref``, as one union of like rows
    (each part picks its rows by the case's id, on its own index)."""
    nothing = null()
    case_id = sa_select(col(CaseRow.id)).where(col(CaseRow.ref) == ref).scalar_subquery()
    runs: Any = sa_select(
        literal("r").label("kind"), col(StepRecord.case_id).label("case_id"),
        col(StepRecord.id).label("id"), col(StepRecord.step).label("key"),
        col(StepRecord.round).label("round"), col(StepRecord.started_at).label("first"),
        col(StepRecord.due_at).label("second"), col(StepRecord.done_at).label("third"),
        col(StepRecord.done_by).label("by"), cast(nothing, Boolean).label("approved"),
        cast(nothing, Text).label("reason"), col(StepRecord.data).label("data"),
        cast(nothing, BigInteger).label("behalf")
    ).where(col(StepRecord.case_id) == case_id)
    asks = sa_select(
        literal("i"), col(InputRequest.case_id), col(InputRequest.id), col(InputRequest.code),
        col(InputRequest.round), col(InputRequest.asked_at), col(InputRequest.received_at),
        nothing, col(InputRequest.received_by), nothing, nothing, nothing, nothing
    ).where(col(InputRequest.case_id) == case_id)
    decided = sa_select(
        literal("d"), col(Approval.case_id), col(Approval.id), nothing, col(Approval.round),
        col(Approval.decided_at), nothing, nothing, col(Approval.decided_by),
        col(Approval.approved), col(Approval.reason), nothing, col(Approval.on_behalf_of)
    ).where(col(Approval.case_id) == case_id)
    return union_all(runs, asks, decided).subquery("history")


async def load_case(*, session: AsyncSession, ref: str, for_update: bool = False,
                    copy: bool = True) -> Case | None:
    """The case ``ref`` with its history, in one query, or None; ``for_update`` locks it
    until commit. ``copy`` False shares the JSON values with the session: for reading only."""
    found = await load_case_and_target(session=session, ref=ref, for_update=for_update,
                                       copy=copy)
    return found[0] if found is not None else None


async def load_case_and_target(*, session: AsyncSession, ref: str, for_update: bool = False,
                               copy: bool = True) -> tuple[Case, Target | None] | None:
    """``load_case``, with the case's target date (None when it has none), in the same query:
    what /status REF shows."""
    if for_update:
        # PostgreSQL: a second writer waits here and then reads the first one's result, in
        # the next statement (a statement that waited on a lock still sees the rows it
        # joined as they were when it began). SQLite ignores FOR UPDATE; its BEGIN IMMEDIATE
        # already serialises writers.
        locked = (select(col(CaseRow.id)).where(col(CaseRow.ref) == ref).with_for_update())
        if (await session.exec(locked)).first() is None:
            return None
    result: list[Any] = list((await session.exec(_case_with_history(),
                                                 params={"ref": ref})).all())
    if not result:
        return None
    copied = copy_module.deepcopy if copy else _same
    runs, asks, decisions = [], [], []
    for line in result:
        kind = line.kind
        if kind == "r":
            runs.append(StepRun(key=line.key, round=line.round, started_at=line.first,
                                due_at=line.second, done_at=line.third, done_by=line.by,
                                data=copied(line.data)))
        elif kind == "i":
            asks.append(InputAsk(code=line.key, round=line.round, asked_at=line.first,
                                 received_at=line.second, received_by=line.by))
        elif kind == "d":
            decisions.append(Decision(round=line.round, approved=line.approved, by=line.by,
                                      at=line.first, reason=line.reason,
                                      on_behalf_of=line.behalf))
    first = result[0]
    target = (Target(ref, first.target_on, first.warned_late)
              if first.target_on is not None else None)
    return _to_case(first[0], runs, asks, decisions), target


async def load_cases(*, session: AsyncSession, refs: Iterable[str]) -> dict[str, Case]:
    """The cases among ``refs`` that exist, by reference, four queries per batch of refs.

    The references are bound in batches of LOAD_BATCH, so however many are asked for no
    statement binds more than that.
    """
    wanted = sorted(set(refs))
    found: dict[str, Case] = {}
    for start in range(0, len(wanted), LOAD_BATCH):
        statement = (
            select(CaseRow)
            .where(col(CaseRow.ref).in_(wanted[start:start + LOAD_BATCH]))
            .order_by(col(CaseRow.id))
            .execution_options(populate_existing=True)
        )
        rows = list((await session.exec(statement)).all())
        found.update((case.ref, case) for case in await assemble(session, rows))
    return found


def is_waiting(case_due: Any) -> ColumnElement[bool]:
    """An open case's current step waits on an outside party: its row carries no due moment
    then (``_current_due``), its clock being stopped, so it is not late however long ago the
    step fell due. ``case_due`` is the cases table's ``due_at`` column."""
    waits: ColumnElement[bool] = case_due.is_(None)
    return waits


@dataclasses.dataclass(frozen=True)
class OpenSteps:
    """Where the open cases stand, without reading them: what the digest and the board say."""

    open: int  # open cases at a step
    overdue: int  # of them, past their current step's due moment and not waiting
    earliest: list[tuple[str, StepRun]]  # (ref, current step) not waiting, falling due first
    waiting: int = 0  # of them, waiting on an outside party (their clocks stopped)
    waits: list[tuple[str, StepRun]] = dataclasses.field(default_factory=list)  # the first


async def open_steps(*, session: AsyncSession, now: datetime, first: int,
                     first_waiting: int | None = None) -> OpenSteps:
    """The open cases counted, the ``first`` whose current steps fall due earliest, and the
    ``first_waiting`` (default ``first``) of those waiting on an outside party, apart.

    A step that waits is neither counted nor listed as overdue: its clock is stopped. A few
    queries however many cases are open: reading them all (list_open_cases) took 21 s and
    1.4 GB at 100,000 open cases. Ordered by due moment, the most overdue come first, and the
    working days late never order them differently.
    """
    latest = aliased(StepRecord)
    newest_round = (select(func.max(latest.round))
                    .where(col(latest.case_id) == col(CaseRow.id),
                           col(latest.step) == col(CaseRow.current_step))
                    .scalar_subquery())
    current = and_(col(StepRecord.case_id) == col(CaseRow.id),
                   col(StepRecord.step) == col(CaseRow.current_step),
                   col(StepRecord.round) == newest_round)
    is_open = col(CaseRow.status) == CaseStatus.OPEN.value
    waits = is_waiting(col(CaseRow.due_at))
    counted = (await session.exec(
        select(func.count(),
               func.coalesce(func.sum(case_when(
                   (and_(col(StepRecord.due_at) < now, ~waits), 1), else_=0)), 0),
               func.coalesce(func.sum(case_when((waits, 1), else_=0)), 0))
        .select_from(CaseRow).join(StepRecord, current).where(is_open))).one()
    listing = (select(CaseRow.ref, StepRecord).join(StepRecord, current)
               .order_by(col(StepRecord.due_at), col(CaseRow.id)))
    rows = (await session.exec(listing.where(is_open, ~waits).limit(first))).all()
    waiting = int(counted[2])
    wanted = first if first_waiting is None else first_waiting
    waiting_rows = ((await session.exec(listing.where(is_open, waits).limit(wanted))).all()
                    if waiting and wanted else [])
    return OpenSteps(int(counted[0]), int(counted[1]), _listed(rows), waiting,
                     _listed(waiting_rows))


def _listed(rows: Sequence[tuple[str, StepRecord]]) -> list[tuple[str, StepRun]]:
    return [(ref, StepRun(key=s.step, round=s.round, started_at=s.started_at, due_at=s.due_at,
                          done_at=s.done_at, done_by=s.done_by, data=copy.deepcopy(s.data)))
            for ref, s in rows]


async def any_open(*, session: AsyncSession) -> bool:
    """True when some case is open (one row read, on the status index)."""
    statement = select(CaseRow.id).where(col(CaseRow.status) == CaseStatus.OPEN.value).limit(1)
    return (await session.exec(statement)).first() is not None


async def list_open_cases(*, session: AsyncSession) -> list[Case]:
    """Every open case, oldest first (for a report of them all: a list shows read_page's)."""
    is_open = col(CaseRow.status) == CaseStatus.OPEN.value
    statement = (
        select(CaseRow)
        .where(is_open)
        .order_by(col(CaseRow.id))
        .execution_options(populate_existing=True)
    )
    rows = list((await session.exec(statement)).all())
    return await assemble(session, rows, cases=select(col(CaseRow.id)).where(is_open))


async def case_events(*, session: AsyncSession, ref: str) -> list[Event]:
    """The case's event log, oldest first; UnknownCase if there is no such case."""
    row = await _case_row(session, ref)
    if row is None or row.id is None:
        raise UnknownCase(ref)
    return [
        Event(kind=e.kind, actor=e.actor_id, at=e.at, step=e.step, data=copy.deepcopy(e.data))
        for e in await _rows(session, EventRow, [row.id])
    ]


# --- writing -------------------------------------------------------------------------------


def _case_values(case: Case) -> dict[str, Any]:
    """The case row's columns that the rules may change, as stored values."""
    return {
        "ref": case.ref,
        "title": case.title,
        "instrument": case.instrument.value,
        "level": case.level.value,
        "countries": list(case.countries),
        "source": case.source.value,
        "lead_division": case.lead_division,
        "received_on": case.received_on,
        "status": case.status.value,
        "current_step": case.current_step,
        "phase": case.phase.value,
        "round": case.round,
        "classification": case.classification.value,
        "due_at": _current_due(case),
    }


def _current_due(case: Case) -> datetime | None:
    """The current step's due moment, which lists order by; None once the case is closed, and
    while its step waits on an outside party (its clock stopped: not late, listed after the
    steps with a date to meet)."""
    run = case.current_run
    if not case.is_open or run is None or waiting(run) is not None:
        return None
    return run.due_at


def _set_changed(row: SQLModel, values: dict[str, Any]) -> None:
    """Assign only what differs, so an unchanged row is not written again."""
    for name, value in values.items():
        if getattr(row, name) != value:
            setattr(row, name, value)


async def _sync_history(session: AsyncSession, case_id: int, case: Case) -> None:
    """Insert new step runs, inputs and decisions; update changed ones by their unique keys.

    The rules only ever add runs, inputs and decisions, so rows are never deleted here.
    """
    records = {(r.step, r.round): r for r in await _rows(session, StepRecord, [case_id])}
    for run in case.steps:
        values: dict[str, Any] = {
            "started_at": run.started_at, "due_at": run.due_at, "done_at": run.done_at,
            "done_by": run.done_by, "data": copy.deepcopy(run.data),
        }
        record = records.get((run.key, run.round))
        if record is None:
            session.add(StepRecord(case_id=case_id, step=run.key, round=run.round, **values))
        else:
            _set_changed(record, values)

    requests = {(r.round, r.code): r for r in await _rows(session, InputRequest, [case_id])}
    for ask in case.inputs:
        values = {
            "asked_at": ask.asked_at, "received_at": ask.received_at,
            "received_by": ask.received_by,
        }
        request = requests.get((ask.round, ask.code))
        if request is None:
            session.add(InputRequest(case_id=case_id, round=ask.round, code=ask.code, **values))
        else:
            _set_changed(request, values)

    decided = {a.round: a for a in await _rows(session, Approval, [case_id])}
    for decision in case.decisions:
        approval = decided.get(decision.round)
        if approval is None:
            session.add(Approval(case_id=case_id, round=decision.round,
                                 approved=decision.approved, decided_by=decision.by,
                                 decided_at=decision.at, reason=decision.reason,
                                 on_behalf_of=decision.on_behalf_of))
        elif (approval.approved, approval.decided_by) != (decision.approved, decision.by):
            raise StorageError(f"case {case.ref}: the decision on round {decision.round} is final")
        else:
            _set_changed(approval, {"reason": decision.reason})  # given after the tap


def _append_events(session: AsyncSession, case_id: int | None, events: Iterable[Event]) -> None:
    # Added in order: the unit of work inserts rows of one table in the order they were added,
    # so event ids follow the order the rules gave.
    session.add_all(
        EventRow(case_id=case_id, at=e.at, actor_id=e.actor, kind=e.kind, step=e.step,
                 data=copy.deepcopy(e.data))
        for e in events
    )


def _changed_at(events: Sequence[Event]) -> datetime:
    """When a change happened: by the rules' clock, which the caller passed in."""
    return max((e.at for e in events), default=datetime.now(UTC))


async def _insert_case(session: AsyncSession, outcome: Outcome) -> Case:
    case = outcome.case
    if await session.get(Division, case.lead_division) is None:
        raise UnknownDivision(case.lead_division)
    at = _changed_at(outcome.events)
    row = CaseRow(**_case_values(case), version=1, created_at=at, updated_at=at)
    session.add(row)
    await session.flush()  # gives the row its id
    assert row.id is not None
    # A case's countries are given when it is registered and never changed by the rules.
    session.add_all(CaseCountry(case_id=row.id, country=c) for c in case.countries)
    await _sync_history(session, row.id, case)
    _append_events(session, row.id, outcome.events)
    await session.flush()
    await nudges.plan(session=session, nudges=outcome.nudges, drops=outcome.drops, now=at)
    await session.flush()
    return dataclasses.replace(case, version=row.version)


async def save_outcome(*, session: AsyncSession, outcome: Outcome,
                       expected_version: int | None) -> Case:
    """Store what the rules returned, in the caller's transaction; the case at its new version.

    ``expected_version`` None inserts a new case. Otherwise the case row is updated only if it
    is still at ``expected_version`` (ConcurrentChange if not), then its history rows are
    synced and every event appended. An outcome without events changed nothing and writes
    nothing.
    """
    case = outcome.case
    if expected_version is None:
        return await _insert_case(session, outcome)
    if not outcome.events:
        return case
    statement = (
        update(CaseRow)
        .where(col(CaseRow.ref) == case.ref, col(CaseRow.version) == expected_version)
        .values(**_case_values(case), version=col(CaseRow.version) + 1,
                updated_at=_changed_at(outcome.events))
        .returning(col(CaseRow.id), col(CaseRow.version))
        .execution_options(synchronize_session=False)
    )
    matched = (await session.exec(statement)).one_or_none()
    if matched is None:
        if await _case_row(session, case.ref) is None:
            raise UnknownCase(case.ref)
        raise ConcurrentChange(case.ref, expected_version)
    case_id, version = matched
    await _sync_history(session, case_id, case)
    _append_events(session, case_id, outcome.events)
    # The reminders the change plans or makes moot go in the same transaction: never lost.
    await nudges.plan(session=session, nudges=outcome.nudges, drops=outcome.drops,
                      now=_changed_at(outcome.events))
    await session.flush()  # constraint violations surface here, inside the caller's transaction
    return dataclasses.replace(case, version=version)


async def create_case(*, sessions: Sessions, year: int,
                      build: Callable[[str], Outcome]) -> Outcome:
    """Register a case under the next reference of ``year``, in one transaction.

    ``build`` gets the reference and returns the rules' outcome, typically
    ``lambda ref: register_case(NewCase(ref, …), actor=…, now=…, procedure=…)``; the domain's
    Refused propagates with nothing written (and the number not used up).
    """
    async with sessions() as session, session.begin():
        ref = await next_ref(session=session, year=year)
        outcome = build(ref)
        if outcome.case.ref != ref:
            raise StorageError(f"the new case must be {ref}, not {outcome.case.ref}")
        case = await save_outcome(session=session, outcome=outcome, expected_version=None)
    return Outcome(case, outcome.events)


async def change_case(*, sessions: Sessions, ref: str,
                      change: Callable[[Case], Outcome]) -> Outcome:
    """Load case ``ref``, apply ``change`` to it and save the outcome, in one transaction.

    ``change`` is typically ``lambda case: apply(case, action, actor=…, now=…, procedure=…)``.
    Raises UnknownCase, ConcurrentChange, or the domain's Refused; then nothing is written.
    The case is locked while it changes, so two people acting at once are served in turn and
    the second one's action is judged on the first one's result.
    """

    async def pure(_session: AsyncSession, case: Case) -> Outcome:
        return change(case)

    return await change_case_with(sessions=sessions, ref=ref, change=pure)


async def change_case_with(*, sessions: Sessions, ref: str,
                           change: Callable[[AsyncSession, Case], Awaitable[Outcome]]
                           ) -> Outcome:
    """As change_case, for a change that also writes rows of its own (a document received)."""
    async with sessions() as session, session.begin():
        case = await load_case(session=session, ref=ref, for_update=True)
        if case is None:
            raise UnknownCase(ref)
        outcome = await change(session, case)
        saved = await save_outcome(session=session, outcome=outcome,
                                   expected_version=case.version)
    return Outcome(saved, outcome.events)


# --- documents -----------------------------------------------------------------------------


async def add_document(
    *,
    session: AsyncSession,
    ref: str,
    step: str,
    telegram_file_id: str,
    file_unique_id: str,
    name: str,
    sha256: str,
    uploaded_by: int,
    uploaded_at: datetime,
    mime_type: str | None = None,
    size: int | None = None,
    stored_path: str | None = None,
) -> Document:
    """Record a file received on case ``ref`` and log it, in the caller's transaction."""
    row = await _case_row(session, ref)
    if row is None or row.id is None:
        raise UnknownCase(ref)
    document = Document(
        case_id=row.id, step=step, telegram_file_id=telegram_file_id,
        file_unique_id=file_unique_id, name=name, mime_type=mime_type, size=size,
        sha256=sha256, stored_path=stored_path, uploaded_by=uploaded_by,
        uploaded_at=uploaded_at,
    )
    session.add(document)
    await session.flush()  # gives the document its id, for the event and the caller
    _append_events(session, row.id, [Event(
        "document_added", uploaded_by, uploaded_at, step=step,
        data={"document_id": document.id, "name": name, "sha256": sha256},
    )])
    await session.flush()
    return document


async def documents_by_id(*, session: AsyncSession, ids: Sequence[int]) -> dict[int, Document]:
    """These documents (a bounded batch), by id."""
    if not ids:
        return {}
    rows = await session.exec(select(Document).where(col(Document.id).in_(list(ids))))
    return {row.id: row for row in rows.all() if row.id is not None}


async def case_documents(*, session: AsyncSession, ref: str) -> list[Document]:
    """The files received on case ``ref``, oldest first; UnknownCase if there is no such case."""
    row = await _case_row(session, ref)
    if row is None or row.id is None:
        raise UnknownCase(ref)
    return await _rows(session, Document, [row.id])
