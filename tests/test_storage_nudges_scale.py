"""The sweep's queries stay cheap as sent reminders pile up, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import SQLModel

from bot.domain.case import Instrument, Level, Source
from bot.domain.clock import waiting
from bot.domain.deadlines import Procedure
from bot.domain.rules import (
    CompleteStep,
    NewCase,
    Outcome,
    ResumeWait,
    StartWait,
    Withdraw,
    apply,
    register_case,
)
from bot.domain.sop import WaitParty
from handlers.cards import working_days_late
from storage.cases import (
    Sessions,
    change_case,
    create_case,
    list_open_cases,
    load_cases,
    open_steps,
)
from storage.nudges import _ANY_DUE, any_due
from storage.reports import open_counts
from tests.builders import AB, OFFICER

NOW = datetime(2026, 10, 7, 2, 0, tzinfo=UTC)


def _row(n: int, due_at: datetime, sent: bool) -> dict[str, object]:
    return {"key": f"digest|{n}", "case_id": None, "step": None, "round": 0, "kind": "digest",
            "day": date(2026, 1, 1), "seq": 0, "target": "division:AB", "due_at": due_at,
            "planned_at": due_at, "claimed_by": None, "claimed_until": None, "attempts": 0,
            "sent_at": due_at if sent else None, "message_id": 1 if sent else None,
            "dropped_at": None, "failed_at": None, "last_error": None}


async def _plan_of_any_due(engine: AsyncEngine) -> str:
    """The database's plan for the idle sweep's question, asked as the sweep asks it."""
    async with engine.connect() as connection:
        sqlite = connection.dialect.name == "sqlite"
        compiled = _ANY_DUE.compile(dialect=connection.dialect)
        now: object = NOW.replace(tzinfo=None).isoformat(" ") if sqlite else NOW
        values = {**compiled.params, "now": now}
        parameters = (tuple(values[name] for name in compiled.positiontup or ()) if sqlite
                      else values)
        explain = "EXPLAIN QUERY PLAN " if sqlite else "EXPLAIN "
        rows = (await connection.exec_driver_sql(explain + str(compiled), parameters)).all()
    return "\n".join(str(row[-1]) for row in rows)


async def test_the_idle_check_reads_the_partial_index_not_the_sent_rows(
        engine: AsyncEngine, sessions: Sessions) -> None:
    # Months of sent reminders, all due long ago, and those pending for the open cases' current
    # steps, all due later: as many rows of each kind as a busy ministry has.
    sent = [_row(n, NOW - timedelta(minutes=n), sent=True) for n in range(1, 6001)]
    pending = [_row(-n, NOW + timedelta(minutes=n), sent=False) for n in range(1, 4001)]
    async with engine.begin() as connection:
        await connection.execute(insert(SQLModel.metadata.tables["nudges"]), sent + pending)
    async with engine.connect() as connection:
        await connection.execution_options(isolation_level="AUTOCOMMIT")
        await connection.exec_driver_sql("ANALYZE")  # statistics that count the sent rows

    plan = await _plan_of_any_due(engine)
    # Statistics say most rows are due by now; with LIMIT 1 PostgreSQL once chose to scan the
    # whole table for the first pending one, and read every sent row to find none.
    assert "ix_nudges_pending_due_at" in plan, plan
    assert "Seq Scan" not in plan and "SCAN nudges" not in plan, plan

    async with sessions() as session:
        assert not await any_due(session=session, now=NOW)
        assert await any_due(session=session, now=NOW + timedelta(minutes=1))


async def test_cases_are_loaded_together_and_the_unknown_left_out(sessions: Sessions) -> None:
    async with sessions() as session:
        assert await load_cases(session=session, refs=["IKA-2026-404"]) == {}
        assert await load_cases(session=session, refs=[]) == {}


async def test_the_digest_counts_open_steps_without_reading_every_case(
        sessions: Sessions, org: object, procedure: Procedure) -> None:
    now = datetime(2026, 9, 21, 3, 0, tzinfo=UTC)  # a Monday morning in Putrajaya
    refs = []
    for days in (30, 2, 20, 9, 14, 25):  # received that many days ago: some overdue by now
        received = (now - timedelta(days=days)).date()

        def build(ref: str, received: date = received) -> Outcome:
            return register_case(NewCase(ref, f"MOU {ref}", Instrument.MOU, Level.BILATERAL,
                                         ("ID",), Source.KLN, "BKKA", received),
                                 actor=AB, now=now, procedure=procedure)

        refs.append((await create_case(sessions=sessions, year=2026, build=build)).case.ref)
    await change_case(sessions=sessions, ref=refs[1], change=lambda case: apply(
        case, CompleteStep("receive"), actor=AB, now=now, procedure=procedure))
    await change_case(sessions=sessions, ref=refs[2], change=lambda case: apply(
        case, Withdraw("no longer needed"), actor=AB, now=now, procedure=procedure))

    async with sessions() as session:
        steps = await open_steps(session=session, now=now, first=3)
        cases = await list_open_cases(session=session)
    # What reading every open case gives, as the digest once did.
    runs = sorted(((c.ref, c.current_run) for c in cases if c.current_run is not None),
                  key=lambda pair: (-working_days_late(pair[1], procedure, now), pair[1].due_at))
    assert steps.open == len(runs) == 5
    assert steps.overdue == sum(1 for _, run in runs if working_days_late(run, procedure, now))
    assert 0 < steps.overdue < steps.open
    assert steps.earliest == runs[:3]


async def test_a_step_waiting_on_others_is_not_overdue_and_is_listed_apart(
        sessions: Sessions, org: object, procedure: Procedure) -> None:
    now = datetime(2026, 9, 21, 3, 0, tzinfo=UTC)  # a Monday morning in Putrajaya
    refs = []
    for days in (40, 35, 30, 3):  # the first three overdue by now, the most overdue first
        then = now - timedelta(days=days)

        def build(ref: str, then: datetime = then) -> Outcome:
            registered = register_case(NewCase(ref, f"MOU {ref}", Instrument.MOU,
                                               Level.BILATERAL, ("ID",), Source.KLN, "BKKA",
                                               then.date()),
                                       actor=AB, now=then, procedure=procedure)
            return registered.then(apply(registered.case, CompleteStep("receive"), actor=AB,
                                         now=then, procedure=procedure))

        refs.append((await create_case(sessions=sessions, year=2026, build=build)).case.ref)
    # The most overdue one waits on KLN (its clock stopped), one that waited has resumed.
    for ref in refs[:2]:
        await change_case(sessions=sessions, ref=ref, change=lambda case: apply(
            case, StartWait("collect_input", WaitParty.KLN, "draft with KLN"), actor=OFFICER,
            now=now, procedure=procedure))
    await change_case(sessions=sessions, ref=refs[1], change=lambda case: apply(
        case, ResumeWait("collect_input"), actor=OFFICER, now=now, procedure=procedure))

    async with sessions() as session:
        steps = await open_steps(session=session, now=now, first=1)
        everything = await open_steps(session=session, now=now, first=10)
        counts = await open_counts(session=session, now=now)
    assert (steps.open, steps.overdue, steps.waiting) == (4, 2, 1)
    # the first listed is the most overdue that is not waiting; the waiting one comes apart
    assert [ref for ref, _ in steps.earliest] == [refs[1]]
    assert [ref for ref, _ in steps.waits] == [refs[0]]
    assert [ref for ref, _ in everything.earliest] == refs[1:]
    assert [ref for ref, run in everything.waits if waiting(run)] == [refs[0]]
    assert counts == {"collect_input": (4, 2)}
