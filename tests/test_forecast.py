"""The forecast: percentiles of past step times, the SOP where history is thin, target slips."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta

import pytest

from bot.domain.case import StepRun
from bot.domain.forecast import (
    MIN_HISTORY,
    forecast,
    percentile,
    step_history,
)
from bot.domain.rules import Decide, Revise, SubmitMemo
from bot.domain.targets import Target, back_on_target, may_set_target, new_slips
from tests.builders import (
    AB,
    ADMIN,
    MANAGER,
    OFFICER,
    OTHER_OFFICER,
    act,
    at,
    procedure,
    registered,
    step_through,
)

PROC = procedure()
CAL = PROC.calendar
TODAY = date(2026, 10, 5)  # a Monday
NOW = at(TODAY)


def test_percentile_interpolates_between_ranks() -> None:
    values = [10, 1, 9, 2, 8, 3, 7, 4, 6, 5]
    assert percentile(values, 50) == pytest.approx(5.5)
    assert percentile(values, 85) == pytest.approx(8.65)
    assert percentile([7], 85) == 7
    with pytest.raises(ValueError):
        percentile([], 50)


def _at_last_step(started: date = TODAY):
    case = step_through(PROC, registered(PROC, at(started)), at(started), "file_copy")
    assert case.current_step == "file_copy"
    return case


def test_the_bounds_are_the_steps_percentiles_in_working_days() -> None:
    case = _at_last_step()
    fc = forecast(case, {"file_copy": list(range(1, 11))}, PROC, NOW)
    assert fc is not None
    # p50 5.5 and p85 8.65 working days, rounded up to whole days
    assert fc.likely == CAL.add_working_days(TODAY, 6)
    assert fc.late == CAL.add_working_days(TODAY, 9)
    assert [s.key for s in fc.steps] == ["file_copy"]
    assert fc.steps[0].from_history


def test_days_already_spent_on_the_current_step_count() -> None:
    started = TODAY - timedelta(days=3)  # the Friday before
    case = _at_last_step(started)
    spent = CAL.working_days_between(started, TODAY)
    fc = forecast(case, {"file_copy": [10] * MIN_HISTORY}, PROC, NOW)
    assert fc is not None
    assert fc.likely == fc.late == CAL.add_working_days(TODAY, 10 - spent)


def test_without_history_the_forecast_is_the_sop() -> None:
    case = registered(PROC, NOW, received=TODAY)
    fc = forecast(case, {}, PROC, NOW)
    assert fc is not None
    assert fc.likely == fc.late == PROC.projected_finish(case, NOW)
    assert len(fc.steps) == len(PROC.sop.keys)
    assert not any(s.from_history for s in fc.steps)
    assert fc.causes() == ()


def test_too_little_history_falls_back_to_the_sop() -> None:
    case = _at_last_step()
    thin = forecast(case, {"file_copy": [30] * (MIN_HISTORY - 1)}, PROC, NOW)
    assert thin is not None and not thin.steps[0].from_history
    assert thin.likely == CAL.local_date(case.current_run.due_at)  # type: ignore[union-attr]


def test_a_slow_step_is_named_as_the_cause_and_pushes_later_steps() -> None:
    case = step_through(PROC, registered(PROC, NOW), NOW, "send_outcome")
    slow = {"send_outcome": [20] * 10}
    fc = forecast(case, slow, PROC, NOW)
    sop_only = forecast(case, {}, PROC, NOW)
    assert fc is not None and sop_only is not None
    assert fc.late > sop_only.late
    assert fc.causes() == ("send_outcome",)
    # the step after it (no history) counts its SOP time from the forecast end of the slow one
    assert fc.steps[1].likely_end > fc.steps[0].likely_end


def test_a_case_waiting_on_revise_or_close_and_a_closed_case_have_no_forecast() -> None:
    case = step_through(PROC, registered(PROC, NOW), NOW, "minit_cerai")
    case = act(PROC, case, SubmitMemo("memo"), OFFICER, NOW)
    refused = act(PROC, case, Decide(False), MANAGER, NOW)
    assert forecast(refused, {}, PROC, NOW) is None
    done = step_through(PROC, registered(PROC, NOW), NOW, "none")
    assert not done.is_open and forecast(done, {}, PROC, NOW) is None


def test_history_counts_done_runs_only_and_not_a_tidak_round() -> None:
    case = step_through(PROC, registered(PROC, at(date(2026, 9, 1))), at(date(2026, 9, 1)),
                        "minit_cerai")
    case = act(PROC, case, SubmitMemo("memo"), OFFICER, at(date(2026, 9, 2)))
    case = act(PROC, case, Decide(False), MANAGER, at(date(2026, 9, 3)))
    case = act(PROC, case, Revise("minit_cerai"), OFFICER, at(date(2026, 9, 4)))
    case = act(PROC, case, SubmitMemo("memo"), OFFICER, at(date(2026, 9, 7)))
    case = act(PROC, case, Decide(True), MANAGER, at(date(2026, 9, 8)))
    history = step_history(case.steps, CAL)
    # round 1 ended by Tidak is left out; round 2 ran 4 Sep (Fri) to 8 Sep (Tue): 2 working days
    assert history["minit_cerai"] == [2]
    assert "prep_meeting" not in history  # started, not done
    assert history["receive"] == [0]


def _fc(case_ref: str, late: date):
    case = _at_last_step()
    fc = forecast(replace(case, ref=case_ref), {}, PROC, NOW)
    assert fc is not None
    return replace(fc, late=late)


def test_a_slip_is_warned_once_until_the_case_is_back_on_target() -> None:
    target = Target("IKA-2026-001", date(2026, 10, 9))
    within, beyond = _fc("IKA-2026-001", date(2026, 10, 9)), _fc("IKA-2026-001",
                                                                date(2026, 10, 20))
    assert new_slips([within], {target.ref: target}) == []
    slips = new_slips([beyond], {target.ref: target})
    assert [(s.ref, s.target, s.late) for s in slips] == [
        ("IKA-2026-001", date(2026, 10, 9), date(2026, 10, 20))]
    warned = replace(target, warned_late=date(2026, 10, 20))
    assert new_slips([beyond], {target.ref: warned}) == []  # the next sweep: already warned
    assert back_on_target([beyond], {target.ref: warned}) == []
    assert back_on_target([within], {target.ref: warned}) == ["IKA-2026-001"]
    assert new_slips([beyond], {}) == []  # no target, no warning


def test_a_slip_names_the_steps_that_overrun() -> None:
    case = step_through(PROC, registered(PROC, NOW), NOW, "send_outcome")
    fc = forecast(case, {"send_outcome": [25] * 10}, PROC, NOW)
    assert fc is not None
    target = Target(case.ref, TODAY + timedelta(days=7))
    [slip] = new_slips([fc], {case.ref: target})
    assert slip.causes == ("send_outcome",)
    assert slip.late == fc.late


def test_history_of_runs_ignores_unfinished() -> None:
    run = StepRun("receive", 1, NOW, NOW)
    assert step_history([run], CAL) == {}


def test_ab_admins_and_the_lead_division_set_targets() -> None:
    case = registered(PROC, NOW)
    assert [may_set_target(a, case) for a in (AB, ADMIN, OFFICER, OTHER_OFFICER, MANAGER)] == [
        True, True, True, False, False]
