"""Reports a ministry reads: /export (the register as XLSX or CSV), /calendar (deadlines as
.ics), a case's timeline picture (the button under /status REF), /target and the forecast lines.

Reading and drawing are apart: storage.reports reads cases in batches, bot.domain computes what
each row, bar or event holds, handlers.drawing draws it. Charts are drawn in a thread and the
workbook in a child process, so the bot keeps answering meanwhile.
"""

from __future__ import annotations

import asyncio
import io
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import IO, Any
from weakref import WeakKeyDictionary

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler

from bot.callbacks import Timeline, decode, encode, pattern
from bot.context import IkaContext
from bot.countries import named
from bot.dates import parse_date
from bot.domain.agenda import Deadline, deadlines
from bot.domain.case import Actor, Case, Role
from bot.domain.case_filter import parse_filter
from bot.domain.deadlines import Procedure
from bot.domain.forecast import Forecast, History, forecast
from bot.domain.register import case_line, step_lines
from bot.domain.targets import Target, may_set_target
from bot.domain.timeline import timeline
from bot.i18n import Translator
from bot.messages import step_heading
from handlers.acting import look_at
from handlers.cards import division_name, esc
from handlers.clock_cards import trusted
from handlers.drawing.register_sheet import (
    CSV_ENCODING,
    Names,
    RegisterCsv,
    case_values,
    sheet_specs,
    step_values,
)
from handlers.drawing.workbook_process import Rows, WorkbookProcess
from handlers.replies import answer_tap, protected, reply_about
from storage.case_pages import narrowing
from storage.cases import Sessions, UnknownCase, load_case
from storage.models import Division
from storage.org import list_divisions, list_users
from storage.reports import (
    Narrow,
    case_batches,
    open_only,
    recent_step_times,
    set_target,
    targets,
)

# LAZY: matplotlib and icalendar are imported when a chart or a calendar is first drawn, and
# openpyxl only in the workbook's own process: together they would add ~90 MB to every bot
# process (and to the reminder sweep's memory), most of which never draws one.
EXPORTERS = frozenset({Role.AB, Role.MANAGEMENT, Role.ADMIN})
FORMATS = ("xlsx", "csv")


# --- the register -------------------------------------------------------------------------


@dataclass
class Directory:
    """Divisions and people by their codes and ids, read once per report."""

    divisions: dict[str, Division]
    people: dict[int, str]

    def names(self, t: Translator) -> Names:
        """Names as the register shows them, in ``t``'s language."""
        def division(code: str) -> str:
            found = self.divisions.get(code)
            return f"{division_name(found, t)} ({code})" if found else code

        return Names(division, lambda user: self.people.get(user, str(user)))


async def read_directory(sessions: Sessions) -> Directory:
    """Every division, and everyone who ever acted (people who left keep their names)."""
    async with sessions() as session:
        divisions = {d.code: d for d in await list_divisions(session=session)}
        users = await list_users(session=session, active=None)
    return Directory(divisions, {u.telegram_id: u.name for u in users})


# /status REF shows a forecast: reading the history (a query per step) took ~25 ms of the
# answer's budget, and it changes only as steps get done, so it is kept a while per database.
HISTORY_TTL = timedelta(minutes=10)
_histories: WeakKeyDictionary[Sessions, tuple[datetime, History]] = WeakKeyDictionary()


async def read_history(sessions: Sessions, procedure: Procedure, *,
                       now: datetime | None = None) -> History:
    """How long each step took in the ministry's recent cases: what forecasts learn from.

    With ``now``, a history read less than HISTORY_TTL before may be given instead.
    """
    kept = _histories.get(sessions) if now is not None else None
    if kept is not None and now is not None and timedelta(0) <= now - kept[0] < HISTORY_TTL:
        return kept[1]
    async with sessions() as session:  # a plain read: the first statement begins it
        history = await recent_step_times(session=session, keys=procedure.sop.keys,
                                          calendar=procedure.calendar)
    if now is not None:
        _histories[sessions] = (now, history)
    return history


@dataclass(frozen=True)
class Written:
    """What an export wrote: how many cases, and what the workbook's writer process used."""

    cases: int
    writer_peak_mb: float | None = None  # None for CSV, written in this process
    writer_cpu_s: float | None = None
    sulit: bool = False  # a Sulit case is in it
    left_out: int = 0  # Sulit cases ``shown`` kept out


async def write_register(out: IO[bytes], *, sessions: Sessions, procedure: Procedure,
                         t: Translator, now: datetime, fmt: str = "xlsx",
                         narrow: Narrow | None = None,
                         shown: Callable[[Case], bool] | None = None) -> Written:
    """Write the register of the cases ``narrow`` lets through to ``out`` (none: nothing);
    with ``shown``, the Sulit cases it refuses are left out (and counted). ``sessions`` only
    read: a reader's, so that SQLite's write lock is not held while the cases are read."""
    directory = await read_directory(sessions)
    names = directory.names(t)
    history = await read_history(sessions, procedure)
    sop, tz = procedure.sop, procedure.calendar.tz
    text = io.StringIO()
    # Made with the first case (no cases, no file): the CSV here, the workbook in a child.
    sheet: WorkbookProcess | RegisterCsv | None = None
    count = left_out = 0
    sulit = False

    def rows(cases: list[Case], dates: dict[str, Target]) -> tuple[Rows, Rows]:
        case_rows: Rows = []
        step_rows: Rows = []
        for case in cases:
            target = dates.get(case.ref)
            line = case_line(case, procedure, now, forecast(case, history, procedure, now),
                             target.on if target else None)
            case_rows.append(case_values(line, t, sop, names))
            if fmt == "xlsx":
                step_rows += [step_values(step, t, sop, names, tz)
                              for step in step_lines(case, procedure, now)]
        return case_rows, step_rows

    try:
        async with sessions() as session:
            async for batch in case_batches(session=session, narrow=narrow):
                cases = [c for c in batch if shown is None or not c.is_sulit or shown(c)]
                left_out += len(batch) - len(cases)
                sulit = sulit or any(c.is_sulit for c in cases)
                if not cases:
                    continue
                if sheet is None:
                    sheet = (await WorkbookProcess.start(*sheet_specs(t)) if fmt == "xlsx"
                             else RegisterCsv(t, text))
                dates = await targets(session=session, refs=[c.ref for c in cases])
                case_rows, step_rows = await asyncio.to_thread(rows, cases, dates)
                if isinstance(sheet, WorkbookProcess):
                    await sheet.send(case_rows, step_rows)
                else:
                    for values in case_rows:
                        sheet.add_case(values)
                count += len(cases)
        if isinstance(sheet, WorkbookProcess):
            peak, cpu = await sheet.finish(out)
            return Written(count, peak, cpu, sulit, left_out)
        if sheet is not None:
            out.write(text.getvalue().encode(CSV_ENCODING))
        return Written(count, sulit=sulit, left_out=left_out)
    finally:
        if isinstance(sheet, WorkbookProcess):
            await sheet.close()


def _actor(context: IkaContext) -> Actor | None:
    return context.user.actor() if context.user is not None else None


def _shown_here(context: IkaContext) -> Callable[[Case], bool]:
    """Whether a Sulit case may be in a file sent to this chat: in private, AB's group and
    its lead division's group; in any other group a file leaves it out."""
    return lambda case: trusted(context.chat_division, case.lead_division)


def _left_out_line(n: int, t: Translator) -> str:
    return t.ngettext(
        "{n} Sulit case is left out here: ask in your private chat with the bot.",
        "{n} Sulit cases are left out here: ask in your private chat with the bot.", n,
    ).format(n=n)


async def export(update: Update, context: IkaContext) -> None:
    """/export [csv]: the register as a workbook (or CSV), for AB, top management and admins."""
    message, actor, t = update.effective_message, _actor(context), context.t
    if message is None:
        return
    if actor is None or actor.role not in EXPORTERS:
        await message.reply_text(t.gettext(
            "Only the International Division (AB), top management and administrators may "
            "export the register."))
        return
    words = list(context.args or [])
    fmt = "csv" if "csv" in (w.lower() for w in words) else "xlsx"
    services = context.services
    now = services.now()
    chosen = [w for w in words if w.lower() not in FORMATS]
    narrow = None
    if chosen:  # the same filters as /status: /export Jepun, /export csv 2026 selesai
        org = await services.org.get()
        parsed = parse_filter(chosen, divisions=org.lead_divisions(),
                              steps=services.procedure.sop.keys, countries=named)
        if parsed.unknown or parsed.replaced:
            await message.reply_text(t.gettext(
                "I do not know “{word}”. Send /export for a workbook or /export csv, with the "
                "filters /status takes.").format(
                    word=esc([*parsed.unknown, *parsed.replaced][0][:40])))
            return
        narrow = narrowing(parsed.filter, now, services.procedure.calendar.tz)
    out = io.BytesIO()
    written = await write_register(out, sessions=services.readers,
                                   procedure=services.procedure, t=t, now=now, fmt=fmt,
                                   narrow=narrow, shown=_shown_here(context))
    count = written.cases
    if not count:
        text = (t.gettext("No case matches these filters: nothing to export. /status shows "
                          "which cases they keep.") if chosen
                else t.gettext("There are no cases to put in the register yet."))
        if written.left_out:
            text += "\n" + _left_out_line(written.left_out, t)
        await message.reply_text(text)
        return
    day = services.procedure.calendar.local_date(now).isoformat()
    caption = t.ngettext("The IKA register: {n} case.", "The IKA register: {n} cases.",
                         count).format(n=count)
    if written.left_out:
        caption += "\n" + _left_out_line(written.left_out, t)
    # a register holding a Sulit case is protected like every message about one
    await message.reply_document(out.getvalue(), filename=f"ikabot-register-{day}.{fmt}",
                                 caption=caption, protect_content=True if written.sulit else None)


# --- the calendar -------------------------------------------------------------------------


def bot_link(context: IkaContext) -> str:
    """https://t.me/<the bot's username>."""
    return f"https://t.me/{context.bot.username}"


async def send_calendar(update: Update, context: IkaContext) -> None:
    """/calendar: an .ics file of the open steps of the cases the user follows."""
    message, actor, t = update.effective_message, _actor(context), context.t
    if message is None or actor is None:
        return
    services = context.services
    procedure = services.procedure
    numbers = {key: procedure.sop.number(key) for key in procedure.sop.keys}
    found: list[Deadline] = []
    sulit: list[Case] = []
    left_out = 0
    shown = _shown_here(context)
    async with services.readers() as session:
        async for cases in case_batches(session=session, narrow=open_only):
            kept: list[Case] = []
            hidden: list[Case] = []
            for case in cases:
                (hidden if case.is_sulit and not shown(case) else kept).append(case)
            left_out += len(deadlines(hidden, actor, numbers, procedure.calendar))
            found += deadlines(kept, actor, numbers, procedure.calendar)
            sulit += [case for case in kept if case.is_sulit]
    if not found:
        text = t.gettext("There are no open steps for your calendar.")
        if left_out:
            text += "\n" + _left_out_line(left_out, t)
        await message.reply_text(text)
        return
    found.sort(key=lambda d: (d.due, d.ref))
    from handlers.drawing.deadlines_ics import render_deadlines  # see LAZY

    ics = render_deadlines(found, procedure.sop, t, bot_link(context), services.now())
    caption = t.ngettext("{n} deadline. Open the file to add it to your calendar; a newer "
                         "file updates it.",
                         "{n} deadlines. Open the file to add them to your calendar; a newer "
                         "file updates them.", len(found)).format(n=len(found))
    if left_out:
        caption += "\n" + _left_out_line(left_out, t)
    followed = {d.ref for d in found}
    await message.reply_document(
        ics, filename="ikabot-deadlines.ics", caption=caption,
        protect_content=protected([c for c in sulit if c.ref in followed]))


# --- the timeline picture -----------------------------------------------------------------


def timeline_button(ref: str, t: Translator) -> InlineKeyboardButton:
    """The button under /status REF that sends the case's timeline."""
    return InlineKeyboardButton(t.gettext("📊 Timeline"), callback_data=encode(Timeline(ref)))


def with_timeline(markup: InlineKeyboardMarkup | None, what: str, t: Translator
                  ) -> InlineKeyboardMarkup | None:
    """``markup`` with the timeline button added, when ``what`` is a case reference."""
    try:
        button = timeline_button(what, t)
    except ValueError:  # not a case reference: the list of open cases
        return markup
    rows = [list(row) for row in markup.inline_keyboard] if markup else []
    return InlineKeyboardMarkup([*rows, [button]])


async def send_timeline(update: Update, context: IkaContext) -> None:
    """The timeline button: the case's timeline as a picture, in the chat's language."""
    query, t = update.callback_query, context.t
    if query is None:
        return
    button = decode(query.data)
    if not isinstance(button, Timeline):
        await answer_tap(update, context, t.gettext("This button is no longer valid."))
        return
    services = context.services
    case = await look_at(context, button.ref)
    if case is None:
        await answer_tap(update, context, t.gettext("There is no case {ref}.").format(
            ref=button.ref))
        return
    await answer_tap(update, context)
    from handlers.drawing.timeline_chart import render_timeline  # see LAZY

    picture = timeline(case, services.procedure, services.now(),
                       title_shown=trusted(context.chat_division, case.lead_division))
    png = await asyncio.to_thread(render_timeline, picture, services.procedure.sop, t)
    chat = update.effective_chat
    if chat is not None:
        await context.bot.send_photo(
            chat.id, png, filename=f"{case.ref}.png", protect_content=protected(case),
            caption=t.gettext("Timeline of {ref}: red is late, shaded days are weekends and "
                              "public holidays.").format(ref=esc(case.ref)))


# --- forecast and target ------------------------------------------------------------------


def forecast_lines(fc: Forecast | None, target: Target | None, t: Translator,
                   procedure: Procedure) -> list[str]:
    """What /status REF says of the forecast and the target date (HTML)."""
    lines = []
    if fc is not None:
        lines.append(t.gettext("Forecast finish: {likely} (likely), {late} at the latest").format(
            likely=t.format_date(fc.likely), late=t.format_date(fc.late)))
    if target is not None:
        lines.append(t.gettext("Target date: {date}").format(date=t.format_date(target.on)))
        if fc is not None and fc.late > target.on:
            causes = [esc(step_heading(procedure.sop, key, t)) for key in fc.causes()[:2]]
            line = "⚠️ " + t.gettext("The forecast's late bound passes the target.")
            if causes:
                line += " " + t.gettext("Slowest: {steps}").format(steps=t.format_list(causes))
            lines.append(line)
    return lines


async def set_case_target(update: Update, context: IkaContext) -> None:
    """/target REF DATE: the date a case should finish by (AB or its lead division)."""
    message, actor, t = update.effective_message, _actor(context), context.t
    if message is None or actor is None:
        return
    args = context.args or []
    usage = t.gettext("Send /target IKA-2026-001 30/10/2026 to give a case a target date.")
    if len(args) != 2:
        await message.reply_text(usage)
        return
    ref, day = args[0].upper(), parse_date(args[1])
    if day is None:
        await message.reply_text(t.gettext("“{text}” is not a date.").format(
            text=esc(args[1][:40])) + "\n" + usage)
        return
    services = context.services
    now = services.now()
    if day <= services.procedure.calendar.local_date(now):
        await message.reply_text(t.gettext("A target date must lie after today."))
        return
    async with services.sessions() as session, session.begin():
        case = await load_case(session=session, ref=ref, for_update=True)
        if case is None or not case.is_open:
            await message.reply_text(
                t.gettext("There is no open case {ref}.").format(ref=esc(ref[:40])))
            return
        if not may_set_target(actor, case):
            await message.reply_text(t.gettext(
                "Only the International Division (AB) or the case's lead division may set "
                "its target date."))
            return
        try:
            target = await set_target(session=session, ref=ref, on=day, by=actor.user_id,
                                      now=now)
        except UnknownCase:  # pragma: no cover - the case was read in this transaction
            return
    history = await read_history(services.readers, services.procedure, now=now)
    fc = forecast(case, history, services.procedure, now)
    lines = [t.gettext("{ref}: target date set.").format(ref=esc(ref)),
             *forecast_lines(fc, target, t, services.procedure)]
    await reply_about(update, case, "\n".join(lines))


# A file or a picture takes seconds to make (an export of 10,000 cases, the first chart's
# matplotlib): those are answered beside the other updates, not ahead of everyone's.
HANDLERS: list[BaseHandler[Any, Any, Any]] = [
    CommandHandler("export", export, block=False),
    CommandHandler("calendar", send_calendar, block=False),
    CommandHandler("target", set_case_target),
    CallbackQueryHandler(send_timeline, pattern=pattern("tl"), block=False),
]
