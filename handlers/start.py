"""Greeting, help and language: /start, /help, /lang."""

from __future__ import annotations

import html
from typing import Any

from telegram import Chat, InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler

from bot.callbacks import Choice, decode, encode, pattern
from bot.context import IkaContext
from bot.domain.case import Role
from bot.messages import role_label
from handlers.menus import set_user_menu
from handlers.replies import answer_tap
from storage.prefs import set_division_language, set_user_language

LANGUAGES = {"ms": "Bahasa Melayu", "en": "English"}

async def start(update: Update, context: IkaContext) -> None:
    """Greet a registered user with who ikabot thinks they are and what they can do."""
    user, message = context.user, update.effective_message
    if user is None or message is None:
        return
    t = context.t
    division = html.escape(user.division_code or "-")
    await message.reply_text(
        t.gettext("Welcome to ikabot, {name}. You are registered as {role} ({division}).")
        .format(name=html.escape(user.name), role=role_label(Role(user.role), t),
                division=division)
        + "\n\n" + help_text(context)
    )
    await set_user_menu(context.bot, user.telegram_id, Role(user.role), context.services)


def help_text(context: IkaContext) -> str:
    """What ikabot does, in a few lines."""
    _ = context.t.gettext
    return "\n".join([
        _("ikabot follows KDN's SOP for negotiating an international cooperation instrument "
          "(IKA), step by step, and reminds each owner of what is due."),
        _("/status shows the open cases, overdue first; /status IKA-2026-001 shows one case."),
        _("/done lists your division's open steps to report done."),
        _("/lang changes the language."),
    ])


async def show_help(update: Update, context: IkaContext) -> None:
    """Answer /help."""
    if update.effective_message is not None:
        await update.effective_message.reply_text(help_text(context))


def _language_keyboard() -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([[
        InlineKeyboardButton(label, callback_data=encode(Choice("lang", code)))
        for code, label in LANGUAGES.items()
    ]])


async def ask_language(update: Update, context: IkaContext) -> None:
    """Offer the languages; in a group only an ikabot administrator may change it."""
    message, chat = update.effective_message, update.effective_chat
    if message is None or chat is None:
        return
    if chat.type != Chat.PRIVATE and not _is_admin(context):
        await message.reply_text(context.t.gettext(
            "Only an ikabot administrator can change this group's language."))
        return
    await message.reply_text(context.t.gettext("Choose a language:"),
                             reply_markup=_language_keyboard())


def _is_admin(context: IkaContext) -> bool:
    return context.user is not None and context.user.role == Role.ADMIN.value


async def choose_language(update: Update, context: IkaContext) -> None:
    """Store the language tapped, for the user (private) or the group (administrators only)."""
    query, chat = update.callback_query, update.effective_chat
    button = decode(query.data if query else None)
    if query is None or chat is None or context.user is None:
        return
    if not isinstance(button, Choice) or button.field != "lang" or button.value not in LANGUAGES:
        await answer_tap(update, context, context.t.gettext("This button is no longer valid."))
        return
    group = chat.type != Chat.PRIVATE
    if group and (not _is_admin(context) or context.chat_division is None):
        await answer_tap(update, context, context.t.gettext(
            "Only an ikabot administrator can change this group's language."))
        return
    async with context.services.sessions() as session, session.begin():
        if group and context.chat_division is not None:
            await set_division_language(session=session, code=context.chat_division.code,
                                        lang=button.value)
        else:
            await set_user_language(session=session, telegram_id=context.user.telegram_id,
                                    lang=button.value)
    t = context.services.translator(button.value)
    await query.answer()
    await query.edit_message_text(t.gettext("Language set: {language}.").format(
        language=LANGUAGES[button.value]))


def handlers() -> list[BaseHandler[Any, Any, Any]]:
    """This module's handlers, in the order they are tried."""
    return [
        CommandHandler("start", start),
        CommandHandler("help", show_help),
        CommandHandler("lang", ask_language),
        CallbackQueryHandler(choose_language, pattern=pattern("ch:1:lang")),
    ]
