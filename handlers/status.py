"""Where the cases stand: /status (every open case, overdue first) and /status REF (one case).

Anything longer than one Telegram message is split into pages at case or step boundaries, with
◀ ▶ buttons; a page tap renders the page afresh from the database.
"""

from __future__ import annotations

import html
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.error import BadRequest
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler

from bot.callbacks import Page, decode, encode, pattern
from bot.context import IkaContext
from bot.domain.case import Case, Phase, StepRun
from bot.domain.clock import waiting
from bot.domain.deadlines import Procedure
from bot.domain.sop import Capture
from bot.i18n import Translator
from bot.messages import phase_label, source_label, status_label, step_heading
from handlers import reports
from handlers.cards import (
    decision_line,
    division_label,
    division_name,
    due_line,
    esc,
    heading,
    owner_division,
    working_days_late,
)
from handlers.clock_cards import clock_lines, shown_title, signing_lines
from handlers.replies import answer_tap
from storage.cases import list_open_cases, load_case
from storage.models import Division, DivisionKind
from storage.org import list_divisions, list_users

# Telegram refuses a message of more than 4096 characters (UTF-16 units, after the HTML is
# parsed); a little room is kept for anything a client might count differently.
PAGE_LIMIT = 4000
OPEN = "open"  # Page.what for the list of open cases

_TAG = re.compile(r"<[^>]*>")

ICON_DONE, ICON_REFUSED, ICON_CURRENT, ICON_LATE, ICON_WAITING, ICON_AHEAD = (
    "✅", "✖️", "▶️", "🔴", "⏳", "▫️")


def shown_length(text: str) -> int:
    """How long Telegram counts an HTML message: its text without tags, in UTF-16 units."""
    plain = html.unescape(_TAG.sub("", text))
    return len(plain.encode("utf-16-le")) // 2


def _split_line(line: str, budget: int) -> list[str]:
    """A line too long for a page, as plain pieces that each fit (its markup is dropped)."""
    pieces, piece, size = [], "", 0
    for char in html.unescape(_TAG.sub("", line)):
        width = len(char.encode("utf-16-le")) // 2
        if size + width > budget:
            pieces.append(esc(piece))
            piece, size = "", 0
        piece, size = piece + char, size + width
    return [*pieces, esc(piece)]


def paginate(blocks: Sequence[str], budget: int) -> list[str]:
    """Blocks joined into pages of at most ``budget`` characters, never splitting a block that
    fits on a page; one that does not is split between its lines."""
    pages: list[str] = []
    page = ""

    def add(piece: str, separator: str) -> None:
        nonlocal page
        joined = page + separator + piece if page else piece
        if shown_length(joined) <= budget:
            page = joined
            return
        if page:
            pages.append(page)
        page = piece

    for block in blocks:
        if shown_length(block) <= budget:
            add(block, "\n\n")
            continue
        for n, line in enumerate(block.split("\n")):
            for m, piece in enumerate(_split_line(line, budget)
                                      if shown_length(line) > budget else [line]):
                add(piece, "\n\n" if n == 0 and m == 0 else "\n")
    if page or not pages:
        pages.append(page)
    return pages


@dataclass
class Listing:
    """A header shown on every page, and the blocks that are spread over the pages."""

    header: str
    blocks: list[str]

    def pages(self, t: Translator) -> list[str]:
        """The listing's pages, each within Telegram's limit with its header and page line."""
        footer = t.gettext("Page {page} of {pages}").format(page=9999, pages=9999)
        budget = PAGE_LIMIT - shown_length(self.header) - shown_length(footer) - 4
        bodies = paginate(self.blocks, budget)
        if len(bodies) == 1:
            return [f"{self.header}\n\n{bodies[0]}".rstrip()]
        return [
            f"{self.header}\n\n{body}\n\n<i>"
            + t.gettext("Page {page} of {pages}").format(page=n, pages=len(bodies)) + "</i>"
            for n, body in enumerate(bodies, start=1)
        ]


def page_markup(what: str, page: int, pages: int) -> InlineKeyboardMarkup | None:
    """◀ and ▶ to the neighbouring pages, where there are any."""
    buttons = []
    if page > 0:
        buttons.append(InlineKeyboardButton("◀", callback_data=encode(Page(what, page - 1))))
    if page < pages - 1:
        buttons.append(InlineKeyboardButton("▶", callback_data=encode(Page(what, page + 1))))
    return InlineKeyboardMarkup([buttons]) if buttons else None


# --- what the pages say ----------------------------------------------------------------------


@dataclass
class _Org:
    """Divisions by code and people's names by Telegram id, read once per answer."""

    divisions: dict[str, Division]
    names: dict[int, str]
    chat: str | None = None  # the group chat's division asking, None in private

    def name(self, telegram_id: int | None) -> str:
        if telegram_id is None:
            return "-"
        return self.names.get(telegram_id, str(telegram_id))

    def title(self, case: Case, t: Translator) -> str:
        """A Sulit case's title only in AB's chat, its lead division's, or in private."""
        trusted = self.chat is None or self.chat == case.lead_division or (
            self.chat in self.divisions
            and self.divisions[self.chat].kind == DivisionKind.AB.value)
        return shown_title(case, t, trusted=trusted)


async def _org(context: IkaContext) -> _Org:
    async with context.services.sessions() as session:
        divisions = {d.code: d for d in await list_divisions(session=session)}
        # people who have since left still have their names on what they did
        users = await list_users(session=session, active=None)
    chat = context.chat_division.code if context.chat_division is not None else None
    return _Org(divisions, {u.telegram_id: u.name for u in users}, chat)


def is_overdue(case: Case, now: datetime) -> bool:
    """True when the current step's work is past its due time."""
    run = case.current_run
    return (run is not None and case.phase is Phase.WORK and now > run.due_at
            and waiting(run) is None)  # a stopped clock is not late


def _case_block(case: Case, t: Translator, procedure: Procedure, now: datetime,
                org: _Org) -> str:
    run = case.current_run
    icon = ICON_LATE if is_overdue(case, now) else (
        ICON_WAITING if case.phase is not Phase.WORK else ICON_CURRENT)
    lines = [f"{icon} <b>{esc(case.ref)}</b> · {org.title(case, t)}"]
    if run is not None:
        step = procedure.sop.get(run.key)
        owner = division_name(owner_division(case, step, org.divisions), t)
        lines += [esc(step_heading(procedure.sop, run.key, t)),
                  t.gettext("Owner: {owner}").format(owner=esc(owner))]
        lines.append(due_line(run, t, procedure, now, case) if case.phase is Phase.WORK
                     else phase_label(case.phase, t))
    return "\n".join(lines)


def open_cases_listing(cases: Sequence[Case], t: Translator, procedure: Procedure,
                       now: datetime, org: _Org) -> Listing:
    """Every open case, the overdue first, then by due date."""
    far = datetime.max.replace(tzinfo=now.tzinfo)

    def order(case: Case) -> tuple[bool, datetime, str]:
        run = case.current_run
        return (not is_overdue(case, now), run.due_at if run else far, case.ref)

    ordered = sorted(cases, key=order)
    if not ordered:
        return Listing(t.gettext("There are no open cases."), [])
    overdue = sum(is_overdue(c, now) for c in ordered)
    header = "<b>" + t.ngettext("{n} open case", "{n} open cases", len(ordered)).format(
        n=len(ordered)) + "</b>"
    if overdue:
        header += " · " + t.ngettext("{n} overdue", "{n} overdue", overdue).format(n=overdue)
    return Listing(header, [_case_block(c, t, procedure, now, org) for c in ordered])


def _when(moment: datetime, t: Translator, procedure: Procedure) -> str:
    return t.format_datetime(moment, procedure.calendar.tz)


def _day(moment: datetime, t: Translator, procedure: Procedure) -> str:
    return t.format_date(procedure.calendar.local_date(moment))


def _late(n: int, t: Translator) -> str:
    return t.ngettext("{n} working day late", "{n} working days late", n).format(n=n)


def _inputs(case: Case, run: StepRun, t: Translator, procedure: Procedure,
            org: _Org) -> list[str]:
    asked = [i for i in case.inputs if i.round == run.round]
    if not asked:
        return [] if run.done else [t.gettext("No BJA has been asked for input yet.")]
    lines = []
    for ask in asked:
        when = _day(ask.asked_at, t, procedure)
        if ask.received_at is None:
            lines.append("• " + t.gettext("{code}: asked {asked}, still awaited").format(
                code=esc(ask.code), asked=when))
        else:
            lines.append("• " + t.gettext("{code}: asked {asked}, received {received} ({name})")
                         .format(code=esc(ask.code), asked=when,
                                 received=_day(ask.received_at, t, procedure),
                                 name=esc(org.name(ask.received_by))))
    return lines


def _details(run: StepRun, t: Translator, procedure: Procedure, org: _Org) -> list[str]:
    """What was recorded when the step was done: dates, references, the document, a note."""
    data: Mapping[str, Any] = run.data
    lines = []
    if isinstance(data.get("memo_submitted_at"), str):
        lines.append(t.gettext("Minit Cerai submitted {when} by {name}").format(
            when=_when(datetime.fromisoformat(data["memo_submitted_at"]), t, procedure),
            name=esc(org.name(data.get("memo_by")))))
    if isinstance(data.get("meeting_date"), str):
        lines.append(t.gettext("Meeting held on {date}").format(
            date=t.format_date(date.fromisoformat(data["meeting_date"]))))
    if isinstance(data.get("start"), str) and isinstance(data.get("end"), str):
        lines.append(t.gettext("Negotiation: {start} to {end}, {venue}").format(
            start=t.format_date(date.fromisoformat(data["start"])),
            end=t.format_date(date.fromisoformat(data["end"])),
            venue=esc(data.get("venue", ""))))
    if isinstance(data.get("reference"), str):
        lines.append(t.gettext("Reference: {reference}").format(reference=esc(data["reference"])))
    if isinstance(data.get("document"), str):
        lines.append(t.gettext("Document: {name}").format(name=esc(data["document"])))
    if isinstance(data.get("note"), str):
        lines.append(t.gettext("Note: {note}").format(note=esc(data["note"])))
    return lines


def _run_block(case: Case, run: StepRun, t: Translator, procedure: Procedure, now: datetime,
               org: _Org) -> str:
    sop = procedure.sop
    step = sop.get(run.key)
    current = case.is_open and run is case.current_run
    refused = run.data.get("decision") == "tidak"
    if refused:
        icon = ICON_REFUSED
    elif run.done:
        icon = ICON_DONE
    elif current and is_overdue(case, now):
        icon = ICON_LATE
    else:
        icon = ICON_WAITING if current and case.phase is not Phase.WORK else ICON_CURRENT
    title = esc(step_heading(sop, run.key, t))
    # Only a step done more than once (a revision after Tidak) needs its rounds told apart.
    if sum(r.key == run.key for r in case.steps) > 1:
        title += " " + t.gettext("(round {n})").format(n=run.round)
    lines = [f"{icon} <b>{title}</b>"]
    if run.done_at is not None:
        lines.append(t.gettext("Due: {due}").format(due=_when(run.due_at, t, procedure)))
        when, name = _when(run.done_at, t, procedure), esc(org.name(run.done_by))
        if refused:
            # After Tidak the round ends by the lead division's choice: revise, or close.
            ended = (t.gettext("Closed as not approved: {when} by {name}")
                     if not case.is_open and run is case.steps[-1]
                     else t.gettext("Sent back for revision: {when} by {name}"))
            lines.append(ended.format(when=when, name=name))
        else:
            late = working_days_late(run, procedure, run.done_at)
            lines.append(t.gettext("Done: {when} by {name}").format(when=when, name=name)
                         + (" · " + _late(late, t) if late else ""))
    elif current and case.phase is not Phase.WORK:
        lines += [t.gettext("Due: {due}").format(due=_when(run.due_at, t, procedure)),
                  phase_label(case.phase, t)]
    else:
        lines.append(due_line(run, t, procedure, now, case))
    if step.capture is Capture.INPUTS:
        lines += _inputs(case, run, t, procedure, org)
    lines += _details(run, t, procedure, org)
    lines += clock_lines(case, run, t, procedure, org.name) + signing_lines(run, t)
    if step.capture is Capture.DECISION:
        decision = next((d for d in case.decisions if d.round == run.round), None)
        if decision is not None:
            lines.append(decision_line(decision, t, procedure, org.name(decision.by),
                                       org.name(decision.on_behalf_of)
                                       if decision.on_behalf_of else None))
    return "\n".join(lines)


def case_listing(case: Case, t: Translator, procedure: Procedure, now: datetime,
                 org: _Org, more: Sequence[str] = ()) -> Listing:
    """One case, step by step: due, done when and by whom, lateness, inputs and decisions."""
    status = status_label(case.status, t)
    if case.is_open and case.phase is not Phase.WORK:
        status += " · " + phase_label(case.phase, t)
    about = [
        t.gettext("Status: {status}").format(status=status),
        t.gettext("Source: {source}").format(source=source_label(case.source, t)),
        t.gettext("Lead division: {division}").format(
            division=division_label(org.divisions.get(case.lead_division), t)),
        t.gettext("Received on: {date}").format(date=t.format_date(case.received_on)),
    ]
    finish = procedure.projected_finish(case, now)
    if finish is not None and case.is_open:
        about.append(t.gettext("Projected finish: {date}").format(date=t.format_date(finish)))
    elif finish is not None:
        about.append(t.gettext("Finished on: {date}").format(date=t.format_date(finish)))
    elif case.is_open:
        about.append(t.gettext("Projected finish: none until the case is revised or closed."))
    blocks = ["\n".join([*about, *more])]
    blocks += [_run_block(case, run, t, procedure, now, org) for run in case.steps]
    if case.is_open:
        started = {run.key for run in case.steps}
        blocks += [f"{ICON_AHEAD} " + esc(step_heading(procedure.sop, key, t))
                   for key in procedure.sop.keys if key not in started]
    return Listing(heading(case, t, org.title(case, t)), blocks)


# --- handlers -------------------------------------------------------------------------------


async def _pages(context: IkaContext, what: str) -> list[str] | None:
    """The pages of ``what`` (the open cases, or a case's reference) as they are now."""
    services, t = context.services, context.t
    now = services.now()
    org = await _org(context)
    async with services.sessions() as session:
        if what == OPEN:
            return open_cases_listing(await list_open_cases(session=session), t,
                                      services.procedure, now, org).pages(t)
        case = await load_case(session=session, ref=what)
    if case is None:
        return None
    more = await reports.case_forecast_lines(case, context)
    return case_listing(case, t, services.procedure, now, org, more).pages(t)


async def show_status(update: Update, context: IkaContext) -> None:
    """/status: the open cases; /status REF: that case."""
    message = update.effective_message
    if message is None:
        return
    what = context.args[0].upper() if context.args else OPEN
    pages = await _pages(context, what)
    if pages is None:
        await message.reply_text(
            # what was typed is shown back, but never so much that the answer is refused
            context.t.gettext("There is no case {ref}.").format(ref=esc(what[:40])) + "\n"
            + context.t.gettext("/status lists the open cases."))
        return
    await message.reply_text(pages[0], reply_markup=reports.with_timeline(
        page_markup(what, 0, len(pages)), what, context.t))


async def turn_page(update: Update, context: IkaContext) -> None:
    """◀ or ▶: the page asked for, rendered afresh (the last one if the listing got shorter)."""
    query = update.callback_query
    if query is None:
        return
    button = decode(query.data)
    if not isinstance(button, Page):
        await answer_tap(update, context, context.t.gettext("This button is no longer valid."))
        return
    pages = await _pages(context, button.what)
    if pages is None:
        await answer_tap(update, context,
                         context.t.gettext("There is no case {ref}.").format(ref=button.what))
        return
    page = min(button.page, len(pages) - 1)
    await query.answer()
    try:
        await query.edit_message_text(pages[page], reply_markup=reports.with_timeline(
            page_markup(button.what, page, len(pages)), button.what, context.t))
    except BadRequest as error:
        # A second tap on the same arrow asks for the page already shown: nothing to change.
        if "not modified" not in error.message:
            raise


HANDLERS: list[BaseHandler[Any, Any, Any]] = [
    CommandHandler("status", show_status),
    CallbackQueryHandler(turn_page, pattern=pattern("pg")),
]
