"""Due dates of steps and the projected finish of a case."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from bot.domain.calendar import OfficeCalendar
from bot.domain.case import Case, CaseStatus, Phase, StepRun
from bot.domain.reminders import Planner, ReminderPolicy
from bot.domain.sop import Anchor, Capture, DueRule, Sop, StepDef


@dataclass(frozen=True)
class Procedure:
    """The SOP with the calendar it is counted on: everything the case rules need to know."""

    sop: Sop
    calendar: OfficeCalendar
    count_working_days: bool = False
    reminders: ReminderPolicy = ReminderPolicy()

    @property
    def planner(self) -> Planner:
        """Plans the reminders this procedure's cases are owed."""
        return Planner(self.sop, self.calendar, self.reminders)

    def due_date(self, anchor: date, rule: DueRule) -> date:
        """The date a step is due, ``rule`` after ``anchor``, on a working day."""
        if self.count_working_days and rule.unit == "days":
            return self.calendar.add_working_days(anchor, rule.days)
        return self.calendar.next_working_day(anchor + timedelta(days=rule.calendar_days))

    def due_at(self, day: date) -> datetime:
        """The moment a step due on ``day`` falls due: close of office."""
        return self.calendar.close_of(day)

    def anchor(self, case: Case, step: StepDef, previous_done: date) -> date:
        """The date ``step``'s deadline counts from, given when the step before it was done."""
        if step.due.after is Anchor.RECEIVED:
            return case.received_on
        if step.due.after is Anchor.NEGOTIATION_END:
            end = negotiation_end(case, self.sop)
            return end if end is not None else previous_done
        return previous_done

    def step_due(self, case: Case, step: StepDef, previous_done: date) -> datetime:
        """When ``step``, started after a step done on ``previous_done``, falls due."""
        agreed_end = negotiation_end(case, self.sop) if step.due.due_at_agreed_end else None
        if agreed_end is not None:
            return self.due_at(self.calendar.next_working_day(agreed_end))
        return self.due_at(self.due_date(self.anchor(case, step, previous_done), step.due))

    def counted_due_date(self, case: Case, run: StepRun) -> date | None:
        """The date the SOP's count gives for ``run``, before a weekend or holiday moves it.

        None when the due date is counted in working days (nothing then moves it) or when the
        count no longer gives the run's due date (the settings changed since it started).
        """
        step = self.sop.get(run.key)
        agreed_end = negotiation_end(case, self.sop) if step.due.due_at_agreed_end else None
        if agreed_end is not None:
            counted = agreed_end
        elif self.count_working_days and step.due.unit == "days":
            return None
        else:
            anchor = self.anchor(case, step, self.calendar.local_date(run.started_at))
            counted = anchor + timedelta(days=step.due.calendar_days)
        due = self.calendar.local_date(run.due_at)
        return counted if self.calendar.next_working_day(counted) == due else None

    def days_moved_over(self, case: Case, run: StepRun) -> tuple[date, ...]:
        """The weekend days and holidays that moved ``run``'s due date later, oldest first."""
        counted = self.counted_due_date(case, run)
        if counted is None:
            return ()
        due = self.calendar.local_date(run.due_at)
        return tuple(counted + timedelta(days=n) for n in range((due - counted).days))

    def projected_finish(self, case: Case, now: datetime) -> date | None:
        """When the case should finish if every remaining step takes its SOP time from today.

        A step already late counts as done today at the earliest, so a slip moves the
        projection the day it happens. None when the case waits on a revise/close choice.
        """
        today = self.calendar.local_date(now)
        if case.status is CaseStatus.COMPLETED:
            last = case.run(self.sop.keys[-1])
            return self.calendar.local_date(last.done_at) if last and last.done_at else None
        run = case.current_run
        if not case.is_open or run is None or case.phase is Phase.REFUSED:
            return None
        done_on = max(self.calendar.local_date(run.due_at), today)
        key = self.sop.next_key(run.key)
        while key is not None:
            due = self.step_due(case, self.sop.get(key), done_on)
            done_on = max(self.calendar.local_date(due), today)
            key = self.sop.next_key(key)
        return done_on


def negotiation_end(case: Case, sop: Sop) -> date | None:
    """The negotiation's agreed (or actual) end date, once known."""
    run = case.run(sop.step_for(Capture.NEGOTIATION).key)
    end = run.data.get("end") if run else None
    return date.fromisoformat(end) if isinstance(end, str) else None
