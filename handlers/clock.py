"""A step's clock from the chat: /extend (more time, and AB's Lulus/Tolak), /wait and /resume.

Each command or tap changes the case through handlers.acting.perform; what it tells others
(AB's Lulus/Tolak card, the answer to the step's owner) goes out through the outbox.
"""

from __future__ import annotations

import re
from typing import Any

from telegram import Update
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler

from bot.callbacks import AnswerMoreTime, AskMoreTime, decode, pattern
from bot.context import IkaContext
from bot.domain.case import Case
from bot.domain.rules import (
    AnswerExtension,
    Reason,
    Refused,
    RequestExtension,
    ResumeWait,
    StartWait,
)
from bot.domain.sop import WaitParty
from handlers.acting import perform
from handlers.cards import esc
from handlers.clock_cards import party_label
from handlers.replies import answer_tap

REF = re.compile(r"IKA-\d{4}-\d{3,6}", re.IGNORECASE)
# What officers type for each party, in either language.
PARTY_WORDS = {
    "kln": WaitParty.KLN, "wisma": WaitParty.KLN,
    "foreign": WaitParty.FOREIGN, "asing": WaitParty.FOREIGN, "embassy": WaitParty.FOREIGN,
    "kedutaan": WaitParty.FOREIGN,
    "agc": WaitParty.AGC, "ag": WaitParty.AGC, "peguam": WaitParty.AGC, "ppn": WaitParty.AGC,
    "agency": WaitParty.AGENCY, "agensi": WaitParty.AGENCY, "bja": WaitParty.AGENCY,
}


def _ref(text: str | None) -> str | None:
    return text.upper() if text and REF.fullmatch(text) else None


def _current(case: Case) -> str:
    if case.current_step is None:
        raise Refused(Reason.CASE_CLOSED, status=case.status.value)
    return case.current_step


async def extend(update: Update, context: IkaContext) -> None:
    """/extend REF DAYS REASON: the step's owner asks AB for more working days."""
    message = update.effective_message
    if message is None:
        return
    t, args = context.t, context.args or []
    ref = _ref(args[0]) if args else None
    days = int(args[1]) if len(args) > 1 and args[1].isdigit() and len(args[1]) < 4 else None
    reason = " ".join(args[2:]).strip()
    if ref is None or days is None or not reason:
        await message.reply_text(_extend_usage(context, ref))
        return
    result = await perform(context, ref, lambda case: RequestExtension(_current(case), days,
                                                                       reason))
    if isinstance(result, str):
        await message.reply_text(result)
        return
    await message.reply_text(t.ngettext(
        "Your request for {n} more working day on {ref} has gone to Bahagian AB.",
        "Your request for {n} more working days on {ref} has gone to Bahagian AB.",
        days).format(n=days, ref=esc(ref)), protect_content=result.case.is_sulit or None)


def _extend_usage(context: IkaContext, ref: str | None) -> str:
    return context.t.gettext(
        "To ask for more time, send /extend {ref} followed by the working days and the "
        "reason, for example: /extend {ref} 5 Awaiting the AGC's comments").format(
        ref=esc(ref or "IKA-2026-001"))


async def ask_more_time(update: Update, context: IkaContext) -> None:
    """The ⏳ button on a card or reminder: how to ask, with the case filled in."""
    query = update.callback_query
    button = decode(query.data if query else None)
    if query is None or not isinstance(button, AskMoreTime):
        await answer_tap(update, context, context.t.gettext("This button is no longer valid."))
        return
    await answer_tap(update, context)
    if query.message is not None:
        await context.bot.send_message(query.message.chat.id, _extend_usage(context, button.ref))


async def answer_more_time(update: Update, context: IkaContext) -> None:
    """AB's Lulus or Tolak: the first tap decides; a late, foreign or forged one changes nothing."""
    query = update.callback_query
    button = decode(query.data if query else None)
    t = context.t
    if query is None or not isinstance(button, AnswerMoreTime):
        await answer_tap(update, context, t.gettext("This button is no longer valid."))
        return
    result = await perform(context, button.ref,
                           AnswerExtension(button.step, button.seq, button.grant))
    if isinstance(result, str):  # a refusal, however long, reaches the person in full
        await answer_tap(update, context, result)
        return
    said = t.gettext("Recorded: Lulus.") if button.grant else t.gettext("Recorded: Tolak.")
    await answer_tap(update, context, said, alert=False)
    if query.message is not None and context.user is not None:
        text = getattr(query.message, "text_html", None) or ""
        decided = (t.gettext("Lulus: granted by {name}.") if button.grant
                   else t.gettext("Tolak: not granted by {name}.")).format(
            name=esc(context.user.name))
        await query.edit_message_text(f"{text}\n\n<b>{decided}</b>", reply_markup=None)


async def wait(update: Update, context: IkaContext) -> None:
    """/wait REF PARTY [note]: the current step waits on an outside party; its clock stops."""
    message = update.effective_message
    if message is None:
        return
    t, args = context.t, context.args or []
    ref = _ref(args[0]) if args else None
    party = PARTY_WORDS.get(args[1].lower()) if len(args) > 1 else None
    if ref is None or party is None:
        await message.reply_text(t.gettext(
            "Send /wait {ref} followed by whom the step waits on (KLN, asing, AGC or agensi) "
            "and, if you wish, a note; for example: /wait {ref} KLN Awaiting the diplomatic "
            "note").format(ref=esc(ref or "IKA-2026-001")))
        return
    note = " ".join(args[2:]).strip() or None
    result = await perform(context, ref, lambda case: StartWait(_current(case), party, note))
    if isinstance(result, str):
        await message.reply_text(result)
        return
    await message.reply_text(t.gettext(
        "{ref} now waits on {party}: its clock is stopped and no overdue reminders go out. "
        "Send /resume {ref} once they answer.").format(ref=esc(ref),
                                                       party=esc(party_label(party, t))),
        protect_content=result.case.is_sulit or None)


async def resume(update: Update, context: IkaContext) -> None:
    """/resume REF: the outside party answered; the clock runs again with the days waited."""
    message = update.effective_message
    if message is None:
        return
    t, args = context.t, context.args or []
    ref = _ref(args[0]) if args else None
    if ref is None:
        await message.reply_text(t.gettext("Send /resume followed by the case reference, for "
                                           "example: /resume IKA-2026-001"))
        return
    result = await perform(context, ref, lambda case: ResumeWait(_current(case)))
    if isinstance(result, str):
        await message.reply_text(result)
        return
    run = result.case.current_run
    ended = result.events[0].data if result.events else {}
    days = int(ended.get("days", 0))
    due = (t.format_datetime(run.due_at, context.services.procedure.calendar.tz)
           if run is not None else "-")
    await message.reply_text(t.ngettext(
        "{ref} runs again after {n} working day of waiting. Now due {due}.",
        "{ref} runs again after {n} working days of waiting. Now due {due}.", days).format(
        ref=esc(ref), n=days, due=due), protect_content=result.case.is_sulit or None)


def handlers() -> list[BaseHandler[Any, Any, Any]]:
    """This module's handlers."""
    return [
        CommandHandler("extend", extend),
        CommandHandler("wait", wait),
        CommandHandler("resume", resume),
        CallbackQueryHandler(ask_more_time, pattern=pattern("xr")),
        CallbackQueryHandler(answer_more_time, pattern=pattern("xa")),
    ]
