"""Nothing falls through: every tap answered, within Telegram's limits; edits, channel posts and
stray messages handled as a person expects."""

from __future__ import annotations

from datetime import datetime

from bot.domain.rules import RequestInputs, TickInput, apply
from bot.fake_telegram.world import Message
from handlers.reminders import sweep
from handlers.replies import MAX_ALERT
from storage.cases import case_events, change_case
from tests.builders import KL
from tests.e2e.conftest import CHATS, Bot
from tests.e2e.test_flow import CHONG, REF, _current, _showing, _tap, _user, seed_case


async def notes(bot: Bot) -> list[str]:
    async with bot.app.services.sessions() as session:
        events = await case_events(session=session, ref=REF)
    return [event.data["text"] for event in events if event.kind == "note_added"]


async def handled_so_far(bot: Bot, who: int) -> Message:
    """Every update sent before this one is handled: they are processed in order."""
    await bot.world.send_text(bot.user(who), "/help")
    return await bot.world.wait_for_message(who, contains="/status")


async def test_an_edited_note_adds_nothing(bot: Bot) -> None:
    world, bkka = bot.world, CHATS["BKKA"]
    await seed_case(bot)
    await world.wait_for_message(bkka, contains="Langkah 2")  # the outbox's card, sent apart
    sent = await world.send_text(bot.user(CHONG), f"/note {REF} KLN called today", chat=bkka)
    await world.wait_for_message(bkka, contains="Catatan ditambah")
    before = len(world.messages(bkka))
    await world.edit(bot.user(CHONG), sent, f"/note {REF} KLN called today at 3 pm")
    await handled_so_far(bot, CHONG)
    assert await notes(bot) == ["KLN called today"]
    assert len(world.messages(bkka)) == before


async def test_an_edited_new_does_not_start_again(bot: Bot) -> None:
    world, aminah = bot.world, bot.user(1001)
    sent = await world.send_text(aminah, "/new")
    await world.wait_for_message(aminah.id, contains="IKA baharu")
    await world.send_text(aminah, "MoU kerjasama sempadan")
    await world.wait_for_message(aminah.id, contains="instrumen")
    await world.edit(aminah, sent, "/new ")
    await world.edit(aminah, world.history(aminah.id)[2], "MoU lain")  # the title, edited
    await handled_so_far(bot, aminah.id)
    assert bot.app.user_data[aminah.id]["new_case"] == {"title": "MoU kerjasama sempadan"}


async def test_a_button_no_handler_knows_is_answered(bot: Bot) -> None:
    world = bot.world
    await seed_case(bot)
    card = await world.wait_for_message(CHATS["BKKA"], contains="Langkah 2")
    for data in ("zz:9:from-an-old-version", "st:1:IKA-2026-0", "x"):
        query = await world.forge_tap(bot.user(CHONG), card, data)
        await world.wait_for(lambda q=query: world.tap_answer(q), what=f"the answer to {data}")
        assert "tidak lagi sah" in (world.tap_answer(query).text or "")  # type: ignore[union-attr]


async def _all_inputs_asked(bot: Bot) -> tuple[Message, int]:
    """Step 2's card once input is asked of every BJA, none in yet; how many were asked."""
    world = bot.world
    await seed_case(bot)
    card = await world.wait_for_message(CHATS["BKKA"], contains="Langkah 2")
    unasked = [label for row in card.buttons for label, _ in row if label.startswith("▫️")]
    assert len(unasked) >= 5
    for label in unasked:
        await _tap(bot, CHONG, _current(bot, card), label)
        card = await _showing(bot, card, label.replace("▫️", "⏳"))
    return _current(bot, card), len(unasked)


async def test_a_refusal_too_long_for_an_alert_is_answered_briefly_and_sent_in_full(
    bot: Bot,
) -> None:
    world = bot.world
    card, asked = await _all_inputs_asked(bot)
    answer = await _tap(bot, CHONG, card, "✅ Semua input telah diterima")
    assert 0 < len(answer) <= MAX_ALERT and "sembang peribadi" in answer
    full = await world.wait_for_message(CHONG, contains="masih belum diterima")
    assert len(full.text or "") > MAX_ALERT and f"{asked} BJA" in (full.text or "")
    assert all(call.get("text") is None or len(str(call["text"])) <= MAX_ALERT
               for call in world.calls("answerCallbackQuery"))
    assert [e for e in world.errors if e[0].lower() == "answercallbackquery"] == []


async def test_without_a_private_chat_the_alert_holds_as_much_of_it_as_fits(bot: Bot) -> None:
    card, asked = await _all_inputs_asked(bot)
    bot.world.chats[CHONG].started = False  # Chong never pressed Start in a private chat
    answer = await _tap(bot, CHONG, card, "✅ Semua input telah diterima")
    assert MAX_ALERT - 5 <= len(answer) <= MAX_ALERT and answer.endswith("…")
    assert answer.startswith(f"Input daripada {asked} BJA masih belum diterima")
    assert bot.world.messages(CHONG) == []


async def test_a_stray_private_message_is_pointed_to_help_and_groups_stay_quiet(
    bot: Bot,
) -> None:
    world, bkka = bot.world, CHATS["BKKA"]
    await seed_case(bot)
    card = await world.wait_for_message(bkka, contains="Langkah 2")
    await world.send_text(bot.user(CHONG), "Selamat pagi")
    pointer = await world.wait_for_message(CHONG, contains="/help")
    assert len(pointer.text or "") < 120
    before = len(world.messages(bkka))
    await world.reply(bot.user(CHONG), card, "Baik, kami sedang menunggu PDRM.")
    await world.send_text(bot.user(CHONG), "/unknowncommand", chat=bkka)
    await handled_so_far(bot, CHONG)
    assert len(world.messages(bkka)) == before


async def test_channel_posts_and_automatic_forwards_are_ignored(bot: Bot) -> None:
    world, bkka = bot.world, CHATS["BKKA"]
    channel = world.add_channel(-1009000000001, "Berita KDN")
    requests = len(world.requests)
    await world.post_in_channel(channel, "/status")
    await world.forward_from_channel(channel, bkka, "/status")
    await handled_so_far(bot, CHONG)
    sent = [name for name, _ in world.requests[requests:] if name.lower() != "getupdates"]
    assert sent == ["sendMessage"]  # /help's answer, nothing else
    assert world.messages(channel.id) == [] and world.messages(bkka) == []


async def test_a_tap_on_a_batched_reminder_takes_off_only_that_cases_button(bot: Bot) -> None:
    world, bkka, services = bot.world, CHATS["BKKA"], bot.app.services
    second = "IKA-2026-002"
    chong = await _user(bot, CHONG)
    for ref in (REF, second):
        await seed_case(bot)
        for action in (RequestInputs(("PDRM",)), TickInput("PDRM", received=True)):
            await change_case(sessions=services.sessions, ref=ref, change=lambda case, a=action:
                              apply(case, a, actor=chong, now=services.now(),
                                    procedure=services.procedure))
    bot.clock.now = datetime(2026, 9, 14, 9, 0, tzinfo=KL)  # step 2 is due tomorrow
    await sweep(bot.app.bot, services, holder="test")
    reminder = await world.wait_for(lambda: next(
        (m for m in world.messages(bkka) if REF in m.text and second in m.text), None))
    assert len(reminder.buttons) == 2

    await _tap(bot, CHONG, reminder, f"✅ Laporkan selesai: {REF}")
    await world.wait_for(lambda: len(_current(bot, reminder).buttons) == 1,
                         what="one case's buttons left")
    [row] = _current(bot, reminder).buttons  # the other case's: report it, or ask more time
    assert all(second in (data or "") and REF not in (data or "") for _, data in row)
    label = f"✅ Laporkan selesai: {second}"
    assert label in [text for text, _ in row]
    await _tap(bot, CHONG, _current(bot, reminder), label)
    await world.wait_for(lambda: _current(bot, reminder).buttons == [], what="no button left")
