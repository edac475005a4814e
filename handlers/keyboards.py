"""What a tap leaves of the keyboard it came from: the other cases' buttons stay."""

from __future__ import annotations

import contextlib

from telegram import CallbackQuery, InlineKeyboardMarkup, Message
from telegram.error import BadRequest

from bot.callbacks import decode


def without_case(markup: InlineKeyboardMarkup | None, ref: str) -> InlineKeyboardMarkup | None:
    """``markup`` without the buttons that act on case ``ref`` (None when nothing is left)."""
    if markup is None:
        return None
    rows = []
    for row in markup.inline_keyboard:
        kept = [button for button in row
                if getattr(decode(button.callback_data if isinstance(button.callback_data, str)
                                  else None), "ref", None) != ref]
        if kept:
            rows.append(kept)
    return InlineKeyboardMarkup(rows) if rows else None


async def drop_case_buttons(query: CallbackQuery, ref: str) -> None:
    """Take case ``ref``'s buttons off the tapped message; a reminder listing several cases
    keeps the others'."""
    message = query.message
    if not isinstance(message, Message):
        return
    kept = without_case(message.reply_markup, ref)
    if kept == message.reply_markup:
        return
    # Someone else's tap, or the bot's own edit of the card, may have got there first.
    with contextlib.suppress(BadRequest):
        await query.edit_message_reply_markup(reply_markup=kept)
