"""One-tap Ya / Tidak by top management, the optional reason, and the division's next move."""

from __future__ import annotations

import warnings
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession
from telegram import Update
from telegram.ext import (
    BaseHandler,
    CallbackQueryHandler,
    CommandHandler,
    ConversationHandler,
    MessageHandler,
    filters,
)
from telegram.warnings import PTBUserWarning

from bot.callbacks import AfterRefusal, Approve, decode, pattern
from bot.context import IkaContext
from bot.domain.case import Case
from bot.domain.rules import (
    Action,
    Close,
    Decide,
    ExplainDecision,
    Outcome,
    Reason,
    Refused,
    Revise,
    awaits_reason,
)
from bot.text import clean
from handlers.acting import actor_of, look_at, perform
from handlers.away import on_behalf
from handlers.cards import esc
from handlers.keyboards import drop_case_buttons
from handlers.replies import answer_tap, reply_about, send_about

WAITING_FOR_REASON = 0
_REASON_FOR = "reason_for"  # user_data key: the case whose Tidak awaits its reason


async def _stale(update: Update, context: IkaContext) -> None:
    if update.callback_query is not None:
        await answer_tap(update, context, context.t.gettext("This button is no longer valid."))


async def decide(update: Update, context: IkaContext) -> int:
    """Record Ya or Tidak from an approver's card; after Tidak, ask for an optional reason."""
    query = update.callback_query
    button = decode(query.data if query else None)
    if query is None or not isinstance(button, Approve):
        await _stale(update, context)
        return ConversationHandler.END
    t = context.t
    awaiting = await _reason_awaited(context, button) if not button.approve else None
    if awaiting is not None:
        # Their Tidak is recorded, but the question for its reason was lost (the bot restarted
        # in between) or is asked again: ask it again rather than refuse the tap.
        await answer_tap(update, context, t.gettext("Recorded: Tidak."), alert=False)
        return await _ask_reason(context, query.from_user.id, awaiting)

    def action(case: Case) -> Action:
        if case.round != button.round:
            raise Refused(Reason.ALREADY_DECIDED)  # a card from an earlier round
        return Decide(button.approve)

    async def acting(session: AsyncSession, case: Case) -> Action:
        chosen = action(case)  # an acting approver decides on behalf of the one away
        assert isinstance(chosen, Decide)
        return await on_behalf(session, case, chosen, query.from_user.id, context.services)

    result = await perform(context, button.ref, prepare=acting)
    if isinstance(result, str):
        await answer_tap(update, context, result)
        return ConversationHandler.END
    if button.approve:
        await answer_tap(update, context, t.gettext("Recorded: Ya. Thank you."), alert=False)
    else:
        await answer_tap(update, context, t.gettext("Recorded: Tidak."), alert=False)
    await drop_case_buttons(query, button.ref)  # a reminder's other cases keep theirs
    if button.approve:
        return ConversationHandler.END
    return await _ask_reason(context, query.from_user.id, result.case)


async def _reason_awaited(context: IkaContext, button: Approve) -> Case | None:
    """The case, when the actor's Tidak on it still awaits its reason."""
    actor = actor_of(context)
    if actor is None:
        return None
    case = await look_at(context, button.ref)
    return case if case is not None and awaits_reason(case, actor, button.round) else None


async def _ask_reason(context: IkaContext, user_id: int, case: Case) -> int:
    context.user_data[_REASON_FOR] = case.ref  # type: ignore[index]
    await send_about(
        context, user_id, case,
        context.t.gettext("Tidak on {ref} is recorded. If you wish, reply with the reason for "
                          "the lead division, or send /skip.").format(ref=esc(case.ref)),
    )
    return WAITING_FOR_REASON


async def give_reason(update: Update, context: IkaContext) -> int:
    """Attach the approver's reason to their Tidak and pass it on to the division."""
    message = update.effective_message
    ref = (context.user_data or {}).get(_REASON_FOR)
    if message is None or not isinstance(ref, str):
        return ConversationHandler.END
    result = await perform(context, ref, ExplainDecision(clean(message.text or "")))
    if isinstance(result, str):
        await message.reply_text(result)
        return WAITING_FOR_REASON  # they may shorten it, or /skip
    await reply_about(update, result.case, context.t.gettext(
        "Thank you: the reason has been passed on to the lead division."))
    context.user_data.pop(_REASON_FOR, None)  # type: ignore[union-attr]
    return ConversationHandler.END


async def skip_reason(update: Update, context: IkaContext) -> int:
    """No reason: the decision stands as it is."""
    if context.user_data is not None:
        context.user_data.pop(_REASON_FOR, None)
    if update.effective_message is not None:
        await update.effective_message.reply_text(context.t.gettext("Recorded without a reason."))
    return ConversationHandler.END


async def after_refusal(update: Update, context: IkaContext) -> None:
    """The lead division revises (back to step 2 or 3) or closes the case after Tidak."""
    query = update.callback_query
    button = decode(query.data if query else None)
    if query is None or not isinstance(button, AfterRefusal):
        await _stale(update, context)
        return
    action: Action = Close() if button.target == "close" else Revise(button.target)
    result = await perform(context, button.ref, action)
    if isinstance(result, str):
        await answer_tap(update, context, result)
        return
    await answer_tap(update, context, _confirmation(result, context), alert=False)
    if query.message is not None:
        await query.edit_message_reply_markup(reply_markup=None)


def _confirmation(outcome: Outcome, context: IkaContext) -> str:
    t = context.t
    if outcome.case.is_open:
        return t.gettext("Revised: round {round} has started.").format(round=outcome.case.round)
    return t.gettext("The case is closed as not approved.")


_PRIVATE_TEXT = filters.TEXT & ~filters.COMMAND & filters.ChatType.PRIVATE


def handlers() -> list[BaseHandler[Any, Any, Any]]:
    """This module's handlers, in the order they are tried."""
    with warnings.catch_warnings():
        # A tap only opens the conversation and its answers are messages, so
        # per_message stays off, which PTB warns about for CallbackQueryHandlers.
        warnings.filterwarnings("ignore", "If 'per_message=False'", PTBUserWarning)
        return [
            ConversationHandler(
                entry_points=[CallbackQueryHandler(decide, pattern=pattern("ap"))],
                states={
                    WAITING_FOR_REASON: [
                        CommandHandler("skip", skip_reason),
                        MessageHandler(_PRIVATE_TEXT, give_reason),
                    ],
                },
                fallbacks=[CommandHandler(["cancel", "skip"], skip_reason)],
                name="decision_reason",
                persistent=True,  # a reason typed after a restart still reaches its Tidak
                allow_reentry=True,
            ),
            CallbackQueryHandler(after_refusal, pattern=pattern("rv")),
        ]
