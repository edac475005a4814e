"""Tidak and resubmission, and every way a tap can be wrong: nothing changes, the reason is said."""

from __future__ import annotations

from bot.callbacks import AfterRefusal, Approve, Report, encode
from bot.domain.case import CaseStatus, Phase
from storage.prefs import set_user_language
from tests.e2e.conftest import CHATS, Bot
from tests.e2e.test_flow import CHONG, KSU, REF, TKSU, _case, _current, _tap, seed_case


async def _to_decision(bot: Bot) -> None:
    """Seed a case and walk it to the Minit Cerai, submitted."""
    world, bkka = bot.world, CHATS["BKKA"]
    await seed_case(bot)
    card = await world.wait_for_message(bkka, contains="Langkah 2")
    await _tap(bot, CHONG, card, "▫️ AGC")
    card = await world.wait_for(
        lambda: _current(bot, card) if "⏳ AGC" in str(_current(bot, card).buttons) else None)
    await _tap(bot, CHONG, card, "⏳ AGC")
    await world.wait_for(lambda: "✅ AGC" in str(_current(bot, card).buttons))
    await _tap(bot, CHONG, _current(bot, card), "✅ Semua input telah diterima")
    card = await world.wait_for_message(bkka, contains="Langkah 3")
    await _tap(bot, CHONG, card, "📨 Minit Cerai telah dikemukakan")


async def _forged(bot: Bot, who: int, chat: int, data: str) -> str:
    world = bot.world
    message = world.last(chat)
    query = await world.forge_tap(bot.user(who), message, data)
    await world.wait_for(lambda: world.tap_answer(query) is not None)
    return world.tap_answer(query).text or ""  # type: ignore[union-attr]


async def test_tidak_with_a_reason_then_revise_and_resubmit(bot: Bot) -> None:
    world, bkka = bot.world, CHATS["BKKA"]
    await _to_decision(bot)
    ksu_card = await world.wait_for_message(KSU, contains=REF)
    await world.wait_for_message(TKSU, contains=REF)
    await _tap(bot, KSU, ksu_card, "Tidak")
    await world.wait_for_message(KSU, contains="/skip")
    await world.send_text(bot.user(KSU), "Perlu ulasan PUU dahulu.")
    await world.wait_for_message(KSU, contains="Terima kasih")

    # The division hears the decision, with revise / close buttons, then the reason.
    told = await world.wait_for_message(bkka, contains="Keputusan Tidak oleh")
    await world.wait_for_message(bkka, contains="Perlu ulasan PUU dahulu.")
    case = await _case(bot)
    assert case.phase is Phase.REFUSED and case.decisions[0].reason == "Perlu ulasan PUU dahulu."

    # Only the lead division may choose; a manager's tap changes nothing.
    assert "tidak membenarkan" in await _forged(
        bot, KSU, KSU, encode(AfterRefusal(REF, "collect_input")))
    await _tap(bot, CHONG, told, "Pinda: kemukakan semula Minit Cerai")
    card = await world.wait_for_message(bkka, contains="Langkah 3")
    assert (await _case(bot)).round == 2

    # Round 2: new cards; the round-1 card is stale.
    await _tap(bot, CHONG, card, "📨 Minit Cerai telah dikemukakan")
    await world.wait_for(lambda: len([m for m in world.messages(TKSU) if m.buttons]) == 1)
    stale = await _forged(bot, KSU, KSU, encode(Approve(REF, 1, True)))
    assert "telah" in stale  # already decided
    new_card = next(m for m in world.messages(TKSU) if m.buttons)
    await _tap(bot, TKSU, new_card, "Ya")
    await world.wait_for_message(bkka, contains="Langkah 4")
    case = await _case(bot)
    assert [(d.round, d.approved) for d in case.decisions] == [(1, False), (2, True)]


async def test_tidak_then_close(bot: Bot) -> None:
    world, bkka = bot.world, CHATS["BKKA"]
    await _to_decision(bot)
    await _tap(bot, TKSU, await world.wait_for_message(TKSU, contains=REF), "Tidak")
    await world.send_text(bot.user(TKSU), "/skip")
    await world.wait_for_message(TKSU, contains="tanpa sebab")
    told = await world.wait_for_message(bkka, contains="Keputusan Tidak oleh")
    await _tap(bot, CHONG, told, "Tutup kerana tidak diluluskan")
    await world.wait_for_message(CHATS["AB"], contains="Kes ditutup")
    assert (await _case(bot)).status is CaseStatus.NOT_APPROVED
    assert "ditutup" in await _forged(bot, CHONG, bkka, encode(Report(REF, "collect_input")))


async def test_double_tap_forged_and_foreign_buttons_change_nothing(bot: Bot) -> None:
    world = bot.world
    await _to_decision(bot)
    ksu_card = await world.wait_for_message(KSU, contains=REF)
    data = ksu_card.data_for("Ya")
    first = await world.tap(bot.user(KSU), ksu_card, data)
    second = await world.forge_tap(bot.user(KSU), ksu_card, data)  # the same tap, twice
    await world.wait_for(lambda: None not in (world.tap_answer(first), world.tap_answer(second)))
    answers = sorted([world.tap_answer(first).text or "",  # type: ignore[union-attr]
                      world.tap_answer(second).text or ""])  # type: ignore[union-attr]
    assert any("Direkodkan" in a for a in answers) and any("telah" in a for a in answers)
    assert len((await _case(bot)).decisions) == 1

    assert "tidak lagi sah" in await _forged(bot, KSU, KSU, "ap:1:garbage")
    assert "Tiada kes" in await _forged(bot, KSU, KSU, encode(Approve("IKA-2026-999", 1, True)))
    assert "Tiada kes" in await _forged(bot, CHONG, CHATS["BKKA"],
                                        encode(Report("IKA-2025-001", "prep_meeting")))
    assert len((await _case(bot)).decisions) == 1


async def test_an_approver_in_english_gets_an_english_card(bot: Bot) -> None:
    async with bot.app.services.sessions() as session, session.begin():
        await set_user_language(session=session, telegram_id=TKSU, lang="en")
    await _to_decision(bot)
    card = await bot.world.wait_for_message(TKSU, contains=REF)
    assert "do you approve negotiating this IKA?" in card.text
    assert [label for label, _ in card.buttons[0]] == ["Ya", "Tidak"]
    await _tap(bot, KSU, await bot.world.wait_for_message(KSU, contains=REF), "Ya")
    await bot.world.wait_for(lambda: "approved by" in _current(bot, card).text)


async def test_a_5000_character_reply_is_refused_and_nothing_is_lost(bot: Bot) -> None:
    world = bot.world
    await _to_decision(bot)
    await _tap(bot, KSU, await world.wait_for_message(KSU, contains=REF), "Tidak")
    await world.wait_for_message(KSU, contains="/skip")
    await world.send_text(bot.user(KSU), "x" * 5000)
    refusal = await world.wait_for_message(KSU, contains="2000")
    assert "5000" in refusal.text
    assert (await _case(bot)).decisions[0].reason is None
    await world.send_text(bot.user(KSU), "Ringkas: tunggu ulasan PUU.")
    await world.wait_for_message(KSU, contains="Terima kasih")
    assert (await _case(bot)).decisions[0].reason == "Ringkas: tunggu ulasan PUU."
