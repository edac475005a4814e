"""Plain builders for domain tests: a procedure, actors, and cases walked to a given step."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from bot.domain.calendar import OfficeCalendar
from bot.domain.case import Actor, Case, Instrument, Level, Role, Source
from bot.domain.deadlines import Procedure
from bot.domain.rules import (
    CompleteStep,
    Decide,
    DocumentDelivered,
    Filed,
    MeetingHeld,
    NegotiationHeld,
    NewCase,
    NoteSent,
    RequestInputs,
    SubmitMemo,
    TickInput,
    apply,
    register_case,
)
from bot.domain.sop import load_sop

KL = ZoneInfo("Asia/Kuala_Lumpur")
AB = Actor(1001, Role.AB, "AB")
OFFICER = Actor(2001, Role.OFFICER, "BKKA")
OTHER_OFFICER = Actor(2002, Role.OFFICER, "BPI")
MANAGER = Actor(3001, Role.MANAGEMENT, "PT")
MANAGER_2 = Actor(3002, Role.MANAGEMENT, "PT")
ADMIN = Actor(9001, Role.ADMIN, None)
VIEWER = Actor(4001, Role.VIEWER, None)


def procedure(*, working_days: bool = False) -> Procedure:
    """The shipped SOP on Putrajaya's calendar."""
    return Procedure(load_sop(), OfficeCalendar(), count_working_days=working_days)


def at(day: date, hour: int = 10) -> datetime:
    """``day`` at ``hour`` o'clock in Kuala Lumpur."""
    return datetime(day.year, day.month, day.day, hour, tzinfo=KL)


def new_case(received: date = date(2026, 8, 20), ref: str = "IKA-2026-001") -> NewCase:
    """A bilateral MOU with Indonesia, led by BKKA."""
    return NewCase(ref, "MOU on border security", Instrument.MOU, Level.BILATERAL, ("ID",),
                   Source.KLN, "BKKA", received)


def registered(proc: Procedure, now: datetime, received: date | None = None) -> Case:
    """A case just registered by AB."""
    return register_case(new_case(received or now.date()), actor=AB, now=now,
                         procedure=proc).case


def step_through(proc: Procedure, case: Case, now: datetime, until: str) -> Case:
    """Do every step, each by its right owner, until ``until`` is the current step."""
    today = now.date()
    script: dict[str, list[tuple[object, Actor]]] = {
        "receive": [(CompleteStep("receive"), AB)],
        "collect_input": [(RequestInputs(("PDRM", "AGC")), OFFICER), (TickInput("PDRM"), OFFICER),
                          (TickInput("AGC"), OFFICER), (CompleteStep("collect_input"), OFFICER)],
        "minit_cerai": [(SubmitMemo("memo"), OFFICER), (Decide(True), MANAGER)],
        "prep_meeting": [(CompleteStep("prep_meeting", MeetingHeld(today)), OFFICER)],
        "inform_ab": [(CompleteStep("inform_ab"), OFFICER)],
        "convey_kln": [(CompleteStep("convey_kln", NoteSent("KLN.600-1/2/3")), AB)],
        "negotiate": [(CompleteStep("negotiate", NegotiationHeld(today, today,
                                                                 "Jakarta")), OFFICER)],
        "send_outcome": [(CompleteStep("send_outcome", DocumentDelivered("outcome.pdf", "ab" * 32)),
                          OFFICER)],
        "file_copy": [(CompleteStep("file_copy", Filed("KDN.AB.100-2/3/4")), AB)],
    }
    while case.is_open and case.current_step != until:
        assert case.current_step is not None
        for action, actor in script[case.current_step]:
            case = act(proc, case, action, actor, now)
    return case


def act(proc: Procedure, case: Case, action: object, actor: Actor, now: datetime) -> Case:
    """Apply one action and return the new case."""
    outcome = apply(case, action, actor=actor, now=now, procedure=proc)  # type: ignore[arg-type]
    return outcome.case

