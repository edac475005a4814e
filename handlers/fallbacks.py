"""What no other handler took: every tap is answered, a private message is pointed to /help."""

from __future__ import annotations

from typing import Any

from telegram import Update
from telegram.ext import BaseHandler, CallbackQueryHandler, MessageHandler, filters

from bot.context import IkaContext
from handlers.replies import answer_tap


async def answer_unknown_tap(update: Update, context: IkaContext) -> None:
    """A button no handler knows (an old version's, a client's truncation): say so, so that
    the person's client stops waiting."""
    await answer_tap(update, context, context.t.gettext("This button is no longer valid."))


async def point_to_help(update: Update, context: IkaContext) -> None:
    """A private message that is no command the bot knows and no answer it waits for."""
    if update.effective_message is not None:
        await update.effective_message.reply_text(context.t.gettext(
            "I did not understand that. Send /help to see what I can do."))


def handlers() -> list[BaseHandler[Any, Any, Any]]:
    """The last handlers of their group: they take whatever the others left."""
    # Groups stay quiet: there the bot hears people talk to each other.
    private = filters.ChatType.PRIVATE & ~filters.StatusUpdate.ALL
    return [
        CallbackQueryHandler(answer_unknown_tap),
        MessageHandler(private, point_to_help),
    ]
