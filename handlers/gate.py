"""Who is writing, in which language, and whether the bot acts for them at all."""

from __future__ import annotations

from telegram import Chat, Update
from telegram.ext import ApplicationHandlerStop

from bot.context import IkaContext
from handlers.replies import answer_tap

# Telegram's stand-in sender for a group admin who posts as the group.
ANONYMOUS_ADMIN_ID = 1087968824
# What an unbound group may still send; an unknown user may only redeem an invite link.
OPEN_IN_UNBOUND_GROUPS = ("/bind",)


def guess_language(code: str | None) -> str | None:
    """ikabot's language for a Telegram language code, if it speaks it."""
    prefix = (code or "").split("-")[0].lower()
    return prefix if prefix in ("ms", "en") else None


def _command(update: Update) -> str | None:
    message = update.effective_message
    text = (message.text or "") if message else ""
    if not text.startswith("/"):
        return None
    return text.split()[0].split("@")[0].lower()


def _is_invite(update: Update) -> bool:
    """A deep link `/start PAYLOAD`: how an invited person first reaches the bot."""
    message = update.effective_message
    words = (message.text or "").split() if message else []
    return len(words) == 2 and _command(update) == "/start"


def _not_for_the_bot(update: Update) -> bool:
    """An edit, a channel's post or a channel's post copied into its discussion group.

    An edited message is the same message again: handled, it would run its command or its
    conversation step a second time. Channels speak to their subscribers, not to the bot.
    """
    if update.edited_message is not None or update.edited_channel_post is not None:
        return True
    if update.channel_post is not None:
        return True
    return update.message is not None and bool(update.message.is_automatic_forward)


async def identify(update: Update, context: IkaContext) -> None:
    """Load the user and the chat's division, choose the language, and stop for strangers."""
    if _not_for_the_bot(update):
        raise ApplicationHandlerStop  # silently
    services = context.services
    tg_user, chat = update.effective_user, update.effective_chat
    org = await services.org.get()  # in memory until the org changes: no query per update
    user = org.user(tg_user.id) if tg_user else None
    division = (org.division_by_chat(chat.id)
                if chat is not None and chat.type != Chat.PRIVATE else None)
    context.user = user if user is not None and user.active else None
    context.chat_division = division
    if chat is not None and chat.type != Chat.PRIVATE:
        lang = division.language if division else None
    else:
        lang = user.language if user and user.language else None
    context.t = services.translator(lang or guess_language(tg_user.language_code if tg_user
                                                           else None))
    await _stop_unless_allowed(update, context)


async def _stop_unless_allowed(update: Update, context: IkaContext) -> None:
    chat, message, query = update.effective_chat, update.effective_message, update.callback_query
    _ = context.t.gettext
    if chat is None:
        return
    anonymous = message is not None and (
        (message.sender_chat is not None and message.sender_chat.id == chat.id)
        or (message.from_user is not None and message.from_user.id == ANONYMOUS_ADMIN_ID)
    )
    if anonymous and message is not None and query is None:
        await message.reply_text(_(
            "You are posting anonymously as the group, so ikabot cannot tell who you are. "
            "Please write as yourself (turn off \"Remain anonymous\" in your admin rights)."
        ))
        raise ApplicationHandlerStop
    unbound = chat.type != Chat.PRIVATE and context.chat_division is None
    if unbound and _command(update) not in OPEN_IN_UNBOUND_GROUPS:
        if message is not None and message.new_chat_members:
            await message.reply_text(_(
                "This group is not bound to a division yet, so ikabot will not act here. "
                "An ikabot administrator can bind it with /bind CODE."
            ))
        elif query is not None:
            await answer_tap(update, context, _("This group is not bound to a division yet."))
        raise ApplicationHandlerStop
    if context.user is not None or _is_invite(update):
        return
    stranger = update.effective_user
    if stranger is None:
        raise ApplicationHandlerStop
    text = _(
        "You are not registered with ikabot. Please give your Telegram ID {id} to an ikabot "
        "administrator."
    ).format(id=stranger.id)
    if query is not None:
        await answer_tap(update, context, text)
    elif message is not None:
        await message.reply_text(text)
    raise ApplicationHandlerStop
