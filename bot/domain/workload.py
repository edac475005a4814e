"""Where the open cases stand, step by step, and how long each step took this year: the digest."""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime

from bot.domain.calendar import OfficeCalendar
from bot.domain.case import StepRun
from bot.domain.deadlines import Procedure
from bot.domain.forecast import run_took


@dataclass(frozen=True)
class StepLoad:
    """One step: open cases at it, how many of them late, and its typical time against the SOP."""

    step: str
    number: int
    open: int
    late: int
    median_took: float | None  # working days this year's done runs took; None if none
    allowance: float  # the SOP's time for the step, in working days (median of this year's)
    runs: int  # done runs the median is taken over


def allowance(procedure: Procedure, step: str, start: date) -> int:
    """The SOP's time for ``step`` started on ``start``, in working days."""
    rule = procedure.sop.get(step).due
    return procedure.calendar.working_days_between(start, procedure.due_date(start, rule))


@dataclass
class StepTimes:
    """This year's done runs of one step: working days each took, and each one's allowance."""

    took: list[int] = field(default_factory=list)
    allowed: list[int] = field(default_factory=list)

    def add(self, run: StepRun, calendar: OfficeCalendar) -> None:
        """Count ``run`` (a run ended by Tidak says nothing of how long the step takes)."""
        days = run_took(run, calendar)
        if days is None:
            return
        self.took.append(days)
        self.allowed.append(calendar.working_days_between(
            calendar.local_date(run.started_at), calendar.local_date(run.due_at)))


def count_at_steps(current: Iterable[StepRun], now: datetime) -> dict[str, tuple[int, int]]:
    """Open cases at each step and, of them, the late ones (past their due moment), from the
    open cases' current runs; storage.reports.open_counts asks the database the same."""
    counts: dict[str, tuple[int, int]] = {}
    for run in current:
        at, late = counts.get(run.key, (0, 0))
        counts[run.key] = (at + 1, late + (now > run.due_at))
    return counts


def times_in(done: Iterable[StepRun], calendar: OfficeCalendar, year: int
             ) -> dict[str, StepTimes]:
    """Each step's times over the runs of ``done`` finished in ``year``."""
    times: dict[str, StepTimes] = {}
    for run in done:
        if run.done_at is not None and calendar.local_date(run.done_at).year == year:
            times.setdefault(run.key, StepTimes()).add(run, calendar)
    return times


def workload(at_steps: Mapping[str, tuple[int, int]], times: Mapping[str, StepTimes],
             procedure: Procedure, year: int) -> list[StepLoad]:
    """Each step of the SOP: open cases at it and how many late (``at_steps``), and the median
    working days this year's runs took (``times``) against the SOP's allowance."""
    loads = []
    for key in procedure.sop.keys:
        step_times = times.get(key, StepTimes())
        sop_days = step_times.allowed or [allowance(procedure, key, date(year, 1, 1))]
        at, late = at_steps.get(key, (0, 0))
        loads.append(StepLoad(
            step=key, number=procedure.sop.number(key), open=at, late=late,
            median_took=statistics.median(step_times.took) if step_times.took else None,
            allowance=statistics.median(sop_days), runs=len(step_times.took),
        ))
    return loads
