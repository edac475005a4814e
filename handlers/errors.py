"""The last resort: log what went wrong and tell the user, in their language."""

from __future__ import annotations

import logging

from telegram import Update

from bot.context import IkaContext
from handlers.replies import answer_tap

log = logging.getLogger(__name__)


async def report(update: object, context: IkaContext) -> None:
    """Log the error and apologise to the user, if there is one to tell."""
    log.error("error while handling an update", exc_info=context.error)
    if not isinstance(update, Update) or update.effective_chat is None:
        return
    text = context.t.gettext(
        "Sorry, something went wrong and your last action was not saved. Please try again; "
        "if it keeps happening, tell the ikabot administrator."
    )
    if update.callback_query is not None:
        await answer_tap(update, context, text)
    else:
        await context.bot.send_message(update.effective_chat.id, text)
