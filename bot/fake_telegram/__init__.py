"""A fake Telegram Bot API server on loopback, for end-to-end tests and `ikabot demo`.

async with FakeTelegram("123:TEST") as tg:
    app = (Application.builder().token(tg.world.token)
           .base_url(tg.bot_base_url).base_file_url(tg.file_base_url).build())
    alice = tg.world.add_user(1001, "Alice")
    ...  # start polling, then:
    await tg.world.send_text(alice, "/start")
    reply = await tg.world.wait_for_message(alice.id, contains="Selamat")
"""

from bot.fake_telegram.server import FakeTelegram
from bot.fake_telegram.world import (
    GROUP_ANONYMOUS_BOT_ID,
    ApiError,
    Button,
    CallbackAnswer,
    Chat,
    Limits,
    Message,
    Revision,
    StoredFile,
    User,
    World,
    parse_formatted,
)

__all__ = [
    "GROUP_ANONYMOUS_BOT_ID",
    "ApiError",
    "Button",
    "CallbackAnswer",
    "Chat",
    "FakeTelegram",
    "Limits",
    "Message",
    "Revision",
    "StoredFile",
    "User",
    "World",
    "parse_formatted",
]
