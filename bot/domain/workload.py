"""Where the open cases stand, step by step, and how long each step took this year: the digest."""

from __future__ import annotations

import statistics
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime

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


def workload(current: Iterable[StepRun], done: Iterable[StepRun], procedure: Procedure,
             now: datetime) -> list[StepLoad]:
    """Each step of the SOP: open cases at it (``current``: open cases' current runs), the late
    ones (past their due moment), and the median of this year's ``done`` runs against the SOP."""
    calendar = procedure.calendar
    year = calendar.local_date(now).year
    at_step = {key: [0, 0] for key in procedure.sop.keys}
    for run in current:
        counts = at_step.setdefault(run.key, [0, 0])
        counts[0] += 1
        counts[1] += now > run.due_at
    took: dict[str, list[int]] = {}
    allowed: dict[str, list[int]] = {}
    for run in done:
        if run.done_at is None or calendar.local_date(run.done_at).year != year:
            continue
        days = run_took(run, calendar)
        if days is None:
            continue
        took.setdefault(run.key, []).append(days)
        start = calendar.local_date(run.started_at)
        allowed.setdefault(run.key, []).append(
            calendar.working_days_between(start, calendar.local_date(run.due_at)))
    loads = []
    for key in procedure.sop.keys:
        days_taken = took.get(key, [])
        sop_days = allowed.get(key) or [allowance(procedure, key, date(year, 1, 1))]
        loads.append(StepLoad(
            step=key, number=procedure.sop.number(key), open=at_step[key][0],
            late=at_step[key][1],
            median_took=statistics.median(days_taken) if days_taken else None,
            allowance=statistics.median(sop_days), runs=len(days_taken),
        ))
    return loads
