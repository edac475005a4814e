"""The reminder planner: office mornings, working days, escalation, digests, drops."""

from datetime import date, datetime, timedelta

from bot.domain.reminders import Audience, Drop, NudgeKind, Planner, ReminderPolicy
from bot.domain.rules import CompleteStep, Decide, Filed, SubmitMemo, apply
from tests.builders import AB, KL, MANAGER, OFFICER, at, procedure, registered, step_through

PROC = procedure()
PLANNER = PROC.planner


def morning(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, 9, 0, tzinfo=KL)


def test_a_new_step_plans_the_day_before_the_day_and_the_first_overdue_morning() -> None:
    now = at(date(2026, 9, 1))
    case = step_through(PROC, registered(PROC, now), now, "collect_input")  # due Tue 15 Sep
    plan = [(n.kind, n.day, n.audience, n.at) for n in PLANNER.for_step(case, case.current_run)]  # type: ignore[arg-type]
    assert plan == [
        (NudgeKind.DUE_SOON, date(2026, 9, 14), Audience.LEAD, morning(date(2026, 9, 14))),
        (NudgeKind.DUE_TODAY, date(2026, 9, 15), Audience.LEAD, morning(date(2026, 9, 15))),
        # Wednesday 16 September is Malaysia Day
        (NudgeKind.OVERDUE, date(2026, 9, 17), Audience.LEAD, morning(date(2026, 9, 17))),
    ]


def test_nudges_before_the_step_started_are_left_out() -> None:
    case = registered(PROC, at(date(2026, 9, 3), 12), date(2026, 9, 1))  # step 1 due Fri 4 Sep
    kinds = [n.kind for n in PLANNER.for_step(case, case.current_run)]  # type: ignore[arg-type]
    assert kinds == [NudgeKind.DUE_TODAY, NudgeKind.OVERDUE]  # Thursday's morning is gone


def test_overdue_chain_escalates_from_the_second_day_to_ab_only_for_lead_steps() -> None:
    now = at(date(2026, 9, 1))
    case = step_through(PROC, registered(PROC, now), now, "collect_input")
    first = PLANNER.for_step(case, case.current_run)[-1]  # type: ignore[arg-type]
    second = PLANNER.following(first)
    assert [(n.kind, n.day, n.audience, n.seq) for n in second] == [
        (NudgeKind.OVERDUE, date(2026, 9, 18), Audience.LEAD, 2),
        (NudgeKind.ESCALATION, date(2026, 9, 18), Audience.AB, 2),
    ]
    third = PLANNER.following(second[0])
    assert [n.day for n in third] == [date(2026, 9, 21)] * 2  # over the weekend
    assert PLANNER.following(second[1]) == []  # escalations do not breed
    ab_step = step_through(PROC, case, now, "convey_kln")
    ab_first = PLANNER.for_step(ab_step, ab_step.current_run)[-1]  # type: ignore[arg-type]
    assert [n.kind for n in PLANNER.following(ab_first)] == [NudgeKind.OVERDUE]


def test_policy_from_settings() -> None:
    policy = ReminderPolicy.from_names(2, 3, "wed")
    planner = Planner(PROC.sop, PROC.calendar, policy)
    now = at(date(2026, 9, 1))
    case = step_through(PROC, registered(PROC, now), now, "collect_input")
    assert planner.for_step(case, case.current_run)[0].day == date(2026, 9, 11)  # type: ignore[arg-type]
    assert planner.digest_after(date(2026, 9, 1)).day == date(2026, 9, 2)


def test_the_digest_on_a_holiday_monday_waits_for_the_next_office_morning() -> None:
    digest = PLANNER.digest_after(date(2026, 8, 25))
    assert digest.day == date(2026, 8, 31)  # Hari Kebangsaan
    assert digest.at == morning(date(2026, 9, 1))
    assert PLANNER.following(digest)[0].day == date(2026, 9, 7)
    assert PLANNER.first_digest(at(date(2026, 9, 7), 8)).day == date(2026, 9, 7)


def test_changes_plan_the_decision_chase_and_drop_what_is_moot() -> None:
    now = at(date(2026, 9, 1))
    case = step_through(PROC, registered(PROC, now), now, "minit_cerai")
    memo = apply(case, SubmitMemo(), actor=OFFICER, now=now, procedure=PROC)
    assert memo.drops == [Drop(case.ref, "minit_cerai")]
    board = PLANNER.board_after(now)
    assert memo.nudges[-1] == board  # AB's board follows every change
    assert [(n.kind, n.audience, n.day, n.at) for n in memo.nudges[:-1]] == [
        (NudgeKind.ASK, Audience.APPROVERS, date(2026, 9, 1), now),  # the cards, at once
        (NudgeKind.DECISION, Audience.APPROVERS, date(2026, 9, 2), morning(date(2026, 9, 2)))]
    decided = apply(memo.case, Decide(True), actor=MANAGER, now=now, procedure=PROC)
    assert Drop(case.ref, "minit_cerai") in decided.drops
    told = [(n.kind, n.step, n.audience) for n in decided.nudges[:-1] if n.at == now]
    assert told == [(NudgeKind.DECIDED, "minit_cerai", Audience.LEAD),
                    (NudgeKind.DECIDED, "minit_cerai", Audience.APPROVERS),
                    (NudgeKind.CARD, "prep_meeting", Audience.LEAD)]
    assert {n.step for n in decided.nudges[:-1] if n.at != now} == {"prep_meeting"}
    # The drop of the decided step leaves the decision to be told.
    assert not any(d.matches(n) for d in decided.drops for n in decided.nudges)
    done = step_through(PROC, decided.case, now, "file_copy")
    last = apply(done, CompleteStep("file_copy", Filed("F/1")), actor=AB, now=now,
                 procedure=PROC)
    assert Drop(case.ref) in last.drops
    assert [(n.kind, n.audience) for n in last.nudges] == [
        (NudgeKind.ENDING, Audience.AB), (NudgeKind.ENDING, Audience.LEAD),
        (NudgeKind.BOARD, Audience.AB)]


def test_the_board_follows_at_the_next_whole_minute_one_edit_for_the_minutes_changes() -> None:
    first = PLANNER.board_after(datetime(2026, 9, 1, 10, 0, 10, tzinfo=KL))
    again = PLANNER.board_after(datetime(2026, 9, 1, 10, 0, 59, tzinfo=KL))
    later = PLANNER.board_after(datetime(2026, 9, 1, 10, 1, 0, tzinfo=KL))
    assert first == again and first.at == datetime(2026, 9, 1, 10, 1, tzinfo=KL)
    assert later.at == datetime(2026, 9, 1, 10, 2, tzinfo=KL) and later.seq == first.seq + 1
    assert (first.kind, first.audience, first.ref) == (NudgeKind.BOARD, Audience.AB, None)


def test_the_board_is_looked_at_each_office_hour_and_at_the_close_when_steps_fall_due() -> None:
    """Time alone changes the board (a step falls overdue at the close of office, the late
    count grows overnight, someone deletes it): each look, sent, plans the next."""
    change = PLANNER.board_after(datetime(2026, 9, 1, 10, 20, tzinfo=KL))  # a Tuesday
    looks = [change]
    for _ in range(10):
        looks += PLANNER.following(looks[-1])
    assert [look.at.strftime("%a %d %H:%M") for look in looks] == [
        "Tue 01 10:21", "Tue 01 11:00", "Tue 01 12:00", "Tue 01 13:00", "Tue 01 14:00",
        "Tue 01 15:00", "Tue 01 16:00", "Tue 01 17:00",
        # the close of office, then the next working morning (Friday and the weekend too)
        "Wed 02 09:00", "Wed 02 10:00", "Wed 02 11:00"]
    assert all((look.kind, look.audience, look.ref) == (NudgeKind.BOARD, Audience.AB, None)
               for look in looks)
    # a step falls due at the close of office: the look at 17:00 shows it overdue
    case = step_through(PROC, registered(PROC, at(date(2026, 9, 1))), at(date(2026, 9, 1)),
                        "collect_input")
    due = case.current_run.due_at if case.current_run is not None else None
    assert due is not None and PLANNER.board_check_after(due - timedelta(minutes=1)).at == due
    friday = PLANNER.board_check_after(datetime(2026, 9, 4, 17, 0, tzinfo=KL))
    assert friday.at == morning(date(2026, 9, 7))  # Monday
    # after an outage the next look is the next after now, not each one missed
    now = datetime(2026, 9, 9, 14, 30, tzinfo=KL)
    assert [n.at for n in PLANNER.following(change, now)] == [
        datetime(2026, 9, 9, 15, 0, tzinfo=KL)]
    # a change's board and the look of the same minute are one message
    assert PLANNER.board_after(datetime(2026, 9, 1, 16, 59, 30, tzinfo=KL)) == looks[7]


def test_who_each_kind_of_nudge_is_for() -> None:
    assert PLANNER.audience(NudgeKind.DECISION, "minit_cerai") is Audience.APPROVERS
    assert PLANNER.audience(NudgeKind.ESCALATION, "prep_meeting") is Audience.AB
    assert PLANNER.audience(NudgeKind.DIGEST, None) is Audience.AB
    assert PLANNER.audience(NudgeKind.OVERDUE, "prep_meeting") is Audience.LEAD
    assert PLANNER.audience(NudgeKind.DUE_SOON, "convey_kln") is Audience.AB
