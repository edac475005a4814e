"""Reporting a step done from a phone: the card's buttons, /done, and what each step asks for.

A tap on a step card in a group continues in the officer's private chat when the step needs
details (a date, a reference, a file), so that plain replies reach the bot.
"""

from __future__ import annotations

import contextlib
import hashlib
import re
import warnings
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession
from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.error import BadRequest
from telegram.ext import (
    BaseHandler,
    CallbackQueryHandler,
    CommandHandler,
    ConversationHandler,
    MessageHandler,
    filters,
)
from telegram.warnings import PTBUserWarning

from bot.callbacks import (
    Choice,
    Report,
    ToggleInput,
    choice_pattern,
    decode,
    encode,
    pattern,
)
from bot.context import IkaContext
from bot.dates import parse_date
from bot.domain.case import Case
from bot.domain.rules import (
    MAX_FILENAME,
    SIGNING_DATES,
    Action,
    AddNote,
    Attach,
    CompleteStep,
    DocumentDelivered,
    Filed,
    MeetingHeld,
    NegotiationHeld,
    NoteSent,
    Outcome,
    RecordSigning,
    RequestInputs,
    ScheduleNegotiation,
    SubmitMemo,
    TickInput,
    may_act_on,
)
from bot.domain.sop import Capture, StepDef
from bot.messages import step_heading
from bot.text import clean, fit_file_name
from handlers import clock
from handlers.acting import PrepareAction, actor_of, look_at, perform, refusal_of
from handlers.cards import esc, input_state, step_card
from handlers.clock_cards import signing_summary
from handlers.keyboards import drop_case_buttons
from handlers.replies import answer_tap, ask_in_private, reply_about, send_about, tell
from handlers.status import done_answer
from storage.cases import add_document

ASK_DATE, ASK_REFERENCE, ASK_START, ASK_END, ASK_VENUE, ASK_DOCUMENT, ASK_ATTACHMENT = range(7)
# After filing, the signed instrument's dates, each asked in turn (stored states: numbers
# after the others', so that saved conversations keep their meaning).
ASK_SIGNED_ON, ASK_IN_FORCE_ON, ASK_EXPIRES_ON = 7, 8, 9
DATE_STATES = dict(zip(SIGNING_DATES, (ASK_SIGNED_ON, ASK_IN_FORCE_ON, ASK_EXPIRES_ON),
                       strict=True))
SKIP = "filed_date"  # Choice field of the "Skip" button under a signing date's question
_REPORT = "report"  # user_data key: {"ref", "step", and what was typed so far}
MAX_DOCUMENT_BYTES = 20 * 1024 * 1024  # what the Bot API lets a bot download


# --- helpers ---------------------------------------------------------------------------------


def _done_text(outcome: Outcome, context: IkaContext, key: str) -> str:
    t = context.t
    title = step_heading(context.services.procedure.sop, key, t)
    if not outcome.case.is_open:
        return t.gettext("Recorded: {step}. The case is complete.").format(step=title)
    return t.gettext("Recorded: {step}.").format(step=title)


async def _reply(update: Update, context: IkaContext, ref: str | None, text: str) -> None:
    """Reply in the conversation about case ``ref`` (protected when it is Sulit)."""
    case = await look_at(context, ref) if ref else None
    await reply_about(update, case, text)


def _report(context: IkaContext) -> dict[str, Any]:
    data = context.user_data.get(_REPORT) if context.user_data is not None else None
    return data if isinstance(data, dict) else {}


# --- starting a report -------------------------------------------------------------------------


async def report(update: Update, context: IkaContext) -> int:
    """A tap on a step's "report done" button."""
    button = decode(update.callback_query.data if update.callback_query else None)
    if not isinstance(button, Report):
        await tell(update, context, context.t.gettext("This button is no longer valid."))
        return ConversationHandler.END
    return await _start_report(update, context, button.ref, button.step)


async def _start_report(update: Update, context: IkaContext, ref: str, key: str) -> int:
    t, procedure = context.t, context.services.procedure
    if key not in procedure.sop.keys:
        await tell(update, context, t.gettext("There is no case {ref}.").format(ref=ref))
        return ConversationHandler.END
    step = procedure.sop.get(key)
    one_tap = step.capture in (None, Capture.INPUTS, Capture.DECISION)
    if one_tap:
        # Done with this tap, in one transaction that loads, judges and saves the case.
        action: Action = SubmitMemo() if step.capture is Capture.DECISION else CompleteStep(key)
        await _finish(update, context, ref, key, action)
        return ConversationHandler.END
    case = await look_at(context, ref)
    actor = actor_of(context)
    if case is None or actor is None:
        await tell(update, context, t.gettext("There is no case {ref}.").format(ref=ref))
        return ConversationHandler.END
    if case.current_step != key or not may_act_on(actor, case, step.owner):
        # Refused: the rules decide and say why, and no questions are asked of someone
        # whose answers could not be recorded.
        await _finish(update, context, ref, key, CompleteStep(key))
        return ConversationHandler.END
    if step.capture is Capture.NEGOTIATION:
        scheduled = _scheduled_end(case, key)
        today = procedure.calendar.local_date(context.services.now())
        if scheduled is not None and scheduled <= today:
            await _finish(update, context, ref, key, CompleteStep(key))
            return ConversationHandler.END
    context.user_data[_REPORT] = {"ref": ref, "step": key}  # type: ignore[index]
    return await _ask_first(update, context, case, step)


def _scheduled_end(case: Case, key: str) -> date | None:
    run = case.run(key)
    end = run.data.get("end") if run else None
    return date.fromisoformat(end) if isinstance(end, str) else None


async def _ask_first(update: Update, context: IkaContext, case: Case, step: StepDef) -> int:
    t = context.t
    title = step_heading(context.services.procedure.sop, step.key, t)
    intro = f"<b>{esc(case.ref)}</b> · {esc(title)}\n"
    questions = {
        Capture.MEETING: (ASK_DATE, t.gettext(
            "On what date was the meeting held? For example 31/8/2026.")),
        Capture.NOTE_REF: (ASK_REFERENCE, t.gettext(
            "What is the reference of the diplomatic note (Nota Diplomatik)?")),
        Capture.FILE_REF: (ASK_REFERENCE, t.gettext(
            "Under what file reference is the copy filed?")),
        Capture.NEGOTIATION: (ASK_START, t.gettext(
            "On what date does (or did) the negotiation start? For example 5/10/2026.")),
        Capture.DOCUMENT: (ASK_DOCUMENT, t.gettext(
            "Please send the outcome document as a file (PDF or Word).")),
    }
    assert step.capture is not None
    state, question = questions[step.capture]
    await ask_in_private(update, context,
                         intro + question + "\n" + t.gettext("/cancel to stop."), case)
    return state


async def list_open_steps(update: Update, context: IkaContext) -> None:
    """/done: the open steps the user's division may report, as buttons, a page at a time."""
    message, actor = update.effective_message, actor_of(context)
    if message is None or actor is None:
        return
    answer = await done_answer(context, 0)
    await reply_about(update, answer.about, answer.text, reply_markup=answer.markup)


# --- finishing ---------------------------------------------------------------------------------


async def _finish(update: Update, context: IkaContext, ref: str, key: str,
                  action: Action | None = None, *, prepare: PrepareAction | None = None,
                  undo: Callable[[], None] | None = None) -> Outcome | None:
    """Apply the action; tell the user; the outcome when it was recorded.

    ``undo`` takes back what was done outside the transaction (a file written) when nothing
    was recorded, before the user is told.
    """
    try:
        result = await perform(context, ref, action, prepare=prepare)
    except BaseException:
        if undo is not None:
            undo()
        raise
    if isinstance(result, str):
        if undo is not None:
            undo()
        await tell(update, context, result)
        return None
    if isinstance(action, SubmitMemo):
        text = context.t.gettext("Recorded: the Minit Cerai is with top management.")
    elif result.events and result.events[-1].kind == "document_attached":
        text = context.t.gettext("The file is kept with {ref}.").format(ref=esc(ref))
    else:
        text = _done_text(result, context, key)
    await tell(update, context, text, alert=False, about=result.case)
    if update.callback_query is not None:
        await drop_case_buttons(update.callback_query, ref)
    return result


async def _complete_with(update: Update, context: IkaContext, action: Action,
                         retry: int) -> int:
    """Record the step; when the rules refuse what was typed, ask again (state ``retry``)."""
    data = _report(context)
    if not await _finish(update, context, data.get("ref", ""), data.get("step", ""), action):
        return retry if data else ConversationHandler.END
    context.user_data.pop(_REPORT, None)  # type: ignore[union-attr]
    return ConversationHandler.END


async def _typed_date(update: Update, context: IkaContext) -> date | None:
    message = update.effective_message
    day = parse_date(clean(message.text or "")) if message else None
    if day is None and message is not None:
        await _reply(update, context, _report(context).get("ref"), context.t.gettext(
            "That is not a date I can read. Please type it like 31/8/2026."))
    return day


async def got_meeting_date(update: Update, context: IkaContext) -> int:
    """Step 4: the meeting's date."""
    day = await _typed_date(update, context)
    if day is None:
        return ASK_DATE
    step = _report(context).get("step", "")
    return await _complete_with(update, context, CompleteStep(step, MeetingHeld(day)), ASK_DATE)


async def got_reference(update: Update, context: IkaContext) -> int:
    """Steps 6 and 9: a reference (the Nota Diplomatik's, or the file's)."""
    message = update.effective_message
    data = _report(context)
    if message is None or not data:
        return ConversationHandler.END
    step = context.services.procedure.sop.get(data["step"])
    text = clean(message.text or "")
    if step.capture is Capture.NOTE_REF:
        return await _complete_with(update, context, CompleteStep(step.key, NoteSent(text)),
                                    ASK_REFERENCE)
    # Filing completes the case at once; the signed instrument's dates follow, each one
    # recorded as it is answered, so that nothing typed is lost if the rest never comes.
    filed = await _finish(update, context, data["ref"], step.key,
                          CompleteStep(step.key, Filed(text)))
    if filed is None:
        return ASK_REFERENCE
    return await _ask_signing_date(update, context, filed.case, None)


def _next_date(key: str | None) -> str | None:
    """The signing date asked after ``key`` (the first after None; None after the last)."""
    order = list(SIGNING_DATES)
    following = order.index(key) + 1 if key in order else 0
    return order[following] if following < len(order) else None


async def _ask_signing_date(update: Update, context: IkaContext, case: Case,
                            answered: str | None) -> int:
    """Ask for the signing date after ``answered``, with a Skip button; after the last one,
    sum up what is recorded and end the report."""
    t, data = context.t, _report(context)
    user = update.effective_user
    key = _next_date(answered)
    if user is None:
        return ConversationHandler.END
    if key is None:
        context.user_data.pop(_REPORT, None)  # type: ignore[union-attr]
        await send_about(context, user.id, case,
                         signing_summary(case, t, context.services.procedure))
        return ConversationHandler.END
    data["asking"] = key
    questions = {
        "signed_on": t.gettext("On what date was the instrument signed? For example "
                               "31/8/2026."),
        "in_force_on": t.gettext("On what date does (or did) it enter into force?"),
        "expires_on": t.gettext("On what date does it expire, or is it due for review? "
                                "Bahagian AB and the lead division are reminded before then "
                                "to decide on its renewal."),
    }
    text = (f"<b>{esc(case.ref)}</b>\n" + questions[key] + "\n"
            + t.gettext("Tap Skip (or send /skip) if it is not known."))
    skip = InlineKeyboardMarkup([[InlineKeyboardButton(
        t.gettext("Skip"), callback_data=encode(Choice(SKIP, key)))]])
    await send_about(context, user.id, case, text, reply_markup=skip)
    return DATE_STATES[key]


async def got_signing_date(update: Update, context: IkaContext) -> int:
    """A signing date typed after filing: recorded at once (the rules judge it), then the
    next one is asked; a date the rules refuse is asked for again, saying why."""
    data = _report(context)
    key = data.get("asking")
    if key not in DATE_STATES or "ref" not in data:
        return ConversationHandler.END
    day = await _typed_date(update, context)
    if day is None:
        return DATE_STATES[key]
    result = await perform(context, data["ref"], RecordSigning(**{key: day}))
    if isinstance(result, str):
        await _reply(update, context, data["ref"], result)
        return DATE_STATES[key]
    return await _ask_signing_date(update, context, result.case, key)


async def skip_signing_date(update: Update, context: IkaContext) -> int | None:
    """Skip (the button, or /skip): the date asked for is not known; ask the next one."""
    data = _report(context)
    key = data.get("asking")
    query = update.callback_query
    if query is not None:
        button = decode(query.data)
        if not isinstance(button, Choice) or button.field != SKIP or button.value != key:
            await answer_tap(update, context, context.t.gettext(
                "This button is no longer valid."))
            return None  # an earlier question's button: the one asked now stays
        await answer_tap(update, context)
        with contextlib.suppress(BadRequest):  # already gone: the answer counts all the same
            await query.edit_message_reply_markup(reply_markup=None)
    case = await look_at(context, data.get("ref", ""))
    if case is None or key not in DATE_STATES:
        context.user_data.pop(_REPORT, None)  # type: ignore[union-attr]
        return ConversationHandler.END
    return await _ask_signing_date(update, context, case, key)


async def got_start(update: Update, context: IkaContext) -> int:
    """Step 7: the negotiation's first day."""
    day = await _typed_date(update, context)
    if day is None:
        return ASK_START
    data = _report(context)
    data["start"] = day.isoformat()
    await _reply(update, context, data.get("ref"),
                 context.t.gettext("And its last day? For example 7/10/2026."))
    return ASK_END


async def got_end(update: Update, context: IkaContext) -> int:
    """Step 7: the negotiation's last day."""
    day = await _typed_date(update, context)
    if day is None:
        return ASK_END
    data = _report(context)
    data["end"] = day.isoformat()
    await _reply(update, context, data.get("ref"), context.t.gettext("Where is (or was) it held?"))
    return ASK_VENUE


async def got_venue(update: Update, context: IkaContext) -> int:
    """Step 7: the venue; a negotiation still to come is scheduled, one that is over is done."""
    message = update.effective_message
    data = _report(context)
    if message is None or "start" not in data or "end" not in data:
        return ConversationHandler.END
    start, end = date.fromisoformat(data["start"]), date.fromisoformat(data["end"])
    venue = clean(message.text or "")
    today = context.services.procedure.calendar.local_date(context.services.now())
    if end > today:
        action: Action = ScheduleNegotiation(start, end, venue)
        result = await perform(context, data["ref"], action)
        if isinstance(result, str):
            await _reply(update, context, data["ref"], result + "\n" + context.t.gettext(
                "On what date does (or did) the negotiation start? For example 5/10/2026."))
            return ASK_START
        await reply_about(update, result.case, context.t.gettext(
            "Recorded: the negotiation is scheduled; the step is now due on its last day. "
            "Report it done when it is over."))
        context.user_data.pop(_REPORT, None)  # type: ignore[union-attr]
        return ConversationHandler.END
    held = CompleteStep(data["step"], NegotiationHeld(start, end, venue))
    return await _complete_with(update, context, held, ASK_START)


async def got_document(update: Update, context: IkaContext) -> int:
    """Step 8: the outcome document; it is kept, with its checksum, and a copy stored."""
    data = _report(context)
    if not data:
        return ConversationHandler.END

    def complete(document: DocumentDelivered) -> Action:
        return CompleteStep(data["step"], document)

    if not await _keep_file(update, context, data["ref"], data["step"], complete):
        return ASK_DOCUMENT
    context.user_data.pop(_REPORT, None)  # type: ignore[union-attr]
    return ConversationHandler.END


async def _keep_file(update: Update, context: IkaContext, ref: str, step: str,
                     action_for: Callable[[DocumentDelivered], Action]) -> bool:
    """Receive the file in the message, keep a copy and record it with the action it serves,
    in one transaction; True when recorded.

    Everything that can be judged without the file's bytes is judged first (the rules, on the
    case as it is now; the size; the name), so that a refused file is never downloaded, and
    a copy this attempt wrote is removed again when the recording fails.
    """
    message = update.effective_message
    if message is None or message.document is None:
        return False
    document, t = message.document, context.t
    if (document.file_size or 0) > MAX_DOCUMENT_BYTES:
        await _reply(update, context, ref, t.gettext(
            "That file is larger than 20 MB, which the bot cannot receive. Please send a "
            "smaller copy (for example a PDF)."))
        return False
    if document.file_size == 0:
        await _reply(update, context, ref,
                     t.gettext("That file is empty. Please send the document."))
        return False
    name = fit_file_name(document.file_name, fallback=f"{ref}.bin", limit=MAX_FILENAME)
    case = await look_at(context, ref)
    refused = refusal_of(context, ref, case, action_for(DocumentDelivered(name, "")))
    if refused is not None:
        await reply_about(update, case, refused)
        return False
    content = bytes(await (await document.get_file()).download_as_bytearray())
    if not content:
        await _reply(update, context, ref,
                     t.gettext("That file is empty. Please send the document."))
        return False
    sha256 = hashlib.sha256(content).hexdigest()
    stored, created = _store_copy(context.services.documents_dir, ref, sha256, name, content)
    actor, now = actor_of(context), context.services.now()
    assert actor is not None

    async def record(session: AsyncSession, case: Case) -> Action:
        row = await add_document(
            session=session, ref=case.ref, step=step,
            telegram_file_id=document.file_id, file_unique_id=document.file_unique_id,
            name=name, sha256=sha256, uploaded_by=actor.user_id, uploaded_at=now,
            mime_type=document.mime_type, size=len(content), stored_path=str(stored),
        )
        return action_for(DocumentDelivered(name, sha256, row.id))

    def remove_copy() -> None:
        if created:
            stored.unlink(missing_ok=True)

    return await _finish(update, context, ref, step, prepare=record,
                         undo=remove_copy) is not None


async def ask_attachment(update: Update, context: IkaContext) -> int:
    """/attach REF: a document to keep with the case, at any step."""
    message, actor = update.effective_message, actor_of(context)
    if message is None or actor is None:
        return ConversationHandler.END
    t = context.t
    if not context.args:
        await message.reply_text(t.gettext(
            "Give the case reference, for example: /attach IKA-2026-001, then send the file."))
        return ConversationHandler.END
    ref = context.args[0].upper()
    case = await look_at(context, ref)
    if case is None:
        await message.reply_text(t.gettext("There is no case {ref}.").format(ref=esc(ref)))
        return ConversationHandler.END
    context.user_data[_REPORT] = {  # type: ignore[index]
        "ref": ref, "step": case.current_step or "", "attach": True}
    await ask_in_private(update, context, t.gettext(
        "Send the file to keep with {ref} (at most 20 MB), or /cancel.").format(ref=esc(ref)),
        case)
    return ASK_ATTACHMENT


async def got_attachment(update: Update, context: IkaContext) -> int:
    """The file for /attach."""
    data = _report(context)
    if not data:
        return ConversationHandler.END
    if not await _keep_file(update, context, data["ref"], data["step"], Attach):
        return ASK_ATTACHMENT
    context.user_data.pop(_REPORT, None)  # type: ignore[union-attr]
    return ConversationHandler.END


def _store_copy(root: Path, ref: str, sha256: str, name: str,
                content: bytes) -> tuple[Path, bool]:
    """Keep our own copy, named by its checksum so a resend never overwrites another file;
    the path, and whether this call wrote it."""
    safe = re.sub(r"[^A-Za-z0-9._-]+", "_", name)[-100:] or "document"
    folder = root / ref
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{sha256[:16]}-{safe}"
    try:
        with path.open("xb") as file:  # exclusive: a copy already kept is left alone
            file.write(content)
    except FileExistsError:
        return path, False
    except BaseException:
        path.unlink(missing_ok=True)  # never a half-written copy
        raise
    return path, True


async def not_a_document(update: Update, context: IkaContext) -> int:
    """Waiting for a file, not text: ask again, staying where we were."""
    await _reply(update, context, _report(context).get("ref"), context.t.gettext(
        "Please send the document as a file, or /cancel."))
    return ASK_ATTACHMENT if _report(context).get("attach") else ASK_DOCUMENT


async def cancel(update: Update, context: IkaContext) -> int:
    """Leave the report: nothing was recorded, or, while the signing dates are asked, what
    the filing and the dates answered so far recorded."""
    data = _report(context)
    if context.user_data is not None:
        context.user_data.pop(_REPORT, None)
        context.user_data.pop(clock.MORE_TIME, None)
    filed = await look_at(context, data["ref"]) if "asking" in data else None
    if filed is not None:
        await reply_about(update, filed, signing_summary(filed, context.t,
                                                         context.services.procedure))
    elif update.effective_message is not None:
        await update.effective_message.reply_text(context.t.gettext(
            "Stopped. Nothing was recorded."))
    return ConversationHandler.END


# --- the BJA tick-list and notes ----------------------------------------------------------------


async def toggle_input(update: Update, context: IkaContext) -> None:
    """A tap on a BJA in step 2's card: ask for its input, mark it in, or undo that."""
    query = update.callback_query
    button = decode(query.data if query else None)
    if query is None or not isinstance(button, ToggleInput):
        await tell(update, context, context.t.gettext("This button is no longer valid."))
        return

    def action(case: Case) -> Action:
        state = input_state(case, button.code)
        if state == "none":
            return RequestInputs((button.code,))
        return TickInput(button.code, received=state == "asked")

    result = await perform(context, button.ref, action)
    if isinstance(result, str):
        await answer_tap(update, context, result)
        return
    await answer_tap(update, context)
    if result.case.current_step == context.services.procedure.sop.step_for(Capture.INPUTS).key:
        divisions = (await context.services.org.get()).divisions  # in memory: no query
        text, markup = step_card(result.case, context.t, context.services.procedure,
                                 context.services.now(), divisions)
        await query.edit_message_text(text, reply_markup=markup)


async def add_note(update: Update, context: IkaContext) -> None:
    """/note REF text: a note on the case, at its current step."""
    message = update.effective_message
    if message is None:
        return
    args = context.args or []
    if len(args) < 2:
        await message.reply_text(context.t.gettext(
            "Give the case reference and the note, for example: /note IKA-2026-001 KLN called "
            "today."))
        return
    ref = args[0].upper()
    text = clean((message.text or "").split(maxsplit=2)[2])
    result = await perform(context, ref, AddNote(text))
    if isinstance(result, str):
        await message.reply_text(result)
        return
    await reply_about(update, result.case,
                      context.t.gettext("Note added to {ref}.").format(ref=esc(ref)))


_PRIVATE_TEXT = filters.TEXT & ~filters.COMMAND & filters.ChatType.PRIVATE
_PRIVATE_DOCUMENT = filters.Document.ALL & filters.ChatType.PRIVATE
_SKIP = choice_pattern(SKIP)

def handlers() -> list[BaseHandler[Any, Any, Any]]:
    """This module's handlers, in the order they are tried."""
    with warnings.catch_warnings():
        # A tap only opens the conversation and its answers are messages, so
        # per_message stays off, which PTB warns about for CallbackQueryHandlers.
        warnings.filterwarnings("ignore", "If 'per_message=False'", PTBUserWarning)
        return [
            ConversationHandler(
                entry_points=[CallbackQueryHandler(report, pattern=pattern("st")),
                              CallbackQueryHandler(clock.ask_more_time, pattern=pattern("xr")),
                              CommandHandler("attach", ask_attachment)],
                states={
                    ASK_DATE: [MessageHandler(_PRIVATE_TEXT, got_meeting_date)],
                    ASK_REFERENCE: [MessageHandler(_PRIVATE_TEXT, got_reference)],
                    ASK_START: [MessageHandler(_PRIVATE_TEXT, got_start)],
                    ASK_END: [MessageHandler(_PRIVATE_TEXT, got_end)],
                    ASK_VENUE: [MessageHandler(_PRIVATE_TEXT, got_venue)],
                    ASK_DOCUMENT: [
                        MessageHandler(_PRIVATE_DOCUMENT, got_document),
                        MessageHandler(_PRIVATE_TEXT, not_a_document),
                    ],
                    ASK_ATTACHMENT: [
                        MessageHandler(_PRIVATE_DOCUMENT, got_attachment),
                        MessageHandler(_PRIVATE_TEXT, not_a_document),
                    ],
                    **{state: [MessageHandler(_PRIVATE_TEXT, got_signing_date),
                               CallbackQueryHandler(skip_signing_date, pattern=_SKIP),
                               CommandHandler("skip", skip_signing_date,
                                              filters=filters.ChatType.PRIVATE)]
                       for state in DATE_STATES.values()},
                    clock.ASK_DAYS: [MessageHandler(_PRIVATE_TEXT, clock.got_days)],
                    clock.ASK_WHY: [MessageHandler(_PRIVATE_TEXT, clock.got_reason)],
                },
                fallbacks=[CommandHandler("cancel", cancel)],
                name="report_step",
                persistent=True,  # a date typed after a restart still reaches its step
                per_chat=False,  # the tap comes from a group, the answers from the private chat
                allow_reentry=True,
            ),
            CallbackQueryHandler(toggle_input, pattern=pattern("in")),
            CommandHandler("done", list_open_steps),
            CommandHandler("note", add_note),
        ]
