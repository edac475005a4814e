"""The SOP as a ministry lives it, in the domain: extensions, waits, acting approvers, the
"every approver" policy, the gazette and renewal reminders."""

from __future__ import annotations

import dataclasses
from datetime import date, timedelta

import pytest

from bot.domain.absence import Absence, BadAbsence, approvers_on, check_absence
from bot.domain.case import Classification
from bot.domain.clock import ExtensionState, extensions, original_due, waiting, waits
from bot.domain.deadlines import Procedure
from bot.domain.reminders import CLOCK_KINDS, Audience, NudgeKind, months_before
from bot.domain.rules import (
    KEEP,
    AnswerExtension,
    Classify,
    CompleteStep,
    Decide,
    Filed,
    Reason,
    RecordSigning,
    Refused,
    RequestExtension,
    ResumeWait,
    StartWait,
    SubmitMemo,
    apply,
    recount,
)
from bot.domain.sop import WaitParty
from tests.builders import (
    AB,
    ADMIN,
    MANAGER,
    MANAGER_2,
    OFFICER,
    OTHER_OFFICER,
    at,
    procedure,
    registered,
    step_through,
)

PROC = procedure()
MONDAY = date(2026, 8, 3)


def _at_input_step():  # type: ignore[no-untyped-def]
    case = registered(PROC, at(MONDAY))
    return step_through(PROC, case, at(MONDAY), "collect_input")


def test_a_granted_extension_moves_the_due_date_and_replans_its_reminders() -> None:
    case = _at_input_step()
    run = case.current_run
    assert run is not None
    due = PROC.calendar.local_date(run.due_at)
    asked = apply(case, RequestExtension("collect_input", 5, "AGC has not answered"),
                  actor=OFFICER, now=at(MONDAY + timedelta(days=2)), procedure=PROC)
    assert [e.kind for e in asked.events] == ["extension_requested"]
    assert [(n.kind, n.audience) for n in asked.nudges if n.kind is not NudgeKind.BOARD] == [
        (NudgeKind.EXTENSION_ASK, Audience.AB)]
    assert asked.case.current_run is not None and asked.case.current_run.due_at == run.due_at
    granted = apply(asked.case, AnswerExtension("collect_input", 1, True), actor=AB,
                    now=at(MONDAY + timedelta(days=3)), procedure=PROC)
    new_run = granted.case.current_run
    assert new_run is not None
    assert PROC.calendar.local_date(new_run.due_at) == PROC.calendar.add_working_days(due, 5)
    assert granted.events[0].kind == "extension_granted"
    assert granted.events[0].data["from"] == run.due_at.isoformat()
    # the old date's reminders are forgotten, the new date's planned
    assert any(d.kinds is not None and NudgeKind.DUE_TODAY in d.kinds for d in granted.drops)
    today = [n for n in granted.nudges if n.kind is NudgeKind.DUE_TODAY]
    assert [n.day for n in today] == [PROC.calendar.local_date(new_run.due_at)]
    told = [n for n in granted.nudges if n.kind is NudgeKind.EXTENSION_ANSWER]
    assert [n.audience for n in told] == [Audience.LEAD]
    record = extensions(new_run)[0]
    assert (record.state, record.decided_by, record.due_to) == (ExtensionState.GRANTED, AB.user_id,
                                                                new_run.due_at)
    assert original_due(granted.case, new_run, PROC) == run.due_at


def test_extensions_may_repeat_and_the_first_answer_wins() -> None:
    case = _at_input_step()
    now = at(MONDAY + timedelta(days=1))
    case = apply(case, RequestExtension("collect_input", 3, "why"), actor=OFFICER, now=now,
                 procedure=PROC).case
    with pytest.raises(Refused) as pending:
        apply(case, RequestExtension("collect_input", 3, "again"), actor=OFFICER, now=now,
              procedure=PROC)
    assert pending.value.reason is Reason.EXTENSION_PENDING
    refused = apply(case, AnswerExtension("collect_input", 1, False), actor=AB, now=now,
                    procedure=PROC)
    assert refused.case.current_run == dataclasses.replace(
        case.current_run, data=refused.case.current_run.data)  # type: ignore[union-attr]
    assert refused.case.current_run.due_at == case.current_run.due_at  # type: ignore[union-attr]
    for late_tap in (AnswerExtension("collect_input", 1, True),
                     AnswerExtension("collect_input", 1, False)):
        with pytest.raises(Refused) as again:
            apply(refused.case, late_tap, actor=AB, now=now, procedure=PROC)
        assert again.value.reason is Reason.EXTENSION_ANSWERED
    second = apply(refused.case, RequestExtension("collect_input", 2, "still"), actor=OFFICER,
                   now=now, procedure=PROC)
    assert second.events[0].data["seq"] == 2


@pytest.mark.parametrize(("actor", "why"), [
    (OTHER_OFFICER, Reason.NOT_PERMITTED), (MANAGER, Reason.NOT_PERMITTED)])
def test_only_the_owner_asks_and_only_ab_answers(actor, why) -> None:  # type: ignore[no-untyped-def]
    case = _at_input_step()
    now = at(MONDAY)
    with pytest.raises(Refused) as refused:
        apply(case, RequestExtension("collect_input", 3, "x"), actor=actor, now=now,
              procedure=PROC)
    assert refused.value.reason is why
    case = apply(case, RequestExtension("collect_input", 3, "x"), actor=OFFICER, now=now,
                 procedure=PROC).case
    for tapper in (OFFICER, MANAGER):
        with pytest.raises(Refused):
            apply(case, AnswerExtension("collect_input", 1, True), actor=tapper, now=now,
                  procedure=PROC)
    with pytest.raises(Refused) as days:
        apply(_at_input_step(), RequestExtension("collect_input", 99, "x"), actor=OFFICER,
              now=now, procedure=PROC)
    assert days.value.reason is Reason.EXTENSION_DAYS


def test_a_wait_stops_the_clock_and_resuming_counts_the_days_used() -> None:
    case = _at_input_step()
    run = case.current_run
    assert run is not None
    start = at(MONDAY + timedelta(days=2))  # Wednesday
    waited = apply(case, StartWait("collect_input", WaitParty.AGC, "draft with AGC"),
                   actor=OFFICER, now=start, procedure=PROC)
    assert waiting(waited.case.current_run) is not None
    assert not [n for n in waited.nudges if n.kind in CLOCK_KINDS]
    assert any(d.kinds == CLOCK_KINDS for d in waited.drops)
    weekly = [n for n in waited.nudges if n.kind is NudgeKind.WAITING]
    assert [(n.day, n.audience) for n in weekly] == [(MONDAY + timedelta(days=9), Audience.AB)]
    # while it waits, nothing plans its clock's reminders
    assert PROC.planner.for_step(waited.case, waited.case.current_run) == []  # type: ignore[arg-type]
    end = at(MONDAY + timedelta(days=9))  # the next Wednesday: 5 working days waited
    resumed = apply(waited.case, ResumeWait("collect_input"), actor=OFFICER, now=end,
                    procedure=PROC)
    new_run = resumed.case.current_run
    assert new_run is not None and waiting(new_run) is None
    assert waits(new_run)[0].days == 5
    assert PROC.calendar.local_date(new_run.due_at) == PROC.calendar.add_working_days(
        PROC.calendar.local_date(run.due_at), 5)
    assert resumed.events[0].data["days"] == 5
    assert any(n.kind is NudgeKind.DUE_TODAY for n in resumed.nudges)
    assert any(d.kinds is not None and NudgeKind.WAITING in d.kinds for d in resumed.drops)


def test_waiting_follows_the_sop_file() -> None:
    case = registered(PROC, at(MONDAY))  # step 1 may not wait
    with pytest.raises(Refused) as refused:
        apply(case, StartWait("receive", WaitParty.KLN), actor=AB, now=at(MONDAY),
              procedure=PROC)
    assert refused.value.reason is Reason.WAIT_NOT_ALLOWED
    case = _at_input_step()
    case = apply(case, StartWait("collect_input", WaitParty.KLN), actor=OFFICER,
                 now=at(MONDAY), procedure=PROC).case
    with pytest.raises(Refused):
        apply(case, StartWait("collect_input", WaitParty.AGC), actor=OFFICER, now=at(MONDAY),
              procedure=PROC)


def test_completing_a_waiting_step_ends_its_wait() -> None:
    case = registered(PROC, at(MONDAY))
    case = step_through(PROC, case, at(MONDAY), "prep_meeting")
    case = apply(case, StartWait("prep_meeting", WaitParty.FOREIGN), actor=OFFICER,
                 now=at(MONDAY), procedure=PROC).case
    from bot.domain.rules import MeetingHeld
    done = apply(case, CompleteStep("prep_meeting", MeetingHeld(MONDAY)), actor=OFFICER,
                 now=at(MONDAY, 11), procedure=PROC)
    assert [e.kind for e in done.events][:2] == ["wait_ended", "step_completed"]
    assert waits(done.case.run("prep_meeting"))[0].end is not None  # type: ignore[arg-type]


def _submitted(proc: Procedure):  # type: ignore[no-untyped-def]
    case = registered(proc, at(MONDAY))
    case = step_through(proc, case, at(MONDAY), "minit_cerai")
    return apply(case, SubmitMemo("memo"), actor=OFFICER, now=at(MONDAY), procedure=proc).case


def test_an_acting_approver_decides_on_behalf_of_the_one_away() -> None:
    case = _submitted(PROC)
    outcome = apply(case, Decide(True, on_behalf_of=MANAGER.user_id), actor=MANAGER_2,
                    now=at(MONDAY, 11), procedure=PROC)
    decision = outcome.case.decisions[0]
    assert (decision.by, decision.on_behalf_of) == (MANAGER_2.user_id, MANAGER.user_id)
    assert outcome.events[0].data["on_behalf_of"] == MANAGER.user_id


def test_who_gets_the_cards_while_an_approver_is_away() -> None:
    away = [Absence(3001, date(2026, 12, 20), date(2027, 1, 3), 3002)]
    assert approvers_on(date(2026, 12, 21), [3001, 3002, 3003], away) == [3002, 3003]
    assert approvers_on(date(2027, 1, 4), [3001, 3002, 3003], away) == [3001, 3002, 3003]
    both = [*away, Absence(3002, date(2026, 12, 24), date(2026, 12, 26), 3003)]
    assert approvers_on(date(2026, 12, 24), [3001, 3002], both) == [3003]
    check_absence(away[0], today=date(2026, 12, 1), approvers=[3001, 3002])
    for bad, why in [(Absence(3001, date(2026, 12, 5), date(2026, 12, 4), 3002), "dates_reversed"),
                     (Absence(3001, date(2026, 12, 5), date(2026, 12, 6), 3001),
                      "acting_not_approver"),
                     (Absence(2001, date(2026, 12, 5), date(2026, 12, 6), 3002), "not_approver")]:
        with pytest.raises(BadAbsence) as refused:
            check_absence(bad, today=date(2026, 12, 1), approvers=[3001, 3002])
        assert refused.value.why == why


def _every() -> Procedure:
    sop = PROC.sop.model_copy(update={"policy": PROC.sop.policy.model_copy(
        update={"approvers": "every"})})
    return dataclasses.replace(PROC, sop=sop)


def test_every_approver_must_say_ya_and_one_tidak_refuses() -> None:
    every = _every()
    listed = (MANAGER.user_id, MANAGER_2.user_id)
    case = _submitted(every)
    first = apply(case, Decide(True, approvers=listed), actor=MANAGER, now=at(MONDAY, 11),
                  procedure=every)
    assert [e.kind for e in first.events] == ["vote_recorded"]
    assert first.case.decisions == [] and first.case.current_step == "minit_cerai"
    assert [n.kind for n in first.nudges if n.kind is not NudgeKind.BOARD] == [NudgeKind.VOTE]
    with pytest.raises(Refused) as twice:
        apply(first.case, Decide(False, approvers=listed), actor=MANAGER, now=at(MONDAY, 12),
              procedure=every)
    assert twice.value.reason is Reason.ALREADY_VOTED
    approved = apply(first.case, Decide(True, approvers=listed), actor=MANAGER_2,
                     now=at(MONDAY, 12), procedure=every)
    assert approved.case.current_step == "prep_meeting"
    refused = apply(case, Decide(False, approvers=listed), actor=MANAGER_2, now=at(MONDAY, 11),
                    procedure=every)
    assert refused.case.decisions[0].approved is False
    assert refused.case.current_step == "minit_cerai"
    # Ya from one, then Tidak from the other: refused
    split = apply(first.case, Decide(False, approvers=listed), actor=MANAGER_2,
                  now=at(MONDAY, 12), procedure=every)
    assert split.case.decisions[0].approved is False
    with pytest.raises(Refused) as stranger:
        apply(case, Decide(True, approvers=(MANAGER.user_id,)), actor=MANAGER_2,
              now=at(MONDAY, 11), procedure=every)
    assert stranger.value.reason is Reason.NOT_LISTED_APPROVER


def test_a_gazetted_holiday_moves_only_due_dates_still_to_come() -> None:
    case = _at_input_step()  # due Monday 17 August 2026
    run = case.current_run
    assert run is not None
    due = PROC.calendar.local_date(run.due_at)
    gazetted = dataclasses.replace(PROC, calendar=PROC.calendar.with_gazette(
        ((due, "Cuti Peristiwa"),)))
    moved = recount(case, now=at(MONDAY + timedelta(days=3)), procedure=gazetted, why="x")
    new_run = moved.case.current_run
    assert new_run is not None
    assert PROC.calendar.local_date(new_run.due_at) == due + timedelta(days=1)
    assert moved.events[0].kind == "due_recounted"
    assert any(n.kind is NudgeKind.DUE_TODAY and n.day == due + timedelta(days=1)
               for n in moved.nudges)
    assert gazetted.days_moved_over(moved.case, new_run) == (due,)
    # a due date already passed stays where it was
    late = recount(case, now=at(due + timedelta(days=1)), procedure=gazetted, why="x")
    assert late.events == [] and late.case.current_run.due_at == run.due_at  # type: ignore[union-attr]


def test_a_filed_instrument_with_an_expiry_is_owed_renewal_reminders() -> None:
    case = registered(PROC, at(MONDAY))
    case = step_through(PROC, case, at(MONDAY), "file_copy")
    filed = apply(case, CompleteStep("file_copy", Filed("KDN/1", date(2026, 8, 3),
                                                        date(2026, 8, 3), date(2028, 8, 3))),
                  actor=AB, now=at(MONDAY, 11), procedure=PROC)
    renewals = sorted({(n.seq, n.day) for n in filed.nudges if n.kind is NudgeKind.RENEWAL})
    assert renewals == [(1, date(2028, 7, 3)), (3, date(2028, 5, 3)), (6, date(2028, 2, 3))]
    assert {n.audience for n in filed.nudges if n.kind is NudgeKind.RENEWAL} == {
        Audience.AB, Audience.LEAD}
    with pytest.raises(Refused):
        apply(case, CompleteStep("file_copy", Filed("KDN/1", date(2026, 8, 3), None,
                                                    date(2026, 7, 1))),
              actor=AB, now=at(MONDAY, 11), procedure=PROC)
    assert months_before(date(2027, 3, 31), 1) == date(2027, 2, 28)


def _filed(expires: date | None = None):  # type: ignore[no-untyped-def]
    case = step_through(PROC, registered(PROC, at(MONDAY)), at(MONDAY), "file_copy")
    return apply(case, CompleteStep("file_copy", Filed("KDN/1", None, None, expires)),
                 actor=AB, now=at(MONDAY, 11), procedure=PROC)


def test_a_filed_case_takes_its_signing_dates_later_and_is_reminded_from_then() -> None:
    filed = _filed()
    assert not [n for n in filed.nudges if n.kind is NudgeKind.RENEWAL]
    later = at(date(2026, 9, 1))
    signed = apply(filed.case, RecordSigning(date(2026, 8, 3), date(2026, 8, 3),
                                             date(2027, 1, 4)),
                   actor=OFFICER, now=later, procedure=PROC)
    run = signed.case.run("file_copy")
    assert run is not None and run.data == {"reference": "KDN/1", "signed_on": "2026-08-03",
                                            "in_force_on": "2026-08-03",
                                            "expires_on": "2027-01-04"}
    event, = signed.events
    assert (event.kind, event.step, event.actor) == ("signing_recorded", "file_copy",
                                                   OFFICER.user_id)
    assert event.data == {"from": {"signed_on": None, "in_force_on": None, "expires_on": None},
                          "to": {"signed_on": "2026-08-03", "in_force_on": "2026-08-03",
                                 "expires_on": "2027-01-04"}}
    # six months before 4 January 2027 has passed by 1 September: only 3 and 1 months are owed
    renewals = sorted({(n.seq, n.day) for n in signed.nudges if n.kind is NudgeKind.RENEWAL})
    assert renewals == [(1, date(2026, 12, 4)), (3, date(2026, 10, 5))]

    # a correction: the expiry alone moves; the others are kept; the reminders follow it
    moved = apply(signed.case, RecordSigning(expires_on=date(2031, 8, 4)), actor=AB,
                  now=later, procedure=PROC)
    assert moved.events[0].data["to"] == {"signed_on": "2026-08-03",
                                          "in_force_on": "2026-08-03",
                                          "expires_on": "2031-08-04"}
    assert sorted({n.seq for n in moved.nudges if n.kind is NudgeKind.RENEWAL}) == [1, 3, 6]
    cleared = apply(moved.case, RecordSigning(KEEP, None, None), actor=AB, now=later,
                    procedure=PROC)
    assert cleared.case.run("file_copy").data == {  # type: ignore[union-attr]
        "reference": "KDN/1", "signed_on": "2026-08-03"}
    assert not [n for n in cleared.nudges if n.kind is NudgeKind.RENEWAL]
    # the same dates again change nothing and log nothing
    assert apply(cleared.case, RecordSigning(date(2026, 8, 3)), actor=AB, now=later,
                 procedure=PROC).events == []


@pytest.mark.parametrize(("action", "actor", "reason"), [
    (RecordSigning(date(2026, 8, 3)), OTHER_OFFICER, Reason.NOT_PERMITTED),
    (RecordSigning(date(2026, 8, 3)), MANAGER, Reason.NOT_PERMITTED),
    (RecordSigning(date(2026, 9, 2)), AB, Reason.DATE_IN_FUTURE),
    (RecordSigning(date(2026, 1, 2)), AB, Reason.DATE_BEFORE_RECEIVED),
    (RecordSigning(date(2026, 8, 10), date(2026, 8, 5)), AB, Reason.SIGNING_DATES_ORDER),
    (RecordSigning(in_force_on=date(2027, 1, 1), expires_on=date(2026, 12, 31)), OFFICER,
     Reason.SIGNING_DATES_ORDER),
    (RecordSigning(expires_on=date(2026, 8, 3)), AB, Reason.SIGNING_DATES_ORDER),
])
def test_signing_dates_are_refused_out_of_order_or_by_others(  # type: ignore[no-untyped-def]
        action, actor, reason) -> None:
    filed = _filed()
    dated = apply(filed.case, RecordSigning(date(2026, 8, 3)), actor=AB,
                  now=at(date(2026, 9, 1)), procedure=PROC).case
    with pytest.raises(Refused) as refused:
        apply(dated, action, actor=actor, now=at(date(2026, 9, 1)), procedure=PROC)
    assert refused.value.reason is reason


def test_signing_dates_wait_for_the_filing() -> None:
    case = step_through(PROC, registered(PROC, at(MONDAY)), at(MONDAY), "file_copy")
    with pytest.raises(Refused) as refused:
        apply(case, RecordSigning(date(2026, 8, 3)), actor=AB, now=at(MONDAY), procedure=PROC)
    assert refused.value.reason is Reason.NOT_FILED


def test_ab_classifies_a_case() -> None:
    case = registered(PROC, at(MONDAY))
    outcome = apply(case, Classify(Classification.SULIT), actor=AB, now=at(MONDAY),
                    procedure=PROC)
    assert outcome.case.is_sulit and outcome.events[0].data == {"from": "open", "to": "sulit"}
    with pytest.raises(Refused):
        apply(case, Classify(Classification.SULIT), actor=OFFICER, now=at(MONDAY),
              procedure=PROC)
    assert apply(outcome.case, Classify(Classification.SULIT), actor=ADMIN, now=at(MONDAY),
                 procedure=PROC).events == []
