"""What the reports contain, as plain data: register rows, timelines, the digest's workload, ICS."""

from __future__ import annotations

from datetime import date, timedelta

from hypothesis import given
from hypothesis import strategies as st

from bot.domain.agenda import deadline_uid, deadlines, follows
from bot.domain.case import CaseStatus, Phase
from bot.domain.forecast import forecast
from bot.domain.register import case_line, step_lines, working_days_late
from bot.domain.rules import CompleteStep, Decide, Filed, Revise, SubmitMemo
from bot.domain.timeline import timeline
from bot.domain.workload import allowance, count_at_steps, times_in, workload
from tests.builders import (
    AB,
    MANAGER,
    OFFICER,
    OTHER_OFFICER,
    VIEWER,
    act,
    at,
    procedure,
    registered,
    step_through,
)

PROC = procedure()
CAL = PROC.calendar


def _refused_then_open():
    """Received 10 Sep 2026; Tidak on 14 Sep, resubmitted, still awaiting on 21 Sep."""
    start = at(date(2026, 9, 10))
    case = step_through(PROC, registered(PROC, start), start, "minit_cerai")
    case = act(PROC, case, SubmitMemo("memo"), OFFICER, at(date(2026, 9, 11)))
    case = act(PROC, case, Decide(False, "not yet"), MANAGER, at(date(2026, 9, 14)))
    case = act(PROC, case, Revise("minit_cerai"), OFFICER, at(date(2026, 9, 15)))
    return case


def test_working_days_late_counts_office_days_only() -> None:
    due = CAL.close_of(date(2026, 9, 15))  # Tuesday; Wednesday 16th is Malaysia Day
    assert working_days_late(due, at(date(2026, 9, 15), 16), CAL) == 0
    assert working_days_late(due, at(date(2026, 9, 17)), CAL) == 1
    assert working_days_late(due, at(date(2026, 9, 21)), CAL) == 3


def test_case_line_holds_the_current_step_decision_and_forecast() -> None:
    case = _refused_then_open()
    now = at(date(2026, 9, 28))
    fc = forecast(case, {}, PROC, now)
    line = case_line(case, PROC, now, fc, target=date(2026, 12, 1))
    assert (line.ref, line.current_step, line.current_round) == (case.ref, "minit_cerai", 2)
    assert line.decision is False and line.decided_by == MANAGER.user_id
    assert line.due == CAL.local_date(case.current_run.due_at)  # type: ignore[union-attr]
    assert line.days_late == working_days_late(case.current_run.due_at, now, CAL)  # type: ignore
    assert line.days_late > 0
    assert fc is not None and (line.likely, line.late) == (fc.likely, fc.late)
    assert line.target == date(2026, 12, 1) and line.status is CaseStatus.OPEN


def test_step_lines_keep_both_rounds_and_their_outcomes() -> None:
    case = _refused_then_open()
    lines = step_lines(case, PROC, at(date(2026, 9, 16)))
    decision = [(s.round, s.outcome, s.done is not None) for s in lines
                if s.step == "minit_cerai"]
    assert decision == [(1, "tidak", True), (2, None, False)]
    assert [s.number for s in lines][:2] == [1, 2]
    assert all(s.late_by >= 0 for s in lines)


def test_a_completed_case_has_no_current_step() -> None:
    now = at(date(2026, 9, 10))
    done = step_through(PROC, registered(PROC, now), now, "none")
    line = case_line(done, PROC, now, None)
    assert (line.current_step, line.due, line.days_late, line.decision) == (None, None, 0, True)
    assert line.projected == date(2026, 9, 10)


def test_the_signed_instruments_dates_are_in_its_register_line() -> None:
    now = at(date(2026, 9, 10))
    filing = step_through(PROC, registered(PROC, now), now, "file_copy")
    line = case_line(filing, PROC, now, None)
    assert (line.signed, line.in_force, line.expires) == (None, None, None)
    later = at(date(2026, 9, 30))
    filed = act(PROC, filing, CompleteStep("file_copy", Filed(
        "KDN.AB.1", date(2026, 9, 28), date(2026, 9, 29), date(2031, 9, 28))), AB, later)
    line = case_line(filed, PROC, later, None)
    assert (line.signed, line.in_force, line.expires) == (
        date(2026, 9, 28), date(2026, 9, 29), date(2031, 9, 28))


def test_timeline_bars_marks_and_days_off() -> None:
    case = _refused_then_open()
    pic = timeline(case, PROC, at(date(2026, 9, 21)))
    assert [(b.step, b.round) for b in pic.bars][-2:] == [("minit_cerai", 1), ("minit_cerai", 2)]
    assert pic.bars[-1].open and pic.bars[-1].end == date(2026, 9, 21)
    assert [(m.round, m.approved) for m in pic.marks] == [(1, False)]
    assert date(2026, 9, 16) in pic.holidays and date(2026, 9, 16) in pic.days_off
    assert date(2026, 9, 12) in pic.days_off  # a Saturday
    assert pic.first == date(2026, 9, 10) and pic.last >= date(2026, 9, 21)
    assert any(b.late for b in pic.bars)  # the open round runs past its due date


def test_workload_counts_open_and_late_and_takes_this_years_median() -> None:
    now = at(date(2026, 10, 5))
    early = step_through(PROC, registered(PROC, at(date(2026, 9, 1))), at(date(2026, 9, 1)),
                         "collect_input")
    fresh = registered(PROC, now)
    done_runs = [r for c in (early, _refused_then_open()) for r in c.steps if r.done]
    counts = count_at_steps([early.current_run, fresh.current_run], now)  # type: ignore[list-item]
    assert counts == {"collect_input": (1, 1), "receive": (1, 0)}
    loads = {s.step: s for s in workload(counts, times_in(done_runs, CAL, 2026), PROC, 2026)}
    assert times_in(done_runs, CAL, 2025) == {}
    assert (loads["collect_input"].open, loads["collect_input"].late) == (1, 1)
    assert (loads["receive"].open, loads["receive"].late) == (1, 0)
    # the only done run of the decision step ended in Tidak: it says nothing of how long it takes
    assert (loads["minit_cerai"].runs, loads["minit_cerai"].median_took) == (0, None)
    assert loads["receive"].median_took == 0 and loads["receive"].runs == 2
    assert loads["file_copy"].median_took is None
    assert loads["file_copy"].allowance == allowance(PROC, "file_copy", date(2026, 1, 1))
    assert loads["collect_input"].allowance >= 9  # two weeks of office days


def test_calendar_deadlines_by_who_follows_the_case() -> None:
    now = at(date(2026, 9, 10))
    bkka = step_through(PROC, registered(PROC, now), now, "collect_input")
    done = step_through(PROC, registered(PROC, now), now, "none")
    numbers = {k: PROC.sop.number(k) for k in PROC.sop.keys}
    mine = deadlines([bkka, done], OFFICER, numbers, CAL)
    assert [(d.ref, d.step, d.number) for d in mine] == [(bkka.ref, "collect_input", 2)]
    assert mine[0].uid == deadline_uid(bkka.ref, "collect_input", 1)
    assert deadlines([bkka], OTHER_OFFICER, numbers, CAL) == []
    assert len(deadlines([bkka], AB, numbers, CAL)) == 1
    assert len(deadlines([bkka], MANAGER, numbers, CAL)) == 1
    assert not follows(VIEWER, bkka)
    assert bkka.phase is Phase.WORK


@given(st.dates(date(2024, 1, 1), date(2027, 12, 31)), st.integers(-30, 900))
def test_working_days_between_counts_each_office_day_once(start: date, days: int) -> None:
    end = start + timedelta(days=days)
    counted, day = 0, start
    while day < end:
        day += timedelta(days=1)
        counted += CAL.is_working_day(day)
    assert CAL.working_days_between(start, end) == counted
