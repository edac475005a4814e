"""Answering a tap within Telegram's limits: an alert is at most 200 characters."""

from __future__ import annotations

import logging

from telegram import CallbackQuery, Update
from telegram.error import BadRequest, Forbidden

from bot.context import IkaContext
from bot.text import telegram_length

log = logging.getLogger(__name__)

MAX_ALERT = 200  # characters (UTF-16 code units, as Telegram counts them)


def _shortened(text: str) -> str:
    """``text`` cut to fit an alert, with an ellipsis."""
    cut = text
    while telegram_length(cut) > MAX_ALERT - 1:
        cut = cut[:-1]
    return cut.rstrip() + "…"


async def _answer(query: CallbackQuery, text: str | None, *, alert: bool) -> None:
    try:
        await query.answer(text, show_alert=alert)
    except BadRequest as error:
        # A tap delivered again after a restart was answered before, or waited too long: the
        # person's client has stopped waiting, and what else the handler does still counts.
        if "query is too old" not in error.message.lower():
            raise
        log.info("a tap could not be answered any more: %s", error.message)


async def answer_tap(update: Update, context: IkaContext, text: str | None = None, *,
                     alert: bool = True) -> None:
    """Answer the update's tap with ``text`` (see ``answer_query``)."""
    if update.callback_query is not None:
        await answer_query(update.callback_query, context, text, alert=alert)


async def answer_query(query: CallbackQuery, context: IkaContext, text: str | None = None, *,
                       alert: bool = True) -> None:
    """Answer a tap with ``text``, as an alert; one too long for an alert is answered briefly
    and sent in full to the person's private chat."""
    if text is None or telegram_length(text) <= MAX_ALERT:
        await _answer(query, text, alert=alert and text is not None)
        return
    try:
        # Plain text, as the alert would have shown it.
        await context.bot.send_message(query.from_user.id, text, parse_mode=None)
    except Forbidden:  # no private chat with the bot yet: as much as an alert holds
        await _answer(query, _shortened(text), alert=True)
        return
    await _answer(query, context.t.gettext(
        "The full answer is in your private chat with the bot."), alert=True)


async def tell(update: Update, context: IkaContext, text: str, *, alert: bool = True) -> None:
    """Answer a tap (as an alert, see ``answer_tap``) or reply to a message."""
    if update.callback_query is not None:
        await answer_tap(update, context, text, alert=alert)
    elif update.effective_message is not None:
        await update.effective_message.reply_text(text)
