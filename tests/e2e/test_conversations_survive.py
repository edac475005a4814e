"""Conversations waiting for typed answers outlive a restart; a lost question is asked again."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlmodel import col, delete, select

from bot.app import build_application, serving
from bot.callbacks import Approve, encode
from bot.fake_telegram.world import Message
from storage.models import ConversationState, UserData
from tests.e2e.conftest import CHATS, Bot, Stage
from tests.e2e.test_decisions import _to_decision
from tests.e2e.test_flow import CHONG, KSU, REF, _case, _tap

# PTB's own writes come every UPDATE_INTERVAL (5 s): a state seen well within that was written
# right after its update.
WRITTEN_WITHIN = 2.0


@asynccontextmanager
async def running(stage: Stage) -> AsyncIterator[Bot]:
    """ikabot serving the stage, as one process of it."""
    app = build_application(stage.settings, clock=stage.clock)
    async with serving(app):
        yield Bot(stage.world, stage.users, stage.clock, stage.settings, app)


async def stored_state(bot: Bot, name: str) -> object:
    """The conversation ``name``'s stored state, once the database holds one."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + WRITTEN_WITHIN
    while True:
        async with bot.app.services.sessions() as session:
            row = (await session.exec(select(ConversationState).where(
                col(ConversationState.name) == name))).first()
        if row is not None:
            return row.state
        assert loop.time() < deadline, f"no state of {name} stored within {WRITTEN_WITHIN}s"
        await asyncio.sleep(0.02)


async def stored_state_is(bot: Bot, name: str, state: object) -> None:
    """Wait until conversation ``name``'s stored state is ``state`` (written right after the
    update that moved it there, which may still be finishing when its answer arrives)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + WRITTEN_WITHIN
    while (stored := await stored_state(bot, name)) != state:
        assert loop.time() < deadline, f"{name} stored {stored!r}, not {state!r}"
        await asyncio.sleep(0.02)


async def forget(bot: Bot, telegram_id: int) -> None:
    """What a kill -9 before the write would have lost: the user's conversations and data."""
    async with bot.app.services.sessions() as session, session.begin():
        await session.exec(delete(ConversationState))  # type: ignore[call-overload]
        await session.exec(delete(UserData).where(  # type: ignore[call-overload]
            col(UserData.user_id) == telegram_id))


async def _to_meeting(bot: Bot) -> Message:
    """A case approved, at step 4; its card in the lead division's group."""
    await _to_decision(bot)
    await _tap(bot, KSU, await bot.world.wait_for_message(KSU, contains=REF), "Ya")
    return await bot.world.wait_for_message(CHATS["BKKA"], contains="Langkah 4")


async def test_a_step_report_is_finished_after_a_restart(stage: Stage) -> None:
    world = stage.world
    async with running(stage) as bot:
        card = await _to_meeting(bot)
        await _tap(bot, CHONG, card, "✅ Laporkan selesai")
        await world.wait_for_message(CHONG, contains="Pada tarikh apakah mesyuarat")
        assert await stored_state(bot, "report_step") is not None
    async with running(stage) as bot:
        await world.send_text(bot.user(CHONG), "1/9/2026")
        await world.wait_for_message(CHONG, contains="Direkodkan")
        assert (await _case(bot)).current_step == "inform_ab"


async def test_a_tidak_reason_typed_after_a_restart_reaches_the_decision(stage: Stage) -> None:
    world = stage.world
    async with running(stage) as bot:
        await _to_decision(bot)
        await _tap(bot, KSU, await world.wait_for_message(KSU, contains=REF), "Tidak")
        await world.wait_for_message(KSU, contains="/skip")
        assert await stored_state(bot, "decision_reason") == 0
    async with running(stage) as bot:
        await world.send_text(bot.user(KSU), "Perlu\x00 ulasan PUU\x07 dahulu.")
        await world.wait_for_message(KSU, contains="Terima kasih")
        # Cleaned of its control characters before it was kept and passed on.
        assert (await _case(bot)).decisions[0].reason == "Perlu ulasan PUU dahulu."
        await world.wait_for_message(CHATS["BKKA"], contains="Perlu ulasan PUU dahulu.")


async def test_a_question_lost_to_a_crash_is_asked_again_on_the_next_tap(stage: Stage) -> None:
    world = stage.world
    async with running(stage) as bot:
        await _to_decision(bot)
        ksu_card = await world.wait_for_message(KSU, contains=REF)
        await _tap(bot, KSU, ksu_card, "Tidak")
        await world.wait_for_message(KSU, contains="/skip")
    async with running(stage) as bot:
        # The Tidak was committed, but the process died before its question was kept.
        await forget(bot, KSU)
    async with running(stage) as bot:
        await world.send_text(bot.user(KSU), "Perlu ulasan PUU.")
        assert "/help" in (await world.wait_for_message(KSU)).text  # no longer awaited
        # The same Tidak again (delivered again, or from a copy of the card): asked again.
        query = await world.forge_tap(bot.user(KSU), ksu_card, encode(Approve(REF, 1, False)))
        await world.wait_for(lambda: world.tap_answer(query))
        assert "Tidak" in (world.tap_answer(query).text or "")  # type: ignore[union-attr]
        await world.wait_for_message(KSU, contains="/skip")
        await world.send_text(bot.user(KSU), "Perlu ulasan PUU.")
        await world.wait_for_message(KSU, contains="Terima kasih")
        case = await _case(bot)
        assert [(d.approved, d.reason) for d in case.decisions] == [(False, "Perlu ulasan PUU.")]
        # Once given, a further Tidak tap is refused as decided: nothing is asked again.
        query = await world.forge_tap(bot.user(KSU), ksu_card, encode(Approve(REF, 1, False)))
        await world.wait_for(lambda: world.tap_answer(query))
        assert "telah" in (world.tap_answer(query).text or "")  # type: ignore[union-attr]


async def test_a_step_report_lost_to_a_crash_is_asked_again_on_the_next_tap(
    stage: Stage,
) -> None:
    world = stage.world
    async with running(stage) as bot:
        card = await _to_meeting(bot)
        query = await world.tap(bot.user(CHONG), card, card.data_for("✅ Laporkan selesai"))
        await world.wait_for_message(CHONG, contains="Pada tarikh apakah mesyuarat")
        await forget(bot, CHONG)
    async with running(stage) as bot:
        world.redeliver(query)  # the same tap, delivered again: asked again
        await world.wait_for_message(CHONG, contains="Pada tarikh apakah mesyuarat")
        await _tap(bot, CHONG, card, "✅ Laporkan selesai")  # and a second tap: asked again
        await world.wait_for_message(CHONG, contains="Pada tarikh apakah mesyuarat")
        await world.send_text(bot.user(CHONG), "1/9/2026")
        await world.wait_for_message(CHONG, contains="Direkodkan")
        assert (await _case(bot)).current_step == "inform_ab"


async def test_a_tidak_delivered_again_after_a_crash_asks_for_its_reason(stage: Stage) -> None:
    world = stage.world
    async with running(stage) as bot:
        await _to_decision(bot)
        ksu_card = await world.wait_for_message(KSU, contains=REF)
        query = await world.tap(bot.user(KSU), ksu_card, ksu_card.data_for("Tidak"))
        await world.wait_for_message(KSU, contains="/skip")
        await forget(bot, KSU)  # died before its state was written, and before confirming
    async with running(stage) as bot:
        world.redeliver(query)  # too late to answer now: the question is asked all the same
        await world.wait_for_message(KSU, contains="/skip")
        await world.send_text(bot.user(KSU), "Perlu ulasan PUU.")
        await world.wait_for_message(KSU, contains="Terima kasih")
        assert [(d.approved, d.reason) for d in (await _case(bot)).decisions] == [
            (False, "Perlu ulasan PUU.")]
        assert ("answerCallbackQuery", 400) in [(m, s) for m, s, _ in world.errors]


async def test_the_signing_dates_asked_after_filing_are_taken_after_a_restart(
        stage: Stage) -> None:
    from tests.e2e.test_sop_life import file_through_the_chat

    world, aminah = stage.world, 1001
    async with running(stage) as bot:
        await file_through_the_chat(bot)
        await stored_state_is(bot, "report_step", 7)  # asking the signing date
    async with running(stage) as bot:
        await world.send_text(bot.user(aminah), "1/9/2026")
        await world.wait_for_message(aminah, contains="berkuat kuasa")
    async with running(stage) as bot:
        await world.send_text(bot.user(aminah), "/skip")
        await world.wait_for_message(aminah, contains="tamat tempoh atau perlu dikaji semula")
    async with running(stage) as bot:
        await world.send_text(bot.user(aminah), "1/3/2027")
        await world.wait_for_message(aminah, contains="tarikh instrumen telah direkodkan")
        run = (await _case(bot)).run("file_copy")
        assert run is not None and (run.data["signed_on"], run.data["expires_on"]) == (
            "2026-09-01", "2027-03-01")
