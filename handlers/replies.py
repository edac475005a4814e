"""Answering within Telegram's limits (an alert is at most 200 characters), and replying
about cases: every direct reply about a Sulit case is protected (it cannot be forwarded or
saved), through ``reply_about``, ``send_about`` or ``tell(..., about=case)``."""

from __future__ import annotations

import logging
from collections.abc import Iterable

from telegram import CallbackQuery, Chat, InlineKeyboardMarkup, Message, Update
from telegram.error import BadRequest, Forbidden

from bot.context import IkaContext
from bot.domain.case import Case
from bot.text import telegram_length

About = Case | Iterable[Case] | None  # what a reply speaks of: a case, a page of them, none

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


def protected(about: About) -> bool | None:
    """``protect_content`` for a message about ``about``: True when a case in it is Sulit
    (None leaves Telegram's default)."""
    cases = [about] if isinstance(about, Case) else list(about or ())
    return True if any(case.is_sulit for case in cases) else None


async def reply_about(update: Update, about: About, text: str, *,
                      reply_markup: InlineKeyboardMarkup | None = None) -> Message | None:
    """Reply to the update's message with ``text`` about ``about`` (protected if Sulit)."""
    message = update.effective_message
    if message is None:
        return None
    return await message.reply_text(text, reply_markup=reply_markup,
                                    protect_content=protected(about))


async def send_about(context: IkaContext, chat_id: int, about: About, text: str, *,
                     reply_markup: InlineKeyboardMarkup | None = None) -> Message:
    """Send ``text`` about ``about`` to ``chat_id`` (protected if Sulit)."""
    return await context.bot.send_message(chat_id, text, reply_markup=reply_markup,
                                          protect_content=protected(about))


async def answer_tap(update: Update, context: IkaContext, text: str | None = None, *,
                     alert: bool = True, about: About = None) -> None:
    """Answer the update's tap with ``text`` (see ``answer_query``)."""
    if update.callback_query is not None:
        await answer_query(update.callback_query, context, text, alert=alert, about=about)


async def answer_query(query: CallbackQuery, context: IkaContext, text: str | None = None, *,
                       alert: bool = True, about: About = None) -> None:
    """Answer a tap with ``text``, as an alert; one too long for an alert is answered briefly
    and sent in full to the person's private chat (protected when ``about`` is Sulit)."""
    if text is None or telegram_length(text) <= MAX_ALERT:
        await _answer(query, text, alert=alert and text is not None)
        return
    try:
        # Plain text, as the alert would have shown it.
        await context.bot.send_message(query.from_user.id, text, parse_mode=None,
                                       protect_content=protected(about))
    except Forbidden:  # no private chat with the bot yet: as much as an alert holds
        await _answer(query, _shortened(text), alert=True)
        return
    await _answer(query, context.t.gettext(
        "The full answer is in your private chat with the bot."), alert=True)


async def tell(update: Update, context: IkaContext, text: str, *, alert: bool = True,
               about: About = None) -> None:
    """Answer a tap (as an alert, see ``answer_tap``) or reply to a message, about ``about``."""
    if update.callback_query is not None:
        await answer_tap(update, context, text, alert=alert, about=about)
    else:
        await reply_about(update, about, text)


async def ask_in_private(update: Update, context: IkaContext, text: str, about: About,
                         markup: InlineKeyboardMarkup | None = None) -> None:
    """Ask in the user's private chat (where plain replies reach the bot), and say so when
    the tap came from a group."""
    user = update.effective_user
    if user is None:
        return
    chat = update.effective_chat
    if update.callback_query is not None:
        note = (context.t.gettext("Please continue in your private chat with the bot.")
                if chat is not None and chat.type != Chat.PRIVATE else None)
        await answer_tap(update, context, note)
    await send_about(context, user.id, about, text, reply_markup=markup)
