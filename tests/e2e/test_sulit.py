"""A Sulit case from phones: every direct reply about it is protected, its title stays in AB's
and its lead division's chats (the timeline picture too), and the register and calendar asked
for in another group leave it out."""

from __future__ import annotations

import csv
import io

from icalendar import Calendar

from bot.domain.rules import (
    CompleteStep,
    Decide,
    RequestInputs,
    SubmitMemo,
    TickInput,
    apply,
)
from bot.domain.timeline import timeline
from bot.fake_telegram.world import Message, World
from handlers.drawing.timeline_chart import render_timeline
from storage.cases import change_case
from tests.e2e.conftest import CHATS, Bot
from tests.e2e.test_decisions import _to_decision
from tests.e2e.test_flow import AMINAH, CHONG, DEVI, KSU, REF, _case, _tap, _user, seed_case
from tests.e2e.test_reports import register

AB, BKKA, BPI = CHATS["AB"], CHATS["BKKA"], CHATS["BPI"]
TITLE = "MOU kerjasama keselamatan sempadan"


async def _sulit(bot: Bot) -> None:
    """The seeded case (led by BKKA, at step 2), classified Sulit by AB."""
    world = bot.world
    await seed_case(bot)
    await world.wait_for_message(BKKA, contains="Langkah 2")
    await world.send_text(bot.user(AMINAH), f"/classify {REF} Sulit", chat=AB)
    classified = await world.wait_for_message(AB, contains="kini dikelaskan sebagai Sulit")
    assert classified.protect_content


async def _said(bot: Bot, who: int, chat: int, text: str, contains: str) -> Message:
    await bot.world.send_text(bot.user(who), text, chat=chat)
    return await bot.world.wait_for_message(chat, contains=contains)


async def test_replies_about_a_sulit_case_are_protected_wherever_they_go(bot: Bot) -> None:
    await _sulit(bot)
    own = await _said(bot, CHONG, BKKA, f"/status {REF}", "Bahagian berkaitan:")
    assert own.protect_content and TITLE in own.text
    elsewhere = await _said(bot, DEVI, BPI, f"/status {REF}", "Bahagian berkaitan:")
    assert elsewhere.protect_content and TITLE not in elsewhere.text and "Sulit" in elsewhere.text
    listing = await _said(bot, DEVI, BPI, "/status", "kes terbuka")
    assert listing.protect_content and REF in listing.text and TITLE not in listing.text
    note = await _said(bot, CHONG, BKKA, f"/note {REF} KLN menelefon hari ini",
                       "Catatan ditambah")
    assert note.protect_content
    done = await _said(bot, CHONG, BKKA, "/done", "Langkah manakah")
    assert done.protect_content
    target = await _said(bot, CHONG, BKKA, f"/target {REF} 30/12/2026", "tarikh sasaran")
    assert target.protect_content
    # a case that is not Sulit is answered as before
    other = await register(bot, "MoU pendidikan")
    plain = await _said(bot, DEVI, BPI, f"/status {other}", "MoU pendidikan")
    assert not plain.protect_content


async def test_a_sulit_step_report_is_asked_and_answered_protected(bot: Bot) -> None:
    world, services = bot.world, bot.app.services
    await _sulit(bot)
    today = services.now().date()
    for action, who in [(RequestInputs(("AGC",)), CHONG), (TickInput("AGC"), CHONG),
                        (CompleteStep("collect_input"), CHONG), (SubmitMemo("Minit"), CHONG),
                        (Decide(True), KSU)]:
        actor = await _user(bot, who)
        await change_case(sessions=services.sessions, ref=REF, change=lambda case: apply(
            case, action, actor=actor, now=services.now(),  # noqa: B023
            procedure=services.procedure))
    services.wake_outbox()
    card = await world.wait_for_message(BKKA, contains="Langkah 4")
    assert card.protect_content
    await _tap(bot, CHONG, card, "✅ Laporkan selesai")
    question = await world.wait_for_message(CHONG, contains="Pada tarikh apakah mesyuarat")
    assert question.protect_content
    await world.send_text(bot.user(CHONG), "semalam")
    again = await world.wait_for_message(CHONG, contains="tidak dapat dibaca")
    assert again.protect_content
    await world.send_text(bot.user(CHONG), today.strftime("%d/%m/%Y"))
    recorded = await world.wait_for_message(CHONG, contains="Direkodkan")
    assert recorded.protect_content
    assert (await _case(bot)).current_step == "inform_ab"


async def _timeline(bot: Bot, who: int, chat: int) -> Message:
    world = bot.world
    status = await _said(bot, who, chat, f"/status {REF}", "Bahagian berkaitan:")
    await _tap(bot, who, status, "📊 Garis masa")
    return await world.wait_for(lambda: next(
        (m for m in world.messages(chat) if m.photo is not None), None), what="the timeline")


async def test_a_sulit_timeline_shows_sulit_outside_its_chats_and_is_protected(
        bot: Bot) -> None:
    await _sulit(bot)
    services = bot.app.services
    case, t = await _case(bot), services.translator("ms")

    def drawn(shown: bool) -> bytes:
        picture = timeline(case, services.procedure, services.now(), title_shown=shown)
        return render_timeline(picture, services.procedure.sop, t)

    assert drawn(True) != drawn(False)  # the title is in the picture
    elsewhere = await _timeline(bot, DEVI, BPI)
    assert elsewhere.protect_content and TITLE not in (elsewhere.caption or "")
    assert elsewhere.photo is not None and elsewhere.photo.content == drawn(False)
    own = await _timeline(bot, CHONG, BKKA)
    assert own.protect_content
    assert own.photo is not None and own.photo.content == drawn(True)


async def _file_in(world: World, chat: int, what: str) -> Message:
    """The first file the bot sent to ``chat``, once it is there."""
    found: Message = await world.wait_for(lambda: next(
        (m for m in world.messages(chat) if m.document is not None), None), what=what)
    return found


async def test_the_register_asked_for_in_another_group_leaves_a_sulit_case_out(
        bot: Bot) -> None:
    world = bot.world
    await _sulit(bot)
    other = await register(bot, "MoU pendidikan", lead="BPI")
    await world.send_text(bot.user(AMINAH), "/export csv", chat=BPI)
    there = await _file_in(world, BPI, "the register")
    assert there.document is not None and "1 kes Sulit tidak disertakan" in (there.caption or "")
    rows = list(csv.reader(io.StringIO(there.document.content.decode("utf-8-sig"))))
    assert [row[0] for row in rows[1:]] == [other]
    assert TITLE not in there.document.content.decode("utf-8-sig")
    assert not there.protect_content  # nothing Sulit in it

    await world.send_text(bot.user(AMINAH), "/export csv", chat=AB)
    full = await _file_in(world, AB, "the register")
    assert full.document is not None and full.protect_content
    assert TITLE in full.document.content.decode("utf-8-sig")
    assert "Sulit" not in (full.caption or "")


async def test_the_calendar_asked_for_in_another_group_leaves_a_sulit_case_out(
        bot: Bot) -> None:
    world = bot.world
    await _sulit(bot)
    other = await register(bot, "MoU pendidikan", lead="BPI")
    await world.send_text(bot.user(AMINAH), "/calendar", chat=BPI)
    there = await _file_in(world, BPI, "the calendar")
    assert there.document is not None and "1 kes Sulit tidak disertakan" in (there.caption or "")
    events = Calendar.from_ical(there.document.content).walk("VEVENT")
    assert [str(e["uid"]).split(".")[0] for e in events] == [other]
    assert not there.protect_content

    await world.send_text(bot.user(AMINAH), "/calendar")  # in private: every case, protected
    mine = await _file_in(world, AMINAH, "the calendar")
    assert mine.document is not None and mine.protect_content
    described = " ".join(str(e["description"]) for e in
                         Calendar.from_ical(mine.document.content).walk("VEVENT"))
    assert TITLE in described


async def test_a_tidak_on_a_sulit_case_asks_and_thanks_protected(bot: Bot) -> None:
    world = bot.world
    await _to_decision(bot)
    card = await world.wait_for_message(KSU, contains=REF)
    await world.send_text(bot.user(AMINAH), f"/classify {REF} Sulit", chat=AB)
    await world.wait_for_message(AB, contains="kini dikelaskan sebagai Sulit")
    await _tap(bot, KSU, card, "Tidak")
    question = await world.wait_for_message(KSU, contains="/skip")
    assert question.protect_content
    await world.send_text(bot.user(KSU), "Perlu ulasan PUU dahulu.")
    thanks = await world.wait_for_message(KSU, contains="Terima kasih")
    assert thanks.protect_content


async def test_a_case_registered_as_sulit_is_confirmed_protected(bot: Bot) -> None:
    from tests.e2e.test_intake import choose, up_to_the_date

    world = bot.world
    question = await up_to_the_date(bot)
    summary = await choose(bot, AMINAH, question, "Hari ini", "Sila semak")
    await _tap(bot, AMINAH, summary, "🔒 Daftar sebagai Sulit")
    registered = await world.wait_for_message(AMINAH, contains="Kes telah didaftarkan")
    assert registered.protect_content


async def test_a_list_page_turned_to_a_sulit_case_comes_protected(bot: Bot) -> None:
    world = bot.world
    await _sulit(bot)
    for n in range(12):  # the first page: received earlier, due before the Sulit case
        await register(bot, f"MoU pendidikan {n}", lead="BPI")
    first = await _said(bot, DEVI, BPI, "/status", "13 kes terbuka")
    assert not first.protect_content and REF not in first.text
    await _tap(bot, DEVI, first, "▶")
    second = await world.wait_for_message(BPI, contains=REF)
    assert second.protect_content and second.message_id != first.message_id
    assert TITLE not in second.text and "Halaman 2" in second.text
    await _tap(bot, DEVI, second, "◀")  # a protected message is turned in place
    assert world.messages(BPI)[-1].message_id == second.message_id
