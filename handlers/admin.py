"""Who is who: /invite (a one-time registration link), redeeming it, and /bind for group chats."""

from __future__ import annotations

import contextlib
import html
import warnings
from datetime import datetime, timedelta
from typing import Any

from telegram import Chat, InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import (
    BaseHandler,
    CallbackQueryHandler,
    CommandHandler,
    ConversationHandler,
    MessageHandler,
    filters,
)
from telegram.warnings import PTBUserWarning

from bot.callbacks import Choice, decode, encode, pattern
from bot.context import IkaContext
from bot.domain.case import Role
from bot.domain.reminders import Joined
from bot.messages import role_label
from bot.text import clean
from handlers import start
from handlers.cards import division_label, division_name
from handlers.gate import guess_language
from handlers.replies import answer_tap
from storage.cases import UnknownDivision
from storage.chats import bind_chat
from storage.invites import InviteProblem, InviteRefused, create_invite, redeem_invite
from storage.models import NAME, Division
from storage.nudges import plan
from storage.org import get_division, list_divisions

# The /invite conversation's states. Stored as they are (storage/persistence.py), so they are
# names, never numbers: a new step between two others must not change what a stored one means.
ROLE, DIVISION, PERSON = "role", "division", "name"
CONVERSATION = "invite"  # the conversation's name in the database: never rename it
DRAFT = "invite"  # the user_data key of the answers given so far
ROLE_BUTTON, DIVISION_BUTTON = "inv_role", "inv_div"
NO_DIVISION = "-"  # division codes are upper-case letters and digits: never "-"
INVITABLE = (Role.ADMIN, Role.AB, Role.OFFICER, Role.MANAGEMENT, Role.VIEWER)


def is_admin(context: IkaContext) -> bool:
    """Whether the user acting is an (active) ikabot administrator."""
    return context.user is not None and context.user.role == Role.ADMIN.value



# --- /invite -----------------------------------------------------------------------------------


async def ask_role(update: Update, context: IkaContext) -> str | int:
    """Start an invitation: administrators only, in their private chat."""
    message, chat = update.effective_message, update.effective_chat
    _ = context.t.gettext
    if message is None or chat is None:
        return ConversationHandler.END
    if not is_admin(context):
        await message.reply_text(_("Only an ikabot administrator can invite people."))
        return ConversationHandler.END
    if chat.type != Chat.PRIVATE:
        await message.reply_text(_(
            "Please use /invite in your private chat with ikabot: the link it makes is for "
            "one person only."))
        return ConversationHandler.END
    if context.user_data is not None:
        context.user_data[DRAFT] = {}
    buttons = [[InlineKeyboardButton(role_label(role, context.t),
                                     callback_data=encode(Choice(ROLE_BUTTON, role.value)))]
               for role in INVITABLE]
    await message.reply_text(_("Whom are you inviting? Choose their role (/cancel to stop):"),
                             reply_markup=InlineKeyboardMarkup(buttons))
    return ROLE


async def choose_role(update: Update, context: IkaContext) -> str | int:
    """Keep the role tapped and offer the divisions."""
    query, draft = update.callback_query, _draft(context)
    button = decode(query.data if query else None)
    if query is None:
        return ROLE
    if not is_admin(context) or draft is None:
        return await _give_up(update, context)
    if not isinstance(button, Choice) or button.value not in {r.value for r in INVITABLE}:
        await answer_tap(update, context, context.t.gettext("This button is no longer valid."))
        return ROLE
    role = Role(button.value)
    draft["role"] = role.value
    async with context.services.sessions() as session:
        divisions = await list_divisions(session=session)
    buttons = [[InlineKeyboardButton(f"{d.code} · {division_name(d, context.t)}",
                                     callback_data=encode(Choice(DIVISION_BUTTON, d.code)))]
               for d in divisions]
    if role is not Role.OFFICER:  # an officer reports for a division; anyone else may have none
        buttons.append([InlineKeyboardButton(
            context.t.gettext("No division"),
            callback_data=encode(Choice(DIVISION_BUTTON, NO_DIVISION)))])
    await query.answer()
    await query.edit_message_text(
        context.t.gettext("Role: {role}. Choose their division:").format(
            role=role_label(role, context.t)),
        reply_markup=InlineKeyboardMarkup(buttons))
    return DIVISION


async def choose_division(update: Update, context: IkaContext) -> str | int:
    """Keep the division tapped (checked against the database) and ask for the name."""
    query, draft = update.callback_query, _draft(context)
    button = decode(query.data if query else None)
    if query is None:
        return DIVISION
    if not is_admin(context) or draft is None or "role" not in draft:
        return await _give_up(update, context)
    role = Role(draft["role"])
    division: Division | None = None
    if isinstance(button, Choice) and button.value != NO_DIVISION:
        async with context.services.sessions() as session:
            division = await get_division(session=session, code=button.value)
    valid = isinstance(button, Choice) and (
        division is not None or (button.value == NO_DIVISION and role is not Role.OFFICER))
    if not valid:
        await answer_tap(update, context, context.t.gettext("This button is no longer valid."))
        return DIVISION
    draft["division"] = division.code if division else None
    await query.answer()
    await query.edit_message_text(
        context.t.gettext("Role: {role}. Division: {division}.\nNow type the person's full "
                          "name, as their colleagues know it:").format(
            role=role_label(role, context.t), division=division_label(division, context.t)))
    return PERSON


async def make_invite(update: Update, context: IkaContext) -> str | int:
    """Take the name typed, store the invitation and show its one-time link."""
    message, draft, user = update.effective_message, _draft(context), context.user
    _ = context.t.gettext
    if message is None or message.text is None:
        return PERSON
    if user is None or not is_admin(context) or draft is None or "division" not in draft:
        return await _give_up(update, context)
    name = " ".join(clean(message.text).split())
    if not name or len(name) > NAME:
        await message.reply_text(_("Please type the person's name, in at most {max} characters.")
                                 .format(max=NAME))
        return PERSON
    services = context.services
    role = Role(draft["role"])
    async with services.sessions() as session, session.begin():
        division = (await get_division(session=session, code=draft["division"])
                    if draft["division"] else None)
        code, invite = await create_invite(
            session=session, role=role, division=draft["division"], name=name,
            created_by=user.telegram_id, now=services.now(),
            ttl=timedelta(hours=services.settings.invite_ttl_hours))
    link = f"https://t.me/{context.bot.username}?start={code}"
    await message.reply_text(_(
        "Invitation for {name}: {role}, {division}.\nSend them this link. It registers the "
        "first person who opens it, once, until {expires}:\n{link}"
    ).format(name=html.escape(name), role=role_label(role, context.t),
             division=division_label(division, context.t), link=link,
             expires=_moment(invite.expires_at, context)))
    _forget(context)
    return ConversationHandler.END


async def cancel_invite(update: Update, context: IkaContext) -> int:
    """Leave the invitation half made: nothing is stored."""
    _forget(context)
    if update.effective_message is not None:
        await update.effective_message.reply_text(
            context.t.gettext("Invitation cancelled; no link was made."))
    return ConversationHandler.END


async def stale_button(update: Update, context: IkaContext) -> None:
    """A button of an invitation that is finished, cancelled or further along."""
    if update.callback_query is not None:
        await answer_tap(update, context, context.t.gettext("This button is no longer valid."))


def _invite_button(data: object) -> bool:
    """Whether a button's data is one of the invitation's (pattern of stale_button)."""
    button = decode(data if isinstance(data, str) else None)
    return isinstance(button, Choice) and button.field in (ROLE_BUTTON, DIVISION_BUTTON)


def _draft(context: IkaContext) -> dict[str, Any] | None:
    data = context.user_data
    draft = data.get(DRAFT) if data is not None else None
    return draft if isinstance(draft, dict) else None


def _forget(context: IkaContext) -> None:
    if context.user_data is not None:
        context.user_data.pop(DRAFT, None)


async def _give_up(update: Update, context: IkaContext) -> int:
    """End a conversation that can no longer go on (rights withdrawn, or the draft lost)."""
    _forget(context)
    text = (context.t.gettext("Please start again with /invite.") if is_admin(context)
            else context.t.gettext("Only an ikabot administrator can invite people."))
    if update.callback_query is not None:
        await answer_tap(update, context, text)
    elif update.effective_message is not None:
        await update.effective_message.reply_text(text)
    return ConversationHandler.END


def _moment(moment: datetime, context: IkaContext) -> str:
    return context.t.format_datetime(moment, context.services.procedure.calendar.tz)


# --- /start CODE: the invited person arrives -------------------------------------------------


async def join(update: Update, context: IkaContext) -> None:
    """Register the person opening an invitation link, and greet them as /start does."""
    message, person = update.effective_message, update.effective_user
    if message is None or person is None or not context.args:
        return
    services = context.services
    now = services.now()
    try:
        async with services.sessions() as session, session.begin():
            user, invite = await redeem_invite(
                session=session, code=context.args[0], telegram_id=person.id,
                language=guess_language(person.language_code), now=now)
            # The administrator who made the link is told it worked, through the outbox: in
            # this transaction, retried until Telegram has it (handlers/notify.py words it).
            assert invite.id is not None
            told = services.procedure.planner.joined(
                invite.id, invite.created_by, Joined(invite.role, invite.division_code,
                                                     invite.name), now)
            await plan(session=session, nudges=[told], now=now)
    except InviteRefused as refused:
        await message.reply_text(_refusal(refused, context))
        return
    services.wake_outbox()
    context.user = user
    context.t = services.translator(user.language)
    await start.start(update, context)  # the greeting with their role, and their menu


def _refusal(refused: InviteRefused, context: IkaContext) -> str:
    _ = context.t.gettext
    match refused.problem:
        case InviteProblem.EXPIRED if refused.expires_at is not None:
            return _("This invitation link expired on {expires}. Please ask an ikabot "
                     "administrator for a new one.").format(
                expires=_moment(refused.expires_at, context))
        case InviteProblem.USED:
            return _("This invitation link has been used already. Please ask an ikabot "
                     "administrator for a new one.")
        case InviteProblem.REGISTERED:
            return _("You are registered with ikabot already, so this invitation was not "
                     "used. Send /start to see what you can do.")
    return _("This invitation link is not valid. Please ask an ikabot administrator for a "
             "new one.")


# --- /bind CODE in a group -------------------------------------------------------------------


async def bind(update: Update, context: IkaContext) -> None:
    """Make this group a division's chat: administrators only."""
    message, chat, user = update.effective_message, update.effective_chat, context.user
    _ = context.t.gettext
    if message is None or chat is None or user is None:
        return
    if chat.type == Chat.PRIVATE:
        await message.reply_text(_("Send /bind CODE in the group that should become the "
                                   "division's chat."))
        return
    if not is_admin(context):
        await message.reply_text(_("Only an ikabot administrator can bind a group to a "
                                   "division."))
        return
    services = context.services
    code = context.args[0].upper()[:32] if context.args else ""
    binding = None
    if code:
        with contextlib.suppress(UnknownDivision):
            async with services.sessions() as session, session.begin():
                binding = await bind_chat(session=session, code=code, chat_id=chat.id,
                                          actor_id=user.telegram_id, now=services.now())
    if binding is None:
        async with services.sessions() as session:
            codes = ", ".join(d.code for d in await list_divisions(session=session))
        answer = (
            _("Unknown division code {code}. The codes are: {codes}.").format(
                code=html.escape(code), codes=codes) if code and codes else
            _("Which division? Send /bind CODE with one of: {codes}.").format(codes=codes)
            if codes else
            _("There are no divisions yet: they are loaded from an org file with "
              "<code>ikabot org import FILE</code>."))
        # The group's id, for an org file's chat_id: the bot is where an operator learns it.
        where = _("This group's chat id is <code>{chat_id}</code>.").format(chat_id=chat.id)
        await message.reply_text(f"{answer}\n{where}")
        return
    t = services.translator(binding.division.language)  # the group now reads its language
    division = division_label(binding.division, t)
    if binding.unchanged:
        await message.reply_text(t.gettext("This group is the chat of the {division} already.")
                                 .format(division=division))
        return
    lines = [t.gettext("This group is now the chat of the {division}: ikabot sends the division's "
                       "messages here.").format(division=division)]
    if binding.moved_from is not None:
        lines.append(t.gettext("It was the chat of the {previous} until now; the {previous} has "
                               "no group chat any more.").format(
            previous=division_label(binding.moved_from, t)))
    if binding.replaced_chat is not None:
        lines.append(t.gettext("The division's previous group chat no longer receives its "
                               "messages."))
    await message.reply_text("\n".join(lines))


# --- the handlers ------------------------------------------------------------------------------


def handlers() -> list[BaseHandler[Any, Any, Any]]:
    """This module's handlers, in order; new ones for every application.

    Built afresh rather than kept in a module list: a ConversationHandler holds its chats'
    states, and two applications (a test's restart) must not share them.
    """
    with warnings.catch_warnings():
        # PTB warns that with per_message=False a button is tracked per chat and user, not per
        # message: exactly what this conversation wants (one invitation at a time per admin).
        warnings.filterwarnings("ignore", "If 'per_message=False'", PTBUserWarning)
        invite = ConversationHandler(
            entry_points=[CommandHandler("invite", ask_role)],
            states={
                ROLE: [CallbackQueryHandler(choose_role, pattern=pattern(f"ch:1:{ROLE_BUTTON}"))],
                DIVISION: [CallbackQueryHandler(choose_division,
                                                pattern=pattern(f"ch:1:{DIVISION_BUTTON}"))],
                PERSON: [MessageHandler(filters.TEXT & ~filters.COMMAND, make_invite)],
            },
            # No fallback for stray text: it may be the answer to another conversation.
            fallbacks=[CommandHandler("cancel", cancel_invite)],
            allow_reentry=True,
            name=CONVERSATION,
            persistent=True,
        )
    return [
        invite,
        CallbackQueryHandler(stale_button, pattern=_invite_button),
        # An invitation link opens the private chat with `/start CODE`; a plain /start is
        # start.py's, and must come after this.
        CommandHandler("start", join, filters=filters.ChatType.PRIVATE, has_args=True),
        CommandHandler("bind", bind),
    ]
