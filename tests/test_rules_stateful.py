"""Whatever anyone tries, in any order: no skipped step, no meeting without Ya, a full log."""

import copy
from collections import Counter
from datetime import date, timedelta

from hypothesis import event, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from bot.domain.absence import Absence, BadAbsence, approvers_on, away_on, check_absence
from bot.domain.case import CaseStatus
from bot.domain.clock import ExtensionState, extensions, waiting, waits
from bot.domain.reminders import CLOCK_KINDS, SEQ_KEYED_KINDS, Audience, Nudge, NudgeKind
from bot.domain.rules import (
    AddNote,
    AnswerExtension,
    Close,
    CompleteStep,
    Decide,
    DocumentDelivered,
    Event,
    ExplainDecision,
    Filed,
    MeetingHeld,
    NegotiationHeld,
    NoteSent,
    Refused,
    RequestExtension,
    RequestInputs,
    ResumeWait,
    Revise,
    ScheduleNegotiation,
    StartWait,
    SubmitMemo,
    TickInput,
    Withdraw,
    apply,
    register_case,
)
from bot.domain.sop import WaitParty
from tests.builders import (
    AB,
    ADMIN,
    MANAGER,
    MANAGER_2,
    OFFICER,
    OTHER_OFFICER,
    VIEWER,
    at,
    new_case,
    procedure,
)

PROC = procedure()
KEYS = PROC.sop.keys
APPROVERS = (MANAGER.user_id, MANAGER_2.user_id)
START = date(2026, 8, 3)

actors = st.sampled_from([AB, ADMIN, MANAGER, MANAGER_2, OFFICER, OTHER_OFFICER, VIEWER])
days = st.integers(min_value=-5, max_value=5)
texts = st.sampled_from([0, 2, 2500]).map(lambda n: "x" * n)
step_details = st.one_of(
    st.none(),
    days.map(lambda d: MeetingHeld(START + timedelta(days=40 + d))),
    texts.map(NoteSent),
    texts.map(Filed),
    st.tuples(days, days).map(lambda t: NegotiationHeld(START + timedelta(days=40 + t[0]),
                                                        START + timedelta(days=40 + t[1]), "KL")),
    st.just(DocumentDelivered("outcome.pdf", "f" * 64)),
)
actions = st.one_of(
    st.builds(CompleteStep, st.sampled_from(KEYS), step_details, st.sampled_from([None, "n"])),
    st.builds(RequestInputs, st.lists(st.sampled_from(["PDRM", "AGC", "JPN", "XX"]), max_size=3)
              .map(tuple)),
    st.builds(TickInput, st.sampled_from(["PDRM", "AGC", "JPN"]), st.booleans()),
    st.builds(SubmitMemo, st.sampled_from([None, "memo"])),
    st.builds(Decide, st.booleans(), st.sampled_from([None, "sebab"])),
    st.builds(Revise, st.sampled_from(KEYS)),
    st.builds(Close),
    st.builds(Withdraw),
    st.builds(ScheduleNegotiation, days.map(lambda d: START + timedelta(days=50 + d)),
              days.map(lambda d: START + timedelta(days=52 + d)), st.just("Jakarta")),
    st.builds(AddNote, texts),
    st.builds(ExplainDecision, texts),
    st.builds(RequestExtension, st.sampled_from(KEYS), st.sampled_from([0, 1, 5, 30]),
              st.sampled_from(["", "AGC"])),
    st.builds(AnswerExtension, st.sampled_from(KEYS), st.integers(min_value=0, max_value=3),
              st.booleans()),
    st.builds(StartWait, st.sampled_from(KEYS), st.sampled_from(list(WaitParty)),
              st.sampled_from([None, "nota"])),
    st.builds(ResumeWait, st.sampled_from(KEYS)),
    # an approver away: the one acting for them decides on their behalf
    st.builds(Decide, st.booleans(), st.none(), st.sampled_from([MANAGER.user_id,
                                                                 MANAGER_2.user_id])),
)


def _key(nudge: Nudge) -> tuple[object, ...]:
    seq = nudge.seq if nudge.kind in SEQ_KEYED_KINDS else 0
    return (nudge.ref, nudge.step, nudge.round, nudge.kind, nudge.day, nudge.audience, seq)


class CaseMachine(RuleBasedStateMachine):
    """Drive one case with random actions by random actors over time."""

    def __init__(self) -> None:
        super().__init__()
        self.now = at(START)
        outcome = register_case(new_case(START), actor=AB, now=self.now, procedure=PROC)
        self.case = outcome.case
        self.log: list[Event] = list(outcome.events)
        self.deepest = 0
        self.pending: dict[tuple[object, ...], Nudge] = {}  # the outbox, as storage keeps it
        self.absences: list[Absence] = []
        self.keep(outcome.nudges, outcome.drops)

    def keep(self, nudges, drops) -> None:  # type: ignore[no-untyped-def]
        """Plan as storage does: forget what the drops name (not what is planned anew), add."""
        fresh = {_key(n): n for n in nudges}
        for drop in drops:
            for key, nudge in list(self.pending.items()):
                if key not in fresh and drop.matches(nudge):
                    del self.pending[key]
        for key, nudge in fresh.items():
            self.pending.setdefault(key, nudge)

    @rule(action=actions, actor=actors, hours=st.integers(min_value=0, max_value=72))
    def anything(self, action, actor, hours) -> None:  # type: ignore[no-untyped-def]
        """Anyone tries anything."""
        self.act(action, actor, hours)

    def act(self, action, actor, hours) -> None:  # type: ignore[no-untyped-def]
        self.now += timedelta(hours=hours)
        before = copy.deepcopy(self.case)
        try:
            outcome = apply(self.case, action, actor=actor, now=self.now, procedure=PROC)
        except Refused:
            assert self.case == before, "a refusal changed the case"
            return
        assert self.case == before, "apply changed the case it was given"
        old_index = KEYS.index(before.current_step) if before.current_step else None
        new = outcome.case
        if new.current_step is not None and old_index is not None:
            new_index = KEYS.index(new.current_step)
            if isinstance(action, Revise):
                assert new_index <= old_index
            else:
                assert new_index in (old_index, old_index + 1), "a step was skipped"
        if new != before:
            assert outcome.events, "a change without an event"
        self.case = new
        self.log.extend(outcome.events)
        self.keep(outcome.nudges, outcome.drops)
        self.deepest = max(self.deepest, KEYS.index(new.current_step) if new.current_step else 9)

    @rule(days=st.integers(min_value=1, max_value=10), grant=st.booleans())
    def extend(self, days: int, grant: bool) -> None:
        """The owner asks for more time on the current step; AB answers."""
        key = self.case.current_step or "receive"
        owner = AB if key in ("receive", "convey_kln", "file_copy") else OFFICER
        self.act(RequestExtension(key, days, "AGC"), owner, 1)
        run = self.case.current_run
        pending = [e for e in extensions(run) if e.state is ExtensionState.PENDING] if run else []
        if pending:
            self.act(AnswerExtension(key, pending[0].seq, grant), AB, 2)

    @rule(party=st.sampled_from(list(WaitParty)), hours=st.integers(min_value=0, max_value=400),
          extend=st.booleans())
    def wait_then_resume(self, party: WaitParty, hours: int, extend: bool) -> None:
        """The owner marks the step waiting (more time may be granted meanwhile), and later
        resumes it."""
        key = self.case.current_step or "receive"
        self.act(StartWait(key, party, "nota"), OFFICER, 1)
        if waiting(self.case.current_run) is not None:
            self.nothing_chases_a_waiting_or_done_step()
            if extend:
                self.extend(3, True)
                self.nothing_chases_a_waiting_or_done_step()
        self.act(ResumeWait(key), OFFICER, hours)

    @rule(who=st.sampled_from(APPROVERS), start=st.integers(min_value=-3, max_value=30),
          length=st.integers(min_value=-1, max_value=20))
    def away(self, who: int, start: int, length: int) -> None:
        """An approver records an absence (the other acts for them), if it is one they may."""
        first = self.now.date() + timedelta(days=start)
        absence = Absence(who, first, first + timedelta(days=length),
                          next(a for a in APPROVERS if a != who))
        try:
            check_absence(absence, today=self.now.date(), approvers=APPROVERS)
        except BadAbsence:
            return
        self.absences.append(absence)

    @rule(approve=st.booleans(), back_to=st.sampled_from(["collect_input", "minit_cerai", None]))
    def progress(self, approve: bool, back_to: str | None) -> None:
        """Do what the current step expects, by its right owner, so runs get deep."""
        day = self.now.date()
        right: dict[str, list[tuple[object, object]]] = {
            "receive": [(CompleteStep("receive"), AB)],
            "collect_input": [(RequestInputs(("PDRM",)), OFFICER), (TickInput("PDRM"), OFFICER),
                              (CompleteStep("collect_input"), OFFICER)],
            "minit_cerai": [(SubmitMemo(), OFFICER), (Decide(approve), MANAGER),
                            (Revise(back_to) if back_to else Close(), OFFICER)],
            "prep_meeting": [(CompleteStep("prep_meeting", MeetingHeld(day)), OFFICER)],
            "inform_ab": [(CompleteStep("inform_ab"), OFFICER)],
            "convey_kln": [(CompleteStep("convey_kln", NoteSent("ND/1")), AB)],
            "negotiate": [(CompleteStep("negotiate", NegotiationHeld(day, day, "KL")), OFFICER)],
            "send_outcome": [(CompleteStep("send_outcome", DocumentDelivered("o.pdf", "a" * 64)),
                              OFFICER)],
            "file_copy": [(CompleteStep("file_copy", Filed("FAIL/1")), AB)],
        }
        for action, actor in right.get(self.case.current_step or "", []):
            self.act(action, actor, 1)

    def teardown(self) -> None:
        event(f"deepest step reached: {self.deepest + 1}")

    @invariant()
    def no_step_after_the_decision_without_ya(self) -> None:
        decision_index = KEYS.index("minit_cerai")
        later = [r for r in self.case.steps if KEYS.index(r.key) > decision_index]
        if later:
            assert any(d.approved for d in self.case.decisions)
            approved_round = next(d.round for d in self.case.decisions if d.approved)
            assert all(d.round < approved_round for d in self.case.decisions if not d.approved)

    @invariant()
    def steps_start_in_order(self) -> None:
        first_round = [r.key for r in self.case.steps if r.round == 1]
        assert first_round == list(KEYS[: len(first_round)])

    @invariant()
    def nothing_chases_a_waiting_or_done_step(self) -> None:
        run = self.case.current_run
        for nudge in self.pending.values():
            if nudge.kind in CLOCK_KINDS:
                assert run is not None and nudge.step == run.key, "a reminder for a done step"
                assert waiting(run) is None, "a reminder for a waiting step"
                assert self.case.is_open
            if nudge.kind is NudgeKind.WAITING:
                assert run is not None and nudge.step == run.key and waiting(run) is not None
        if run is not None and waiting(run) is not None:  # AB is still reminded that it waits
            assert any(n.kind is NudgeKind.WAITING and n.step == run.key
                       for n in self.pending.values())

    @invariant()
    def an_approver_away_gets_no_card_and_someone_in_does(self) -> None:
        for nudge in self.pending.values():
            if nudge.audience is not Audience.APPROVERS:
                continue
            chosen = approvers_on(nudge.day, APPROVERS, self.absences)
            if len(chosen) < len(APPROVERS):
                event("an approver's card or chase due while they are away")
            assert all(away_on(self.absences, u, nudge.day) is None for u in chosen)
            if any(away_on(self.absences, u, nudge.day) is None for u in APPROVERS):
                assert chosen, "an approver is in, yet nobody gets the Ya/Tidak card"

    @invariant()
    def the_log_accounts_for_every_change(self) -> None:
        kinds = Counter(e.kind for e in self.log)
        case = self.case
        assert kinds["step_started"] == len(case.steps)
        done_by_report = [r for r in case.steps if r.done and r.data.get("decision") != "tidak"]
        assert kinds["step_completed"] == len(done_by_report)
        assert kinds["decided"] == len(case.decisions)
        explained = {e.data["round"]: e.data["reason"] for e in self.log
                     if e.kind == "decision_explained"}
        for d in case.decisions:
            assert d.reason is None or d.reason == explained.get(d.round, d.reason)
        assert kinds["revised"] == case.round - 1
        asked = [e for r in case.steps for e in extensions(r)]
        assert kinds["extension_requested"] == len(asked)
        assert kinds["extension_granted"] == sum(e.state is ExtensionState.GRANTED for e in asked)
        assert kinds["extension_refused"] == sum(e.state is ExtensionState.REFUSED for e in asked)
        stretches = [w for r in case.steps for w in waits(r)]
        assert kinds["wait_started"] == len(stretches)
        assert kinds["wait_ended"] == sum(w.end is not None for w in stretches)
        received = sum(1 for i in case.inputs if i.received_at is not None)
        assert kinds["input_received"] - kinds["input_unticked"] == received
        assert sum(len(e.data["codes"]) for e in self.log if e.kind == "inputs_requested") \
            == len(case.inputs)
        closing = {CaseStatus.COMPLETED: "case_completed", CaseStatus.NOT_APPROVED: "case_closed",
                   CaseStatus.WITHDRAWN: "case_withdrawn"}
        assert sum(kinds[k] for k in closing.values()) == (0 if case.is_open else 1)
        if not case.is_open:
            assert kinds[closing[case.status]] == 1


CaseMachine.TestCase.settings = settings(max_examples=150, stateful_step_count=60, deadline=None)
TestCaseRules = CaseMachine.TestCase
