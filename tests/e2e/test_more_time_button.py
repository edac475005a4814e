"""The ⏳ button on a step's card: how many working days and why, asked in the private chat;
the request goes to AB as /extend's does; it outlives a restart; who may not ask is told so."""

from __future__ import annotations

from bot.domain.clock import extensions
from tests.e2e.conftest import CHATS, Stage
from tests.e2e.test_conversations_survive import running
from tests.e2e.test_flow import CHONG, DEVI, REF, _case, _tap, seed_case

AB, BKKA = CHATS["AB"], CHATS["BKKA"]
MORE_TIME = "⏳ Lanjutan tempoh"


async def test_the_button_asks_the_days_and_the_reason_and_ab_gets_the_request(
        stage: Stage) -> None:
    world = stage.world
    async with running(stage) as bot:
        await seed_case(bot)
        card = await world.wait_for_message(BKKA, contains="Langkah 2")
        assert "sembang peribadi" in await _tap(bot, CHONG, card, MORE_TIME)
        await world.wait_for_message(CHONG, contains="Berapa hari bekerja lanjutan tempoh")
        await world.send_text(bot.user(CHONG), "lima")
        await world.wait_for_message(CHONG, contains="Nyatakan bilangan hari bekerja")
        await world.send_text(bot.user(CHONG), "500")  # beyond the SOP's limit: asked again
        await world.wait_for_message(CHONG, contains="Nyatakan bilangan hari bekerja")
        await world.send_text(bot.user(CHONG), "5")
        await world.wait_for_message(CHONG, contains="Apakah sebab lanjutan tempoh diperlukan")
    async with running(stage) as bot:  # a restart between the days and the reason
        await world.send_text(bot.user(CHONG), "Menunggu ulasan\x00 AGC")
        await world.wait_for_message(CHONG, contains="telah dikemukakan kepada Bahagian AB")
        ask = await world.wait_for_message(AB, contains="memohon lanjutan 5 hari bekerja")
        assert "Menunggu ulasan AGC" in ask.text
        assert [label for label, _ in ask.buttons[0]] == ["Lulus", "Tolak"]
        run = (await _case(bot)).current_run
        assert run is not None and [(e.days, e.reason) for e in extensions(run)] == [
            (5, "Menunggu ulasan AGC")]


async def test_the_button_is_refused_to_whoever_may_not_ask_and_nothing_is_asked(
        stage: Stage) -> None:
    world = stage.world
    async with running(stage) as bot:
        await seed_case(bot)
        card = await world.wait_for_message(BKKA, contains="Langkah 2")
        answer = await _tap(bot, DEVI, card, MORE_TIME)  # BPI's officer, on BKKA's case
        assert answer and "sembang peribadi" not in answer
        assert world.messages(DEVI) == []
        # a second request while one awaits AB's answer is refused at the tap, too
        await world.send_text(bot.user(CHONG), f"/extend {REF} 3 Mesyuarat ditangguhkan",
                              chat=BKKA)
        await world.wait_for_message(AB, contains="memohon lanjutan 3 hari bekerja")
        answer = await _tap(bot, CHONG, card, MORE_TIME)
        assert answer and "sembang peribadi" not in answer
        assert not [m for m in world.messages(CHONG) if "Berapa hari bekerja" in (m.text or "")]
