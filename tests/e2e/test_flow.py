"""A case worked from phones: BJA tick-list, Minit Cerai, one-tap Ya/Tidak, every step's details."""

from __future__ import annotations

import hashlib
import logging
from datetime import timedelta

import pytest

from bot.callbacks import Approve, encode
from bot.domain.case import CaseStatus, Instrument, Level, Source
from bot.domain.rules import CompleteStep, NewCase, Outcome, apply, register_case
from bot.fake_telegram.world import Message
from storage.cases import case_documents, create_case, load_case
from tests.e2e.conftest import CHATS, Bot

REF = "IKA-2026-001"
AMINAH, CHONG, DEVI, KSU, TKSU = 1001, 2001, 2002, 3001, 3002


async def seed_case(bot: Bot) -> None:
    """AB registered a case led by BKKA and the bot informed BKKA (step 1 done)."""
    services = bot.app.services
    ab = (await _user(bot, AMINAH))
    now = services.now()

    def build(ref: str) -> Outcome:
        new = NewCase(ref, "MOU kerjasama keselamatan sempadan", Instrument.MOU,
                      Level.BILATERAL, ("ID",), Source.KLN, "BKKA", now.date())
        registered = register_case(new, actor=ab, now=now, procedure=services.procedure)
        return registered.then(apply(registered.case, CompleteStep("receive"), actor=ab,
                                     now=now, procedure=services.procedure))

    await create_case(sessions=services.sessions, year=now.year, build=build)
    services.wake_outbox()  # the case's cards were written with it; the sweep sends them


async def _user(bot: Bot, telegram_id: int):  # type: ignore[no-untyped-def]
    from storage.org import get_user

    async with bot.app.services.sessions() as session:
        user = await get_user(session=session, telegram_id=telegram_id)
    assert user is not None
    return user.actor()


async def _case(bot: Bot):  # type: ignore[no-untyped-def]
    async with bot.app.services.sessions() as session:
        case = await load_case(session=session, ref=REF)
    assert case is not None
    return case


def _current(bot: Bot, message: Message) -> Message:
    """The message as it is now, after the bot's edits."""
    return next(m for m in bot.world.messages(message.chat.id)
                if m.message_id == message.message_id)


async def _showing(bot: Bot, message: Message, label: str) -> Message:
    """Wait until the bot's edit shows button ``label`` on ``message``."""
    def shown() -> Message | None:
        now = _current(bot, message)
        return now if any(text == label for row in now.buttons for text, _ in row) else None
    return await bot.world.wait_for(shown, what=f"button {label!r}")


async def _tap(bot: Bot, who: int, message: Message, label: str) -> str:
    query = await bot.world.tap(bot.user(who), message, message.data_for(label))
    await bot.world.wait_for(lambda: bot.world.tap_answer(query) is not None,
                             what=f"the answer to {label!r}")
    answer = bot.world.tap_answer(query)
    assert answer is not None
    return answer.text or ""


async def _answer(bot: Bot, who: int, text: str, contains: str) -> Message:
    await bot.world.send_text(bot.user(who), text)
    return await bot.world.wait_for_message(who, contains=contains)


async def test_a_case_from_step_two_to_filed_with_ya(bot: Bot) -> None:
    world, bkka, ab = bot.world, CHATS["BKKA"], CHATS["AB"]
    await seed_case(bot)

    # Step 2: the lead division's card, with the BJA tick-list.
    card = await world.wait_for_message(bkka, contains="Langkah 2")
    assert "Tarikh akhir" in card.text and "15 September 2026" in card.text
    await _tap(bot, CHONG, card, "▫️ PDRM")
    card = await _showing(bot, card, "⏳ PDRM")
    await _tap(bot, CHONG, card, "⏳ PDRM")
    card = await _showing(bot, card, "✅ PDRM")
    assert "BPI" not in await _tap(bot, DEVI, card, "▫️ AGC")  # another division: refused
    assert _current(bot, card).buttons == card.buttons
    await _tap(bot, CHONG, card, "✅ Semua input telah diterima")

    # Step 3: the Minit Cerai goes up; each approver gets a card with Ya / Tidak.
    card = await world.wait_for_message(bkka, contains="Langkah 3")
    await _tap(bot, CHONG, card, "📨 Minit Cerai telah dikemukakan")
    ksu_card = await world.wait_for_message(KSU, contains=REF)
    tksu_card = await world.wait_for_message(TKSU, contains=REF)
    assert [label for label, _ in ksu_card.buttons[0]] == ["Ya", "Tidak"]

    # Someone who is not management cannot decide, even with a forged tap.
    forged = await world.forge_tap(bot.user(CHONG), card, encode(Approve(REF, 1, True)))
    await world.wait_for(lambda: world.tap_answer(forged) is not None)
    assert "tidak membenarkan" in (world.tap_answer(forged).text or "")  # type: ignore[union-attr]
    assert (await _case(bot)).decisions == []

    # One tap decides; every approver's card shows who decided, without buttons.
    assert "Ya" in await _tap(bot, KSU, ksu_card, "Ya")
    await world.wait_for(lambda: _current(bot, tksu_card).buttons == [],
                         what="TKSU's card loses its buttons")
    assert "KSU" in _current(bot, tksu_card).text
    late = await world.forge_tap(bot.user(TKSU), tksu_card, encode(Approve(REF, 1, False)))
    await world.wait_for(lambda: world.tap_answer(late) is not None)
    assert len((await _case(bot)).decisions) == 1

    # Step 4: the meeting's date, asked in the officer's private chat; a future date refused.
    card = await world.wait_for_message(bkka, contains="Langkah 4")
    await _tap(bot, CHONG, card, "✅ Laporkan selesai")
    await world.wait_for_message(CHONG, contains="31/8/2026")
    await _answer(bot, CHONG, "2/9/2026", contains="belum tiba")
    await _answer(bot, CHONG, "bukan tarikh", contains="31/8/2026")
    await _answer(bot, CHONG, "1/9/2026", contains="Direkodkan")

    # Step 5: one tap.
    card = await world.wait_for_message(bkka, contains="Langkah 5")
    await _tap(bot, CHONG, card, "✅ Laporkan selesai")

    # Step 6: AB conveys the decision to KLN; the note's reference.
    card = await world.wait_for_message(ab, contains="Langkah 6")
    await _tap(bot, AMINAH, card, "✅ Laporkan selesai")
    await world.wait_for_message(AMINAH, contains="Nota Diplomatik")
    await _answer(bot, AMINAH, "KLN.600-1/2/3 (12)", contains="Direkodkan")

    # Step 7: dates agreed ahead (the due date follows them), then reported over.
    card = await world.wait_for_message(bkka, contains="Langkah 7")
    await _tap(bot, CHONG, card, "✅ Laporkan selesai")
    await world.wait_for_message(CHONG, contains="5/10/2026")
    await _answer(bot, CHONG, "5/10/2026", contains="7/10/2026")
    await _answer(bot, CHONG, "7/10/2026", contains="?")
    await _answer(bot, CHONG, "Jakarta", contains="dijadualkan")
    case = await _case(bot)
    assert case.current_run.due_at.date().isoformat() == "2026-10-07"
    bot.clock.now += timedelta(days=37)  # Saturday 8 October 2026
    await _tap(bot, CHONG, _current(bot, card), "✅ Laporkan selesai")

    # Step 8: the outcome document, a file; AB gets it protected from forwarding.
    card = await world.wait_for_message(bkka, contains="Langkah 8")
    await _tap(bot, CHONG, card, "✅ Laporkan selesai")
    await world.wait_for_message(CHONG, contains="fail")
    content = b"%PDF-1.4 the agreed text of the MOU"
    await world.send_document(bot.user(CHONG), "MOU-ID-MY.pdf", content, "application/pdf")
    await world.wait_for_message(CHONG, contains="Direkodkan")
    passed = await world.wait_for(
        lambda: next((m for m in world.messages(ab) if m.document is not None), None),
        what="the document in AB's chat")
    assert passed.protect_content and passed.document.content == content

    # Step 9: AB files the copy; the case is complete and both chats are told.
    card = await world.wait_for_message(ab, contains="Langkah 9")
    await _tap(bot, AMINAH, card, "✅ Laporkan selesai")
    await _answer(bot, AMINAH, "KDN.AB.100-2/3/4 Jld. 5", contains="selesai")
    await world.wait_for_message(bkka, contains="telah difailkan")

    case = await _case(bot)
    assert case.status is CaseStatus.COMPLETED
    assert case.run("file_copy").data["reference"] == "KDN.AB.100-2/3/4 Jld. 5"
    async with bot.app.services.sessions() as session:
        [document] = await case_documents(session=session, ref=REF)
    assert document.name == "MOU-ID-MY.pdf" and document.size == len(content)


async def test_the_token_is_in_no_log_line_at_any_level(
        bot: Bot, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    await seed_case(bot)
    card = await bot.world.wait_for_message(CHATS["BKKA"], contains="Langkah 2")
    await _tap(bot, CHONG, card, "✅ Semua input telah diterima")  # refused: nothing asked
    await bot.world.send_text(bot.user(CHONG), "/status")
    await bot.world.wait_for_message(CHONG)
    assert caplog.records, "DEBUG logging was captured"
    token = bot.settings.telegram_bot_token.get_secret_value()  # type: ignore[union-attr]
    assert not [r for r in caplog.records if token in r.getMessage()]
    assert token.split(":")[1] not in caplog.text


async def test_a_file_attached_at_any_step_is_kept_with_its_checksum(bot: Bot) -> None:
    await seed_case(bot)
    await bot.world.wait_for_message(CHATS["BKKA"], contains="Langkah 2")
    await bot.world.send_text(bot.user(CHONG), f"/attach {REF.lower()}")
    await bot.world.wait_for_message(CHONG, contains="20 MB")
    await bot.world.send_text(bot.user(CHONG), "here it is")  # text, not a file
    await bot.world.wait_for_message(CHONG, contains="/cancel")
    content = b"%PDF-1.4 ulasan PDRM"
    await bot.world.send_document(bot.user(CHONG), "ulasan-PDRM.pdf", content, "application/pdf")
    await bot.world.wait_for_message(CHONG, contains=REF)
    async with bot.app.services.sessions() as session:
        [document] = await case_documents(session=session, ref=REF)
    assert document.step == "collect_input" and document.name == "ulasan-PDRM.pdf"
    assert document.sha256 == hashlib.sha256(content).hexdigest()
    assert (await _case(bot)).current_step == "collect_input"  # attaching completes nothing
    await bot.world.send_text(bot.user(4001), f"/attach {REF}")  # a viewer may not
    await bot.world.wait_for_message(4001)
    await bot.world.send_document(bot.user(4001), "x.pdf", b"x", "application/pdf")
    await bot.world.wait_for_message(4001, contains="tidak membenarkan")
    async with bot.app.services.sessions() as session:
        assert len(await case_documents(session=session, ref=REF)) == 1
