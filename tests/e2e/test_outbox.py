"""Every message a change causes leaves through the outbox: retried, never lost, sent once."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from bot.app import build_application, serving
from bot.context import IkaApplication
from bot.domain.case import Instrument, Level, Source
from bot.domain.rules import (
    Action,
    CompleteStep,
    Decide,
    MeetingHeld,
    NegotiationHeld,
    NewCase,
    NoteSent,
    Outcome,
    RequestInputs,
    SubmitMemo,
    TickInput,
    apply,
    register_case,
)
from handlers.reminders import LEASE, sweep
from storage.cases import change_case, create_case
from storage.nudges import claim_due, rows_for
from storage.org import get_user
from tests.builders import KL
from tests.e2e.conftest import CHATS, Bot, Stage

AB, BKKA = CHATS["AB"], CHATS["BKKA"]
REF = "IKA-2026-001"
AMINAH, CHONG, KSU = 1001, 2001, 3001


async def _register(app: IkaApplication, *, inform_lead: bool = True) -> None:
    """AB registers a case led by BKKA (and, with ``inform_lead``, the bot informs BKKA)."""
    services = app.services
    now = services.now()
    async with services.sessions() as session:
        aminah = await get_user(session=session, telegram_id=AMINAH)
    assert aminah is not None

    def build(ref: str) -> Outcome:
        new = NewCase(ref, "MOU keselamatan sempadan", Instrument.MOU, Level.BILATERAL,
                      ("ID",), Source.KLN, "BKKA", now.date())
        registered = register_case(new, actor=aminah.actor(), now=now,
                                   procedure=services.procedure)
        if not inform_lead:
            return registered
        return registered.then(apply(registered.case, CompleteStep("receive"),
                                     actor=aminah.actor(), now=now,
                                     procedure=services.procedure))

    await create_case(sessions=services.sessions, year=now.year, build=build)


async def _act(app: IkaApplication, who: int, action: Action) -> None:
    """A change as a handler makes it, without waking the sweep: its messages wait as rows."""
    services = app.services
    async with services.sessions() as session:
        user = await get_user(session=session, telegram_id=who)
    assert user is not None
    await change_case(sessions=services.sessions, ref=REF,
                      change=lambda case: apply(case, action, actor=user.actor(),
                                                now=services.now(), procedure=services.procedure))


async def test_a_negotiation_reported_late_is_chased_the_next_morning_and_escalated(
        stage: Stage) -> None:
    world, clock = stage.world, stage.clock
    async with serving(build_application(stage.settings, clock=clock)) as app:
        await _register(app)
        day = clock.now.date()
        for who, action in [
            (CHONG, RequestInputs(("AGC",))), (CHONG, TickInput("AGC")),
            (CHONG, CompleteStep("collect_input")), (CHONG, SubmitMemo("Minit Cerai")),
            (KSU, Decide(True)), (CHONG, CompleteStep("prep_meeting", MeetingHeld(day))),
            (CHONG, CompleteStep("inform_ab")),
            (AMINAH, CompleteStep("convey_kln", NoteSent("KLN.600-1/2/3"))),
        ]:
            await _act(app, who, action)
        # The negotiation ended on Wednesday 9 September; it is reported on Monday the 21st,
        # so step 8 (due three days after it ended, Monday 14th) starts overdue.
        clock.now = datetime(2026, 9, 21, 11, 0, tzinfo=KL)
        await _act(app, CHONG, CompleteStep("negotiate", NegotiationHeld(
            date(2026, 9, 7), date(2026, 9, 9), "Jakarta")))
        await sweep(app.bot, app.services, holder="test")
        card = await world.wait_for_message(BKKA, contains="Langkah 8")
        seen = {chat: len(world.messages(chat)) for chat in (AB, BKKA)}
        clock.now = datetime(2026, 9, 21, 16, 0, tzinfo=KL)
        await sweep(app.bot, app.services, holder="test")
        assert {chat: len(world.messages(chat)) for chat in (AB, BKKA)} == seen  # not today
        clock.now = datetime(2026, 9, 22, 9, 0, tzinfo=KL)
        await sweep(app.bot, app.services, holder="test")
        overdue = world.messages(BKKA)[seen[BKKA]:]
        escalated = world.messages(AB)[seen[AB]:]
        async with app.services.sessions() as session:
            rows = [r for r in await rows_for(session=session, ref=REF)
                    if r.step == "send_outcome" and r.sent_at is not None]
    assert card.buttons
    assert len(overdue) == 1 and REF in overdue[0].text and overdue[0].buttons
    assert len(escalated) == 1 and REF in escalated[0].text
    # Tuesday 22nd is the 5th overdue working day (15, 17, 18, 21, 22: the 16th is a holiday).
    assert sorted((r.kind, r.target, r.day, r.seq) for r in rows if r.kind != "card") == [
        ("escalation", "division:AB", date(2026, 9, 22), 5),
        ("overdue", "division:BKKA", date(2026, 9, 22), 5)]


async def test_a_502_on_the_next_steps_card_is_retried_by_a_later_sweep(bot: Bot) -> None:
    world, clock = bot.world, bot.clock
    await _register(bot.app, inform_lead=False)
    bot.app.services.wake_outbox()
    card = await world.wait_for_message(AB, contains="Langkah 1")
    world.fail_next("sendMessage", status=502, description="Bad Gateway")
    query = await world.tap(bot.user(AMINAH), card, card.buttons[0][0][1] or "")
    await world.wait_for(lambda: world.tap_answer(query) is not None, what="the tap's answer")
    await bot.app.sweeper.idle()  # type: ignore[attr-defined]
    assert not [m for m in world.messages(BKKA) if "Langkah 2" in m.text]
    async with bot.app.services.sessions() as session:
        [row] = [r for r in await rows_for(session=session, ref=REF)
                 if r.kind == "card" and r.step == "collect_input"]
    assert row.sent_at is None and "Bad Gateway" in (row.last_error or "")
    clock.now += timedelta(minutes=3)  # past the retry's back-off
    await sweep(bot.app.bot, bot.app.services, holder="test")
    assert len([m for m in world.messages(BKKA) if "Langkah 2" in m.text]) == 1


async def test_a_crash_between_commit_and_send_loses_no_card_and_sends_it_once(
        stage: Stage) -> None:
    world, clock = stage.world, stage.clock
    async with serving(build_application(stage.settings, clock=clock)) as app:
        await app.sweeper.idle()  # type: ignore[attr-defined]  # its start-up sweep is done
        await _register(app)
        # The change committed; the process died before the sweep ran (nothing woke it).
    assert not world.messages(BKKA)
    async with serving(build_application(stage.settings, clock=clock)):  # the catch-up sweep
        await world.wait_for_message(BKKA, contains="Langkah 2")
    async with serving(build_application(stage.settings, clock=clock)) as app:
        await app.sweeper.run()  # type: ignore[attr-defined]
    assert len([m for m in world.messages(BKKA) if REF in m.text]) == 1


async def test_a_crash_while_sending_delays_the_card_by_at_most_the_lease(stage: Stage) -> None:
    world, clock = stage.world, stage.clock
    async with serving(build_application(stage.settings, clock=clock)) as app:
        await app.sweeper.idle()  # type: ignore[attr-defined]
        await _register(app)
        async with app.services.sessions() as session, session.begin():
            # What a sweeper that died mid-send leaves: the card claimed, never marked sent.
            held = await claim_due(session=session, now=clock.now, holder="dead", lease=LEASE)
    assert [row.kind.value for row in held] == ["card"] and timedelta(minutes=1) >= LEASE
    async with serving(build_application(stage.settings, clock=clock)) as app:
        assert not world.messages(BKKA)  # still held
        clock.now += LEASE + timedelta(seconds=1)
        await sweep(app.bot, app.services, holder="test")
        await sweep(app.bot, app.services, holder="test")
    assert len([m for m in world.messages(BKKA) if REF in m.text]) == 1


async def test_a_dead_sweepers_card_goes_out_as_its_lease_runs_out_not_at_the_next_tick(
        stage: Stage) -> None:
    """The restarted bot's first sweep finds the card still held; it sweeps again when the
    lease runs out (here a second), although its next tick is an hour away."""
    world, clock = stage.world, stage.clock
    assert stage.settings.sweep_interval_seconds == 3600
    async with serving(build_application(stage.settings, clock=clock)) as app:
        await app.sweeper.idle()  # type: ignore[attr-defined]
        await _register(app)
        async with app.services.sessions() as session, session.begin():
            held = await claim_due(session=session, now=clock.now, holder="dead",
                                   lease=timedelta(seconds=1))
    assert [row.kind.value for row in held] == ["card"]
    async with serving(build_application(stage.settings, clock=clock)) as app:
        await app.sweeper.idle()  # type: ignore[attr-defined]  # its start-up sweep
        assert not world.messages(BKKA)  # still held
        clock.now += timedelta(seconds=2)  # the lease has run out; nothing else happens
        await world.wait_for_message(BKKA, contains="Langkah 2", timeout=10)
    assert len([m for m in world.messages(BKKA) if REF in m.text]) == 1


async def test_a_target_the_forecast_passes_is_warned_once_to_ab_and_the_lead_division(
        stage: Stage) -> None:
    from handlers.slips import watch_targets
    from storage.reports import set_target

    world, clock = stage.world, stage.clock
    async with serving(build_application(stage.settings, clock=clock)) as app:
        await app.sweeper.idle()  # type: ignore[attr-defined]  # its start-up look is done
        await _register(app)
        async with app.services.sessions() as session, session.begin():
            # A state visit in two weeks: the SOP's five weeks cannot make it.
            await set_target(session=session, ref=REF, on=clock.now.date() + timedelta(days=14),
                             by=AMINAH, now=clock.now)
        assert await watch_targets(app.services) == 1
        assert await watch_targets(app.services) == 0  # the same slip: not again
        await sweep(app.bot, app.services, holder="test")
        warned = {chat: [m for m in world.messages(chat) if "⚠️" in (m.text or "")]
                  for chat in (AB, BKKA)}
    assert [len(w) for w in warned.values()] == [1, 1]
    assert REF in warned[BKKA][0].text and "Langkah" in warned[BKKA][0].text
