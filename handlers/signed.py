"""After signing, and a case's classification: /signed records or corrects a filed case's
instrument dates; /expiring lists instruments coming up for renewal; /classify marks a case
Terhad or Sulit (AB)."""

from __future__ import annotations

from datetime import date
from typing import Any

from telegram import Update
from telegram.ext import BaseHandler, CommandHandler

from bot.context import IkaContext
from bot.dates import parse_date
from bot.domain.case import Classification
from bot.domain.reminders import months_before
from bot.domain.rules import KEEP, Classify, Keep, Reason, RecordSigning, filed_run
from bot.i18n import Translator
from bot.messages import refusal
from handlers.acting import look_at, perform
from handlers.cards import esc
from handlers.clock import REF
from handlers.clock_cards import SULIT, classification_label, signing_summary, trusted
from handlers.replies import reply_about
from storage.instruments import expiring

DEFAULT_MONTHS = 6
MAX_LISTED = 50  # the rest is a narrower period away; the answer stays under 4096
CLEAR_WORDS = frozenset({"tiada", "none"})  # /signed: a date to clear
WORDS = {"terhad": Classification.TERHAD, "sulit": Classification.SULIT,
         "biasa": Classification.OPEN, "open": Classification.OPEN,
         "restricted": Classification.TERHAD, "confidential": Classification.SULIT}


def _period(args: list[str], today: date) -> tuple[date, date] | None:
    """``[months]`` from today, or ``FROM TO``."""
    if not args:
        return today, months_before(today, -DEFAULT_MONTHS)
    if len(args) == 1 and args[0].isdigit() and 0 < int(args[0]) <= 120:
        return today, months_before(today, -int(args[0]))
    if len(args) == 2:
        start, end = parse_date(args[0]), parse_date(args[1])
        if start is not None and end is not None and start <= end:
            return start, end
    return None


async def show_expiring(update: Update, context: IkaContext) -> None:
    """/expiring [months | FROM TO]: filed instruments that expire (or are reviewed) then."""
    message = update.effective_message
    if message is None:
        return
    t, services = context.t, context.services
    today = services.procedure.calendar.local_date(services.now())
    period = _period(list(context.args or []), today)
    if period is None:
        await message.reply_text(t.gettext(
            "Send /expiring for the next 6 months, /expiring 12 for the next 12 months, or "
            "/expiring 1/1/2027 31/12/2027 for a period."))
        return
    start, end = period
    async with services.sessions() as session:
        found = await expiring(session=session, file_step=services.procedure.sop.keys[-1],
                               start=start, end=end)
    head = t.gettext("<b>Instruments expiring from {start} to {end}</b>").format(
        start=t.format_date(start), end=t.format_date(end))
    if not found:
        await message.reply_text(head + "\n" + t.gettext("None."))
        return
    chat = context.chat_division
    lines = [head]
    for item in found[:MAX_LISTED]:
        shown = not item.sulit or trusted(chat, item.lead_division)
        title = esc(item.title) if shown else SULIT
        lines.append(f"{t.format_date(item.expires_on)} · <b>{esc(item.ref)}</b> · {title}")
    if len(found) > MAX_LISTED:
        lines.append(t.gettext("…and {n} more: ask for a shorter period.").format(
            n=len(found) - MAX_LISTED))
    await message.reply_text("\n".join(lines),
                             protect_content=any(item.sulit for item in found) or None)


async def classify(update: Update, context: IkaContext) -> None:
    """/classify REF terhad|sulit|biasa: AB marks the case's security classification."""
    message = update.effective_message
    if message is None:
        return
    t, args = context.t, context.args or []
    ref = args[0].upper() if args and REF.fullmatch(args[0]) else None
    level = WORDS.get(args[1].lower()) if len(args) > 1 else None
    if ref is None or level is None:
        await message.reply_text(t.gettext("Send /classify followed by the case reference and "
                                           "Terhad, Sulit or Biasa, for example: /classify "
                                           "IKA-2026-001 Sulit"))
        return
    result = await perform(context, ref, Classify(level))
    if isinstance(result, str):
        await message.reply_text(result)
        return
    await reply_about(update, result.case, t.gettext("{ref} is now {level}.").format(
        ref=esc(ref), level=esc(classification_label(level, t))))


def _signing_date(word: str) -> date | None | Keep | str:
    """A date as typed; "-" keeps the one recorded; "tiada" / "none" clears it; else the word
    itself, which is not a date."""
    if word == "-":
        return KEEP
    if word.lower() in CLEAR_WORDS:
        return None
    return parse_date(word) or word


async def record_signing(update: Update, context: IkaContext) -> None:
    """/signed REF [SIGNED [IN_FORCE [EXPIRES]]]: a filed case's signed instrument's dates,
    recorded or corrected by AB or the lead division; alone, the dates recorded."""
    message = update.effective_message
    if message is None:
        return
    t, args = context.t, context.args or []
    ref = args[0].upper() if args and REF.fullmatch(args[0]) else None
    if ref is None or len(args) > 4:
        await message.reply_text(_signed_usage(t, ref))
        return
    procedure = context.services.procedure
    if len(args) == 1:
        case = await look_at(context, ref)
        if case is None:
            await message.reply_text(t.gettext("There is no case {ref}.").format(ref=esc(ref)))
        elif filed_run(case, procedure) is None:
            await reply_about(update, case, refusal(Reason.NOT_FILED, {}, t, sop=procedure.sop))
        else:
            await reply_about(update, case, signing_summary(case, t, procedure))
        return
    given = [_signing_date(word) for word in args[1:]]
    wrong = next((word for word in given if isinstance(word, str)), None)
    if wrong is not None:
        await message.reply_text(t.gettext("“{text}” is not a date.").format(
            text=esc(wrong[:40])) + "\n" + _signed_usage(t, ref))
        return
    dates = [word for word in given if not isinstance(word, str)]
    result = await perform(context, ref, RecordSigning(*dates))
    if isinstance(result, str):
        await message.reply_text(result)
        return
    text = signing_summary(result.case, t, procedure)
    if not result.events:
        text = t.gettext("Nothing changed: these dates are already recorded.") + "\n" + text
    await reply_about(update, result.case, text)


def _signed_usage(t: Translator, ref: str | None) -> str:
    return t.gettext(
        "Send /signed followed by the case reference and the dates the instrument was signed, "
        "entered into force, and expires or is due for review, for example: /signed {ref} "
        "1/12/2026 1/1/2027 1/12/2031. Put - for a date that stays as recorded, and tiada "
        "to clear one.").format(ref=esc(ref or "IKA-2026-001"))


def handlers() -> list[BaseHandler[Any, Any, Any]]:
    """This module's handlers."""
    return [CommandHandler("expiring", show_expiring), CommandHandler("classify", classify),
            CommandHandler("signed", record_signing)]
