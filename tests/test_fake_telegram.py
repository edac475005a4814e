"""The fake Telegram, driven over real HTTP by PTB's own Bot and a polling Application."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime

import pytest
import telegram
from telegram import (
    Bot,
    BotCommand,
    BotCommandScopeAllGroupChats,
    BotCommandScopeChat,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    ReplyParameters,
    Update,
)
from telegram.constants import ParseMode
from telegram.error import (
    BadRequest,
    Conflict,
    EndPointNotFound,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TimedOut,
)
from telegram.ext import (
    Application,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    filters,
)

from bot.fake_telegram import GROUP_ANONYMOUS_BOT_ID, FakeTelegram, User, World, parse_formatted

TOKEN = "123:TEST"
GROUP = -1001234567890
YES = InlineKeyboardMarkup([[InlineKeyboardButton("Ya", callback_data="ap:1:y")]])


@pytest.fixture
async def tg() -> AsyncIterator[FakeTelegram]:
    async with FakeTelegram(TOKEN) as fake:
        yield fake


@pytest.fixture
def world(tg: FakeTelegram) -> World:
    return tg.world


@pytest.fixture
async def bot(tg: FakeTelegram) -> AsyncIterator[Bot]:
    async with Bot(TOKEN, base_url=tg.bot_base_url, base_file_url=tg.file_base_url) as client:
        yield client


@pytest.fixture
async def alice(world: World, bot: Bot) -> User:
    """A user who has started the bot (and whose /start the bot has already read)."""
    user = world.add_user(1001, "Alice", username="alice")
    await world.send_text(user, "/start")
    await confirm_all(bot)
    return user


async def confirm_all(bot: Bot) -> list[Update]:
    """Read and confirm every pending update, as a poller does."""
    updates = list(await bot.get_updates(timeout=0))
    if updates:
        await bot.get_updates(offset=updates[-1].update_id + 1, timeout=0)
    return updates


# --- the Bot API over HTTP ---------------------------------------------------------------------


async def test_get_me_describes_the_bot(bot: Bot, tg: FakeTelegram) -> None:
    me = await bot.get_me()

    assert (me.id, me.username, me.is_bot) == (123, "ikabot_test_bot", True)
    assert tg.base_url.startswith("http://127.0.0.1:")
    assert tg.world.calls("getMe")


async def test_wrong_token_is_unauthorized_and_unknown_method_not_found(
    tg: FakeTelegram, bot: Bot
) -> None:
    with pytest.raises(InvalidToken, match="rejected by the server"):
        async with Bot("999:WRONG", base_url=tg.bot_base_url):
            pass
    with pytest.raises(EndPointNotFound):
        await bot.do_api_request("noSuchMethod")


async def test_send_edit_and_markup_round_trip(bot: Bot, world: World, alice: User) -> None:
    sent = await bot.send_message(
        alice.id, "<b>Pilih</b> satu", parse_mode=ParseMode.HTML, reply_markup=YES
    )

    assert sent.text == "Pilih satu"
    assert [(e.type, e.offset, e.length) for e in sent.entities] == [("bold", 0, 5)]
    seen = world.last(alice.id)
    assert (seen.text, seen.source, seen.buttons) == (
        "Pilih satu",
        "<b>Pilih</b> satu",
        [[("Ya", "ap:1:y")]],
    )

    with pytest.raises(BadRequest, match="not modified"):
        await bot.edit_message_text(
            "<b>Pilih</b> satu",
            alice.id,
            sent.message_id,
            parse_mode=ParseMode.HTML,
            reply_markup=YES,
        )
    # Leaving reply_markup out of an edit removes the keyboard, as Telegram does.
    edited = await bot.edit_message_text("Dipilih: Ya", alice.id, sent.message_id)
    assert isinstance(edited, telegram.Message)  # True only for inline messages
    assert edited.text == "Dipilih: Ya" and edited.reply_markup is None
    again = await bot.edit_message_reply_markup(alice.id, sent.message_id, reply_markup=YES)
    assert isinstance(again, telegram.Message) and again.reply_markup == YES

    assert seen.text == "Dipilih: Ya" and seen.buttons == [[("Ya", "ap:1:y")]]
    assert [(r.text, r.buttons) for r in seen.edits] == [
        ("Pilih satu", [[("Ya", "ap:1:y")]]),
        ("Dipilih: Ya", []),
    ]


async def test_tap_delivers_callback_and_records_the_answer(
    bot: Bot, world: World, alice: User
) -> None:
    sent = await bot.send_message(alice.id, "Lulus?", reply_markup=YES)

    query_id = await world.tap(alice, world.last(alice.id), "ap:1:y")
    (update,) = await confirm_all(bot)
    assert update.callback_query is not None
    assert (update.callback_query.id, update.callback_query.data) == (query_id, "ap:1:y")
    assert update.callback_query.message is not None
    assert update.callback_query.message.message_id == sent.message_id
    assert world.tap_answer(query_id) is None

    await bot.answer_callback_query(query_id, text="Diterima", show_alert=True)
    answer = world.tap_answer(query_id)
    assert answer is not None and (answer.text, answer.show_alert) == ("Diterima", True)
    with pytest.raises(BadRequest, match="query id is invalid"):
        await bot.answer_callback_query(query_id)

    world.redeliver(query_id)  # as after a crash before the update was confirmed
    (again,) = await confirm_all(bot)
    assert again.callback_query is not None and again.callback_query.id == query_id
    assert again.update_id > update.update_id
    with pytest.raises(BadRequest, match="Query is too old"):
        await bot.answer_callback_query(query_id)


async def test_an_alert_longer_than_200_characters_is_refused_as_telegram_does(
    bot: Bot, world: World, alice: User
) -> None:
    await bot.send_message(alice.id, "Lulus?", reply_markup=YES)
    query_id = await world.tap(alice, world.last(alice.id), "ap:1:y")
    await confirm_all(bot)
    with pytest.raises(BadRequest, match="Message_too_long"):
        await bot.answer_callback_query(query_id, text="x" * 199 + "📨", show_alert=True)
    assert world.tap_answer(query_id) is None  # still unanswered: the client keeps spinning
    await bot.answer_callback_query(query_id, text="x" * 200, show_alert=True)
    assert world.tap_answer(query_id) is not None


async def test_edits_channel_posts_and_automatic_forwards_reach_the_bot(
    bot: Bot, world: World, alice: User
) -> None:
    sent = await world.send_text(alice, "/note IKA-2026-001 first")
    await world.edit(alice, sent, "/note IKA-2026-001 second")
    channel = world.add_channel(-1009999999999, "KDN News")
    world.add_group(GROUP, "Discussion", members=[alice], bot_member=True)
    await world.post_in_channel(channel, "Hello subscribers")
    await world.forward_from_channel(channel, GROUP, "Hello subscribers")
    message, edited, post, forwarded = await confirm_all(bot)

    assert message.message is not None and edited.edited_message is not None
    assert edited.edited_message.message_id == message.message.message_id
    assert edited.edited_message.text == "/note IKA-2026-001 second"
    assert edited.edited_message.edit_date is not None
    assert post.channel_post is not None and post.channel_post.text == "Hello subscribers"
    assert post.effective_user is None
    assert forwarded.message is not None and forwarded.message.is_automatic_forward
    assert forwarded.message.sender_chat is not None
    assert forwarded.message.sender_chat.id == channel.id
    assert world.messages(alice.id) == [] and "(edited 1x)" in str(sent)


async def test_forged_tap_carries_data_no_button_shows(bot: Bot, world: World, alice: User) -> None:
    await bot.send_message(alice.id, "Lulus?", reply_markup=YES)
    with pytest.raises(AssertionError, match="no button"):
        await world.tap(alice, world.last(alice.id), "ap:1:forged")

    await world.forge_tap(alice, world.last(alice.id), "ap:1:forged")

    (update,) = await confirm_all(bot)
    assert update.callback_query is not None and update.callback_query.data == "ap:1:forged"


async def test_long_poll_returns_as_soon_as_an_update_arrives(
    bot: Bot, world: World, alice: User
) -> None:
    poll = asyncio.create_task(bot.get_updates(timeout=50))
    await world.wait_for(lambda: world.polling, what="the long poll to be waiting")
    assert not poll.done()

    await world.send_text(alice, "hai")

    # Well inside the poll's own 50 s: only a wake-up on the new update can answer this fast.
    (update,) = await asyncio.wait_for(poll, timeout=10)
    assert update.message is not None and update.message.text == "hai"
    assert not world.polling


async def test_offset_confirms_updates_and_a_second_poller_conflicts(
    tg: FakeTelegram, bot: Bot, world: World, alice: User
) -> None:
    await world.send_text(alice, "satu")
    await world.send_text(alice, "dua")
    first, second = await bot.get_updates(timeout=0)
    assert [await_text(first), await_text(second)] == ["satu", "dua"]
    assert len(await bot.get_updates(offset=second.update_id, timeout=0)) == 1
    assert await bot.get_updates(offset=second.update_id + 1, timeout=0) == ()

    older = asyncio.create_task(bot.get_updates(timeout=50))
    await world.wait_for(lambda: world.polling)
    async with Bot(TOKEN, base_url=tg.bot_base_url) as second_instance:
        assert await second_instance.get_updates(timeout=0) == ()
    with pytest.raises(Conflict, match="terminated by other getUpdates"):
        await older


def await_text(update: Update) -> str | None:
    return update.message.text if update.message else None


async def test_webhook_is_recorded_and_blocks_get_updates(bot: Bot, world: World) -> None:
    await bot.set_webhook("https://ikabot.example/hook")
    assert (await bot.get_webhook_info()).url == "https://ikabot.example/hook"
    with pytest.raises(Conflict, match="webhook is active"):
        await bot.get_updates()
    await bot.delete_webhook()
    assert world.webhook_url == ""


# --- Telegram's errors -------------------------------------------------------------------------


# PTB's own RetryAfter reads its deprecated int-valued retry_after while building its message.
@pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")
async def test_429_surfaces_as_retry_after_then_passes(bot: Bot, world: World, alice: User) -> None:
    world.fail_next("sendMessage", status=429, retry_after=7)

    with pytest.raises(RetryAfter, match="Retry in 7 seconds"):
        await bot.send_message(alice.id, "Peringatan")
    await bot.send_message(alice.id, "Peringatan")

    assert [m.text for m in world.messages(alice.id)] == ["Peringatan"]
    assert world.errors == [("sendMessage", 429, "Too Many Requests: retry after 7")]


async def test_server_errors_and_timeouts(bot: Bot, world: World, alice: User) -> None:
    world.fail_next("sendMessage", status=500)
    world.fail_next("getChat", status=502)
    with pytest.raises(NetworkError, match="Internal Server Error"):
        await bot.send_message(alice.id, "x")
    with pytest.raises(NetworkError, match="Bad Gateway"):
        await bot.get_chat(alice.id)

    # A slow answer times out on the client, yet Telegram did deliver the message.
    world.fail_next("sendMessage", status=None, delay=30)
    with pytest.raises(TimedOut):
        await bot.send_message(alice.id, "lambat", read_timeout=0.2)
    assert [m.text for m in world.messages(alice.id)] == ["lambat"]


async def test_too_long_text_is_refused(bot: Bot, world: World, alice: User) -> None:
    await bot.send_message(alice.id, "a" * 4096)
    with pytest.raises(BadRequest, match="Message is too long"):
        await bot.send_message(alice.id, "a" * 4097)
    # Telegram counts UTF-16 units: an emoji outside the BMP takes two.
    with pytest.raises(BadRequest, match="too long"):
        await bot.send_message(alice.id, "😀" * 2049)
    # Markup does not count, only what the user reads.
    await bot.send_message(alice.id, "<b>" + "a" * 4096 + "</b>", parse_mode=ParseMode.HTML)


async def test_blocked_unknown_and_unstarted_chats(bot: Bot, world: World, alice: User) -> None:
    bob = world.add_user(1002, "Bob")
    with pytest.raises(Forbidden, match="can't initiate conversation"):
        await bot.send_message(bob.id, "Hai")
    with pytest.raises(BadRequest, match="Chat not found"):
        await bot.send_message(424242, "Hai")

    world.block(alice.id)
    with pytest.raises(Forbidden, match="bot was blocked by the user"):
        await bot.send_message(alice.id, "Hai")
    (update,) = await confirm_all(bot)
    assert update.my_chat_member is not None
    assert update.my_chat_member.new_chat_member.status == "kicked"


async def test_bad_buttons_and_bad_markup_are_refused(bot: Bot, alice: User) -> None:
    long_data = InlineKeyboardMarkup([[InlineKeyboardButton("x", callback_data="d" * 65)]])
    with pytest.raises(BadRequest, match="Button_data_invalid"):
        await bot.send_message(alice.id, "x", reply_markup=long_data)
    hundred = [[InlineKeyboardButton(f"{row}.{col}", callback_data=f"{row}.{col}")
                for col in range(2)] for row in range(50)]
    await bot.send_message(alice.id, "x", reply_markup=InlineKeyboardMarkup(hundred))
    one_more = [*hundred, [InlineKeyboardButton("101", callback_data="101")]]
    with pytest.raises(BadRequest, match="Reply markup is too long"):
        await bot.send_message(alice.id, "x", reply_markup=InlineKeyboardMarkup(one_more))
    with pytest.raises(BadRequest, match="Can't parse entities: unsupported start tag"):
        await bot.send_message(alice.id, "1 < 2", parse_mode=ParseMode.HTML)
    with pytest.raises(BadRequest, match="character '.' is reserved"):
        await bot.send_message(alice.id, "Selesai.", parse_mode=ParseMode.MARKDOWN_V2)


async def test_replies_and_deletes(bot: Bot, world: World, alice: User) -> None:
    asked = await world.send_text(alice, "Status?")
    answer = await bot.send_message(
        alice.id, "Langkah 3", reply_parameters=ReplyParameters(asked.message_id)
    )
    assert answer.reply_to_message is not None
    assert answer.reply_to_message.text == "Status?"
    with pytest.raises(BadRequest, match="Message to be replied not found"):
        await bot.send_message(alice.id, "x", reply_parameters=ReplyParameters(9999))

    assert await bot.delete_message(alice.id, answer.message_id)
    assert world.messages(alice.id) == []
    assert world.messages(alice.id, include_deleted=True)[0].deleted
    with pytest.raises(BadRequest, match="Message to delete not found"):
        await bot.delete_message(alice.id, answer.message_id)


# --- files -------------------------------------------------------------------------------------


async def test_document_upload_get_file_and_download(bot: Bot, world: World, alice: User) -> None:
    pdf = b"%PDF-1.7\n" + bytes(range(256)) * 40

    sent = await bot.send_document(
        alice.id, pdf, filename="memo.pdf", caption="Memo", protect_content=True
    )

    assert sent.document is not None and sent.document.file_name == "memo.pdf"
    stored = world.last(alice.id)
    assert stored.document is not None and stored.document.content == pdf
    assert (stored.caption, stored.protect_content) == ("Memo", True)
    file = await bot.get_file(sent.document.file_id)
    assert bytes(await file.download_as_bytearray()) == pdf
    # Sending the file_id again re-uses the stored file, as Telegram does.
    resent = await bot.send_document(alice.id, sent.document.file_id)
    assert resent.document is not None
    assert resent.document.file_unique_id == sent.document.file_unique_id


async def test_a_users_document_can_be_downloaded_by_the_bot(
    bot: Bot, world: World, alice: User
) -> None:
    content = b"PK\x03\x04 draf"
    await world.send_document(alice, "draf.docx", content, caption="Draf IKA")

    (update,) = await confirm_all(bot)
    assert update.message is not None and update.message.document is not None
    assert update.message.caption == "Draf IKA"
    file = await update.message.document.get_file()
    assert bytes(await file.download_as_bytearray()) == content


# --- commands, chats and members ---------------------------------------------------------------


async def test_commands_are_kept_per_scope_and_language(bot: Bot, world: World) -> None:
    group = world.add_group(GROUP, "Pasukan IKA", bot_member=True)
    await bot.set_my_commands([BotCommand("mula", "Mula")], language_code="ms")
    await bot.set_my_commands([BotCommand("start", "Start")], language_code="en")
    await bot.set_my_commands(
        [BotCommand("status", "Status")], scope=BotCommandScopeAllGroupChats()
    )
    await bot.set_my_commands([BotCommand("kes", "Kes")], scope=BotCommandScopeChat(group.id))

    assert [c.command for c in await bot.get_my_commands(language_code="ms")] == ["mula"]
    assert await bot.get_my_commands() == ()
    assert world.commands(language_code="en") == [("start", "Start")]
    assert world.commands("all_group_chats") == [("status", "Status")]
    assert world.commands({"type": "chat", "chat_id": group.id}) == [("kes", "Kes")]

    await bot.delete_my_commands(language_code="ms")
    assert world.commands(language_code="ms") == []
    with pytest.raises(BadRequest, match="Bot_command_invalid"):
        await bot.set_my_commands([BotCommand("Mula-Kes", "x")])


async def test_group_join_privacy_and_anonymous_admin(bot: Bot, world: World) -> None:
    alice = world.add_user(1001, "Alice")
    world.add_group(GROUP, "Pasukan IKA", members=[alice], admins=[alice])
    with pytest.raises(Forbidden, match="not a member of the supergroup chat"):
        await bot.send_message(GROUP, "Hai")

    world.bot_added_to_group(GROUP, alice)
    chatter = await world.send_text(alice, "selamat pagi", chat=GROUP)
    await world.send_text(alice, "/status@ikabot_test_bot", chat=GROUP)
    await world.send_anonymous(GROUP, "/status")

    joined, added, command, anonymous = await confirm_all(bot)
    assert joined.my_chat_member is not None
    assert joined.my_chat_member.new_chat_member.status == "member"
    assert added.message is not None and added.message.new_chat_members[0].id == 123
    # Privacy mode: the plain chatter never reached the bot, the command did.
    assert not chatter.delivered
    assert command.message is not None and command.message.text == "/status@ikabot_test_bot"
    assert command.message.entities[0].type == "bot_command"
    assert anonymous.message is not None and anonymous.message.from_user is not None
    assert anonymous.message.from_user.id == GROUP_ANONYMOUS_BOT_ID
    assert anonymous.message.sender_chat is not None
    assert anonymous.message.sender_chat.id == GROUP

    info = await bot.get_chat(GROUP)
    assert (info.type, info.title) == ("supergroup", "Pasukan IKA")
    assert (await bot.get_chat_member(GROUP, alice.id)).status == "administrator"
    assert (await bot.get_chat_member(alice.id, alice.id)).status == "member"
    assert await bot.send_chat_action(GROUP, "typing")
    assert await bot.leave_chat(GROUP)
    with pytest.raises(Forbidden):
        await bot.send_message(GROUP, "Hai")


# --- the driver --------------------------------------------------------------------------------


async def test_wait_for_message_fails_with_what_the_chat_got(
    bot: Bot, world: World, alice: User
) -> None:
    await world.send_text(alice, "/status")
    await bot.send_message(alice.id, "Tiada kes")
    with pytest.raises(BadRequest):
        await bot.send_message(alice.id, "<b>oops", parse_mode=ParseMode.HTML)

    with pytest.raises(AssertionError) as failure:
        await world.wait_for_message(alice.id, contains="Kes baharu", timeout=0.05)

    report = str(failure.value)
    assert "'Tiada kes'" in report and "Alice: '/status'" in report
    assert "Can't find end tag" in report


async def test_wait_for_message_walks_forward(bot: Bot, world: World, alice: User) -> None:
    await world.send_text(alice, "/status")
    await bot.send_message(alice.id, "Kes 1")
    await bot.send_message(alice.id, "Kes 2")

    assert (await world.wait_for_message(alice.id, contains="Kes")).text == "Kes 1"
    assert (await world.wait_for_message(alice.id, contains="Kes")).text == "Kes 2"
    with pytest.raises(AssertionError):
        await world.wait_for_message(alice.id, contains="Kes", timeout=0.05)
    earlier = await world.wait_for_message(alice.id, contains="Kes 1", include_earlier=True)
    assert earlier.text == "Kes 1"


async def test_hook_and_clock() -> None:
    seen: list[tuple[str | None, str]] = []
    when = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)
    world = World(TOKEN, clock=lambda: when, on_bot_message=lambda m, e: seen.append((m.text, e)))
    async with (
        FakeTelegram(world=world) as tg,
        Bot(TOKEN, base_url=tg.bot_base_url, base_file_url=tg.file_base_url) as bot,
    ):
        alice = world.add_user(1001, "Alice")
        await world.send_text(alice, "/start")
        sent = await bot.send_message(alice.id, "Hai")
        await bot.edit_message_text("Hai lagi", alice.id, sent.message_id)

    assert sent.date == when
    assert seen == [("Hai", "sent"), ("Hai lagi", "edited")]


def test_formatting_offsets_count_utf16_units() -> None:
    text, entities = parse_formatted(
        "😀 <i>kes</i> &amp; <a href='https://x.my'>pautan</a>", "HTML"
    )

    assert text == "😀 kes & pautan"
    assert entities == [
        {"type": "italic", "offset": 3, "length": 3},
        {"type": "text_link", "url": "https://x.my", "offset": 9, "length": 6},
    ]
    plain, bold = parse_formatted(r"*Kes 1\.* selesai\!", "MarkdownV2")
    assert (plain, bold) == ("Kes 1. selesai!", [{"type": "bold", "offset": 0, "length": 6}])


# --- a real Application, polling ---------------------------------------------------------------


@asynccontextmanager
async def polling(app: Application) -> AsyncIterator[Application]:  # type: ignore[type-arg]
    """Run the Application the way `run_polling` does, inside the test's event loop."""
    async with app:
        assert app.updater is not None
        await app.updater.start_polling(poll_interval=0, timeout=10)
        await app.start()
        try:
            yield app
        finally:
            await app.updater.stop()
            await app.stop()


async def test_application_polls_echoes_and_edits_on_tap(tg: FakeTelegram) -> None:
    async def echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.effective_message is not None
        await update.effective_message.reply_text(f"Anda kata: {update.effective_message.text}")

    async def ask(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.effective_message is not None
        await update.effective_message.reply_text("Teruskan?", reply_markup=YES)

    async def decide(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        query = update.callback_query
        assert query is not None
        await query.answer("Baik")
        await query.edit_message_text(f"Pilihan: {query.data}")

    app = (
        Application.builder()
        .token(TOKEN)
        .base_url(tg.bot_base_url)
        .base_file_url(tg.file_base_url)
        .build()
    )
    app.add_handler(CommandHandler("mula", ask))
    app.add_handler(CallbackQueryHandler(decide))
    app.add_handler(MessageHandler(filters.TEXT & ~filters.COMMAND, echo))
    world = tg.world
    alice = world.add_user(1001, "Alice")

    async with polling(app):
        await world.send_text(alice, "hello")
        echoed = await world.wait_for_message(alice.id, contains="hello")
        assert echoed.text == "Anda kata: hello"

        await world.send_text(alice, "/mula")
        question = await world.wait_for_message(alice.id, contains="Teruskan")
        query_id = await world.tap(alice, question, question.data_for("Ya"))
        decided = await world.wait_for_message(alice.id, contains="Pilihan")

    assert decided is question and decided.text == "Pilihan: ap:1:y" and decided.buttons == []
    answer = world.tap_answer(query_id)
    assert answer is not None and answer.text == "Baik"
    assert world.pending_updates == []  # the Application confirmed every update it handled
