"""What a case's timeline shows: a bar per step run, its due date, the late part, the decisions."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from bot.domain.case import Case
from bot.domain.deadlines import Procedure

SULIT = "Sulit"  # in a Sulit case's title's place where it may not be shown, in every language


@dataclass(frozen=True)
class Bar:
    """One run of one step, from the day it started to the day it was done (or today)."""

    step: str
    number: int
    round: int
    start: date
    end: date
    due: date
    open: bool  # still running: the bar ends today
    outcome: str | None  # "ya" / "tidak" on the decision step

    @property
    def late(self) -> bool:
        """True when the bar runs past its due date."""
        return self.end > self.due


@dataclass(frozen=True)
class Mark:
    """A Ya or Tidak of top management, on the day it was made."""

    day: date
    round: int
    approved: bool


@dataclass(frozen=True)
class Timeline:
    """The whole picture: bars in order, decisions, and the office's days off in the span."""

    ref: str
    title: str
    today: date
    bars: tuple[Bar, ...]
    marks: tuple[Mark, ...]
    first: date
    last: date
    days_off: tuple[date, ...]  # weekends and public holidays between first and last
    holidays: tuple[date, ...]  # of them, the public holidays


def timeline(case: Case, procedure: Procedure, now: datetime, *,
             title_shown: bool = True) -> Timeline:
    """The timeline of ``case`` as it stands at ``now``; a Sulit case's title only when
    ``title_shown`` (the chat may see it), else "Sulit" in its place."""
    calendar, sop = procedure.calendar, procedure.sop
    today = calendar.local_date(now)
    bars = []
    for run in sorted(case.steps, key=lambda r: (r.started_at, sop.number(r.key))):
        outcome = run.data.get("decision")
        bars.append(Bar(
            step=run.key, number=sop.number(run.key), round=run.round,
            start=calendar.local_date(run.started_at),
            end=calendar.local_date(run.done_at) if run.done_at else max(
                today, calendar.local_date(run.started_at)),
            due=calendar.local_date(run.due_at), open=run.done_at is None,
            outcome=outcome if isinstance(outcome, str) else None,
        ))
    marks = tuple(Mark(calendar.local_date(d.at), d.round, d.approved) for d in case.decisions)
    first = min([case.received_on, *(b.start for b in bars)])
    last = max([today if case.is_open else first, *(max(b.end, b.due) for b in bars)])
    days = [first + timedelta(days=n) for n in range((last - first).days + 1)]
    return Timeline(
        ref=case.ref, title=case.title if title_shown or not case.is_sulit else SULIT,
        today=today, bars=tuple(bars), marks=marks,
        first=first, last=last,
        days_off=tuple(d for d in days if not calendar.is_working_day(d)),
        holidays=tuple(d for d in days if calendar.holiday(d) is not None),
    )
