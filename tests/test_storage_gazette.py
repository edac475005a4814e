"""The gazette and absences through the database: a holiday moves due dates still to come,
logged, their reminders re-planned; an approver away has their cards go to the one acting."""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.domain.absence import Absence
from bot.domain.deadlines import Procedure
from bot.domain.reminders import Audience, Nudge, NudgeKind
from bot.domain.rules import CompleteStep, apply, register_case
from storage.absences import end_absences, record_absence
from storage.cases import case_events, create_case, load_case
from storage.gazette import set_day, with_gazette
from storage.models import EventRow, NudgeRow
from storage.nudges import plan, rows_for
from storage.org import OrgSummary
from tests.builders import AB, at, new_case

MONDAY = date(2026, 8, 3)


async def _case_at_step_2(sessions: async_sessionmaker[AsyncSession], procedure: Procedure,
                          received: date = MONDAY) -> str:
    now = at(received)

    def build(ref: str):  # type: ignore[no-untyped-def]
        outcome = register_case(new_case(received, ref), actor=AB, now=now, procedure=procedure)
        return outcome.then(apply(outcome.case, CompleteStep("receive"), actor=AB, now=now,
                                  procedure=procedure))

    return (await create_case(sessions=sessions, year=received.year, build=build)).case.ref


async def test_a_gazetted_holiday_moves_due_dates_to_come_and_logs_it(
        sessions: async_sessionmaker[AsyncSession], org: OrgSummary,
        procedure: Procedure) -> None:
    ref = await _case_at_step_2(sessions, procedure)
    late = await _case_at_step_2(sessions, procedure, MONDAY - timedelta(days=21))
    async with sessions() as session:
        case = await load_case(session=session, ref=ref)
        passed = await load_case(session=session, ref=late)
    assert case is not None and passed is not None
    due = procedure.calendar.local_date(case.current_run.due_at)  # type: ignore[union-attr]
    passed_due = passed.current_run.due_at  # type: ignore[union-attr]
    changed, moved = await set_day(sessions=sessions, procedure=procedure, day=due,
                                   name="Cuti Peristiwa", holiday=True, by=9001,
                                   now=at(MONDAY + timedelta(days=2)))
    assert [m.ref for m in moved] == [ref]
    assert changed.calendar.holiday(due) == "Cuti Peristiwa"
    assert (await with_gazette(sessions=sessions, procedure=procedure)).calendar == \
        changed.calendar
    async with sessions() as session:
        case = await load_case(session=session, ref=ref)
        passed = await load_case(session=session, ref=late)
        events = await case_events(session=session, ref=ref)
        rows = await rows_for(session=session, ref=ref)
        logged = (await session.exec(select(EventRow.kind).where(
            col(EventRow.case_id).is_(None)))).all()
    run = case.current_run  # type: ignore[union-attr]
    assert procedure.calendar.local_date(run.due_at) == due + timedelta(days=1)
    assert passed.current_run.due_at == passed_due  # type: ignore[union-attr]
    assert events[-1].kind == "due_recounted" and "Cuti Peristiwa" in events[-1].data["why"]
    assert list(logged)[-1] == "holiday_added"
    pending = {(r.kind, r.day) for r in rows if r.sent_at is None and r.dropped_at is None}
    assert ("due_today", due + timedelta(days=1)) in pending
    assert ("due_today", due) not in pending
    assert changed.days_moved_over(case, run) == (due,)  # type: ignore[arg-type]

    back, moved_back = await set_day(sessions=sessions, procedure=changed, day=due, name=None,
                                     holiday=True, by=9001, now=at(MONDAY + timedelta(days=3)))
    assert [m.after for m in moved_back] == [procedure.due_at(due)]
    assert back.calendar.holiday(due) is None


async def test_an_approver_away_has_their_cards_go_to_the_one_acting(
        sessions: async_sessionmaker[AsyncSession], org: OrgSummary,
        procedure: Procedure) -> None:
    ref = await _case_at_step_2(sessions, procedure)
    day = MONDAY + timedelta(days=1)
    async with sessions() as session, session.begin():
        await record_absence(session=session, absence=Absence(3001, MONDAY, day, 3002),
                             set_by=3001, now=at(MONDAY))
        for on in (day, day + timedelta(days=1)):
            await plan(session=session, nudges=[Nudge(ref, "minit_cerai", 1, NudgeKind.DECISION,
                                                       on, Audience.APPROVERS, at(on, 9), 1)],
                       now=at(MONDAY))
    async with sessions() as session:
        rows = await rows_for(session=session, ref=ref)
    targets = {(r.day, r.target) for r in rows if r.kind == "decision"}
    assert targets == {(day, "user:3002"), (day + timedelta(days=1), "user:3001"),
                       (day + timedelta(days=1), "user:3002")}


async def test_an_absence_recorded_after_the_chases_were_planned_moves_them_to_the_one_acting(
        sessions: async_sessionmaker[AsyncSession], org: OrgSummary,
        procedure: Procedure) -> None:
    """The chases and a Ya/Tidak card were planned for both approvers; the KSU then records
    an absence with the TKSU acting, the TKSU one of their own, and the KSU comes back early.
    What was not sent follows who decides on its day."""
    ref = await _case_at_step_2(sessions, procedure)
    other = await _case_at_step_2(sessions, procedure)
    tuesday, wednesday, thursday = (MONDAY + timedelta(days=n) for n in (1, 2, 3))
    chases = [Nudge(case, "minit_cerai", 1, NudgeKind.DECISION, on, Audience.APPROVERS,
                    at(on, 9), 1) for case in (ref, other) for on in (tuesday, wednesday)]
    card = Nudge(ref, "minit_cerai", 1, NudgeKind.ASK, MONDAY, Audience.APPROVERS,
                 at(MONDAY, 11), 0, "Minit")
    async with sessions() as session, session.begin():
        await plan(session=session, nudges=[*chases, card], now=at(MONDAY))

    async def owed() -> set[tuple[str, str, date, str]]:
        """(case, kind, day, chat) of each approvers' row still to send."""
        return {(case, r.kind, r.day, r.target) for case in (ref, other)
                for r in await _rows(sessions, case)
                if r.kind in ("decision", "ask") and r.sent_at is None and r.dropped_at is None}

    everyone = {(case, "decision", on, who) for case in (ref, other)
                for on in (tuesday, wednesday) for who in ("user:3001", "user:3002")}
    cards = {(ref, "ask", MONDAY, who) for who in ("user:3001", "user:3002")}
    assert await owed() == everyone | cards

    # Away from today (Monday, 10.00: the card is still to go) to Tuesday, the TKSU acting.
    async with sessions() as session, session.begin():
        await record_absence(session=session, absence=Absence(3001, MONDAY, tuesday, 3002),
                             set_by=3001, now=at(MONDAY))
    away = {(case, "decision", tuesday, "user:3001") for case in (ref, other)}
    assert await owed() == (everyone - away) | {(ref, "ask", MONDAY, "user:3002")}

    # The TKSU is away on Wednesday too, the KSU acting: nobody else is left for Tuesday.
    async with sessions() as session, session.begin():
        await record_absence(session=session, absence=Absence(3002, wednesday, thursday, 3001),
                             set_by=3002, now=at(MONDAY, 11))
    tksu_away = {(case, "decision", wednesday, "user:3002") for case in (ref, other)}
    assert await owed() == (everyone - away - tksu_away) | {(ref, "ask", MONDAY, "user:3002")}

    # Back on Monday afternoon: the KSU's card and Tuesday's chases come back.
    async with sessions() as session, session.begin():
        assert await end_absences(session=session, user_id=3001, now=at(MONDAY, 14),
                                  today=MONDAY) == 1
    assert await owed() == (everyone - tksu_away) | cards


async def _rows(sessions: async_sessionmaker[AsyncSession], ref: str) -> list[NudgeRow]:
    async with sessions() as session:
        return await rows_for(session=session, ref=ref)
