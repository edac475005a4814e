"""Cases through the database: the real rules, the real repository, SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError, StatementError
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import col, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.domain.case import Actor, Case, CaseStatus, Event, Instrument, Level, Phase, Role, Source
from bot.domain.deadlines import Procedure
from bot.domain.rules import (
    Action,
    AddNote,
    Close,
    CompleteStep,
    Decide,
    DocumentDelivered,
    Filed,
    MeetingHeld,
    NegotiationHeld,
    NewCase,
    NoteSent,
    Outcome,
    Reason,
    RecordSigning,
    Refused,
    RequestInputs,
    Revise,
    SubmitMemo,
    TickInput,
    apply,
    register_case,
)
from storage.cases import (
    ConcurrentChange,
    UnknownCase,
    UnknownDivision,
    add_document,
    case_documents,
    case_events,
    change_case,
    create_case,
    list_open_cases,
    load_case,
    next_ref,
    save_outcome,
)
from storage.models import Approval, CaseRow, EventRow, InputRequest, StepRecord

Sessions = async_sessionmaker[AsyncSession]

KL = ZoneInfo("Asia/Kuala_Lumpur")
START = datetime(2026, 9, 1, 10, tzinfo=KL)  # a Tuesday
# The example organisation's people (org.example.toml, imported by the ``org`` fixture).
AB = Actor(1001, Role.AB, "AB")
OFFICER = Actor(2001, Role.OFFICER, "BKKA")
OFFICERS = {"BKKA": OFFICER, "BPI": Actor(2002, Role.OFFICER, "BPI")}
MANAGER = Actor(3001, Role.MANAGEMENT, "PT")
MANAGER_2 = Actor(3002, Role.MANAGEMENT, "PT")

pytestmark = pytest.mark.usefixtures("org")


class Clock:
    """Time passed in: each reading is an hour after the last."""

    def __init__(self, start: datetime = START) -> None:
        self.now = start

    def __call__(self) -> datetime:
        self.now += timedelta(hours=1)
        return self.now


def new_case(ref: str, lead: str = "BKKA") -> NewCase:
    return NewCase(ref, "MOU on border security", Instrument.MOU, Level.BILATERAL, ("id", "TH"),
                   Source.KLN, lead, date(2026, 8, 20))


async def register(sessions: Sessions, procedure: Procedure, clock: Clock,
                   lead: str = "BKKA") -> Outcome:
    now = clock()
    return await create_case(
        sessions=sessions, year=now.year,
        build=lambda ref: register_case(new_case(ref, lead), actor=AB, now=now,
                                        procedure=procedure),
    )


async def act(sessions: Sessions, procedure: Procedure, ref: str, action: Action,
              actor: Actor, now: datetime) -> Outcome:
    return await change_case(
        sessions=sessions, ref=ref,
        change=lambda case: apply(case, action, actor=actor, now=now, procedure=procedure),
    )


def script(today: date, officer: Actor = OFFICER) -> dict[str, list[tuple[Action, Actor]]]:
    """What each step takes, done by its right owner (``officer`` for the lead division)."""
    return {
        "receive": [(CompleteStep("receive"), AB)],
        "collect_input": [(RequestInputs(("PDRM", "AGC")), officer), (TickInput("PDRM"), officer),
                          (TickInput("AGC"), officer), (CompleteStep("collect_input"), officer)],
        "minit_cerai": [(SubmitMemo("memo"), officer), (Decide(True, "proceed"), MANAGER)],
        "prep_meeting": [(CompleteStep("prep_meeting", MeetingHeld(today)), officer)],
        "inform_ab": [(CompleteStep("inform_ab", note="informed by letter"), officer)],
        "convey_kln": [(CompleteStep("convey_kln", NoteSent("KLN.600-1/2/3")), AB)],
        "negotiate": [(CompleteStep("negotiate", NegotiationHeld(today, today, "Jakarta")),
                       officer)],
        "send_outcome": [(CompleteStep("send_outcome",
                                       DocumentDelivered("outcome.pdf", "ab" * 32)), officer)],
        "file_copy": [(CompleteStep("file_copy", Filed("KDN.AB.100-2/3/4")), AB)],
    }


async def walk(sessions: Sessions, procedure: Procedure, clock: Clock, case: Case,
               until: str | None, events: list[Event] | None = None) -> Case:
    """Do every step through storage until ``until`` is current, checking each round trip."""
    while case.is_open and case.current_step != until:
        assert case.current_step is not None
        steps = script(clock.now.date(), OFFICERS[case.lead_division])
        for action, actor in steps[case.current_step]:
            outcome = await act(sessions, procedure, case.ref, action, actor, clock())
            async with sessions() as session:
                assert await load_case(session=session, ref=case.ref) == outcome.case
            if events is not None:
                events.extend(outcome.events)
            case = outcome.case
    return case


async def count(sessions: Sessions, model: type, *where: object) -> int:
    async with sessions() as session:
        statement = select(func.count()).select_from(model)
        for condition in where:
            statement = statement.where(condition)  # type: ignore[arg-type]
        return (await session.exec(statement)).one()


async def event_kinds(sessions: Sessions, ref: str) -> list[str]:
    async with sessions() as session:
        return [e.kind for e in await case_events(session=session, ref=ref)]


# --- the happy path -------------------------------------------------------------------------


async def test_a_case_goes_through_all_nine_steps_and_reads_back_whole(
    sessions: Sessions, procedure: Procedure
) -> None:
    clock = Clock()
    registered = await register(sessions, procedure, clock)
    assert registered.case.ref == "IKA-2026-001"
    assert registered.case.version == 1
    events = list(registered.events)

    done = await walk(sessions, procedure, clock, registered.case, None, events)

    assert done.status is CaseStatus.COMPLETED
    async with sessions() as session:
        loaded = await load_case(session=session, ref=done.ref)
        assert loaded == done
        assert await case_events(session=session, ref=done.ref) == events
        assert await list_open_cases(session=session) == []
        row = (await session.exec(select(CaseRow))).one()
        steps = (await session.exec(select(StepRecord).order_by(col(StepRecord.id)))).all()
    # stored as the enums' strings and the SOP's keys, never as positions
    assert (row.status, row.current_step, row.phase) == ("completed", None, "work")
    assert row.countries == ["ID", "TH"]
    assert [s.step for s in steps] == list(procedure.sop.keys)
    assert all(s.done_at is not None and s.done_at.tzinfo is not None for s in steps)
    assert steps[-1].data == {"reference": "KDN.AB.100-2/3/4"}
    assert await count(sessions, Approval) == 1
    assert await count(sessions, InputRequest) == 2
    # one version per change that had events: registration, then every action of the script
    assert done.version == 1 + sum(len(actions) for actions in script(date.today()).values())


async def test_signing_dates_recorded_after_filing_are_kept_logged_and_reminded(
    sessions: Sessions, procedure: Procedure
) -> None:
    from storage.nudges import rows_for

    clock = Clock()
    filed = await walk(sessions, procedure, clock, (await register(sessions, procedure,
                                                                   clock)).case, None)
    signed = await act(sessions, procedure, filed.ref,
                       RecordSigning(date(2026, 9, 1), None, date(2027, 3, 1)), OFFICER, clock())
    moved = await act(sessions, procedure, filed.ref, RecordSigning(expires_on=date(2027, 6, 1)),
                      AB, clock())
    async with sessions() as session:
        assert await load_case(session=session, ref=filed.ref) == moved.case
        events = await case_events(session=session, ref=filed.ref)
        rows = await rows_for(session=session, ref=filed.ref)
    assert [(e.kind, e.actor) for e in events[-2:]] == [("signing_recorded", OFFICER.user_id),
                                                         ("signing_recorded", AB.user_id)]
    assert events[-1].data["to"]["expires_on"] == "2027-06-01"
    assert signed.case.run("file_copy").data["expires_on"] == "2027-03-01"  # type: ignore[union-attr]
    renewal = {(r.day, r.target) for r in rows if r.kind == "renewal"}
    # 1 March's 3- and 1-month marks (1 February is Putrajaya's Federal Territory Day), then
    # 1 June's 6-, 3- and 1-month ones (1 December is both: one row a chat), for AB and the
    # lead division
    days = {day for day, _ in renewal}
    assert days == {date(2026, 12, 1), date(2027, 2, 2), date(2027, 3, 1), date(2027, 5, 3)}
    assert {target for _, target in renewal} == {"division:AB", "division:BKKA"}


async def test_every_change_is_logged_with_who_when_and_what(
    sessions: Sessions, procedure: Procedure
) -> None:
    clock = Clock()
    case = (await register(sessions, procedure, clock)).case
    case = await walk(sessions, procedure, clock, case, "collect_input")
    now = clock()
    noted = await act(sessions, procedure, case.ref, AddNote("called PDRM"), OFFICER, now)

    async with sessions() as session:
        rows = (await session.exec(select(EventRow).where(col(EventRow.case_id).is_not(None))
                                   .order_by(col(EventRow.id)))).all()
    assert [r.kind for r in rows] == ["case_registered", "step_started", "step_completed",
                                      "step_started", "note_added"]
    last = rows[-1]
    assert (last.actor_id, last.at, last.step, last.data) == (
        OFFICER.user_id, now, "collect_input", {"text": "called PDRM"})
    assert last.at.utcoffset() == timedelta(0)
    assert {r.case_id for r in rows} == {rows[0].case_id}
    assert noted.case.version == 3  # registered, receive done, note


async def test_an_unticked_input_is_updated_in_place(
    sessions: Sessions, procedure: Procedure
) -> None:
    clock = Clock()
    case = (await register(sessions, procedure, clock)).case
    case = await walk(sessions, procedure, clock, case, "collect_input")
    await act(sessions, procedure, case.ref, RequestInputs(("PDRM",)), OFFICER, clock())
    await act(sessions, procedure, case.ref, TickInput("PDRM"), OFFICER, clock())
    unticked = await act(sessions, procedure, case.ref, TickInput("PDRM", received=False),
                         OFFICER, clock())

    async with sessions() as session:
        assert await load_case(session=session, ref=case.ref) == unticked.case
        request = (await session.exec(select(InputRequest))).one()
    assert (request.received_at, request.received_by) == (None, None)
    assert await event_kinds(sessions, case.ref) == [
        "case_registered", "step_started", "step_completed", "step_started",
        "inputs_requested", "input_received", "input_unticked"]


# --- Tidak ---------------------------------------------------------------------------------


async def test_tidak_then_revise_keeps_both_rounds(sessions: Sessions,
                                                   procedure: Procedure) -> None:
    clock = Clock()
    case = (await register(sessions, procedure, clock)).case
    case = await walk(sessions, procedure, clock, case, "minit_cerai")
    await act(sessions, procedure, case.ref, SubmitMemo("first memo"), OFFICER, clock())
    refused = await act(sessions, procedure, case.ref, Decide(False, "needs PUU's view"),
                        MANAGER, clock())
    assert refused.case.phase is Phase.REFUSED
    revised = await act(sessions, procedure, case.ref, Revise("collect_input", "ask PUU"),
                        OFFICER, clock())
    assert (revised.case.round, revised.case.current_step) == (2, "collect_input")

    case = await walk(sessions, procedure, clock, revised.case, "prep_meeting")

    async with sessions() as session:
        assert await load_case(session=session, ref=case.ref) == case
        approvals = (await session.exec(select(Approval).order_by(col(Approval.round)))).all()
        runs = (await session.exec(select(StepRecord.step, StepRecord.round, StepRecord.data)
                                   .order_by(col(StepRecord.id)))).all()
    assert [(a.round, a.approved, a.decided_by, a.reason) for a in approvals] == [
        (1, False, MANAGER.user_id, "needs PUU's view"), (2, True, MANAGER.user_id, "proceed")]
    assert [(step, rnd) for step, rnd, _ in runs] == [
        ("receive", 1), ("collect_input", 1), ("minit_cerai", 1),
        ("collect_input", 2), ("minit_cerai", 2), ("prep_meeting", 2)]
    assert runs[2][2]["decision"] == "tidak" and runs[4][2]["decision"] == "ya"
    assert await count(sessions, InputRequest, col(InputRequest.round) == 2) == 2


async def test_tidak_then_close_leaves_the_case_not_approved(
    sessions: Sessions, procedure: Procedure
) -> None:
    clock = Clock()
    case = (await register(sessions, procedure, clock)).case
    case = await walk(sessions, procedure, clock, case, "minit_cerai")
    await act(sessions, procedure, case.ref, SubmitMemo(), OFFICER, clock())
    await act(sessions, procedure, case.ref, Decide(False), MANAGER_2, clock())
    closed = await act(sessions, procedure, case.ref, Close("not a priority"), OFFICER, clock())

    async with sessions() as session:
        assert await load_case(session=session, ref=case.ref) == closed.case
        assert await list_open_cases(session=session) == []
        row = (await session.exec(select(CaseRow))).one()
    assert row.status == CaseStatus.NOT_APPROVED.value
    assert (await event_kinds(sessions, case.ref))[-2:] == ["decided", "case_closed"]


# --- refusals and atomicity -----------------------------------------------------------------


async def test_a_refused_change_writes_nothing(sessions: Sessions, procedure: Procedure) -> None:
    clock = Clock()
    case = (await register(sessions, procedure, clock)).case
    with pytest.raises(Refused) as refused:
        # an officer may not do AB's step
        await act(sessions, procedure, case.ref, CompleteStep("receive"), OFFICER, clock())
    assert refused.value.reason is Reason.NOT_PERMITTED
    async with sessions() as session:
        assert await load_case(session=session, ref=case.ref) == case
    assert await count(sessions, EventRow, col(EventRow.case_id).is_not(None)) == 2


async def test_a_change_that_fails_half_way_is_rolled_back_whole(
    sessions: Sessions, procedure: Procedure
) -> None:
    clock = Clock()
    case = (await register(sessions, procedure, clock)).case

    def complete_with_a_bad_event(current: Case) -> Outcome:
        outcome = apply(current, CompleteStep("receive"), actor=AB, now=clock(),
                        procedure=procedure)
        # fails when the events are written, after the case row and step rows were
        outcome.events.append(Event("broken", AB.user_id, clock(), data={"x": object()}))
        return outcome

    with pytest.raises((TypeError, StatementError)):  # StatementError wraps it on PostgreSQL
        await change_case(sessions=sessions, ref=case.ref, change=complete_with_a_bad_event)
    async with sessions() as session:
        assert await load_case(session=session, ref=case.ref) == case
    assert await count(sessions, EventRow, col(EventRow.case_id).is_not(None)) == 2
    assert await count(sessions, StepRecord) == 1


async def test_unknown_case_and_unknown_division(sessions: Sessions, procedure: Procedure) -> None:
    with pytest.raises(UnknownCase):
        await act(sessions, procedure, "IKA-2026-999", AddNote("x"), AB, START)
    async with sessions() as session:
        with pytest.raises(UnknownCase):
            await case_events(session=session, ref="IKA-2026-999")
    with pytest.raises(UnknownDivision):
        await register(sessions, procedure, Clock(), lead="NOPE")
    assert await count(sessions, CaseRow) == 0
    async with sessions() as session, session.begin():
        # the refused registration gave its number back
        assert await next_ref(session=session, year=2026) == "IKA-2026-001"


async def test_a_double_tap_changes_nothing(sessions: Sessions, procedure: Procedure) -> None:
    clock = Clock()
    case = (await register(sessions, procedure, clock)).case
    case = await walk(sessions, procedure, clock, case, "collect_input")
    await act(sessions, procedure, case.ref, RequestInputs(("PDRM",)), OFFICER, clock())
    first = await act(sessions, procedure, case.ref, TickInput("PDRM"), OFFICER, clock())
    again = await act(sessions, procedure, case.ref, TickInput("PDRM"), OFFICER, clock())
    assert again.events == [] and again.case.version == first.case.version
    assert (await event_kinds(sessions, case.ref)).count("input_received") == 1


# --- references --------------------------------------------------------------------------


async def test_references_count_per_year(sessions: Sessions) -> None:
    async with sessions() as session, session.begin():
        refs = [await next_ref(session=session, year=2026) for _ in range(3)]
        refs.append(await next_ref(session=session, year=2027))
    assert refs == ["IKA-2026-001", "IKA-2026-002", "IKA-2026-003", "IKA-2027-001"]
    async with sessions() as session, session.begin():
        assert await next_ref(session=session, year=2026) == "IKA-2026-004"
        await session.rollback()  # a registration that failed: its number is given back
    async with sessions() as session, session.begin():
        assert await next_ref(session=session, year=2026) == "IKA-2026-004"


# --- concurrency ---------------------------------------------------------------------------


async def _awaiting_decision(sessions: Sessions, procedure: Procedure, clock: Clock) -> Case:
    case = (await register(sessions, procedure, clock)).case
    case = await walk(sessions, procedure, clock, case, "minit_cerai")
    return (await act(sessions, procedure, case.ref, SubmitMemo(), OFFICER, clock())).case


async def test_two_managers_deciding_at_once_make_one_decision(
    sessions: Sessions, procedure: Procedure
) -> None:
    clock = Clock()
    cases = [await _awaiting_decision(sessions, procedure, clock) for _ in range(5)]
    now = clock()
    results = await asyncio.gather(
        *(act(sessions, procedure, case.ref, Decide(approve), manager, now)
          for case in cases for approve, manager in ((True, MANAGER), (False, MANAGER_2))),
        return_exceptions=True,
    )
    for case, pair in zip(cases, zip(results[::2], results[1::2], strict=True), strict=True):
        won = [r for r in pair if isinstance(r, Outcome)]
        lost = [r for r in pair if not isinstance(r, Outcome)]
        assert len(won) == 1, pair
        # the second tap was judged on the first one's result, not raced against it
        assert isinstance(lost[0], Refused) and lost[0].reason is Reason.ALREADY_DECIDED
        async with sessions() as session:
            assert await load_case(session=session, ref=case.ref) == won[0].case
        assert (await event_kinds(sessions, case.ref)).count("decided") == 1
    assert await count(sessions, Approval) == len(cases)


async def test_saving_over_a_version_someone_else_saved_is_refused(
    sessions: Sessions, procedure: Procedure
) -> None:
    clock = Clock()
    case = await _awaiting_decision(sessions, procedure, clock)
    now = clock()
    # two people read the same version, each in a session of their own
    async with sessions() as first, sessions() as second:
        async with first.begin():
            seen_first = await load_case(session=first, ref=case.ref)
        async with second.begin():
            seen_second = await load_case(session=second, ref=case.ref)
        assert seen_first is not None and seen_second is not None
        yes = apply(seen_first, Decide(True), actor=MANAGER, now=now, procedure=procedure)
        no = apply(seen_second, Decide(False), actor=MANAGER_2, now=now, procedure=procedure)
        async with first.begin():
            await save_outcome(session=first, outcome=yes, expected_version=seen_first.version)
        with pytest.raises(ConcurrentChange):
            async with second.begin():
                await save_outcome(session=second, outcome=no,
                                   expected_version=seen_second.version)
    async with sessions() as session:
        saved = await load_case(session=session, ref=case.ref)
    assert saved == dataclasses.replace(yes.case, version=seen_first.version + 1)
    assert await count(sessions, Approval) == 1
    assert (await event_kinds(sessions, case.ref)).count("decided") == 1


async def test_overlapping_transactions_on_one_version_are_refused(
    sessions: Sessions, procedure: Procedure, database_url: object
) -> None:
    if str(database_url).startswith("sqlite"):
        pytest.skip("SQLite cannot hold two write transactions open at once (BEGIN IMMEDIATE "
                    "queues them); the interleaved test above covers it")
    clock = Clock()
    case = await _awaiting_decision(sessions, procedure, clock)
    now = clock()
    async with sessions() as first, sessions() as second:
        await first.begin()
        await second.begin()
        seen_first = await load_case(session=first, ref=case.ref)  # no lock: optimistic
        seen_second = await load_case(session=second, ref=case.ref)
        assert seen_first is not None and seen_second is not None
        yes = apply(seen_first, Decide(True), actor=MANAGER, now=now, procedure=procedure)
        no = apply(seen_second, Decide(False), actor=MANAGER_2, now=now, procedure=procedure)
        await save_outcome(session=first, outcome=yes, expected_version=seen_first.version)
        # the second UPDATE waits for the first transaction's row lock, then matches nothing
        second_save = asyncio.create_task(
            save_outcome(session=second, outcome=no, expected_version=seen_second.version))
        assert await _waiting_on_a_lock(sessions)
        assert not second_save.done()
        await first.commit()
        with pytest.raises(ConcurrentChange):
            await second_save
        await second.rollback()
    assert await count(sessions, Approval) == 1


async def _waiting_on_a_lock(sessions: Sessions) -> bool:
    """True once some PostgreSQL backend of this database waits on a lock (polled, ~5 s)."""
    query = text("SELECT count(*) FROM pg_stat_activity "
                 "WHERE datname = current_database() AND wait_event_type = 'Lock'")
    for _ in range(100):
        async with sessions() as session:
            if (await session.exec(query)).scalar_one():  # type: ignore[call-overload]
                return True
        await asyncio.sleep(0.05)
    return False


async def test_the_database_keeps_the_first_decision(
    sessions: Sessions, procedure: Procedure
) -> None:
    clock = Clock()
    case = await _awaiting_decision(sessions, procedure, clock)
    await act(sessions, procedure, case.ref, Decide(True), MANAGER, clock())
    async with sessions() as session:
        case_id = (await session.exec(select(CaseRow.id))).one()
    assert case_id is not None
    async with sessions() as session:
        with pytest.raises(IntegrityError):
            async with session.begin():
                session.add(Approval(case_id=case_id, round=1, approved=False,
                                     decided_by=MANAGER_2.user_id, decided_at=clock()))
    assert await count(sessions, Approval) == 1


async def test_fifty_concurrent_writers_all_succeed(
    sessions: Sessions, procedure: Procedure
) -> None:
    clock = Clock()
    now = clock()
    # fifty registrations at once: fifty distinct numbers, none lost, nothing locked
    registered = await asyncio.gather(*(
        create_case(sessions=sessions, year=2026,
                    build=lambda ref: register_case(new_case(ref), actor=AB, now=now,
                                                    procedure=procedure))
        for _ in range(50)))
    refs = sorted(o.case.ref for o in registered)
    assert refs == [f"IKA-2026-{n:03d}" for n in range(1, 51)]
    # fifty read-then-write changes of one case at once: each waits its turn
    target = refs[0]
    notes = await asyncio.gather(*(
        act(sessions, procedure, target, AddNote(f"note {n}"), AB, now) for n in range(50)))
    assert sorted(o.case.version for o in notes) == list(range(2, 52))
    async with sessions() as session:
        texts = [e.data["text"] for e in await case_events(session=session, ref=target)
                 if e.kind == "note_added"]
    assert sorted(texts) == sorted(f"note {n}" for n in range(50))


# --- documents and lists -------------------------------------------------------------------


async def test_a_document_is_stored_and_logged_with_the_step(
    sessions: Sessions, procedure: Procedure
) -> None:
    clock = Clock()
    case = (await register(sessions, procedure, clock)).case
    case = await walk(sessions, procedure, clock, case, "send_outcome")
    now = clock()
    async with sessions() as session, session.begin():
        document = await add_document(
            session=session, ref=case.ref, step="send_outcome", telegram_file_id="BQACAgU-fake",
            file_unique_id="AgAD-fake", name="MOU final.pdf", sha256="cd" * 32,
            uploaded_by=OFFICER.user_id, uploaded_at=now, mime_type="application/pdf",
            size=123_456, stored_path="documents/IKA-2026-001/MOU final.pdf")
        current = await load_case(session=session, ref=case.ref)
        assert current is not None and document.id is not None
        outcome = apply(current, CompleteStep("send_outcome", DocumentDelivered(
            document.name, document.sha256, document.id)), actor=OFFICER, now=now,
            procedure=procedure)
        await save_outcome(session=session, outcome=outcome, expected_version=current.version)

    async with sessions() as session:
        stored = await case_documents(session=session, ref=case.ref)
        events = await case_events(session=session, ref=case.ref)
        loaded = await load_case(session=session, ref=case.ref)
    assert [(d.name, d.size, d.uploaded_at) for d in stored] == [("MOU final.pdf", 123_456, now)]
    assert events[-3].kind == "document_added"
    assert events[-3].data == {"document_id": document.id, "name": "MOU final.pdf",
                               "sha256": "cd" * 32}
    assert loaded is not None and loaded.current_step == "file_copy"
    run = loaded.run("send_outcome")
    assert run is not None and run.data["document_id"] == document.id


async def test_open_cases_are_listed_oldest_first(sessions: Sessions,
                                                  procedure: Procedure) -> None:
    clock = Clock()
    first = (await register(sessions, procedure, clock)).case
    second = (await register(sessions, procedure, clock, lead="BPI")).case
    third = (await register(sessions, procedure, clock)).case
    await walk(sessions, procedure, clock, second, None)
    async with sessions() as session:
        listed: Sequence[Case] = await list_open_cases(session=session)
    assert [c.ref for c in listed] == [first.ref, third.ref]
    assert listed[0] == first
    assert all(c.steps[0].due_at.tzinfo == UTC for c in listed)
