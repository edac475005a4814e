"""Step due dates and the projected finish, on real 2026/2027 calendars."""

from datetime import date, datetime, timedelta

import pytest

from bot.domain.case import Phase
from bot.domain.rules import CompleteStep, Decide, ScheduleNegotiation, SubmitMemo
from tests.builders import AB, KL, MANAGER, OFFICER, act, at, procedure, registered, step_through

PROC = procedure()


def due_day(moment: datetime) -> date:
    return moment.astimezone(KL).date()


@pytest.mark.parametrize(
    ("received", "due"),
    [
        (date(2026, 8, 26), date(2026, 9, 1)),  # Sat 29 Aug → Mon 31 Hari Kebangsaan → Tue 1 Sep
        (date(2026, 8, 28), date(2026, 9, 1)),  # Mon 31 Aug is Hari Kebangsaan
        (date(2026, 9, 2), date(2026, 9, 7)),  # Sat 5 Sep → Mon 7 Sep
        (date(2026, 11, 5), date(2026, 11, 10)),  # Sun 8 Deepavali, Mon 9 observed
        (date(2027, 1, 29), date(2027, 2, 2)),  # Mon 1 Feb 2027 Federal Territory Day
        (date(2027, 2, 3), date(2027, 2, 9)),  # Chinese New Year Sat 6, Sun 7, observed Mon 8
        (date(2026, 9, 14), date(2026, 9, 17)),  # Wed 16 Sep 2026 is Malaysia Day, but 17 is fine
    ],
)
def test_first_step_due_three_days_after_received_rolled_to_working_day(received: date,
                                                                       due: date) -> None:
    case = registered(PROC, at(received), received)
    run = case.current_run
    assert run is not None and run.key == "receive"
    assert run.due_at == datetime(due.year, due.month, due.day, 17, tzinfo=KL)


def test_received_date_in_the_past_may_already_be_late() -> None:
    case = registered(PROC, at(date(2026, 9, 15)), date(2026, 8, 3))
    assert due_day(case.current_run.due_at) == date(2026, 8, 6)  # type: ignore[union-attr]


def test_collect_input_is_due_two_weeks_after_step_one() -> None:
    now = at(date(2026, 8, 17))  # Monday
    case = step_through(PROC, registered(PROC, now), now, "collect_input")
    # 17 Aug + 14 = Mon 31 Aug, Hari Kebangsaan → Tue 1 Sep
    assert due_day(case.current_run.due_at) == date(2026, 9, 1)  # type: ignore[union-attr]


def test_working_day_counting_setting() -> None:
    proc = procedure(working_days=True)
    received = date(2026, 8, 27)  # Thursday; Fri 28, Tue 1 Sep, Wed 2 Sep
    case = registered(proc, at(received), received)
    assert due_day(case.current_run.due_at) == date(2026, 9, 2)  # type: ignore[union-attr]
    # weeks stay calendar weeks: 14 days after Thu 27 Aug is Thu 10 Sep
    case = act(proc, case, CompleteStep("receive"), AB, at(received))
    assert due_day(case.current_run.due_at) == date(2026, 9, 10)  # type: ignore[union-attr]


def test_decision_step_memo_due_three_days_after_all_input() -> None:
    now = at(date(2026, 11, 5))  # Thursday before Deepavali
    case = step_through(PROC, registered(PROC, now), now, "minit_cerai")
    assert due_day(case.current_run.due_at) == date(2026, 11, 10)  # type: ignore[union-attr]


def test_negotiation_due_follows_agreed_dates_and_outcome_counts_from_its_end() -> None:
    now = at(date(2026, 9, 1))
    case = step_through(PROC, registered(PROC, now), now, "negotiate")
    assert due_day(case.current_run.due_at) == date(2026, 9, 4)  # type: ignore[union-attr]
    case = act(PROC, case, ScheduleNegotiation(date(2026, 10, 5), date(2026, 10, 7), "Jakarta"),
               OFFICER, now)
    assert due_day(case.current_run.due_at) == date(2026, 10, 7)  # type: ignore[union-attr]
    later = at(date(2026, 10, 8))
    case = step_through(PROC, case, later, "send_outcome")
    # three days after the negotiation's end (Wed 7 Oct) is Sat 10 → Mon 12 Oct
    assert due_day(case.current_run.due_at) == date(2026, 10, 12)  # type: ignore[union-attr]


def test_projected_finish_of_an_on_time_case_is_about_five_weeks() -> None:
    received = date(2026, 9, 1)
    case = registered(PROC, at(received), received)
    finish = PROC.projected_finish(case, at(received))
    assert finish is not None
    assert timedelta(weeks=5) <= finish - received <= timedelta(weeks=7)


def test_projection_moves_the_day_a_step_slips() -> None:
    received = date(2026, 9, 1)
    case = registered(PROC, at(received), received)
    on_time = PROC.projected_finish(case, at(date(2026, 9, 4)))  # step 1 due Fri 4 Sep
    slipped = PROC.projected_finish(case, at(date(2026, 9, 7)))  # Monday: a working day late
    assert on_time is not None and slipped is not None
    assert slipped > on_time


def test_projection_none_while_waiting_for_revise_or_close() -> None:
    now = at(date(2026, 9, 1))
    case = step_through(PROC, registered(PROC, now), now, "minit_cerai")
    case = act(PROC, case, SubmitMemo(), OFFICER, now)
    case = act(PROC, case, Decide(False, "not now"), MANAGER, now)
    assert case.phase is Phase.REFUSED
    assert PROC.projected_finish(case, now) is None


def test_completed_case_projects_its_actual_finish() -> None:
    now = at(date(2026, 9, 1))
    case = step_through(PROC, registered(PROC, now), now, "never")
    assert not case.is_open
    assert PROC.projected_finish(case, at(date(2026, 12, 1))) == date(2026, 9, 1)


@pytest.mark.parametrize(
    ("received", "moved_over"),
    [
        (date(2026, 8, 26), (date(2026, 8, 29), date(2026, 8, 30), date(2026, 8, 31))),
        (date(2026, 8, 28), (date(2026, 8, 31),)),  # Hari Kebangsaan alone
        (date(2026, 9, 2), (date(2026, 9, 5), date(2026, 9, 6))),  # a weekend alone
        (date(2026, 9, 14), ()),  # due on Thu 17 Sep as counted: nothing moved it
    ],
)
def test_the_days_that_moved_a_due_date(received: date, moved_over: tuple[date, ...]) -> None:
    case = registered(PROC, at(received), received)
    run = case.current_run
    assert run is not None
    assert PROC.days_moved_over(case, run) == moved_over
    assert PROC.counted_due_date(case, run) == received + timedelta(days=3)


def test_nothing_moves_a_due_date_counted_in_working_days() -> None:
    proc = procedure(working_days=True)
    case = registered(proc, at(date(2026, 8, 27)), date(2026, 8, 27))
    assert proc.days_moved_over(case, case.current_run) == ()  # type: ignore[arg-type]


def test_an_agreed_negotiation_end_on_a_weekend_moves_its_due_date() -> None:
    now = at(date(2026, 9, 1))
    case = step_through(PROC, registered(PROC, now), now, "negotiate")
    case = act(PROC, case, ScheduleNegotiation(date(2026, 10, 8), date(2026, 10, 10), "Hanoi"),
               OFFICER, now)  # ends Saturday 10 Oct
    run = case.current_run
    assert run is not None and due_day(run.due_at) == date(2026, 10, 12)
    assert PROC.days_moved_over(case, run) == (date(2026, 10, 10), date(2026, 10, 11))
