"""What the register holds: one row per case and one per step run, as plain values to draw."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from bot.domain.calendar import OfficeCalendar
from bot.domain.case import Case, CaseStatus, Instrument, Level, Phase, Source, StepRun
from bot.domain.deadlines import Procedure
from bot.domain.forecast import Forecast


def working_days_late(due_at: datetime, until: datetime, calendar: OfficeCalendar) -> int:
    """Working days ``until`` lies past ``due_at`` (0 when not past it, at least 1 when it is)."""
    if until <= due_at:
        return 0
    return max(1, calendar.working_days_between(calendar.local_date(due_at),
                                                calendar.local_date(until)))


@dataclass(frozen=True)
class CaseLine:
    """One case in the register."""

    ref: str
    title: str
    instrument: Instrument
    level: Level
    countries: tuple[str, ...]
    source: Source
    lead_division: str
    received: date
    current_step: str | None
    current_round: int | None
    due: date | None  # the current step's due date
    days_late: int  # working days the current step is past due (0 if not)
    decision: bool | None  # the latest Ya (True) / Tidak (False), None while undecided
    decided_by: int | None
    projected: date | None  # every remaining step at its SOP time
    likely: date | None  # the forecast's likely (p50) and late (p85) finish
    late: date | None
    target: date | None
    status: CaseStatus
    phase: Phase
    signed: date | None = None  # filed with the instrument's dates (step 9), when recorded
    in_force: date | None = None
    expires: date | None = None


@dataclass(frozen=True)
class StepLine:
    """One run of one step of a case."""

    ref: str
    step: str
    number: int  # the step's number in the SOP
    round: int
    started: datetime
    due: date
    done: datetime | None
    done_by: int | None
    late_by: int  # working days past due when done (or by now, while open)
    outcome: str | None  # "ya" / "tidak" on the decision step


def case_line(case: Case, procedure: Procedure, now: datetime, forecast: Forecast | None,
              target: date | None = None) -> CaseLine:
    """The register's row for ``case`` at ``now``."""
    calendar = procedure.calendar
    run = case.current_run if case.is_open else None
    decision = case.decisions[-1] if case.decisions else None
    late = 0
    if run is not None and case.phase is Phase.WORK:
        late = working_days_late(run.due_at, now, calendar)
    return CaseLine(
        ref=case.ref, title=case.title, instrument=case.instrument, level=case.level,
        countries=case.countries, source=case.source, lead_division=case.lead_division,
        received=case.received_on,
        current_step=run.key if run else None, current_round=run.round if run else None,
        due=calendar.local_date(run.due_at) if run else None, days_late=late,
        decision=decision.approved if decision else None,
        decided_by=decision.by if decision else None,
        projected=procedure.projected_finish(case, now),
        likely=forecast.likely if forecast else None, late=forecast.late if forecast else None,
        target=target, status=case.status, phase=case.phase,
        **_signing(case),
    )


def _signing(case: Case) -> dict[str, date | None]:
    """The signed instrument's dates, as filing recorded them (in its step's data)."""
    found: dict[str, date | None] = {"signed": None, "in_force": None, "expires": None}
    for run in case.steps:
        for field, key in (("signed", "signed_on"), ("in_force", "in_force_on"),
                           ("expires", "expires_on")):
            value = run.data.get(key)
            if isinstance(value, str):
                found[field] = date.fromisoformat(value)
    return found


def _step_line(case: Case, run: StepRun, procedure: Procedure, now: datetime) -> StepLine:
    until = run.done_at if run.done_at is not None else now
    waiting = (run.done_at is None and run is case.current_run
               and case.phase is not Phase.WORK)
    return StepLine(
        ref=case.ref, step=run.key, number=procedure.sop.number(run.key), round=run.round,
        started=run.started_at, due=procedure.calendar.local_date(run.due_at),
        done=run.done_at, done_by=run.done_by,
        late_by=0 if waiting else working_days_late(run.due_at, until, procedure.calendar),
        outcome=run.data.get("decision") if isinstance(run.data.get("decision"), str) else None,
    )


def step_lines(case: Case, procedure: Procedure, now: datetime) -> list[StepLine]:
    """Every run of every step of ``case``, in the order they started."""
    runs = sorted(case.steps, key=lambda r: (r.started_at, procedure.sop.number(r.key)))
    return [_step_line(case, run, procedure, now) for run in runs]
