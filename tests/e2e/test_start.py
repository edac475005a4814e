"""Who is who: greetings, strangers, unbound groups, anonymous admins, languages."""

from tests.e2e.conftest import CHATS, Bot


async def test_registered_user_is_greeted_in_malay_by_default(bot: Bot) -> None:
    aminah = bot.user(1001)
    await bot.world.send_text(aminah, "/start")
    reply = await bot.world.wait_for_message(aminah.id)
    assert "Selamat datang" in reply.text and "Aminah" in reply.text


async def test_stranger_gets_one_line_with_their_id(bot: Bot) -> None:
    stranger = bot.world.add_user(777, "Stranger", language_code="en")
    await bot.world.send_text(stranger, "/status")
    reply = await bot.world.wait_for_message(stranger.id)
    assert "777" in reply.text and "not registered" in reply.text


async def test_language_switch_is_remembered(bot: Bot) -> None:
    aminah = bot.user(1001)
    await bot.world.send_text(aminah, "/lang")
    card = await bot.world.wait_for_message(aminah.id)
    await bot.world.tap(aminah, card, card.data_for("English"))
    await bot.world.wait_for_message(aminah.id, contains="Language set")
    await bot.world.send_text(aminah, "/help")
    reply = await bot.world.wait_for_message(aminah.id, contains="/status")
    assert "shows the open cases" in reply.text


async def test_unbound_group_acts_on_nothing(bot: Bot) -> None:
    group = bot.world.add_group(-1009999, "Random group", members=[bot.user(1001)])
    bot.world.bot_added_to_group(group.id, bot.user(1001))
    reply = await bot.world.wait_for_message(group.id)
    assert "/bind" in reply.text
    await bot.world.send_text(bot.user(1001), "/status", chat=group.id)
    assert bot.world.messages(group.id) == [reply]


async def test_anonymous_admin_is_asked_to_write_as_themselves(bot: Bot) -> None:
    await bot.world.send_anonymous(CHATS["AB"], "/status")
    reply = await bot.world.wait_for_message(CHATS["AB"])
    assert "tanpa nama" in reply.text or "anonymously" in reply.text
