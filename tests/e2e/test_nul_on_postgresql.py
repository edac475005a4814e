"""NUL bytes typed anywhere, on PostgreSQL (which stores no NUL in text or JSON): every answer
is saved cleaned, and one user's NUL never stops another's conversation from being kept."""

from __future__ import annotations

import pytest

from bot.domain.clock import waits
from tests.e2e.conftest import CHATS, Stage
from tests.e2e.test_conversations_survive import running, stored_state
from tests.e2e.test_flow import AMINAH, CHONG, REF, _case, seed_case

pytestmark = [pytest.mark.postgres,
              pytest.mark.parametrize("stage_database", ["postgresql"], indirect=True)]


async def test_nul_bytes_typed_after_commands_and_in_answers_are_cleaned_and_saved(
        stage: Stage) -> None:
    world, bkka = stage.world, CHATS["BKKA"]
    async with running(stage) as bot:
        await seed_case(bot)
        await world.wait_for_message(bkka, contains="Langkah 2")
        await world.send_text(bot.user(CHONG), f"/extend {REF} 5 Menunggu\x00 ulasan\x00 AGC",
                              chat=bkka)
        await world.wait_for_message(bkka, contains="telah dikemukakan kepada Bahagian AB")
        ask = await world.wait_for_message(CHATS["AB"], contains="memohon lanjutan")
        assert "Menunggu ulasan AGC" in ask.text
        await world.send_text(bot.user(CHONG), f"/wait {REF} KLN Nota\x00 Diplomatik\x07",
                              chat=bkka)
        await world.wait_for_message(bkka, contains="kini menunggu maklum balas KLN")
        await world.send_text(bot.user(CHONG), f"/note {REF} KLN\x00 telefon", chat=bkka)
        await world.wait_for_message(bkka, contains="Catatan ditambah")
        run = (await _case(bot)).current_run
        assert run is not None and [w.note for w in waits(run)] == ["Nota Diplomatik"]

        # Aminah's /new keeps a title typed with a NUL; Chong's conversation is kept after it.
        await world.send_text(bot.user(AMINAH), "/new")
        await world.wait_for_message(AMINAH, contains="IKA baharu")
        await world.send_text(bot.user(AMINAH), "MoU\x00 kerjasama sempadan")
        await world.wait_for_message(AMINAH, contains="instrumen")
        assert bot.app.user_data[AMINAH]["new_case"] == {"title": "MoU kerjasama sempadan"}
        assert await stored_state(bot, "new_case") is not None
    async with running(stage) as bot:  # a restart: both conversations were stored
        assert bot.app.user_data[AMINAH]["new_case"] == {"title": "MoU kerjasama sempadan"}
