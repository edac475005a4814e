"""A step's clock from the chat: /extend (more time, and AB's Lulus/Tolak), /wait and /resume.

Each command or tap changes the case through handlers.acting.perform; what it tells others
(AB's Lulus/Tolak card, the answer to the step's owner) goes out through the outbox.
"""

from __future__ import annotations

import re
from typing import Any

from telegram import Update
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler, ConversationHandler

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
from bot.messages import step_heading
from bot.text import clean
from handlers.acting import look_at, perform, refusal_of
from handlers.cards import esc
from handlers.clock_cards import party_label
from handlers.replies import answer_tap, ask_in_private, reply_about

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
    args = context.args or []
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
    await reply_about(update, result.case, _asked_for(context, days, ref))


def _extend_usage(context: IkaContext, ref: str | None) -> str:
    return context.t.gettext(
        "To ask for more time, send /extend {ref} followed by the working days and the "
        "reason, for example: /extend {ref} 5 Awaiting the AGC's comments").format(
        ref=esc(ref or "IKA-2026-001"))


# The ⏳ button's questions are states of steps' report conversation (handlers.steps): one
# conversation per person, so a tap on ⏳ takes over from a report left half-answered.
ASK_DAYS, ASK_WHY = "more_time_days", "more_time_why"
MORE_TIME = "more_time"  # user_data key: {"ref", "step", and "days" once given}


async def ask_more_time(update: Update, context: IkaContext) -> object:
    """The ⏳ button on a step's card or reminder: how many more working days, and why, asked
    in the private chat; the request goes to AB once both are answered."""
    query = update.callback_query
    button = decode(query.data if query else None)
    t = context.t
    if not isinstance(button, AskMoreTime):
        await answer_tap(update, context, t.gettext("This button is no longer valid."))
        return ConversationHandler.END
    # Asked only of someone whose request the rules would take (any days, any reason).
    case = await look_at(context, button.ref)
    refused = refusal_of(context, button.ref, case, RequestExtension(button.step, 1, "-"))
    if refused is not None or case is None:
        await answer_tap(update, context, refused, about=case)
        return ConversationHandler.END
    context.user_data[MORE_TIME] = {"ref": button.ref, "step": button.step}  # type: ignore[index]
    procedure = context.services.procedure
    title = step_heading(procedure.sop, button.step, t)
    question = t.gettext("How many more working days do you ask for? A number from 1 to "
                         "{limit}.").format(limit=procedure.sop.policy.extension_max_days)
    await ask_in_private(update, context, f"<b>{esc(case.ref)}</b> · {esc(title)}\n{question}\n"
                         + t.gettext("/cancel to stop."), case)
    return ASK_DAYS


def _asked(context: IkaContext) -> dict[str, Any]:
    data = context.user_data.get(MORE_TIME) if context.user_data is not None else None
    return data if isinstance(data, dict) else {}


async def got_days(update: Update, context: IkaContext) -> object:
    """The working days asked for: a whole number within the SOP's limit, or asked again."""
    message, data, t = update.effective_message, _asked(context), context.t
    if message is None or "ref" not in data:
        return ConversationHandler.END
    limit = context.services.procedure.sop.policy.extension_max_days
    typed = clean(message.text or "").strip()
    if not (typed.isdigit() and len(typed) < 4 and 1 <= int(typed) <= limit):
        await message.reply_text(t.gettext("Give the number of working days, from 1 to "
                                           "{limit}.").format(limit=limit))
        return ASK_DAYS
    data["days"] = int(typed)
    await message.reply_text(t.gettext("Why is more time needed? A line or two for Bahagian "
                                       "AB."))
    return ASK_WHY


async def got_reason(update: Update, context: IkaContext) -> object:
    """The reason: the request is made (one transaction), AB's Lulus/Tolak card on its way."""
    message, data = update.effective_message, _asked(context)
    if message is None or "days" not in data:
        return ConversationHandler.END
    context.user_data.pop(MORE_TIME, None)  # type: ignore[union-attr]
    result = await perform(context, data["ref"], RequestExtension(
        data["step"], data["days"], clean(message.text or "")))
    if isinstance(result, str):
        await message.reply_text(result)
        return ConversationHandler.END
    await reply_about(update, result.case, _asked_for(context, data["days"], data["ref"]))
    return ConversationHandler.END


def _asked_for(context: IkaContext, days: int, ref: str) -> str:
    return context.t.ngettext(
        "Your request for {n} more working day on {ref} has gone to Bahagian AB.",
        "Your request for {n} more working days on {ref} has gone to Bahagian AB.",
        days).format(n=days, ref=esc(ref))


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
        CallbackQueryHandler(answer_more_time, pattern=pattern("xa")),
    ]
