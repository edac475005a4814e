"""Five weeks of nobody acting: exactly the nudges the SPEC calls for, on time, never twice.

The clock is moved by hand through every day at several hours, and the sweep is run at each
tick, as the scheduler would; nothing sleeps.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, time, timedelta

from bot.app import build_application, serving
from bot.context import IkaApplication
from bot.domain.case import Instrument, Level, Source
from bot.domain.rules import (
    CompleteStep,
    NewCase,
    Outcome,
    RequestInputs,
    SubmitMemo,
    TickInput,
    apply,
    register_case,
)
from handlers.reminders import sweep
from storage.cases import change_case, create_case
from storage.nudges import rows_for
from storage.org import get_user
from storage.prefs import set_division_language
from tests.builders import KL
from tests.e2e.conftest import CHATS, Stage
from tests.e2e.test_outbox import _register as register_unsent

AB, BKKA = CHATS["AB"], CHATS["BKKA"]
START = date(2026, 9, 1)  # a Tuesday; Malaysia Day, Wednesday 16 September, is a holiday
TICKS = (time(7, 30), time(9, 0), time(9, 1), time(13, 0), time(17, 30), time(23, 0))
WORDS = {"Due soon": "due_soon", "Due today": "due_today", "Overdue": "overdue",
         "Eskalasi": "escalation", "Ringkasan mingguan": "digest"}
# What the SPEC asks for when step 2 (due Tue 15 September, 17:00) is never done.
OVERDUE_DAYS = [date(2026, 9, d) for d in (17, 18, 21, 22, 23, 24, 25, 28, 29, 30)] + [
    date(2026, 10, d) for d in (1, 2, 5, 6)]
MONDAYS = [date(2026, 9, 7), date(2026, 9, 14), date(2026, 9, 21), date(2026, 9, 28),
           date(2026, 10, 5)]


def expected() -> dict[tuple[int, date], set[str]]:
    """(chat, day) -> the kinds of nudge it gets that morning."""
    owed: dict[tuple[int, date], set[str]] = defaultdict(set)
    owed[BKKA, date(2026, 9, 14)].add("due_soon")
    owed[BKKA, date(2026, 9, 15)].add("due_today")
    for n, day in enumerate(OVERDUE_DAYS, start=1):
        owed[BKKA, day].add("overdue")
        if n >= 2:
            owed[AB, day].add("escalation")
    for monday in MONDAYS:
        owed[AB, monday].add("digest")
    return owed


async def _register(app: IkaApplication) -> None:
    """AB registers a case led by BKKA on 1 September; the bot informs BKKA (step 1 done)."""
    services = app.services
    now = services.now()
    async with services.sessions() as session:
        aminah = await get_user(session=session, telegram_id=1001)
    assert aminah is not None
    actor = aminah.actor()

    def build(ref: str) -> Outcome:
        new = NewCase(ref, "MOU keselamatan sempadan", Instrument.MOU, Level.BILATERAL,
                      ("ID",), Source.KLN, "BKKA", now.date())
        registered = register_case(new, actor=actor, now=now, procedure=services.procedure)
        return registered.then(apply(registered.case, CompleteStep("receive"), actor=actor,
                                     now=now, procedure=services.procedure))

    await create_case(sessions=services.sessions, year=now.year, build=build)
    await app.sweeper.run()  # type: ignore[attr-defined]  # its cards, from the outbox


BOARD = "Papan kes ikabot"  # AB's pinned board: kept up to date, not a reminder


class Recorder:
    """Every message the bot sends to the two chats (but AB's board), stamped with the test's
    clock."""

    def __init__(self, stage: Stage) -> None:
        self.stage = stage
        self.seen: dict[int, int] = {AB: 0, BKKA: 0}
        self.got: dict[tuple[int, date], list[str]] = defaultdict(list)

    def collect(self) -> None:
        for chat in (AB, BKKA):
            messages = self.stage.world.messages(chat)
            for message in messages[self.seen[chat]:]:
                if message.text is None or message.text.startswith(BOARD):
                    continue  # the board, and the digest's chart (a photo after its text)
                stamp = self.stage.clock.now.astimezone(KL)
                assert stamp.time() >= time(9, 0) and stamp.time() < time(17, 0), \
                    f"sent outside office hours: {stamp}"
                self.got[chat, stamp.date()].append(message.text)
            self.seen[chat] = len(messages)

    def kinds(self) -> dict[tuple[int, date], set[str]]:
        return {key: {kind for text in texts for word, kind in WORDS.items() if word in text}
                for key, texts in self.got.items()}


async def _live(stage: Stage, recorder: Recorder, app: IkaApplication, until: date) -> None:
    """Tick through each day up to ``until`` (inclusive), sweeping at every tick."""
    day = stage.clock.now.astimezone(KL).date() + timedelta(days=1)
    while day <= until:
        for tick in TICKS:
            stage.clock.now = datetime.combine(day, tick, tzinfo=KL)
            await sweep(app.bot, app.services, holder="test")
            recorder.collect()
        day += timedelta(days=1)


def _step_card_only(recorder: Recorder) -> None:
    """The first day holds only the card that announced step 2."""
    assert [k for k in recorder.got if k[1] == START] == [(BKKA, START)]
    del recorder.got[BKKA, START]


async def _start(stage: Stage, recorder: Recorder) -> None:
    async with serving(build_application(stage.settings, clock=stage.clock)) as app:
        async with app.services.sessions() as session, session.begin():
            # BKKA reads English, AB Malay: each chat hears in its own language.
            await set_division_language(session=session, code="BKKA", lang="en")
        await _register(app)
        await stage.world.wait_for_message(BKKA, contains="IKA-2026-001")
        recorder.collect()


async def test_five_weeks_of_silence(stage: Stage) -> None:
    recorder = Recorder(stage)
    await _start(stage, recorder)
    async with serving(build_application(stage.settings, clock=stage.clock)) as app:
        await _live(stage, recorder, app, date(2026, 10, 6))
    _step_card_only(recorder)
    assert recorder.kinds() == expected()
    charts = [m for m in stage.world.messages(AB) if m.photo is not None]
    assert len(charts) == len(MONDAYS)  # each digest followed by its chart
    # Several nudges for one chat at one time went as one message.
    assert all(len(texts) == 1 for texts in recorder.got.values())
    assert ("Overdue since 15 September 2026, 5:00\u202fpm, 1 working day late: please "
            "report this step done.") in recorder.got[BKKA, date(2026, 9, 17)][0]
    assert "lewat 6 hari bekerja" in recorder.got[AB, date(2026, 9, 24)][0]  # 16th: a holiday
    assert not any(day == date(2026, 9, 16) or day.weekday() >= 5 for _, day in recorder.got)


async def test_a_restart_in_the_middle_changes_nothing(stage: Stage) -> None:
    recorder = Recorder(stage)
    await _start(stage, recorder)
    async with serving(build_application(stage.settings, clock=stage.clock)) as app:
        await _live(stage, recorder, app, date(2026, 9, 22))
    async with serving(build_application(stage.settings, clock=stage.clock)) as app:
        await _live(stage, recorder, app, date(2026, 10, 6))
    _step_card_only(recorder)
    assert recorder.kinds() == expected()
    assert all(len(texts) == 1 for texts in recorder.got.values())


async def test_a_four_day_outage_sends_each_owed_nudge_once_batched(stage: Stage) -> None:
    recorder = Recorder(stage)
    await _start(stage, recorder)
    async with serving(build_application(stage.settings, clock=stage.clock)) as app:
        await _live(stage, recorder, app, date(2026, 9, 22))
    # Down from Wednesday 23 to Saturday 26 September; back on Sunday, swept from Monday.
    stage.clock.now = datetime(2026, 9, 27, 12, 0, tzinfo=KL)
    async with serving(build_application(stage.settings, clock=stage.clock)) as app:
        await _live(stage, recorder, app, date(2026, 10, 6))
        async with app.services.sessions() as session:
            rows = await rows_for(session=session)
    _step_card_only(recorder)
    owed = expected()
    missed = [date(2026, 9, d) for d in (23, 24, 25)]
    catch_up = date(2026, 9, 28)
    for chat in (AB, BKKA):
        for day in missed:
            owed[chat, catch_up] |= owed.pop((chat, day))
    assert recorder.kinds() == owed
    # One message per chat that Monday morning, holding every nudge owed since Wednesday.
    assert len(recorder.got[BKKA, catch_up]) == len(recorder.got[AB, catch_up]) == 1
    # Each owed overdue nudge was sent once (a row per day), tomorrow's is planned, not sent.
    overdue = [r for r in rows if r.target == "division:BKKA" and r.kind == "overdue"]
    assert sorted(r.day for r in overdue if r.sent_at is not None) == OVERDUE_DAYS
    assert [r.day for r in overdue if r.sent_at is None] == [date(2026, 10, 7)]


async def _act(app: IkaApplication, who: int, action: object) -> None:
    """``who`` does ``action`` on IKA-2026-001, as the handlers would."""
    services = app.services
    async with services.sessions() as session:
        user = await get_user(session=session, telegram_id=who)
    assert user is not None
    outcome = await change_case(
        sessions=services.sessions, ref="IKA-2026-001",
        change=lambda case: apply(case, action, actor=user.actor(),  # type: ignore[arg-type]
                                  now=services.now(), procedure=services.procedure))
    assert outcome.events
    await app.sweeper.run()  # type: ignore[attr-defined]


async def test_approvers_are_chased_every_working_day_until_one_decides(stage: Stage) -> None:
    world = stage.world
    async with serving(build_application(stage.settings, clock=stage.clock)) as app:
        await _register(app)
        for action in (RequestInputs(("AGC",)), TickInput("AGC"), CompleteStep("collect_input"),
                       SubmitMemo("Minit Cerai")):
            await _act(app, 2001, action)
        cards = len(world.messages(3001))
        for day in (2, 3, 4):  # Wednesday to Friday
            stage.clock.now = datetime(2026, 9, day, 9, 0, tzinfo=KL)
            await sweep(app.bot, app.services, holder="test")
        chases = world.messages(3001)[cards:]
        assert len(chases) == 3 and len(world.messages(3002)) == cards + 3
        assert "Ya atau Tidak" in chases[-1].text
        # One tap on the chase decides, and the chasing stops at once.
        query = await world.tap(stage.user(3001), chases[-1], chases[-1].data_for(
            "Ya · IKA-2026-001"))
        await world.wait_for(lambda: world.tap_answer(query) is not None)
        await world.wait_for_message(BKKA, contains="Langkah 4")
        for day in (7, 8):
            stage.clock.now = datetime(2026, 9, day, 9, 0, tzinfo=KL)
            await sweep(app.bot, app.services, holder="test")
        assert len(world.messages(3001)) == cards + 3
        async with app.services.sessions() as session:
            rows = await rows_for(session=session, ref="IKA-2026-001")
        chase_rows = [r for r in rows if r.kind == "decision"]
        assert {r.day for r in chase_rows if r.sent_at} == {date(2026, 9, d) for d in (2, 3, 4)}
        assert all(r.dropped_at is not None for r in chase_rows if r.sent_at is None)


async def test_a_chat_the_bot_was_removed_from_is_reported_to_ab_not_retried(stage: Stage) -> None:
    world = stage.world
    async with serving(build_application(stage.settings, clock=stage.clock)) as app:
        await _register(app)
        world.bot_removed_from_group(BKKA, stage.user(2001))
        stage.clock.now = datetime(2026, 9, 14, 9, 0, tzinfo=KL)  # step 2's "due soon"
        report = await sweep(app.bot, app.services, holder="test")
        assert report.failed == ["division:BKKA"]
        told = await world.wait_for_message(AB, contains="tidak dapat menghubungi")
        assert "Bahagian Keselamatan" in told.text
        # (before the board's next look, at 10:00, which would be claimed)
        again = await sweep(app.bot, app.services, holder="test",
                            now=stage.clock.now + timedelta(minutes=30))
        assert again.claimed == 0  # recorded as failed: not tried again
        async with app.services.sessions() as session:
            [row] = [r for r in await rows_for(session=session) if r.kind == "due_soon"]
        assert row.failed_at is not None and "Forbidden" in (row.last_error or "")


async def test_abs_notice_of_a_chat_it_cannot_reach_is_an_outbox_row_retried_after_a_502(
        stage: Stage) -> None:
    """Written with the failure it reports, in its transaction: a 502 when it is sent, and it
    arrives, once, at a later sweep; counting every message the chat lost."""
    world = stage.world
    async with serving(build_application(stage.settings, clock=stage.clock)) as app:
        await app.sweeper.idle()  # type: ignore[attr-defined]
        app.services.wake_outbox = lambda: None  # the notice waits for the sweeps below
        world.bot_removed_from_group(BKKA, stage.user(2001))
        await register_unsent(app)  # step 2's card waits as a row, with its reminders
        stage.clock.now = datetime(2026, 9, 14, 9, 0, tzinfo=KL)  # step 2's "due soon"
        report = await sweep(app.bot, app.services, holder="test")
        assert report.failed == ["division:BKKA"]
        async with app.services.sessions() as session:
            rows = await rows_for(session=session)
        [notice] = [r for r in rows if r.kind == "unreachable"]
        lost = [r for r in rows if r.target == "division:BKKA" and r.failed_at is not None]
        assert (notice.target, notice.sent_at, notice.note) == (
            "division:AB", None, f"division:BKKA {len(lost)}")
        assert len(lost) == 2  # step 2's card and its "due soon", in two messages

        world.fail_next("sendMessage", status=502, description="Bad Gateway")
        await sweep(app.bot, app.services, holder="test")
        assert not [m for m in world.messages(AB) if "tidak dapat menghubungi" in (m.text or "")]
        stage.clock.now += timedelta(minutes=3)  # past the retry's back-off
        await sweep(app.bot, app.services, holder="test")
        await sweep(app.bot, app.services, holder="test")
        [told] = [m for m in world.messages(AB) if "tidak dapat menghubungi" in (m.text or "")]
        assert "Bahagian Keselamatan" in told.text and " 2 " in told.text

