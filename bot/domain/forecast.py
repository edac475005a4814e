"""When an open case will likely finish, from how long each step took in the ministry's past cases.

A step's history is the working days its past runs took (started to done). Where a step has at
least ``MIN_HISTORY`` runs, the remaining steps take their 50th (likely) and 85th (late)
percentile; where it has fewer, the SOP's own allowance from the day the step would start. The
late bound adds each step's 85th percentile, so it is a cautious bound: slow steps in one case
tend to come together (the same division, the same counterpart), which a sum does not average out.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from functools import lru_cache

from bot.domain.calendar import OfficeCalendar
from bot.domain.case import Case, Phase, StepRun
from bot.domain.deadlines import Procedure, negotiation_end
from bot.domain.sop import Capture

MIN_HISTORY = 5  # fewer past runs than this and a step is forecast by the SOP's allowance
LIKELY, LATE = 50, 85  # percentiles of the two bounds

History = Mapping[str, Sequence[int]]  # step key -> working days its past runs took


def percentile(values: Sequence[int], q: float) -> float:
    """The ``q``-th percentile of ``values``, interpolated between ranks (numpy's "linear")."""
    if not values:
        raise ValueError("no values")
    ordered = sorted(values)
    rank = (len(ordered) - 1) * q / 100
    low = math.floor(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def run_took(run: StepRun, calendar: OfficeCalendar) -> int | None:
    """Working days a done run took, or None for one not done or ended by a Tidak."""
    if run.done_at is None or run.data.get("decision") == "tidak":
        return None
    return calendar.working_days_between(calendar.local_date(run.started_at),
                                         calendar.local_date(run.done_at))


def step_history(runs: Iterable[StepRun], calendar: OfficeCalendar) -> dict[str, list[int]]:
    """The working days each step's done runs took, by step key."""
    history: dict[str, list[int]] = {}
    for run in runs:
        took = run_took(run, calendar)
        if took is not None:
            history.setdefault(run.key, []).append(took)
    return history


@dataclass(frozen=True)
class StepForecast:
    """One step still to finish: when it likely ends, when late, and on what grounds."""

    key: str
    likely_end: date
    late_end: date
    due: date  # when the SOP would have it done, counted from its forecast (likely) start
    from_history: bool  # False: the SOP's allowance stood in for too little history

    @property
    def slip(self) -> int:
        """Calendar days the late end lies past the SOP's due date (0 when within it)."""
        return max(0, (self.late_end - self.due).days)


@dataclass(frozen=True)
class Forecast:
    """An open case's forecast finish: likely (p50) and late (p85), and each step's share."""

    ref: str
    likely: date
    late: date
    steps: tuple[StepForecast, ...]

    def causes(self) -> tuple[str, ...]:
        """The steps whose late end overruns the SOP most, worst first: why a case slips."""
        late = sorted((s for s in self.steps if s.slip > 0), key=lambda s: -s.slip)
        return tuple(s.key for s in late)


def _bounds(durations: Sequence[int] | None) -> tuple[int, int] | None:
    if durations is None or len(durations) < MIN_HISTORY:
        return None
    return _percentiles(tuple(durations))


@lru_cache(maxsize=256)
def _percentiles(durations: tuple[int, ...]) -> tuple[int, int]:
    # An export forecasts thousands of cases from the same history: sort it once.
    return math.ceil(percentile(durations, LIKELY)), math.ceil(percentile(durations, LATE))


def forecast(case: Case, history: History, procedure: Procedure, now: datetime
             ) -> Forecast | None:
    """The case's forecast finish; None for a closed case or one waiting on revise or close."""
    run = case.current_run
    if not case.is_open or run is None or case.phase is Phase.REFUSED:
        return None
    calendar, sop = procedure.calendar, procedure.sop
    today = calendar.local_date(now)
    started = calendar.local_date(run.started_at)
    elapsed = calendar.working_days_between(started, today)
    steps: list[StepForecast] = []
    likely = late = today
    key: str | None = run.key
    while key is not None:
        step = sop.get(key)
        first = key == run.key
        due = calendar.local_date(run.due_at if first
                                  else procedure.step_due(case, step, likely))
        bounds = _bounds(history.get(key))
        agreed = negotiation_end(case, sop) if step.capture is Capture.NEGOTIATION else None
        if agreed is not None:
            # The negotiation's dates are agreed with the other side: it ends when agreed.
            end = max(calendar.next_working_day(agreed), today)
            likely_end, late_end = max(end, likely), max(end, late)
        elif bounds is None and first:
            likely_end = late_end = max(due, today)
        elif bounds is None:
            likely_end = due
            late_end = calendar.local_date(procedure.step_due(case, step, late))
        elif first:
            # The current step has already run ``elapsed`` days: it ends no earlier than today.
            likely_end = calendar.add_working_days(today, max(bounds[0] - elapsed, 0))
            late_end = calendar.add_working_days(today, max(bounds[1] - elapsed, 0))
        else:
            likely_end = calendar.add_working_days(likely, bounds[0])
            late_end = calendar.add_working_days(late, bounds[1])
        steps.append(StepForecast(key, likely_end, late_end, due, bounds is not None))
        likely, late = likely_end, late_end
        key = sop.next_key(key)
    return Forecast(case.ref, likely, late, tuple(steps))
