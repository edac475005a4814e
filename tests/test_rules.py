"""The case rules: the happy path, the Tidak branch and every illegal move."""

import copy
from datetime import date, timedelta

import pytest

from bot.domain.case import Actor, CaseStatus, Phase, Role
from bot.domain.rules import (
    AddNote,
    Attach,
    Close,
    CompleteStep,
    Decide,
    DocumentDelivered,
    ExplainDecision,
    Filed,
    MeetingHeld,
    NegotiationHeld,
    NoteSent,
    Reason,
    Refused,
    RequestInputs,
    Revise,
    ScheduleNegotiation,
    SubmitMemo,
    TickInput,
    Withdraw,
    apply,
    register_case,
)
from tests.builders import (
    AB,
    ADMIN,
    MANAGER,
    MANAGER_2,
    OFFICER,
    OTHER_OFFICER,
    VIEWER,
    act,
    at,
    new_case,
    procedure,
    registered,
    step_through,
)

PROC = procedure()
NOW = at(date(2026, 9, 1))


def refused(case, action, actor, now=NOW) -> Reason:  # type: ignore[no-untyped-def]
    before = copy.deepcopy(case)
    with pytest.raises(Refused) as err:
        apply(case, action, actor=actor, now=now, procedure=PROC)
    assert case == before, "a refused action must change nothing"
    return err.value.reason


def at_step(key: str):  # type: ignore[no-untyped-def]
    return step_through(PROC, registered(PROC, NOW), NOW, key)


def awaiting_decision():  # type: ignore[no-untyped-def]
    return act(PROC, at_step("minit_cerai"), SubmitMemo("Minit Cerai"), OFFICER, NOW)


def test_whole_case_passes_nine_steps_in_order_with_an_event_for_each() -> None:
    case = registered(PROC, NOW)
    seen = [case.current_step]
    while case.is_open:
        case = step_through(PROC, case, NOW, PROC.sop.next_key(case.current_step) or "end")
        seen.append(case.current_step)
    assert seen[:-1] == list(PROC.sop.keys)
    assert case.status is CaseStatus.COMPLETED
    assert all(run.done_by is not None for run in case.steps)


def test_register_records_who_and_starts_step_one() -> None:
    outcome = register_case(new_case(), actor=AB, now=NOW, procedure=PROC)
    assert [e.kind for e in outcome.events] == ["case_registered", "step_started"]
    assert outcome.events[0].actor == AB.user_id
    assert outcome.case.current_step == "receive"


@pytest.mark.parametrize("actor", [OFFICER, MANAGER, VIEWER])
def test_only_ab_or_admin_registers(actor: Actor) -> None:
    with pytest.raises(Refused) as err:
        register_case(new_case(), actor=actor, now=NOW, procedure=PROC)
    assert err.value.reason is Reason.NOT_PERMITTED


def test_register_refuses_future_received_date_and_no_country() -> None:
    with pytest.raises(Refused) as err:
        register_case(new_case(received=date(2026, 9, 2)), actor=AB, now=NOW, procedure=PROC)
    assert err.value.reason is Reason.DATE_IN_FUTURE
    bad = new_case()
    bad = type(bad)(**{**bad.__dict__, "countries": ()})
    with pytest.raises(Refused) as err:
        register_case(bad, actor=AB, now=NOW, procedure=PROC)
    assert err.value.reason is Reason.BAD_CASE_DATA


def test_skipping_a_step_is_refused() -> None:
    case = at_step("collect_input")
    assert refused(case, CompleteStep("prep_meeting", MeetingHeld(NOW.date())), OFFICER) \
        is Reason.WRONG_STEP


@pytest.mark.parametrize(
    ("step", "actor"),
    [
        ("receive", OFFICER),  # AB's step
        ("collect_input", AB),  # the lead division's step
        ("collect_input", OTHER_OFFICER),  # another division
        ("collect_input", VIEWER),
        ("collect_input", MANAGER),
        ("convey_kln", OFFICER),
    ],
)
def test_actor_without_the_role_is_refused(step: str, actor: Actor) -> None:
    case = at_step(step)
    details = NoteSent("KLN/1") if step == "convey_kln" else None
    if step == "collect_input":
        case = act(PROC, case, RequestInputs(("PDRM",)), OFFICER, NOW)
        case = act(PROC, case, TickInput("PDRM"), OFFICER, NOW)
    assert refused(case, CompleteStep(step, details), actor) is Reason.NOT_PERMITTED


def test_admin_may_act_for_any_owner_but_not_decide() -> None:
    case = act(PROC, at_step("receive"), CompleteStep("receive"), ADMIN, NOW)
    assert case.current_step == "collect_input"
    assert refused(awaiting_decision(), Decide(True), ADMIN) is Reason.NOT_PERMITTED


def test_input_step_needs_every_asked_bja_ticked() -> None:
    case = at_step("collect_input")
    assert refused(case, CompleteStep("collect_input"), OFFICER) is Reason.NO_INPUTS_ASKED
    assert refused(case, RequestInputs(("NOPE",)), OFFICER) is Reason.UNKNOWN_INPUT
    assert refused(case, TickInput("PDRM"), OFFICER) is Reason.INPUT_NOT_ASKED
    case = act(PROC, case, RequestInputs(("PDRM", "AGC")), OFFICER, NOW)
    case = act(PROC, case, TickInput("PDRM"), OFFICER, NOW)
    with pytest.raises(Refused) as err:
        apply(case, CompleteStep("collect_input"), actor=OFFICER, now=NOW, procedure=PROC)
    assert err.value.reason is Reason.INPUTS_PENDING and err.value.details["pending"] == ["AGC"]


def test_double_tick_changes_nothing_and_untick_is_recorded() -> None:
    case = act(PROC, at_step("collect_input"), RequestInputs(("PDRM",)), OFFICER, NOW)
    once = apply(case, TickInput("PDRM"), actor=OFFICER, now=NOW, procedure=PROC)
    twice = apply(once.case, TickInput("PDRM"), actor=OFFICER, now=NOW, procedure=PROC)
    assert [e.kind for e in once.events] == ["input_received"] and twice.events == []
    untick = apply(twice.case, TickInput("PDRM", received=False), actor=OFFICER, now=NOW,
                   procedure=PROC)
    assert [e.kind for e in untick.events] == ["input_unticked"]
    assert untick.case.inputs[0].received_at is None


def test_decision_needs_a_memo_first_and_cannot_be_reported_by_hand() -> None:
    case = at_step("minit_cerai")
    assert refused(case, Decide(True), MANAGER) is Reason.NOT_AWAITING_DECISION
    assert refused(case, CompleteStep("minit_cerai"), OFFICER) is Reason.DECIDED_BY_MANAGEMENT
    case = act(PROC, case, SubmitMemo(), OFFICER, NOW)
    assert refused(case, SubmitMemo(), OFFICER) is Reason.MEMO_ALREADY_SUBMITTED


@pytest.mark.parametrize("actor", [OFFICER, AB, VIEWER, ADMIN])
def test_only_management_decides(actor: Actor) -> None:
    assert refused(awaiting_decision(), Decide(True), actor) is Reason.NOT_PERMITTED


def test_ya_moves_to_the_meeting_and_keeps_who_when() -> None:
    outcome = apply(awaiting_decision(), Decide(True), actor=MANAGER, now=NOW, procedure=PROC)
    case = outcome.case
    assert case.current_step == "prep_meeting"
    assert case.decisions[0].by == MANAGER.user_id and case.decisions[0].approved
    assert [e.kind for e in outcome.events] == ["decided", "step_completed", "step_started"]


def test_first_decision_wins_second_is_refused() -> None:
    case = awaiting_decision()
    first = act(PROC, case, Decide(False, "timing"), MANAGER, NOW)
    assert refused(first, Decide(True), MANAGER_2) is Reason.ALREADY_DECIDED
    approved = act(PROC, case, Decide(True), MANAGER, NOW)
    assert refused(approved, Decide(False), MANAGER_2) is Reason.ALREADY_DECIDED
    assert refused(approved, Decide(True), MANAGER) is Reason.ALREADY_DECIDED


def test_tidak_stops_before_the_meeting_until_revised() -> None:
    case = act(PROC, awaiting_decision(), Decide(False, "Perlu ulasan PDRM"), MANAGER, NOW)
    assert case.phase is Phase.REFUSED and case.current_step == "minit_cerai"
    assert case.decisions[0].reason == "Perlu ulasan PDRM"
    meeting = CompleteStep("prep_meeting", MeetingHeld(NOW.date()))
    assert refused(case, meeting, OFFICER) is Reason.WRONG_STEP
    assert refused(case, Revise("convey_kln"), OFFICER) is Reason.REVISE_TARGET
    assert refused(case, Revise("collect_input"), AB) is Reason.NOT_PERMITTED


@pytest.mark.parametrize("back_to", ["collect_input", "minit_cerai"])
def test_revise_after_tidak_starts_a_new_round_and_keeps_history(back_to: str) -> None:
    case = act(PROC, awaiting_decision(), Decide(False), MANAGER, NOW)
    later = NOW + timedelta(days=1)
    case = act(PROC, case, Revise(back_to, "Dipinda"), OFFICER, later)
    assert case.round == 2 and case.current_step == back_to and case.phase is Phase.WORK
    assert len(case.decisions) == 1
    old = [r for r in case.steps if r.key == "minit_cerai" and r.round == 1]
    assert old and old[0].data["decision"] == "tidak"
    case = step_through(PROC, case, later, "minit_cerai")
    case = act(PROC, case, SubmitMemo(), OFFICER, later)
    case = act(PROC, case, Decide(True), MANAGER_2, later)
    assert case.current_step == "prep_meeting"
    assert [(d.round, d.approved) for d in case.decisions] == [(1, False), (2, True)]


def test_close_after_tidak_is_not_approved_and_final() -> None:
    case = act(PROC, awaiting_decision(), Decide(False), MANAGER, NOW)
    assert refused(at_step("collect_input"), Close(), OFFICER) is Reason.NOT_REFUSED
    case = act(PROC, case, Close("Tidak diluluskan"), OFFICER, NOW)
    assert case.status is CaseStatus.NOT_APPROVED and case.current_step is None
    assert refused(case, Revise("collect_input"), OFFICER) is Reason.CASE_CLOSED
    assert refused(case, AddNote("hello"), OFFICER) is Reason.CASE_CLOSED


def test_withdrawn_and_completed_cases_take_no_more_steps() -> None:
    withdrawn = act(PROC, at_step("prep_meeting"), Withdraw("KLN batal"), AB, NOW)
    assert withdrawn.status is CaseStatus.WITHDRAWN
    assert refused(withdrawn, CompleteStep("prep_meeting", MeetingHeld(NOW.date())), OFFICER) \
        is Reason.CASE_CLOSED
    assert refused(withdrawn, Withdraw(), AB) is Reason.CASE_CLOSED
    done = at_step("end")
    assert done.status is CaseStatus.COMPLETED
    assert refused(done, CompleteStep("file_copy", Filed("X")), AB) is Reason.CASE_CLOSED


def test_officer_cannot_withdraw() -> None:
    assert refused(at_step("inform_ab"), Withdraw(), OFFICER) is Reason.NOT_PERMITTED


def test_step_details_are_required_and_checked() -> None:
    meeting = at_step("prep_meeting")
    assert refused(meeting, CompleteStep("prep_meeting"), OFFICER) is Reason.MISSING_DETAILS
    assert refused(meeting, CompleteStep("prep_meeting", NoteSent("x")), OFFICER) \
        is Reason.MISSING_DETAILS
    tomorrow = NOW.date() + timedelta(days=1)
    assert refused(meeting, CompleteStep("prep_meeting", MeetingHeld(tomorrow)), OFFICER) \
        is Reason.DATE_IN_FUTURE
    before = NOW.date() - timedelta(days=400)
    assert refused(meeting, CompleteStep("prep_meeting", MeetingHeld(before)), OFFICER) \
        is Reason.DATE_BEFORE_RECEIVED
    kln = at_step("convey_kln")
    assert refused(kln, CompleteStep("convey_kln", NoteSent("   ")), AB) is Reason.TEXT_EMPTY
    negotiate = at_step("negotiate")
    reversed_dates = NegotiationHeld(NOW.date(), NOW.date() - timedelta(days=1), "Jakarta")
    assert refused(negotiate, CompleteStep("negotiate", reversed_dates), OFFICER) \
        is Reason.DATES_REVERSED
    assert refused(negotiate, ScheduleNegotiation(tomorrow, NOW.date(), "X"), OFFICER) \
        is Reason.DATES_REVERSED
    outcome = at_step("send_outcome")
    assert refused(outcome, CompleteStep("send_outcome"), OFFICER) is Reason.MISSING_DETAILS
    assert act(PROC, outcome, CompleteStep("send_outcome", DocumentDelivered("a.pdf", "0" * 64)),
               OFFICER, NOW).current_step == "file_copy"


def test_a_5000_character_message_is_refused_with_the_limit() -> None:
    case = at_step("inform_ab")
    with pytest.raises(Refused) as err:
        apply(case, CompleteStep("inform_ab", note="x" * 5000), actor=OFFICER, now=NOW,
              procedure=PROC)
    assert err.value.reason is Reason.TEXT_TOO_LONG
    assert err.value.details == {"limit": 2000, "length": 5000}
    assert refused(case, AddNote("y" * 5000), AB) is Reason.TEXT_TOO_LONG


def test_scheduled_negotiation_completes_without_retyping_and_must_be_over() -> None:
    case = at_step("negotiate")
    day = NOW.date()
    case = act(PROC, case, ScheduleNegotiation(day + timedelta(days=7), day + timedelta(days=9),
                                               "Jakarta"), OFFICER, NOW)
    assert refused(case, CompleteStep("negotiate"), OFFICER) is Reason.DATE_IN_FUTURE
    after = NOW + timedelta(days=10)
    case = act(PROC, case, CompleteStep("negotiate"), OFFICER, after)
    assert case.current_step == "send_outcome"
    assert case.run("negotiate").data["venue"] == "Jakarta"  # type: ignore[union-attr]


def test_notes_by_anyone_working_the_case_but_not_viewers() -> None:
    case = at_step("inform_ab")
    for actor in (AB, OFFICER, MANAGER, ADMIN):
        outcome = apply(case, AddNote("Catatan"), actor=actor, now=NOW, procedure=PROC)
        assert outcome.events[0].kind == "note_added"
    assert refused(case, AddNote("x"), VIEWER) is Reason.NOT_PERMITTED
    assert refused(case, AddNote("x"), OTHER_OFFICER) is Reason.NOT_PERMITTED


def test_refused_actions_leave_the_case_as_it_was() -> None:
    case = awaiting_decision()
    snapshot = copy.deepcopy(case)
    for action, actor in [(Decide(True), OFFICER), (SubmitMemo(), OFFICER),
                          (Close(), OFFICER), (Withdraw(), Actor(5, Role.VIEWER))]:
        with pytest.raises(Refused):
            apply(case, action, actor=actor, now=NOW, procedure=PROC)
    assert case == snapshot


def test_the_decider_may_give_the_reason_once_after_the_tap() -> None:
    case = act(PROC, awaiting_decision(), Decide(False), MANAGER, NOW)
    assert refused(case, ExplainDecision("x"), MANAGER_2) is Reason.NOT_PERMITTED
    assert refused(case, ExplainDecision("   "), MANAGER) is Reason.TEXT_EMPTY
    explained = act(PROC, case, ExplainDecision("Perlu ulasan PUU"), MANAGER, NOW)
    assert explained.decisions[-1].reason == "Perlu ulasan PUU"
    assert refused(explained, ExplainDecision("again"), MANAGER) is Reason.ALREADY_DECIDED
    assert refused(at_step("collect_input"), ExplainDecision("x"), MANAGER) \
        is Reason.NOT_AWAITING_DECISION


def test_attachments_at_any_step_by_anyone_working_the_case() -> None:
    document = DocumentDelivered("ulasan-PDRM.pdf", "c" * 64, 7)
    for step, actor in (("collect_input", OFFICER), ("convey_kln", AB), ("minit_cerai", MANAGER)):
        outcome = apply(at_step(step), Attach(document), actor=actor, now=NOW, procedure=PROC)
        assert [(e.kind, e.step, e.data["document_id"]) for e in outcome.events] == [
            ("document_attached", step, 7)]
    assert refused(at_step("inform_ab"), Attach(document), VIEWER) is Reason.NOT_PERMITTED
    assert refused(at_step("end"), Attach(document), AB) is Reason.CASE_CLOSED
