"""The last resort: log what went wrong and tell the user, in their language."""

from __future__ import annotations

import logging

from telegram import Update

from bot.context import IkaContext
from bot.logs import CASE_REF
from handlers.replies import answer_tap

log = logging.getLogger(__name__)


def case_of(update: object) -> str | None:
    """The case an update is about, when its text or its button names one."""
    if not isinstance(update, Update):
        return None
    query, message = update.callback_query, update.effective_message
    for text in (query.data if query else None, message.text if message else None,
                 message.caption if message else None):
        found = CASE_REF.search(text or "")
        if found is not None:
            return found.group(0)
    return None


async def report(update: object, context: IkaContext) -> None:
    """Log the error (naming the case the update is about) and apologise to the user."""
    ref = case_of(update)
    log.error("error while handling an update about %s", ref or "no case",
              exc_info=context.error, extra={"case": ref} if ref else None)
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
