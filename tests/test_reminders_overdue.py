"""A step that starts overdue is chased like one that fell overdue on time (a property test)."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.domain.case import Case, StepRun
from bot.domain.reminders import Audience, Nudge, NudgeKind
from tests.builders import KL, at, procedure, registered, step_through

PROC = procedure()
PLANNER, CAL = PROC.planner, PROC.calendar
HORIZON = 15  # working days of chase followed


def _lead_step(start: datetime, due: datetime) -> tuple[Case, StepRun]:
    case = step_through(PROC, registered(PROC, at(date(2026, 9, 1))), at(date(2026, 9, 1)),
                        "collect_input")
    run = StepRun("collect_input", 1, start, due)
    case.steps[-1] = run
    return case, run


def _chain(first: list[Nudge]) -> list[Nudge]:
    """What the step's plan leads to as each overdue nudge is sent, for HORIZON days."""
    nudges = list(first)
    chase = [n for n in first if n.kind is NudgeKind.OVERDUE]
    while chase and len(chase) < HORIZON:
        following = PLANNER.following(chase[-1])
        nudges += following
        chase += [n for n in following if n.kind is NudgeKind.OVERDUE]
    return nudges


@settings(max_examples=300, deadline=None)
@given(start_days=st.integers(0, 60), start_minute=st.integers(0, 24 * 60 - 1),
       due_offset=st.integers(-40, 20))
def test_every_working_day_from_the_later_of_start_and_due_is_nudged(
        start_days: int, start_minute: int, due_offset: int) -> None:
    start = datetime(2026, 9, 1, tzinfo=KL) + timedelta(days=start_days, minutes=start_minute)
    due_day = CAL.next_working_day(CAL.local_date(start) + timedelta(days=due_offset))
    case, run = _lead_step(start, CAL.close_of(due_day))
    nudges = _chain(PLANNER.for_step(case, run))
    assert all(n.at >= start for n in nudges)  # nothing dated before the step existed
    overdue = {n.day: n for n in nudges if n.kind is NudgeKind.OVERDUE}
    first = CAL.after_working_day(due_day)
    # The working days whose morning comes after both the start and the due date.
    day, owed = first, []
    while len(owed) < HORIZON - 1:
        if PLANNER.morning(day) >= start:
            owed.append(day)
        day = CAL.after_working_day(day)
    assert [d for d in owed if d in overdue] == owed
    for d in owed:
        seq = 1 + CAL.working_days_between(first, d)  # its true overdue working day
        assert overdue[d].seq == seq
        escalated = any(n.kind is NudgeKind.ESCALATION and n.day == d
                        and n.audience is Audience.AB for n in nudges)
        assert escalated == (seq >= PLANNER.policy.escalate_from)


def test_a_negotiation_reported_ten_days_late_is_chased_and_escalated_next_morning() -> None:
    # Step 8 due Friday 4 September; the step only started on Monday 14 September at 11:00.
    case, run = _lead_step(at(date(2026, 9, 14), 11), CAL.close_of(date(2026, 9, 4)))
    plan = [(n.kind, n.day, n.seq) for n in PLANNER.for_step(case, run)]
    # Tuesday 15 September is the 7th overdue working day (Monday 7 … Tuesday 15).
    assert plan == [(NudgeKind.OVERDUE, date(2026, 9, 15), 7),
                    (NudgeKind.ESCALATION, date(2026, 9, 15), 7)]
