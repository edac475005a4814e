"""The case rules: what each action does to a case, and who may do it.

Every rule is a plain function of (case, action, actor, now, procedure). It never changes the
case it is given: it returns the changed copy and the events that record the change, or raises
Refused with a reason code that the interface translates.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from enum import Enum, StrEnum
from typing import Any

from bot.domain.case import (
    Actor,
    Case,
    CaseStatus,
    Classification,
    Decision,
    Event,
    InputAsk,
    Instrument,
    Level,
    Phase,
    Role,
    Source,
    StepRun,
)
from bot.domain.clock import (
    Extension,
    ExtensionState,
    Wait,
    days_waited,
    extensions,
    pending_extension,
    recount_due,
    store_extensions,
    store_waits,
    waiting,
    waits,
)
from bot.domain.deadlines import Procedure
from bot.domain.reminders import Drop, Nudge
from bot.domain.sop import Capture, Owner, StepDef, WaitParty

MAX_TITLE = 300
MAX_NOTE = 2000
MAX_REFERENCE = 200
MAX_COUNTRIES = 60
MAX_FILENAME = 255


class Reason(StrEnum):
    """Why an action was refused; the interface has a message for each."""

    NOT_PERMITTED = "not_permitted"
    CASE_CLOSED = "case_closed"
    WRONG_STEP = "wrong_step"
    ALREADY_DECIDED = "already_decided"
    NOT_AWAITING_DECISION = "not_awaiting_decision"
    MEMO_ALREADY_SUBMITTED = "memo_already_submitted"
    NOT_REFUSED = "not_refused"
    INPUTS_PENDING = "inputs_pending"
    NO_INPUTS_ASKED = "no_inputs_asked"
    UNKNOWN_INPUT = "unknown_input"
    INPUT_NOT_ASKED = "input_not_asked"
    MISSING_DETAILS = "missing_details"
    DATE_IN_FUTURE = "date_in_future"
    DATE_BEFORE_RECEIVED = "date_before_received"
    DATES_REVERSED = "dates_reversed"
    TEXT_TOO_LONG = "text_too_long"
    TEXT_EMPTY = "text_empty"
    BAD_CASE_DATA = "bad_case_data"
    REVISE_TARGET = "revise_target"
    DECIDED_BY_MANAGEMENT = "decided_by_management"
    EXTENSION_NOT_ALLOWED = "extension_not_allowed"
    EXTENSION_DAYS = "extension_days"
    EXTENSION_PENDING = "extension_pending"
    EXTENSION_ANSWERED = "extension_answered"
    OWN_EXTENSION = "own_extension"
    WAIT_NOT_ALLOWED = "wait_not_allowed"
    ALREADY_WAITING = "already_waiting"
    NOT_WAITING = "not_waiting"
    NOT_LISTED_APPROVER = "not_listed_approver"
    ALREADY_VOTED = "already_voted"
    SIGNING_DATES_ORDER = "signing_dates_order"
    NOT_FILED = "not_filed"


class Refused(Exception):
    """An action the rules do not allow, with the reason code and details for the message."""

    def __init__(self, reason: Reason, **details: Any) -> None:
        super().__init__(reason.value)
        self.reason = reason
        self.details = details


# --- actions -------------------------------------------------------------------------------


@dataclass(frozen=True)
class NewCase:
    """What AB enters to register a case; the reference is given by storage."""

    ref: str
    title: str
    instrument: Instrument
    level: Level
    countries: tuple[str, ...]
    source: Source
    lead_division: str
    received_on: date
    classification: Classification = Classification.OPEN


@dataclass(frozen=True)
class MeetingHeld:
    """Step details: the preparation meeting was held on ``date``."""

    date: date


@dataclass(frozen=True)
class NoteSent:
    """Step details: the diplomatic note's reference."""

    reference: str


@dataclass(frozen=True)
class NegotiationHeld:
    """Step details (or a schedule): the negotiation's dates and venue."""

    start: date
    end: date
    venue: str


@dataclass(frozen=True)
class DocumentDelivered:
    """Step details: the outcome document, as storage keeps it."""

    name: str
    sha256: str
    document_id: int | None = None


@dataclass(frozen=True)
class Filed:
    """Step details: the file reference, and the signed instrument's dates when known."""

    reference: str
    signed_on: date | None = None
    in_force_on: date | None = None
    expires_on: date | None = None  # its expiry or review date: renewal is reminded before it


StepDetails = MeetingHeld | NoteSent | NegotiationHeld | DocumentDelivered | Filed

_DETAILS_FOR: dict[Capture, type] = {
    Capture.MEETING: MeetingHeld,
    Capture.NOTE_REF: NoteSent,
    Capture.NEGOTIATION: NegotiationHeld,
    Capture.DOCUMENT: DocumentDelivered,
    Capture.FILE_REF: Filed,
}


@dataclass(frozen=True)
class CompleteStep:
    """Report ``step`` done, with what it captures and an optional note."""

    step: str
    details: StepDetails | None = None
    note: str | None = None


@dataclass(frozen=True)
class RequestInputs:
    """Ask these BJA for input at the input step (adds to those already asked)."""

    codes: tuple[str, ...]


@dataclass(frozen=True)
class TickInput:
    """Mark one BJA's input as received (or, with received=False, as not yet)."""

    code: str
    received: bool = True


@dataclass(frozen=True)
class SubmitMemo:
    """The Minit Cerai has gone to top management."""

    note: str | None = None


@dataclass(frozen=True)
class Decide:
    """Top management's Ya (approve=True) or Tidak.

    ``on_behalf_of``: the approver an acting approver decides for. ``approvers``: those listed
    on the case now, who must each say Ya when the SOP wants every approver.
    """

    approve: bool
    reason: str | None = None
    on_behalf_of: int | None = None
    approvers: tuple[int, ...] = ()


@dataclass(frozen=True)
class ExplainDecision:
    """The decider gives the reason for their decision after the tap (optional, once)."""

    reason: str


@dataclass(frozen=True)
class Revise:
    """After Tidak: go back to ``back_to`` (the input step or the decision step) for a new round."""

    back_to: str
    note: str | None = None


@dataclass(frozen=True)
class Close:
    """After Tidak: close the case as not approved."""

    reason: str | None = None


@dataclass(frozen=True)
class Withdraw:
    """Withdraw an open case at any step."""

    reason: str | None = None


@dataclass(frozen=True)
class ScheduleNegotiation:
    """Record the negotiation's agreed dates and venue; the step falls due at its end."""

    start: date
    end: date
    venue: str


@dataclass(frozen=True)
class AddNote:
    """A note on the case at its current step."""

    text: str


@dataclass(frozen=True)
class Attach:
    """A document kept with the case at its current step (not the step's own outcome)."""

    document: DocumentDelivered


@dataclass(frozen=True)
class RequestExtension:
    """The step's owner asks for ``days`` more working days on ``step``, for ``reason``."""

    step: str
    days: int
    reason: str


@dataclass(frozen=True)
class AnswerExtension:
    """AB's Lulus (grant=True) or Tolak on request ``seq`` of ``step``."""

    step: str
    seq: int
    grant: bool


@dataclass(frozen=True)
class StartWait:
    """The step waits on an outside party: its clock stops."""

    step: str
    party: WaitParty
    note: str | None = None


@dataclass(frozen=True)
class ResumeWait:
    """The outside party has answered: the step's clock runs again."""

    step: str


@dataclass(frozen=True)
class Classify:
    """AB marks the case Terhad or Sulit (or lifts the marking)."""

    classification: Classification


class Keep(Enum):
    """A signing date left as recorded (see RecordSigning)."""

    KEEP = "keep"


KEEP = Keep.KEEP
SIGNING_DATES = ("signed_on", "in_force_on", "expires_on")  # as the filed run's data keeps them


@dataclass(frozen=True)
class RecordSigning:
    """The signed instrument's dates on a filed case, recorded or corrected (AB or the lead
    division): a date sets it, None clears it, KEEP leaves it as recorded."""

    signed_on: date | None | Keep = KEEP
    in_force_on: date | None | Keep = KEEP
    expires_on: date | None | Keep = KEEP


Action = (
    CompleteStep
    | RequestExtension
    | AnswerExtension
    | StartWait
    | ResumeWait
    | Classify
    | RecordSigning
    | RequestInputs
    | TickInput
    | SubmitMemo
    | Decide
    | ExplainDecision
    | Revise
    | Close
    | Withdraw
    | ScheduleNegotiation
    | AddNote
    | Attach
)


@dataclass
class Outcome:
    """The changed case, the events that record the change, and the reminders it plans/drops."""

    case: Case
    events: list[Event] = field(default_factory=list)
    nudges: list[Nudge] = field(default_factory=list)
    drops: list[Drop] = field(default_factory=list)

    def then(self, later: Outcome) -> Outcome:
        """This outcome followed by ``later`` (applied to this one's case), as one change."""
        kept = [n for n in self.nudges if not any(d.matches(n) for d in later.drops)]
        return Outcome(later.case, [*self.events, *later.events],
                       [*kept, *later.nudges], [*self.drops, *later.drops])


# --- checks -------------------------------------------------------------------------------


def _text(value: str | None, limit: int, *, required: bool = False) -> str | None:
    text = (value or "").strip()
    if not text:
        if required:
            raise Refused(Reason.TEXT_EMPTY)
        return None
    if len(text) > limit:
        raise Refused(Reason.TEXT_TOO_LONG, limit=limit, length=len(text))
    return text


def _past_date(day: date, case: Case, today: date) -> None:
    if day > today:
        raise Refused(Reason.DATE_IN_FUTURE, date=day)
    if day < case.received_on:
        raise Refused(Reason.DATE_BEFORE_RECEIVED, date=day)


def may_act_on(actor: Actor, case: Case, owner: Owner) -> bool:
    """True when ``actor`` may do the work of ``owner`` on ``case``."""
    if actor.role is Role.ADMIN:
        return True
    if owner is Owner.AB:
        return actor.role is Role.AB
    return actor.role is Role.OFFICER and actor.division == case.lead_division


def may_decide(actor: Actor) -> bool:
    """Only top management decides Ya or Tidak."""
    return actor.role is Role.MANAGEMENT


def awaits_reason(case: Case, actor: Actor, round_: int) -> bool:
    """Whether ``actor``'s Tidak on round ``round_`` is the case's latest decision and still
    has no reason: a second Tidak tap by them then asks for the reason again."""
    if not case.decisions or case.round != round_:
        return False
    decision = case.decisions[-1]
    return (decision.round == round_ and not decision.approved
            and decision.by == actor.user_id and decision.reason is None)


def may_register(actor: Actor) -> bool:
    """AB (and admins) register cases."""
    return actor.role in (Role.AB, Role.ADMIN)


def _require(allowed: bool) -> None:
    if not allowed:
        raise Refused(Reason.NOT_PERMITTED)


def _open_step(case: Case, key: str | None = None) -> StepRun:
    """The current run, checked to be open (and to be step ``key`` when given)."""
    if not case.is_open:
        raise Refused(Reason.CASE_CLOSED, status=case.status.value)
    run = case.current_run
    if run is None or (key is not None and run.key != key):
        raise Refused(Reason.WRONG_STEP, current=case.current_step, asked=key)
    return run


# --- rules -------------------------------------------------------------------------------


def register_case(new: NewCase, *, actor: Actor, now: datetime, procedure: Procedure) -> Outcome:
    """Open a case at the SOP's first step; the received date may lie in the past."""
    _require(may_register(actor))
    title = _text(new.title, MAX_TITLE, required=True)
    if not new.countries or len(new.countries) > MAX_COUNTRIES:
        raise Refused(Reason.BAD_CASE_DATA, field="countries")
    if not new.lead_division:
        raise Refused(Reason.BAD_CASE_DATA, field="lead_division")
    if new.received_on > procedure.calendar.local_date(now):
        raise Refused(Reason.DATE_IN_FUTURE, date=new.received_on)
    case = Case(
        ref=new.ref,
        title=title or "",
        instrument=new.instrument,
        level=new.level,
        countries=tuple(dict.fromkeys(c.upper() for c in new.countries)),
        source=new.source,
        lead_division=new.lead_division,
        received_on=new.received_on,
        classification=new.classification,
    )
    registered = Event(
        "case_registered",
        actor.user_id,
        now,
        data={"title": case.title, "lead_division": case.lead_division,
              "received_on": case.received_on.isoformat(),
              "classification": case.classification.value},
    )
    events = [registered, _start(case, procedure.sop.keys[0], now, procedure, actor.user_id)]
    return _planned(case, events, procedure)


def apply(
    case: Case, action: Action, *, actor: Actor, now: datetime, procedure: Procedure
) -> Outcome:
    """Apply ``action`` by ``actor`` at ``now``; the given case is left as it was."""
    work = copy.deepcopy(case)
    handler = _HANDLERS[type(action)]
    events = handler(work, action, actor, now, procedure)
    return _planned(work, events, procedure)


def _planned(case: Case, events: list[Event], procedure: Procedure) -> Outcome:
    nudges, drops = procedure.planner.changes(case, events)
    return Outcome(case, events, nudges, drops)


def _start(case: Case, key: str, now: datetime, procedure: Procedure, by: int | None) -> Event:
    """Make ``key`` the current step, due by the SOP's rule; returns its event."""
    step = procedure.sop.get(key)
    due = procedure.step_due(case, step, procedure.calendar.local_date(now))
    case.steps.append(StepRun(key=key, round=case.round, started_at=now, due_at=due))
    case.current_step, case.phase = key, Phase.WORK
    return Event("step_started", by, now, step=key,
                 data={"round": case.round, "due_at": due.isoformat()})


def _advance(case: Case, run: StepRun, now: datetime, procedure: Procedure, actor: Actor,
             data: dict[str, Any]) -> list[Event]:
    run.done_at, run.done_by = now, actor.user_id
    run.data.update(data)
    events = [Event("step_completed", actor.user_id, now, step=run.key, data=dict(data))]
    following = procedure.sop.next_key(run.key)
    if following is None:
        case.status, case.current_step, case.phase = CaseStatus.COMPLETED, None, Phase.WORK
        events.append(Event("case_completed", actor.user_id, now))
    else:
        events.append(_start(case, following, now, procedure, actor.user_id))
    return events


def _details_data(step: StepDef, details: StepDetails | None, run: StepRun, case: Case,
                  today: date) -> dict[str, Any]:
    """Check the step's captured details and turn them into stored data."""
    if step.capture is None or step.capture in (Capture.INPUTS, Capture.DECISION):
        return {}
    if step.capture is Capture.NEGOTIATION and details is None and "end" in run.data:
        details = NegotiationHeld(
            date.fromisoformat(run.data["start"]), date.fromisoformat(run.data["end"]),
            run.data["venue"],
        )
    expected = _DETAILS_FOR[step.capture]
    if not isinstance(details, expected):
        raise Refused(Reason.MISSING_DETAILS, capture=step.capture.value)
    match details:
        case MeetingHeld(day):
            _past_date(day, case, today)
            return {"meeting_date": day.isoformat()}
        case NoteSent(reference):
            return {"reference": _text(reference, MAX_REFERENCE, required=True)}
        case Filed(reference, signed_on, in_force_on, expires_on):
            data: dict[str, Any] = {"reference": _text(reference, MAX_REFERENCE, required=True)}
            return data | _signing_data(signed_on, in_force_on, expires_on, case, today)
        case NegotiationHeld(start, end, venue):
            if end < start:
                raise Refused(Reason.DATES_REVERSED)
            _past_date(start, case, today)
            _past_date(end, case, today)
            return {"start": start.isoformat(), "end": end.isoformat(),
                    "venue": _text(venue, MAX_REFERENCE, required=True)}
        case DocumentDelivered(name, sha256, document_id):
            return {"document": _text(name, MAX_FILENAME, required=True), "sha256": sha256,
                    "document_id": document_id}
    raise Refused(Reason.MISSING_DETAILS, capture=step.capture.value)  # pragma: no cover


def _signing_data(signed_on: date | None, in_force_on: date | None, expires_on: date | None,
                  case: Case, today: date) -> dict[str, str]:
    """The signed instrument's dates, checked: signed on a day that has passed, in force on or
    after it, expiring (or reviewed) after both."""
    if signed_on is not None:
        _past_date(signed_on, case, today)
    if (in_force_on is not None and signed_on is not None and in_force_on < signed_on) or (
            expires_on is not None and any(d is not None and expires_on <= d
                                           for d in (signed_on, in_force_on))):
        raise Refused(Reason.SIGNING_DATES_ORDER, signed_on=signed_on,
                      in_force_on=in_force_on, expires_on=expires_on)
    given = zip(SIGNING_DATES, (signed_on, in_force_on, expires_on), strict=True)
    return {key: day.isoformat() for key, day in given if day is not None}


def _complete(case: Case, action: CompleteStep, actor: Actor, now: datetime,
              procedure: Procedure) -> list[Event]:
    run = _open_step(case, action.step)
    step = procedure.sop.get(run.key)
    _require(may_act_on(actor, case, step.owner))
    if step.capture is Capture.DECISION:
        # the decision step is done by management's Ya, never reported by hand
        raise Refused(Reason.DECIDED_BY_MANAGEMENT)
    if step.capture is Capture.INPUTS:
        asked = case.inputs_this_round()
        if not asked:
            raise Refused(Reason.NO_INPUTS_ASKED)
        pending = [i.code for i in asked if i.received_at is None]
        if pending:
            raise Refused(Reason.INPUTS_PENDING, pending=pending)
    today = procedure.calendar.local_date(now)
    data = _details_data(step, action.details, run, case, today)
    note = _text(action.note, MAX_NOTE)
    if note:
        data["note"] = note
    ended = [_end_wait(case, run, now, procedure, actor)] if waiting(run) else []
    return ended + _advance(case, run, now, procedure, actor, data)


def _input_step(case: Case, actor: Actor, procedure: Procedure) -> StepRun:
    step = procedure.sop.step_for(Capture.INPUTS)
    run = _open_step(case, step.key)
    _require(may_act_on(actor, case, step.owner))
    return run


def _request_inputs(case: Case, action: RequestInputs, actor: Actor, now: datetime,
                    procedure: Procedure) -> list[Event]:
    run = _input_step(case, actor, procedure)
    unknown = [c for c in action.codes if procedure.sop.source(c) is None]
    if unknown or not action.codes:
        raise Refused(Reason.UNKNOWN_INPUT, codes=unknown)
    already = {i.code for i in case.inputs_this_round()}
    added = [c for c in dict.fromkeys(action.codes) if c not in already]
    case.inputs.extend(InputAsk(code=c, round=case.round, asked_at=now) for c in added)
    if not added:
        return []
    return [Event("inputs_requested", actor.user_id, now, step=run.key, data={"codes": added})]


def _tick_input(case: Case, action: TickInput, actor: Actor, now: datetime,
                procedure: Procedure) -> list[Event]:
    run = _input_step(case, actor, procedure)
    ask = next((i for i in case.inputs_this_round() if i.code == action.code), None)
    if ask is None:
        raise Refused(Reason.INPUT_NOT_ASKED, code=action.code)
    if (ask.received_at is not None) == action.received:
        return []  # already so: a double tap changes nothing
    ask.received_at, ask.received_by = (now, actor.user_id) if action.received else (None, None)
    kind = "input_received" if action.received else "input_unticked"
    return [Event(kind, actor.user_id, now, step=run.key, data={"code": action.code})]


def _decision_step(case: Case, procedure: Procedure) -> tuple[StepDef, StepRun]:
    step = procedure.sop.step_for(Capture.DECISION)
    if not case.is_open:
        raise Refused(Reason.CASE_CLOSED, status=case.status.value)
    run = case.run(step.key)
    if run is None or case.current_step != step.key:
        if run is not None and run.done:
            raise Refused(Reason.ALREADY_DECIDED)
        raise Refused(Reason.WRONG_STEP, current=case.current_step, asked=step.key)
    return step, run


def _submit_memo(case: Case, action: SubmitMemo, actor: Actor, now: datetime,
                 procedure: Procedure) -> list[Event]:
    step, run = _decision_step(case, procedure)
    _require(may_act_on(actor, case, step.owner))
    if case.phase is not Phase.WORK:
        raise Refused(Reason.MEMO_ALREADY_SUBMITTED)
    note = _text(action.note, MAX_NOTE)
    run.data["memo_submitted_at"] = now.isoformat()
    run.data["memo_by"] = actor.user_id
    if note:
        run.data["memo_note"] = note
    case.phase = Phase.AWAITING_DECISION
    return [Event("memo_submitted", actor.user_id, now, step=step.key,
                  data={"round": case.round, "note": note})]


def _decide(case: Case, action: Decide, actor: Actor, now: datetime,
            procedure: Procedure) -> list[Event]:
    _require(may_decide(actor))
    step, run = _decision_step(case, procedure)
    if case.decision_this_round() is not None or case.phase is Phase.REFUSED:
        raise Refused(Reason.ALREADY_DECIDED)
    if case.phase is not Phase.AWAITING_DECISION:
        raise Refused(Reason.NOT_AWAITING_DECISION)
    reason = _text(action.reason, MAX_NOTE)
    behalf = action.on_behalf_of if action.on_behalf_of != actor.user_id else None
    if procedure.sop.policy.approvers == "every" and action.approvers:
        voted = _vote(case, run, action, actor, now, behalf, reason)
        if voted is not None:
            return [voted]
    case.decisions.append(Decision(case.round, action.approve, actor.user_id, now, reason,
                                   behalf))
    decided = Event("decided", actor.user_id, now, step=step.key,
                    data={"round": case.round, "approved": action.approve, "reason": reason,
                          "on_behalf_of": behalf})
    if action.approve:
        return [decided, *_advance(case, run, now, procedure, actor, {"decision": "ya"})]
    case.phase = Phase.REFUSED
    return [decided]


def _vote(case: Case, run: StepRun, action: Decide, actor: Actor, now: datetime,
          behalf: int | None, reason: str | None) -> Event | None:
    """Record one listed approver's Ya or Tidak; None when it settles the decision."""
    voter = behalf if behalf is not None else actor.user_id
    listed = run.data.setdefault(f"approvers_{case.round}", list(action.approvers))
    if voter not in listed:
        raise Refused(Reason.NOT_LISTED_APPROVER)
    votes: list[dict[str, Any]] = run.data.setdefault("votes", [])
    this_round = [v for v in votes if v["round"] == case.round]
    if any(v["for"] == voter for v in this_round):
        raise Refused(Reason.ALREADY_VOTED)
    votes.append({"round": case.round, "for": voter, "by": actor.user_id,
                  "approved": action.approve, "at": now.isoformat(), "reason": reason})
    yes = {v["for"] for v in this_round if v["approved"]} | ({voter} if action.approve else set())
    if not action.approve or yes >= set(listed):
        return None  # one Tidak refuses; the last Ya approves
    return Event("vote_recorded", actor.user_id, now, step=run.key,
                 data={"round": case.round, "approved": True, "for": voter,
                       "on_behalf_of": behalf,
                       "remaining": [u for u in listed if u not in yes]})


def votes_of(case: Case, run: StepRun, round_: int) -> list[dict[str, Any]]:
    """The listed approvers' votes on ``round_`` so far (the "every approver" policy)."""
    return [v for v in run.data.get("votes", []) if v["round"] == round_]


def _explain(case: Case, action: ExplainDecision, actor: Actor, now: datetime,
             procedure: Procedure) -> list[Event]:
    if not case.decisions:
        raise Refused(Reason.NOT_AWAITING_DECISION)
    decision = case.decisions[-1]
    if decision.by != actor.user_id:
        raise Refused(Reason.NOT_PERMITTED)
    if decision.reason is not None:
        raise Refused(Reason.ALREADY_DECIDED)
    decision.reason = _text(action.reason, MAX_NOTE, required=True)
    step = procedure.sop.step_for(Capture.DECISION).key
    return [Event("decision_explained", actor.user_id, now, step=step,
                  data={"round": decision.round, "reason": decision.reason})]


def _after_refusal(case: Case, actor: Actor, procedure: Procedure) -> None:
    step = procedure.sop.step_for(Capture.DECISION)
    if not case.is_open:
        raise Refused(Reason.CASE_CLOSED, status=case.status.value)
    _require(may_act_on(actor, case, step.owner))
    if case.phase is not Phase.REFUSED:
        raise Refused(Reason.NOT_REFUSED)


def _revise(case: Case, action: Revise, actor: Actor, now: datetime,
            procedure: Procedure) -> list[Event]:
    _after_refusal(case, actor, procedure)
    sop = procedure.sop
    allowed = (sop.step_for(Capture.INPUTS).key, sop.step_for(Capture.DECISION).key)
    if action.back_to not in allowed:
        raise Refused(Reason.REVISE_TARGET, allowed=allowed)
    note = _text(action.note, MAX_NOTE)
    refused_run = case.current_run
    assert refused_run is not None
    refused_run.done_at, refused_run.done_by = now, actor.user_id
    refused_run.data["decision"] = "tidak"
    case.round += 1
    revised = Event("revised", actor.user_id, now, step=action.back_to,
                    data={"round": case.round, "note": note})
    return [revised, _start(case, action.back_to, now, procedure, actor.user_id)]


def _close(case: Case, action: Close, actor: Actor, now: datetime,
           procedure: Procedure) -> list[Event]:
    _after_refusal(case, actor, procedure)
    reason = _text(action.reason, MAX_NOTE)
    run = case.current_run
    assert run is not None
    run.done_at, run.done_by = now, actor.user_id
    run.data["decision"] = "tidak"
    case.status, case.current_step, case.phase = CaseStatus.NOT_APPROVED, None, Phase.WORK
    return [Event("case_closed", actor.user_id, now, step=run.key, data={"reason": reason})]


def _withdraw(case: Case, action: Withdraw, actor: Actor, now: datetime,
              procedure: Procedure) -> list[Event]:
    if not case.is_open:
        raise Refused(Reason.CASE_CLOSED, status=case.status.value)
    _require(actor.role in (Role.AB, Role.ADMIN))
    reason = _text(action.reason, MAX_NOTE)
    step = case.current_step
    case.status, case.current_step, case.phase = CaseStatus.WITHDRAWN, None, Phase.WORK
    return [Event("case_withdrawn", actor.user_id, now, step=step, data={"reason": reason})]


def _schedule(case: Case, action: ScheduleNegotiation, actor: Actor, now: datetime,
              procedure: Procedure) -> list[Event]:
    step = procedure.sop.step_for(Capture.NEGOTIATION)
    run = _open_step(case, step.key)
    _require(may_act_on(actor, case, step.owner))
    if action.end < action.start:
        raise Refused(Reason.DATES_REVERSED)
    if action.start < case.received_on:
        raise Refused(Reason.DATE_BEFORE_RECEIVED, date=action.start)
    venue = _text(action.venue, MAX_REFERENCE, required=True)
    run.data.update(start=action.start.isoformat(), end=action.end.isoformat(), venue=venue)
    run.due_at = recount_due(case, run, procedure)  # extensions and waits still count
    return [Event("negotiation_scheduled", actor.user_id, now, step=step.key,
                  data={"start": action.start.isoformat(), "end": action.end.isoformat(),
                        "venue": venue, "due_at": run.due_at.isoformat()})]


def _may_annotate(case: Case, actor: Actor) -> None:
    """Notes and attachments: from anyone working the case, while it is open."""
    if not case.is_open:
        raise Refused(Reason.CASE_CLOSED, status=case.status.value)
    _require(
        may_decide(actor)
        or may_act_on(actor, case, Owner.AB)
        or may_act_on(actor, case, Owner.LEAD)
    )


def _add_note(case: Case, action: AddNote, actor: Actor, now: datetime,
              procedure: Procedure) -> list[Event]:
    _may_annotate(case, actor)
    text = _text(action.text, MAX_NOTE, required=True)
    return [Event("note_added", actor.user_id, now, step=case.current_step, data={"text": text})]


def _attach(case: Case, action: Attach, actor: Actor, now: datetime,
            procedure: Procedure) -> list[Event]:
    _may_annotate(case, actor)
    name = _text(action.document.name, MAX_FILENAME, required=True)
    return [Event("document_attached", actor.user_id, now, step=case.current_step,
                  data={"name": name, "sha256": action.document.sha256,
                        "document_id": action.document.document_id})]


def _extendable(case: Case, key: str, procedure: Procedure) -> tuple[StepDef, StepRun]:
    run = _open_step(case, key)
    step = procedure.sop.get(run.key)
    if not step.extend or case.phase is not Phase.WORK:
        raise Refused(Reason.EXTENSION_NOT_ALLOWED)
    return step, run


def _request_extension(case: Case, action: RequestExtension, actor: Actor, now: datetime,
                       procedure: Procedure) -> list[Event]:
    step, run = _extendable(case, action.step, procedure)
    _require(may_act_on(actor, case, step.owner))
    limit = procedure.sop.policy.extension_max_days
    if not 1 <= action.days <= limit:
        raise Refused(Reason.EXTENSION_DAYS, limit=limit)
    reason = _text(action.reason, MAX_NOTE, required=True) or ""
    if pending_extension(run) is not None:
        raise Refused(Reason.EXTENSION_PENDING)
    records = extensions(run)
    asked = Extension(len(records) + 1, action.days, reason, actor.user_id, now)
    store_extensions(run, [*records, asked])
    return [Event("extension_requested", actor.user_id, now, step=run.key,
                  data={"seq": asked.seq, "days": asked.days, "reason": reason})]


def may_answer_extension(actor: Actor) -> bool:
    """AB (or an admin) grants or refuses more time."""
    return actor.role in (Role.AB, Role.ADMIN)


def _answer_extension(case: Case, action: AnswerExtension, actor: Actor, now: datetime,
                      procedure: Procedure) -> list[Event]:
    _require(may_answer_extension(actor))
    if not case.is_open:
        raise Refused(Reason.CASE_CLOSED, status=case.status.value)
    run = case.current_run
    records = extensions(run) if run is not None and run.key == action.step else []
    asked = next((e for e in records if e.seq == action.seq), None)
    if run is None or asked is None:
        raise Refused(Reason.WRONG_STEP, current=case.current_step, asked=action.step)
    if asked.state is not ExtensionState.PENDING:
        raise Refused(Reason.EXTENSION_ANSWERED)  # the first tap won
    if asked.by == actor.user_id and actor.role is not Role.ADMIN:
        raise Refused(Reason.OWN_EXTENSION)
    if not action.grant:
        answered = replace(asked, state=ExtensionState.REFUSED, decided_by=actor.user_id,
                           decided_at=now)
        store_extensions(run, [answered if e.seq == asked.seq else e for e in records])
        return [Event("extension_refused", actor.user_id, now, step=run.key,
                      data={"seq": asked.seq, "days": asked.days})]
    answered = replace(asked, state=ExtensionState.GRANTED, decided_by=actor.user_id,
                       decided_at=now, due_from=run.due_at)
    store_extensions(run, [answered if e.seq == asked.seq else e for e in records])
    due = recount_due(case, run, procedure)
    answered = replace(answered, due_to=due)
    store_extensions(run, [answered if e.seq == asked.seq else e for e in records])
    before, run.due_at = run.due_at, due
    return [Event("extension_granted", actor.user_id, now, step=run.key,
                  data={"seq": asked.seq, "days": asked.days, "from": before.isoformat(),
                        "due_at": due.isoformat()})]


def _start_wait(case: Case, action: StartWait, actor: Actor, now: datetime,
                procedure: Procedure) -> list[Event]:
    run = _open_step(case, action.step)
    step = procedure.sop.get(run.key)
    _require(may_act_on(actor, case, step.owner))
    if not step.wait or case.phase is not Phase.WORK:
        raise Refused(Reason.WAIT_NOT_ALLOWED)
    if waiting(run) is not None:
        raise Refused(Reason.ALREADY_WAITING)
    note = _text(action.note, MAX_NOTE)
    store_waits(run, [*waits(run), Wait(action.party, note, now, actor.user_id)])
    return [Event("wait_started", actor.user_id, now, step=run.key,
                  data={"party": action.party.value, "note": note})]


def _end_wait(case: Case, run: StepRun, now: datetime, procedure: Procedure,
              actor: Actor) -> Event:
    records = waits(run)
    under_way = next(w for w in records if w.end is None)
    ended = replace(under_way, end=now, ended_by=actor.user_id,
                    days=days_waited(procedure, under_way.start, now))
    store_waits(run, [ended if w is under_way else w for w in records])
    before = run.due_at
    run.due_at = recount_due(case, run, procedure)
    return Event("wait_ended", actor.user_id, now, step=run.key,
                 data={"party": ended.party.value, "days": ended.days,
                       "from": before.isoformat(), "due_at": run.due_at.isoformat()})


def _resume_wait(case: Case, action: ResumeWait, actor: Actor, now: datetime,
                 procedure: Procedure) -> list[Event]:
    run = _open_step(case, action.step)
    _require(may_act_on(actor, case, procedure.sop.get(run.key).owner))
    if waiting(run) is None:
        raise Refused(Reason.NOT_WAITING)
    return [_end_wait(case, run, now, procedure, actor)]


def _classify(case: Case, action: Classify, actor: Actor, now: datetime,
              procedure: Procedure) -> list[Event]:
    _require(actor.role in (Role.AB, Role.ADMIN))
    if action.classification is case.classification:
        return []
    before, case.classification = case.classification, action.classification
    return [Event("classified", actor.user_id, now, step=case.current_step,
                  data={"from": before.value, "to": action.classification.value})]


def filed_run(case: Case, procedure: Procedure) -> StepRun | None:
    """The run that filed ``case`` (the SOP's last step, done), or None while it is not filed."""
    run = case.run(procedure.sop.keys[-1])
    if case.status is not CaseStatus.COMPLETED or run is None or run.done_at is None:
        return None
    return run


def may_record_signing(actor: Actor, case: Case) -> bool:
    """AB, the lead division (and admins) record a signed instrument's dates."""
    return may_act_on(actor, case, Owner.AB) or may_act_on(actor, case, Owner.LEAD)


def signing_dates(run: StepRun) -> dict[str, date | None]:
    """The signed instrument's dates as filing (or a later correction) recorded them."""
    return {key: date.fromisoformat(value) if isinstance(value := run.data.get(key), str)
            else None for key in SIGNING_DATES}


def _record_signing(case: Case, action: RecordSigning, actor: Actor, now: datetime,
                    procedure: Procedure) -> list[Event]:
    run = filed_run(case, procedure)
    if run is None:
        raise Refused(Reason.NOT_FILED, status=case.status.value)
    _require(may_record_signing(actor, case))
    before = signing_dates(run)
    asked = (action.signed_on, action.in_force_on, action.expires_on)
    after = {key: before[key] if day is KEEP else day
             for key, day in zip(SIGNING_DATES, asked, strict=True)}
    if after == before:
        return []
    recorded = _signing_data(after["signed_on"], after["in_force_on"], after["expires_on"],
                             case, procedure.calendar.local_date(now))
    for key in SIGNING_DATES:
        run.data.pop(key, None)
    run.data.update(recorded)

    def iso(dates: dict[str, date | None]) -> dict[str, str | None]:
        return {key: day.isoformat() if day else None for key, day in dates.items()}

    return [Event("signing_recorded", actor.user_id, now, step=run.key,
                  data={"from": iso(before), "to": iso(after)})]


def recount(case: Case, *, now: datetime, procedure: Procedure, why: str) -> Outcome:
    """The current step's due date counted again on a changed calendar (a holiday gazetted).

    Only a due date not yet passed moves, and not while the step waits (its clock is
    stopped; it is counted when it resumes). ``why`` says what changed, for the log.
    """
    work = copy.deepcopy(case)
    run = work.current_run
    if not work.is_open or run is None or run.due_at <= now or waiting(run) is not None:
        return Outcome(work)
    due = recount_due(work, run, procedure)
    if due == run.due_at or due <= now:
        return Outcome(work)
    before, run.due_at = run.due_at, due
    events = [Event("due_recounted", None, now, step=run.key,
                    data={"from": before.isoformat(), "due_at": due.isoformat(), "why": why})]
    return _planned(work, events, procedure)


_HANDLERS: dict[type, Any] = {
    RequestExtension: _request_extension,
    AnswerExtension: _answer_extension,
    StartWait: _start_wait,
    ResumeWait: _resume_wait,
    Classify: _classify,
    RecordSigning: _record_signing,
    CompleteStep: _complete,
    RequestInputs: _request_inputs,
    TickInput: _tick_input,
    SubmitMemo: _submit_memo,
    Decide: _decide,
    ExplainDecision: _explain,
    Revise: _revise,
    Close: _close,
    Withdraw: _withdraw,
    ScheduleNegotiation: _schedule,
    AddNote: _add_note,
    Attach: _attach,
}
