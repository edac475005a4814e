"""Where the cases stand: /status (open cases, overdue first), /status WORDS (the cases a
filter keeps), /status REF (one case), and the open steps /done offers.

A list reads one page of cases from the database (storage.case_pages); a case's history longer
than one Telegram message is split into pages at step boundaries. ◀ ▶ buttons render the page
afresh from the database.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Message, Update
from telegram.error import BadRequest
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler

from bot.callbacks import Page, Report, decode, encode, pattern
from bot.context import IkaContext
from bot.countries import named
from bot.domain.case import Actor, Case, Phase, Role, StepRun
from bot.domain.case_filter import (
    CLOSED,
    TOKEN_PREFIX,
    CaseFilter,
    Parsed,
    from_token,
    parse_filter,
)
from bot.domain.clock import waiting
from bot.domain.deadlines import Procedure
from bot.domain.forecast import forecast
from bot.domain.sop import Capture, Owner
from bot.i18n import Translator
from bot.messages import (
    instrument_label,
    level_label,
    phase_label,
    source_label,
    status_label,
    step_heading,
)
from bot.text import plain_text, shown_length, telegram_length
from handlers import reports
from handlers.cards import (
    decision_line,
    division_label,
    division_name,
    due_line,
    due_text,
    esc,
    heading,
    owner_division,
    working_days_late,
)
from handlers.clock_cards import clock_lines, signing_lines, title_in
from handlers.replies import answer_tap, protected, reply_about, send_about
from storage.case_pages import Acting, CasePage, read_page
from storage.cases import load_case_and_target
from storage.models import Division
from storage.org_cache import Org

# Telegram refuses a message of more than 4096 characters (UTF-16 units, after the HTML is
# parsed); a little room is kept for anything a client might count differently.
PAGE_LIMIT = 4000
OPEN = "open"  # Page.what for the list of open cases
DONE = "done"  # Page.what for the open steps /done offers
LIST_PAGE = 12  # cases on a page of a list: with titles cut to TITLE_CHARS, always fits
DONE_PAGE = 20  # buttons on a page of /done
TITLE_CHARS = (100, 60, 30)  # how much of a title a list shows, shorter if a page is too long
CHOICE_BUTTONS = 8  # meanings offered for a word that may mean several things
MAX_CHOICE_ROWS = 40  # and for all such words (a message takes 100 buttons)
_REF = re.compile(r"IKA-\d{4}-\d{1,6}")

ICON_DONE, ICON_REFUSED, ICON_CURRENT, ICON_LATE, ICON_WAITING, ICON_AHEAD = (
    "✅", "✖️", "▶️", "🔴", "⏳", "▫️")


def _split_line(line: str, budget: int) -> list[str]:
    """A line too long for a page, as plain pieces that each fit (its markup is dropped)."""
    pieces, piece, size = [], "", 0
    for char in plain_text(line):
        width = telegram_length(char)
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


def is_overdue(case: Case, now: datetime) -> bool:
    """True when the current step's work is past its due time."""
    run = case.current_run
    return (run is not None and case.phase is Phase.WORK and now > run.due_at
            and waiting(run) is None)  # a stopped clock is not late


@dataclass(frozen=True)
class Answer:
    """A page to show, its buttons, and the cases it speaks of (a Sulit one protects it)."""

    text: str
    markup: InlineKeyboardMarkup | None = None
    about: list[Case] = field(default_factory=list)


def _clip(text: str, chars: int) -> str:
    return text if len(text) <= chars else text[:chars - 1].rstrip() + "…"


def _case_block(case: Case, t: Translator, procedure: Procedure, now: datetime,
                org: Org, chars: int = 1000, chat: Division | None = None) -> str:
    """One case in a list; titles and names longer than ``chars`` are cut short (a Sulit
    case's title shows only where ``chat`` may see it)."""
    run = case.current_run
    icon = ICON_LATE if is_overdue(case, now) else (
        ICON_WAITING if case.phase is not Phase.WORK else ICON_CURRENT)
    title = title_in(chat, case, t, chars)
    lines = [f"{icon} <b>{esc(case.ref)}</b> · {title}"]
    if not case.is_open:
        lines.append(status_label(case.status, t))
    elif run is not None:
        step = procedure.sop.get(run.key)
        owner = division_name(owner_division(case, step, org.divisions), t)
        lines += [esc(step_heading(procedure.sop, run.key, t)),
                  t.gettext("Owner: {owner}").format(owner=esc(_clip(owner, chars)))]
        lines.append(due_line(run, t, procedure, now, case) if case.phase is Phase.WORK
                     else phase_label(case.phase, t))
    return "\n".join(lines)


def _header(page: CasePage, found: CaseFilter, t: Translator) -> str:
    n = page.total
    counted = (t.ngettext("{n} open case", "{n} open cases", n) if found.is_open_only
               else t.ngettext("{n} case", "{n} cases", n)).format(n=n)
    header = f"<b>{counted}</b>"
    if page.overdue:
        header += " · " + t.ngettext("{n} overdue", "{n} overdue", page.overdue).format(
            n=page.overdue)
    return header


def describe(found: CaseFilter, t: Translator, procedure: Procedure,
             divisions: Mapping[str, Division]) -> str:
    """What a filter keeps, in words: "Bahagian X (BX) · Japan · overdue only"."""
    parts: list[str] = []
    if found.division:
        parts.append(division_label(divisions.get(found.division), t)
                     if found.division in divisions else esc(found.division))
    if found.country:
        parts.append(esc(t.country_name(found.country)))
    if found.instrument:
        parts.append(instrument_label(found.instrument, t))
    if found.level:
        parts.append(level_label(found.level, t))
    if found.step:
        parts.append(esc(step_heading(procedure.sop, found.step, t)))
    if not found.is_open_only:
        parts.append(t.gettext("closed") if found.statuses == CLOSED
                     else status_label(next(iter(found.statuses)), t))
    if found.year:
        parts.append((t.gettext("received in {year}") if found.is_open_only
                      else t.gettext("closed in {year}")).format(year=found.year))
    if found.overdue:
        parts.append(t.gettext("overdue only"))
    return " · ".join(parts)


def list_page_text(header: str, blocks: Callable[[int], list[str]], page: int, pages: int,
                   t: Translator) -> str:
    """A page of a list within Telegram's limit: long titles are cut shorter until it fits."""
    footer = ("\n\n<i>" + t.gettext("Page {page} of {pages}").format(page=page + 1, pages=pages)
              + "</i>") if pages > 1 else ""
    text = ""
    for chars in TITLE_CHARS:
        body = "\n\n".join(blocks(chars))
        text = f"{header}\n\n{body}".rstrip() + footer
        if shown_length(text) <= PAGE_LIMIT:
            return text
    return paginate([text], PAGE_LIMIT)[0]  # never with the shortest titles; kept for safety


def _pages_of(total: int, size: int) -> int:
    return max(1, -(-total // size))


def _what(found: CaseFilter, procedure: Procedure) -> str:
    return OPEN if found.is_default else found.token(_step_numbers(procedure))


def _step_numbers(procedure: Procedure) -> dict[str, int]:
    return {key: n for n, key in enumerate(procedure.sop.keys, start=1)}


def _list_markup(found: CaseFilter, page: int, pages: int, overdue: int, t: Translator,
                 procedure: Procedure) -> InlineKeyboardMarkup | None:
    """◀ ▶, and on a long list a tap to keep only the overdue ones (or to show all again)."""
    what = _what(found, procedure)
    arrows = page_markup(what, page, pages)
    rows = list(arrows.inline_keyboard) if arrows is not None else []
    taps = []
    if pages > 1 and overdue and not found.overdue:
        taps.append(InlineKeyboardButton(
            "🔴 " + t.gettext("Overdue only"),
            callback_data=encode(Page(_what(replace(found, overdue=True), procedure), 0))))
    if not found.is_default:
        taps.append(InlineKeyboardButton(t.gettext("All open cases"),
                                         callback_data=encode(Page(OPEN, 0))))
    if taps:
        rows.append(tuple(taps))
    return InlineKeyboardMarkup(rows) if rows else None


def _nothing_found(found: CaseFilter, t: Translator, procedure: Procedure, org: Org) -> Answer:
    """No case matches: say which filter, and offer the filters with one condition less."""
    if found.is_default:
        return Answer(t.gettext("There are no open cases."))
    numbers = _step_numbers(procedure)
    lines = [t.gettext("No case matches: {filter}.").format(
        filter=describe(found, t, procedure, org.divisions))]
    wider = found.parts()
    lines.append(t.gettext("To widen the search: {commands}").format(commands=", ".join(
        "/status " + esc(" ".join(w.words(numbers))) if not w.is_default else "/status"
        for w in wider)))

    def label(wider: CaseFilter) -> str:
        if wider.is_default:
            return t.gettext("All open cases")
        # describe() escapes for HTML; a button's text is plain
        return _clip(html.unescape(describe(wider, t, procedure, org.divisions)), 60)

    buttons = [[InlineKeyboardButton(label(w), callback_data=encode(Page(_what(w, procedure), 0)))]
               for w in wider]
    return Answer("\n".join(lines), InlineKeyboardMarkup(buttons))


async def list_answer(context: IkaContext, found: CaseFilter, page: int) -> Answer:
    """Page ``page`` of the cases ``found`` keeps, read from the database as they are now."""
    services, t = context.services, context.t
    procedure, now = services.procedure, services.now()
    org = await services.org.get()
    async with services.readers() as session, session.begin():
        shown = await read_page(session=session, found=found, now=now,
                                tz=procedure.calendar.tz, offset=page * LIST_PAGE,
                                limit=LIST_PAGE)
    if not shown.total:
        return _nothing_found(found, t, procedure, org)
    pages, page = _pages_of(shown.total, LIST_PAGE), shown.offset // LIST_PAGE
    header = _header(shown, found, t)
    if not found.is_default:
        header += "\n" + t.gettext("Showing: {filter}").format(
            filter=describe(found, t, procedure, org.divisions))
    text = list_page_text(
        header, lambda chars: [_case_block(c, t, procedure, now, org, chars,
                                           context.chat_division)
                               for c in shown.cases], page, pages, t)
    return Answer(text, _list_markup(found, page, pages, shown.overdue, t, procedure),
                  list(shown.cases))


def _when(moment: datetime, t: Translator, procedure: Procedure) -> str:
    return t.format_datetime(moment, procedure.calendar.tz)


def _day(moment: datetime, t: Translator, procedure: Procedure) -> str:
    return t.format_date(procedure.calendar.local_date(moment))


def _late(n: int, t: Translator) -> str:
    return t.ngettext("{n} working day late", "{n} working days late", n).format(n=n)


def _inputs(case: Case, run: StepRun, t: Translator, procedure: Procedure,
            org: Org) -> list[str]:
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


def _details(run: StepRun, t: Translator, procedure: Procedure, org: Org) -> list[str]:
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
               org: Org) -> str:
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
    ended: list[str] = []  # how the run ended, told after what happened in it
    if run.done_at is not None:
        lines.append(t.gettext("Due: {due}").format(due=due_text(run, t, procedure, case)))
        when, name = _when(run.done_at, t, procedure), esc(org.name(run.done_by))
        if refused:
            # After Tidak the round ends by the lead division's choice: revise, or close.
            end = (t.gettext("Closed as not approved: {when} by {name}")
                   if not case.is_open and run is case.steps[-1]
                   else t.gettext("Sent back for revision: {when} by {name}"))
            ended.append(end.format(when=when, name=name))
        elif step.capture is not Capture.DECISION:  # a Ya's own line says when and by whom
            late = working_days_late(run, procedure, run.done_at)
            ended.append(t.gettext("Done: {when} by {name}").format(when=when, name=name)
                         + (" · " + _late(late, t) if late else ""))
    elif current and case.phase is not Phase.WORK:
        lines += [t.gettext("Due: {due}").format(due=due_text(run, t, procedure, case)),
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
    return "\n".join(lines + ended)


def case_listing(case: Case, t: Translator, procedure: Procedure, now: datetime,
                 org: Org, more: Sequence[str] = (), chat: Division | None = None) -> Listing:
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
    return Listing(heading(case, t, title_in(chat, case, t)), blocks)


# --- handlers -------------------------------------------------------------------------------


async def _case_pages(context: IkaContext, ref: str) -> tuple[Case, list[str]] | None:
    """Case ``ref`` as it is now, and its pages; None when there is no such case."""
    services, t = context.services, context.t
    org = await services.org.get()
    now = services.now()
    history = await reports.read_history(services.readers, services.procedure, now=now)
    async with services.readers() as session, session.begin():
        found = await load_case_and_target(session=session, ref=ref, copy=False)
    if found is None:
        return None
    case, target = found
    more = reports.forecast_lines(forecast(case, history, services.procedure, now), target, t,
                                  services.procedure)
    return case, case_listing(case, t, services.procedure, services.now(), org, more,
                              context.chat_division).pages(t)


def _no_case(what: str, t: Translator) -> str:
    # what was typed is shown back, but never so much that the answer is refused
    return (t.gettext("There is no case {ref}.").format(ref=esc(what[:40])) + "\n"
            + t.gettext("/status lists the open cases."))


def _unknown_line(unknown: Sequence[str], t: Translator) -> str:
    words = ", ".join(f"“{esc(w[:40])}”" for w in unknown[:10])
    return t.gettext("Not understood, and left out: {words}").format(words=words)


def _left_out(parsed: Parsed, t: Translator, procedure: Procedure, org: Org
              ) -> tuple[list[str], list[list[InlineKeyboardButton]]]:
    """What the answer says of the words a filter did not take, and the meanings to tap."""
    lines = [_unknown_line(parsed.not_understood, t)] if parsed.not_understood else []
    rows: list[list[InlineKeyboardButton]] = []
    for choice in parsed.choices:
        # describe() escapes for HTML; a button's text is plain
        meanings = sorted(((html.unescape(describe(alone, t, procedure, org.divisions)), found)
                           for alone, found in zip(choice.options(CaseFilter()),
                                                   choice.options(parsed.filter), strict=True)),
                          key=lambda meaning: meaning[0])[:CHOICE_BUTTONS]
        lines.append(t.gettext("“{word}” may mean {options}: tap the one you mean.").format(
            word=esc(choice.word[:40]),
            options=esc(t.format_list([label for label, _ in meanings], style="or"))))
        if len(choice.values) > len(meanings):
            lines.append(t.gettext("Not in the list? Type more of its name."))
        rows.extend([InlineKeyboardButton(_clip(label, 60), callback_data=encode(
            Page(_what(found, procedure), 0)))] for label, found in meanings)
    if parsed.replaced:
        lines.append(t.gettext(
            "Only the last word for the same thing is kept; left out: {words}").format(
            words=", ".join(f"“{esc(w[:40])}”" for w in parsed.replaced[:10])))
    return lines, rows[:MAX_CHOICE_ROWS]


def read_filter(words: Sequence[str], t: Translator, procedure: Procedure, org: Org) -> Parsed:
    """The filter typed after /status (country names in Malay or English)."""
    return parse_filter(words, divisions=org.lead_divisions(), steps=procedure.sop.keys,
                        countries=named)


async def show_status(update: Update, context: IkaContext) -> None:
    """/status: the open cases; /status REF: that case; /status WORDS: the cases they pick."""
    message = update.effective_message
    if message is None:
        return
    t, procedure = context.t, context.services.procedure
    words = list(context.args or [])
    if len(words) == 1 and _REF.fullmatch(words[0].upper()):
        ref = words[0].upper()
        shown = await _case_pages(context, ref)
        if shown is None:
            await message.reply_text(_no_case(ref, t))
            return
        case, pages = shown
        await reply_about(update, case, pages[0], reply_markup=reports.with_timeline(
            page_markup(ref, 0, len(pages)), ref, t))
        return
    org = await context.services.org.get()
    parsed = read_filter(words, t, procedure, org)
    notes, options = _left_out(parsed, t, procedure, org)
    if parsed.choices and parsed.filter.is_default:
        # Nothing to list yet: only which of the meanings was meant.
        await message.reply_text(paginate(["\n".join(notes)], PAGE_LIMIT)[0],
                                 reply_markup=InlineKeyboardMarkup(options))
        return
    if parsed.unknown and parsed.filter.is_default:
        # Nothing understood: most likely a mistyped reference.
        text = _no_case(" ".join(words).upper(), t)
        if len(words) > 1 or not words[0].upper().startswith("IKA"):
            text += "\n" + _unknown_line(parsed.unknown, t)
        await message.reply_text(text)
        return
    answer = await list_answer(context, parsed.filter, 0)
    text, markup = answer.text, answer.markup
    if notes:
        text = "\n".join(notes) + "\n\n" + text
        if shown_length(text) > PAGE_LIMIT:
            text = paginate([text], PAGE_LIMIT)[0]
    if options:
        markup = InlineKeyboardMarkup([*options, *(markup.inline_keyboard if markup else ())])
    await reply_about(update, answer.about, text, reply_markup=markup)


async def _edit(update: Update, context: IkaContext, answer: Answer) -> None:
    """Show ``answer`` in place of the tapped message; as a new, protected message when it
    speaks of a Sulit case and the tapped one is not protected (an edit cannot protect)."""
    query = update.callback_query
    assert query is not None
    await query.answer()
    message = query.message
    if protected(answer.about) and isinstance(message, Message) \
            and not message.has_protected_content:
        await send_about(context, message.chat.id, answer.about, answer.text,
                         reply_markup=answer.markup)
        return
    try:
        await query.edit_message_text(answer.text, reply_markup=answer.markup)
    except BadRequest as error:
        # A second tap on the same arrow asks for the page already shown: nothing to change.
        if "not modified" not in error.message:
            raise


async def turn_page(update: Update, context: IkaContext) -> None:
    """◀, ▶ or a filter: the page asked for, rendered afresh (the last one if the list got
    shorter)."""
    query = update.callback_query
    if query is None:
        return
    button = decode(query.data)
    t, procedure = context.t, context.services.procedure
    if not isinstance(button, Page):
        await answer_tap(update, context, t.gettext("This button is no longer valid."))
        return
    if button.what == DONE:
        await _edit(update, context, await done_answer(context, button.page))
        return
    found = (CaseFilter() if button.what == OPEN
             else from_token(button.what, procedure.sop.keys)
             if button.what.startswith(TOKEN_PREFIX) else None)
    if found is not None:
        await _edit(update, context, await list_answer(context, found, button.page))
        return
    shown = await _case_pages(context, button.what)
    if shown is None:
        await answer_tap(update, context,
                         t.gettext("There is no case {ref}.").format(ref=button.what))
        return
    case, pages = shown
    page = min(button.page, len(pages) - 1)
    await _edit(update, context, Answer(pages[page], reports.with_timeline(
        page_markup(button.what, page, len(pages)), button.what, t), [case]))


def _acting(actor: Actor, procedure: Procedure) -> Acting:
    """Whose steps an actor may report done, as storage selects them (rules.may_act_on)."""
    keys = procedure.sop.keys
    ab = tuple(k for k in keys if procedure.sop.get(k).owner is Owner.AB)
    lead = tuple(k for k in keys if procedure.sop.get(k).owner is Owner.LEAD)
    if actor.role is Role.ADMIN:
        return Acting(all_steps=True)
    if actor.role is Role.AB:
        return Acting(ab_steps=ab)
    if actor.role is Role.OFFICER and actor.division:
        return Acting(lead_steps=lead, division=actor.division)
    return Acting()


async def done_answer(context: IkaContext, page: int) -> Answer:
    """/done: page ``page`` of the open steps the user may report, as buttons."""
    services, t = context.services, context.t
    procedure = services.procedure
    actor = context.user.actor() if context.user is not None else None
    if actor is None:
        return Answer(t.gettext("Your division has no open step to report."))
    async with services.readers() as session, session.begin():
        shown = await read_page(session=session, found=CaseFilter(), now=services.now(),
                                tz=procedure.calendar.tz, offset=page * DONE_PAGE,
                                limit=DONE_PAGE, acting=_acting(actor, procedure))
    rows: list[Sequence[InlineKeyboardButton]] = []
    for case in shown.cases:
        run = case.current_run
        if run is None:
            continue
        label = f"{case.ref} · {step_heading(procedure.sop, run.key, t)}"
        rows.append([InlineKeyboardButton(label[:60], callback_data=encode(
            Report(case.ref, run.key)))])
    if not rows:
        return Answer(t.gettext("Your division has no open step to report."))
    pages, page = _pages_of(shown.total, DONE_PAGE), shown.offset // DONE_PAGE
    text = t.gettext("Which step is done?")
    if pages > 1:
        text += "\n<i>" + t.gettext("Page {page} of {pages}").format(page=page + 1,
                                                                       pages=pages) + "</i>"
        arrows = page_markup(DONE, page, pages)
        if arrows is not None:
            rows.extend(arrows.inline_keyboard)
    return Answer(text, InlineKeyboardMarkup(rows), list(shown.cases))


HANDLERS: list[BaseHandler[Any, Any, Any]] = [
    CommandHandler("status", show_status),
    CallbackQueryHandler(turn_page, pattern=pattern("pg")),
]
