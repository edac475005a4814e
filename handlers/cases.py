"""Registering a new case: /new, a conversation with an AB officer in their private chat.

The answers so far live in ``context.user_data`` as plain JSON values, so a persistence can keep
a half-finished registration across a restart. Every tap is checked again when it arrives: a
button of an earlier question, or a second tap on Confirm, finds nothing to act on.
"""

from __future__ import annotations

import contextlib
import re
import warnings
from collections.abc import Mapping, Sequence
from datetime import date, timedelta
from enum import StrEnum
from typing import Any, TypeVar

from telegram import (
    CallbackQuery,
    Chat,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
    Update,
)
from telegram.error import BadRequest, Forbidden
from telegram.ext import (
    BaseHandler,
    CallbackQueryHandler,
    CommandHandler,
    ConversationHandler,
    MessageHandler,
    filters,
)
from telegram.warnings import PTBUserWarning

from bot.callbacks import Choice, choice_pattern, decode, encode
from bot.context import IkaContext
from bot.countries import is_country
from bot.dates import parse_date
from bot.domain.case import Classification, Instrument, Level, Source
from bot.domain.rules import MAX_COUNTRIES, MAX_TITLE, NewCase, Outcome, Reason, may_register
from bot.i18n import Translator
from bot.messages import instrument_label, level_label, refusal, source_label, step_heading
from bot.text import clean
from handlers import acting
from handlers.cards import division_name, due_line, esc
from handlers.gate import guess_language
from handlers.replies import answer_query, protected
from storage.models import Division, DivisionKind

DRAFT = "new_case"  # the key of the answers so far in user_data
CONVERSATION = "new_case"

# Conversation states: stored by a persistence, so names, never positions.
TITLE, INSTRUMENT, LEVEL, COUNTRIES = "title", "instrument", "level", "countries"
SOURCE, LEAD, RECEIVED, CONFIRM = "source", "lead", "received", "confirm"
END = ConversationHandler.END

# This conversation's Choice buttons are named new_<field>: apart from other conversations'.
PREFIX = "new_"
# More look-alikes than this is a sign the name needs more letters, not a longer keyboard.
MAX_COUNTRY_BUTTONS = 8

State = str | int | None
E = TypeVar("E", bound=StrEnum)


# --- the answers so far ------------------------------------------------------------------------


def _draft(context: IkaContext) -> dict[str, Any]:
    """The answers so far (an empty draft when there is none)."""
    user_data = context.user_data
    if user_data is None:  # pragma: no cover - every update of this conversation has a user
        return {}
    draft: dict[str, Any] = user_data.setdefault(DRAFT, {})
    return draft


def _drop_draft(context: IkaContext) -> dict[str, Any] | None:
    """Take the draft away, so that nothing later (a second tap) can act on it again."""
    return context.user_data.pop(DRAFT, None) if context.user_data is not None else None


def _date_example(today: date) -> tuple[str, str]:
    """Today in both forms the bot reads: 31/8/2026 or 2026-08-31."""
    return f"{today.day}/{today.month}/{today.year}", today.isoformat()


def _division_label(division: Division | None, code: str, t: Translator) -> str:
    return f"{division_name(division, t)} ({code})" if division is not None else code


def summary_lines(draft: Mapping[str, Any], t: Translator,
                  lead: Division | None = None) -> list[str]:
    """The answers so far, one line each, in the order they were asked (HTML)."""
    lines = []
    if "title" in draft:
        lines.append(t.gettext("Title: {title}").format(title=esc(draft["title"])))
    if "instrument" in draft:
        lines.append(t.gettext("Instrument: {instrument}").format(
            instrument=instrument_label(Instrument(draft["instrument"]), t)))
    if "level" in draft:
        lines.append(t.gettext("Level (Tahap): {level}").format(
            level=level_label(Level(draft["level"]), t)))
    if draft.get("countries"):
        lines.append(t.gettext("Countries: {countries}").format(
            countries=esc(t.format_list(t.country_name(c) for c in draft["countries"]))))
    if "source" in draft:
        lines.append(t.gettext("Source: {source}").format(
            source=source_label(Source(draft["source"]), t)))
    if "lead" in draft:
        lines.append(t.gettext("Lead division: {division}").format(
            division=esc(_division_label(lead, draft["lead"], t))))
    if "received" in draft:
        lines.append(t.gettext("Received on: {date}").format(
            date=t.format_date(date.fromisoformat(draft["received"]))))
    return lines


# --- asking -------------------------------------------------------------------------------


def _button(label: str, field: str, value: str) -> InlineKeyboardButton:
    return InlineKeyboardButton(label, callback_data=encode(Choice(PREFIX + field, value)))


def _rows(buttons: Sequence[InlineKeyboardButton], width: int) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([list(buttons[i:i + width])
                                 for i in range(0, len(buttons), width)])


def _ask_title(t: Translator) -> str:
    return "\n".join([
        "<b>" + t.gettext("New IKA case") + "</b>",
        t.gettext("What is the title of the proposed instrument? (at most {limit} characters)")
        .format(limit=MAX_TITLE),
        t.gettext("Send /cancel at any time to stop; nothing is saved until you confirm."),
    ])


async def _ask_instrument(message: Message, t: Translator) -> State:
    markup = _rows([_button(instrument_label(i, t), "instrument", i.value) for i in Instrument],
                   2)
    await message.reply_text(t.gettext("Which kind of instrument is it?"), reply_markup=markup)
    return INSTRUMENT


async def _ask_level(message: Message, t: Translator) -> State:
    markup = _rows([_button(level_label(v, t), "level", v.value) for v in Level], 1)
    await message.reply_text(t.gettext("At which level (Tahap)?"), reply_markup=markup)
    return LEVEL


async def _ask_countries(message: Message, t: Translator, level: Level) -> State:
    if level is Level.BILATERAL:
        text = t.gettext("Which country is the counterpart? Type its name in Malay or English "
                         "(for example Indonesia or Jepun).")
    else:
        text = t.gettext("Which countries take part? Type their names one at a time, in Malay "
                         "or English, then tap Done.")
    await message.reply_text(text)
    return COUNTRIES


async def _ask_source(message: Message, t: Translator) -> State:
    markup = _rows([_button(source_label(s, t), "source", s.value) for s in Source], 1)
    await message.reply_text(t.gettext("Where did the information come from?"),
                             reply_markup=markup)
    return SOURCE


async def _ask_lead(message: Message, context: IkaContext) -> State:
    t = context.t
    org = await context.services.org.get()  # in memory: no query
    divisions = [d for d in org.divisions.values() if d.kind == DivisionKind.DIVISION.value]
    markup = _rows([_button(_division_label(d, d.code, t), "lead", d.code) for d in divisions],
                   1)
    await message.reply_text(t.gettext("Which division will lead this case?"),
                             reply_markup=markup)
    return LEAD


async def _ask_received(message: Message, context: IkaContext) -> State:
    t = context.t
    today = context.services.procedure.calendar.local_date(context.services.now())
    markup = InlineKeyboardMarkup([[
        _button(t.gettext("Today"), "received", "today"),
        _button(t.gettext("Yesterday"), "received", "yesterday"),
    ]])
    short, iso = _date_example(today)
    question = await message.reply_text(
        t.gettext("When was the information received? Tap a button or type the date, "
                  "for example {example} or {iso}.").format(example=short, iso=iso),
        reply_markup=markup,
    )
    # A typed date answers it too: then its buttons are taken away (see receive_date).
    _draft(context)["date_question"] = question.message_id
    return RECEIVED


async def _ask_confirm(message: Message, context: IkaContext) -> State:
    t, draft = context.t, _draft(context)
    lead = (await context.services.org.get()).divisions.get(draft["lead"])
    text = "\n".join([
        "<b>" + t.gettext("Please check the new case:") + "</b>",
        *summary_lines(draft, t, lead),
        "",
        t.gettext("Register it?"),
    ])
    markup = InlineKeyboardMarkup([[
        _button(t.gettext("✅ Register"), "confirm", "yes"),
        _button(t.gettext("✖️ Cancel"), "confirm", "no"),
    ], [  # a classified case is guarded from its very first message
        _button(t.gettext("🔒 Register as Terhad"), "confirm", Classification.TERHAD.value),
        _button(t.gettext("🔒 Register as Sulit"), "confirm", Classification.SULIT.value),
    ]])
    summary = await message.reply_text(text, reply_markup=markup)
    # Only this summary's buttons confirm this draft, not those of an earlier /new.
    draft["summary"] = summary.message_id
    return CONFIRM


# --- taps ---------------------------------------------------------------------------------


def _member(kind: type[E], value: str) -> E | None:
    """``value`` as a member of the enum ``kind``; None for anything else."""
    return next((member for member in kind if member.value == value), None)


def _tapped(update: Update, field: str) -> tuple[CallbackQuery, str]:
    """The query, and the value tapped for ``field`` ("" for anything else)."""
    query = update.callback_query
    assert query is not None
    button = decode(query.data)
    value = button.value if isinstance(button, Choice) and button.field == PREFIX + field else ""
    return query, value


async def _stale(query: CallbackQuery, context: IkaContext) -> State:
    await answer_query(query, context, context.t.gettext("This button is no longer valid."))
    return None


async def _settle(query: CallbackQuery, answer: str) -> Message:
    """Answer the tap and turn its question into the answer given, without buttons."""
    await query.answer()
    message = query.message
    assert isinstance(message, Message)  # the bot's own question, sent moments ago
    # The question may be gone or already show the answer: the answer counts all the same.
    with contextlib.suppress(BadRequest):
        await query.edit_message_text(f"{esc(message.text or '')}\n<b>→ {answer}</b>")
    return message


# --- the conversation ---------------------------------------------------------------------


def _private_translator(update: Update, context: IkaContext) -> Translator:
    """The user's language in their private chat, as the gate would choose it there."""
    user, tg_user = context.user, update.effective_user
    lang = user.language if user is not None and user.language else None
    return context.services.translator(
        lang or guess_language(tg_user.language_code if tg_user else None))


async def start_new(update: Update, context: IkaContext) -> State:
    """Begin a registration: AB officers only; from a group it continues in private."""
    message, chat, user = update.effective_message, update.effective_chat, context.user
    if message is None or chat is None or user is None:
        return END
    t = context.t
    if not may_register(user.actor()):
        await message.reply_text(t.gettext(
            "Only officers of Bahagian Antarabangsa (AB) can register a new case."))
        return END
    _drop_draft(context)  # /new again starts afresh
    if chat.type == Chat.PRIVATE:
        await message.reply_text(_ask_title(t))
        return TITLE
    # In a group the bot only hears commands and replies: the typed answers must come privately.
    private_t = _private_translator(update, context)
    try:
        await context.bot.send_message(user.telegram_id, _ask_title(private_t))
    except Forbidden:
        await message.reply_text(t.gettext(
            "I cannot write to you privately yet. Please open a private chat with me, press "
            "Start, then send /new again."))
        return END
    await message.reply_text(t.gettext(
        "{name}, I have written to you in a private chat to register the case.").format(
        name=esc(user.name)))
    return TITLE


async def receive_title(update: Update, context: IkaContext) -> State:
    """The title: refused when empty or too long, with the limit."""
    message, t = update.effective_message, context.t
    assert message is not None
    title = clean(message.text or "").strip()
    if not title:
        await message.reply_text(refusal(Reason.TEXT_EMPTY, {}, t))
        return None
    if len(title) > MAX_TITLE:
        await message.reply_text(
            refusal(Reason.TEXT_TOO_LONG, {"limit": MAX_TITLE, "length": len(title)}, t))
        return None
    _draft(context)["title"] = title
    return await _ask_instrument(message, t)


async def choose_instrument(update: Update, context: IkaContext) -> State:
    """The kind of instrument, from its button."""
    query, value = _tapped(update, "instrument")
    instrument = _member(Instrument, value)
    if instrument is None:
        return await _stale(query, context)
    _draft(context)["instrument"] = instrument.value
    message = await _settle(query, instrument_label(instrument, context.t))
    return await _ask_level(message, context.t)


async def choose_level(update: Update, context: IkaContext) -> State:
    """The level (Tahap), from its button."""
    query, value = _tapped(update, "level")
    level = _member(Level, value)
    if level is None:
        return await _stale(query, context)
    draft = _draft(context)
    draft["level"], draft["countries"] = level.value, []
    message = await _settle(query, level_label(level, context.t))
    return await _ask_countries(message, context.t, level)


async def receive_country(update: Update, context: IkaContext) -> State:
    """A typed country name: added when it names one country, else buttons to choose from."""
    message, t = update.effective_message, context.t
    assert message is not None
    text = clean(message.text or "").strip()
    found = t.lookup_country(text)
    if found.country is not None:
        return await _add_country(message, context, found.country)
    if not found.choices:
        reply = t.gettext(
            "No country matches “{text}”. Please type its name in Malay or English, for "
            "example Indonesia or Jepun.").format(text=esc(text[:100]))
        if found.suggestions:
            reply += "\n" + t.gettext("Or did you mean one of these?")
        await message.reply_text(reply, reply_markup=_rows(
            [_button(t.country_name(c), "country", c) for c in found.suggestions], 2)
            if found.suggestions else None)
        return None
    shown = found.choices[:MAX_COUNTRY_BUTTONS]
    question = t.gettext("Which country do you mean?")
    if len(found.choices) > len(shown):
        question += "\n" + t.gettext("Not in the list? Type more of its name.")
    await message.reply_text(
        question, reply_markup=_rows([_button(t.country_name(c), "country", c) for c in shown],
                                     2))
    return None


async def pick_country(update: Update, context: IkaContext) -> State:
    """A country chosen among look-alikes or suggestions."""
    query, code = _tapped(update, "country")
    t = context.t
    if not is_country(code):  # a forged code must still be a country ikabot knows
        return await _stale(query, context)
    message = await _settle(query, esc(t.country_name(code)))
    return await _add_country(message, context, code)


async def _add_country(message: Message, context: IkaContext, code: str) -> State:
    t, draft = context.t, _draft(context)
    countries: list[str] = draft.setdefault("countries", [])
    if code in countries:
        await message.reply_text(t.gettext("{country} is already in the list.").format(
            country=esc(t.country_name(code))))
        return None
    if len(countries) >= MAX_COUNTRIES:
        await message.reply_text(refusal(Reason.BAD_CASE_DATA,
                                         {"field": "countries", "limit": MAX_COUNTRIES}, t))
        return None
    countries.append(code)
    if Level(draft["level"]) is Level.BILATERAL:
        await message.reply_text(t.gettext("Counterpart: {country}").format(
            country=esc(t.country_name(code))))
        return await _ask_source(message, t)
    names = esc(t.format_list(t.country_name(c) for c in countries))
    await message.reply_text(
        t.gettext("Countries so far: {countries}. Type another one, or tap Done.").format(
            countries=names),
        reply_markup=InlineKeyboardMarkup([[_button(t.gettext("Done"), "countries", "done")]]),
    )
    return None


async def countries_done(update: Update, context: IkaContext) -> State:
    """Done adding countries (at least one)."""
    query, value = _tapped(update, "countries")
    t = context.t
    if value != "done":
        return await _stale(query, context)
    countries = _draft(context).get("countries") or []
    if not countries:
        await answer_query(query, context, refusal(
            Reason.BAD_CASE_DATA, {"field": "countries", "limit": MAX_COUNTRIES}, t))
        return None
    message = await _settle(query, t.gettext("Done"))
    return await _ask_source(message, t)


async def choose_source(update: Update, context: IkaContext) -> State:
    """Where the information came from."""
    query, value = _tapped(update, "source")
    source = _member(Source, value)
    if source is None:
        return await _stale(query, context)
    _draft(context)["source"] = source.value
    message = await _settle(query, source_label(source, context.t))
    return await _ask_lead(message, context)


async def choose_lead(update: Update, context: IkaContext) -> State:
    """The lead division, checked to be a division that may lead cases."""
    query, code = _tapped(update, "lead")
    division = (await context.services.org.get()).divisions.get(code) if code else None
    if division is None or division.kind != DivisionKind.DIVISION.value:
        return await _stale(query, context)
    _draft(context)["lead"] = division.code
    message = await _settle(query, esc(_division_label(division, division.code, context.t)))
    return await _ask_received(message, context)


async def choose_received(update: Update, context: IkaContext) -> State:
    """Received today or yesterday, from the buttons."""
    query, value = _tapped(update, "received")
    if value not in ("today", "yesterday"):
        return await _stale(query, context)
    today = context.services.procedure.calendar.local_date(context.services.now())
    day = today if value == "today" else today - timedelta(days=1)
    _draft(context)["received"] = day.isoformat()
    message = await _settle(query, context.t.format_date(day))
    return await _ask_confirm(message, context)


async def receive_date(update: Update, context: IkaContext) -> State:
    """A typed received date: refused, with the right form, when unreadable or still to come."""
    message, t = update.effective_message, context.t
    assert message is not None
    today = context.services.procedure.calendar.local_date(context.services.now())
    short, iso = _date_example(today)
    day = parse_date(clean(message.text or ""))
    if day is None:
        await message.reply_text(t.gettext(
            "That is not a date I can read. Please type it like 31/8/2026."))
        return None
    if day > today:
        await message.reply_text(
            refusal(Reason.DATE_IN_FUTURE, {"date": day}, t) + "\n"
            + t.gettext("For example: {example} or {iso}.").format(example=short, iso=iso))
        return None
    draft = _draft(context)
    draft["received"] = day.isoformat()
    question = draft.pop("date_question", None)
    if isinstance(question, int):
        with contextlib.suppress(BadRequest):  # already gone: nothing to take away
            await context.bot.edit_message_reply_markup(message.chat_id, question,
                                                        reply_markup=None)
    return await _ask_confirm(message, context)


async def confirm(update: Update, context: IkaContext) -> State:
    """Register the case on ✅ (once, however often it is tapped), or drop it on ✖️."""
    query, value = _tapped(update, "confirm")
    if value not in ("yes", "no", Classification.TERHAD.value, Classification.SULIT.value):
        return await _stale(query, context)
    t = context.t
    summary = query.message.message_id if query.message is not None else None
    if _draft(context).get("summary") != summary:
        return await _stale(query, context)
    # Taken before anything is awaited: a second tap finds no draft and registers nothing.
    draft = _drop_draft(context) or {}
    if value == "no":
        message = await _settle(query, t.gettext("Cancelled"))
        await message.reply_text(t.gettext("The registration is cancelled; nothing was saved."))
        return END
    message = await _settle(query, t.gettext("Confirmed"))
    lead = (await context.services.org.get()).divisions.get(draft["lead"])
    inform_lead = lead is not None and lead.chat_id is not None
    marked = Classification(value) if value not in ("yes", "no") else Classification.OPEN
    outcome = await acting.register(
        context, lambda ref: new_case(draft, ref, marked), inform_lead=inform_lead)
    if isinstance(outcome, str):
        await message.reply_text(outcome)
        return END
    await message.reply_text(registered_text(outcome, context, lead, inform_lead),
                             protect_content=protected(outcome.case))
    return END


def new_case(draft: Mapping[str, Any], ref: str,
             classification: Classification = Classification.OPEN) -> NewCase:
    """The case the draft describes, under reference ``ref``."""
    return NewCase(
        ref=ref,
        title=draft["title"],
        instrument=Instrument(draft["instrument"]),
        level=Level(draft["level"]),
        countries=tuple(draft["countries"]),
        source=Source(draft["source"]),
        lead_division=draft["lead"],
        received_on=date.fromisoformat(draft["received"]),
        classification=classification,
    )


def registered_text(outcome: Outcome, context: IkaContext, lead: Division | None,
                    informed: bool) -> str:
    """The reference, and what happens next."""
    t, services = context.t, context.services
    case = outcome.case
    lines = [t.gettext("Case registered: {ref}.").format(ref=f"<b>{esc(case.ref)}</b>")]
    division = esc(division_name(lead, t))
    if informed:
        lines.append(t.gettext("The {division} has been informed in its Telegram group, which "
                               "completes step 1.").format(division=division))
    else:
        lines.append(t.gettext("The {division} has no Telegram group in ikabot, so it could not "
                               "be informed: please inform it yourself, then report step 1 done "
                               "on its card in the AB group.").format(division=division))
    run = case.current_run
    if run is not None:
        lines += ["", t.gettext("Next: {step}").format(
            step=esc(step_heading(services.procedure.sop, run.key, t))),
            due_line(run, t, services.procedure, services.now(), case)]
    lines += ["", t.gettext("/status {ref} shows the case at any time.").format(ref=case.ref)]
    return "\n".join(lines)


async def cancel(update: Update, context: IkaContext) -> State:
    """/cancel inside the conversation: drop the draft."""
    _drop_draft(context)
    if update.effective_message is not None:
        await update.effective_message.reply_text(
            context.t.gettext("The registration is cancelled; nothing was saved."))
    return END


async def nothing_to_cancel(update: Update, context: IkaContext) -> None:
    """/cancel when no conversation is going on."""
    if update.effective_message is not None:
        await update.effective_message.reply_text(
            context.t.gettext("There is nothing to cancel."))


async def stale_tap(update: Update, context: IkaContext) -> None:
    """A tap on a question of a registration that is over (or a second tap on Confirm)."""
    if update.callback_query is not None:
        await _stale(update.callback_query, context)


def _on(field: str) -> re.Pattern[str]:
    """The pattern of this conversation's Choice buttons for ``field``."""
    return choice_pattern(PREFIX + field)


def conversation() -> ConversationHandler[IkaContext]:
    """The /new conversation, kept by the application's persistence across restarts."""
    # Only what is typed in private: in a group the bot hears replies to its cards, which are
    # never answers to this conversation. Button states take no text: it may be the answer to
    # another conversation (a step's reference, an invitation) that the user is also in.
    typed = filters.ChatType.PRIVATE & filters.TEXT & ~filters.COMMAND
    states: dict[object, list[BaseHandler[Update, IkaContext, State]]] = {
        TITLE: [MessageHandler(typed, receive_title)],
        INSTRUMENT: [CallbackQueryHandler(choose_instrument, pattern=_on("instrument"))],
        LEVEL: [CallbackQueryHandler(choose_level, pattern=_on("level"))],
        COUNTRIES: [MessageHandler(typed, receive_country),
                    CallbackQueryHandler(pick_country, pattern=_on("country")),
                    CallbackQueryHandler(countries_done, pattern=_on("countries"))],
        SOURCE: [CallbackQueryHandler(choose_source, pattern=_on("source"))],
        LEAD: [CallbackQueryHandler(choose_lead, pattern=_on("lead"))],
        RECEIVED: [CallbackQueryHandler(choose_received, pattern=_on("received")),
                   MessageHandler(typed, receive_date)],
        CONFIRM: [CallbackQueryHandler(confirm, pattern=_on("confirm"))],
    }
    with warnings.catch_warnings():
        # PTB warns that taps are not tracked per message without per_message=True. That is
        # wanted: the conversation is per user (it moves from the AB group to the private
        # chat), and each tap is checked against the state it arrives in.
        warnings.filterwarnings("ignore", message=".*per_message.*", category=PTBUserWarning)
        return ConversationHandler(
            entry_points=[CommandHandler("new", start_new)],
            states=states,  # type: ignore[arg-type]
            fallbacks=[CommandHandler("cancel", cancel)],
            allow_reentry=True,  # /new again starts afresh
            per_chat=False,
            per_user=True,
            name=CONVERSATION,
            persistent=True,
        )


def handlers() -> list[BaseHandler[Any, Any, Any]]:
    """The conversation, then what answers the taps on its finished questions.

    Built afresh for each application: a ConversationHandler holds its users' states.
    """
    return [
        conversation(),
        CallbackQueryHandler(stale_tap, pattern=choice_pattern(PREFIX, whole=False)),
    ]


# /cancel when no conversation took it: it must come after every conversation.
NOTHING_TO_CANCEL = CommandHandler("cancel", nothing_to_cancel)
