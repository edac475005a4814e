"""How a case looks in a chat: its heading, the card of its current step, approvers' cards.

Rendering only: every function takes the case and a translator and returns text (HTML) and
buttons. Whatever users typed is escaped here, in one place.
"""

from __future__ import annotations

import html
from collections.abc import Mapping
from datetime import datetime

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot.callbacks import AfterRefusal, Approve, AskMoreTime, Report, ToggleInput, encode
from bot.domain.case import Case, Decision, Phase, StepRun
from bot.domain.clock import waiting
from bot.domain.deadlines import Procedure
from bot.domain.sop import Capture, Owner, StepDef
from bot.i18n import Translator
from bot.messages import instrument_label, level_label, step_heading
from storage.models import Division, DivisionKind

Markup = InlineKeyboardMarkup | None

INPUT_ICONS = {"none": "▫️", "asked": "⏳", "received": "✅"}


def esc(text: object) -> str:
    """Text safe inside an HTML message."""
    return html.escape(str(text), quote=False)


def division_name(division: Division | None, t: Translator) -> str:
    """A division's name in ``t``'s language."""
    if division is None:
        return "-"
    return division.name_en if t.lang == "en" else division.name_ms


def division_label(division: Division | None, t: Translator) -> str:
    """"Bahagian Pengurusan Imigresen (BPI)", or "-" for none; escaped for HTML."""
    if division is None:
        return "-"
    return esc(f"{division_name(division, t)} ({division.code})")


def ab_division(divisions: Mapping[str, Division]) -> Division | None:
    """The International Division (AB)."""
    return next((d for d in divisions.values() if d.kind == DivisionKind.AB.value), None)


def owner_division(case: Case, step: StepDef, divisions: Mapping[str, Division]
                   ) -> Division | None:
    """The division that owns ``step`` of ``case``: AB or the case's lead division."""
    return ab_division(divisions) if step.owner is Owner.AB else divisions.get(case.lead_division)


def heading(case: Case, t: Translator, title: str | None = None) -> str:
    """Reference, title (or ``title``, HTML, in its place), countries, level and instrument."""
    countries = t.format_list(t.country_name(c) for c in case.countries)
    return (f"<b>{esc(case.ref)}</b> · {title if title is not None else esc(case.title)}\n"
            f"{esc(countries)} · {level_label(case.level, t)} · "
            f"{instrument_label(case.instrument, t)}")


def due_text(run: StepRun, t: Translator, procedure: Procedure, case: Case | None = None
             ) -> str:
    """The due moment, and what moved it when a weekend or holiday did (given the ``case``)."""
    text = t.format_datetime(run.due_at, procedure.calendar.tz)
    moved = moved_note(case, run, t, procedure) if case is not None else None
    return f"{text} {moved}" if moved else text


def moved_note(case: Case, run: StepRun, t: Translator, procedure: Procedure) -> str | None:
    """"(dianjak kerana Hari Kebangsaan)": why the due date is later than the SOP's count."""
    days = procedure.days_moved_over(case, run)
    if not days:
        return None
    calendar = procedure.calendar
    holidays: list[str] = []
    for day in days:
        for name in (calendar.holiday(day, t.lang) or "").split(";"):
            if name.strip() and name.strip() not in holidays:
                holidays.append(name.strip())
    weekend = any(day.weekday() not in calendar.working_weekdays for day in days)
    if holidays and weekend:
        note = t.gettext("(moved for {holidays} and the weekend)")
    elif holidays:
        note = t.gettext("(moved for {holidays})")
    else:
        note = t.gettext("(moved past the weekend)")
    return note.format(holidays=esc(t.format_list(holidays)))


def late_text(run: StepRun, t: Translator, procedure: Procedure, now: datetime) -> str | None:
    """"2 working days late", or None when the step is not overdue (or its clock is stopped)."""
    if waiting(run) is not None:
        return None
    late = working_days_late(run, procedure, now)
    if late <= 0:
        return None
    return t.ngettext("{n} working day late", "{n} working days late", late).format(n=late)


def due_line(run: StepRun, t: Translator, procedure: Procedure, now: datetime,
             case: Case | None = None) -> str:
    """When the step is due (and why, if a holiday moved it) and how many working days late."""
    line = t.gettext("Due: {due}").format(due=due_text(run, t, procedure, case))
    late = late_text(run, t, procedure, now)
    return f"{line} · {late}" if late else line


def working_days_late(run: StepRun, procedure: Procedure, now: datetime) -> int:
    """Working days between the due date and now (0 when not overdue)."""
    if now <= run.due_at:
        return 0
    calendar = procedure.calendar
    return max(1, calendar.working_days_between(calendar.local_date(run.due_at),
                                                calendar.local_date(now)))


def _button(label: str, data: str) -> InlineKeyboardButton:
    return InlineKeyboardButton(label, callback_data=data)


def input_state(case: Case, code: str) -> str:
    """``none``, ``asked`` or ``received`` for one BJA in the current round."""
    ask = next((i for i in case.inputs_this_round() if i.code == code), None)
    if ask is None:
        return "none"
    return "asked" if ask.received_at is None else "received"


def refusal_markup(case: Case, t: Translator, procedure: Procedure) -> InlineKeyboardMarkup:
    """After Tidak: revise back to collecting input, resubmit the Minit Cerai, or close."""
    sop = procedure.sop
    inputs, decision = sop.step_for(Capture.INPUTS).key, sop.step_for(Capture.DECISION).key
    return InlineKeyboardMarkup([
        [_button(t.gettext("Revise: collect input again"),
                 encode(AfterRefusal(case.ref, inputs)))],
        [_button(t.gettext("Revise: resubmit the Minit Cerai"),
                 encode(AfterRefusal(case.ref, decision)))],
        [_button(t.gettext("Close as not approved"), encode(AfterRefusal(case.ref, "close")))],
    ])


def step_markup(case: Case, t: Translator, procedure: Procedure) -> Markup:
    """The buttons of the current step's card."""
    run = case.current_run
    if run is None or not case.is_open:
        return None
    step = procedure.sop.get(run.key)
    more = [_button(t.gettext("⏳ More time"), encode(AskMoreTime(case.ref, run.key)))]
    if step.capture is Capture.DECISION:
        if case.phase is Phase.WORK:
            return InlineKeyboardMarkup([[_button(t.gettext("📨 Minit Cerai submitted"),
                                                  encode(Report(case.ref, run.key)))]]
                                        + ([more] if step.extend else []))
        if case.phase is Phase.REFUSED:
            return refusal_markup(case, t, procedure)
        return None
    rows: list[list[InlineKeyboardButton]] = []
    if step.capture is Capture.INPUTS:
        buttons = [
            _button(f"{INPUT_ICONS[input_state(case, s.code)]} {s.code}",
                    encode(ToggleInput(case.ref, s.code)))
            for s in procedure.sop.input_source
        ]
        rows = [buttons[i:i + 3] for i in range(0, len(buttons), 3)]
        rows.append([_button(t.gettext("✅ All input is in"), encode(Report(case.ref, run.key)))])
    else:
        rows.append([_button(t.gettext("✅ Report done"), encode(Report(case.ref, run.key)))])
    if step.extend:
        rows.append(more)
    return InlineKeyboardMarkup(rows)


def step_card(case: Case, t: Translator, procedure: Procedure, now: datetime,
              divisions: Mapping[str, Division]) -> tuple[str, Markup]:
    """What the owner of the current step must do, by when, with the buttons to report it."""
    run = case.current_run
    if run is None:
        return heading(case, t), None
    sop = procedure.sop
    step = sop.get(run.key)
    owner = division_name(owner_division(case, step, divisions), t)
    lines = [
        heading(case, t),
        "",
        f"<b>{esc(step_heading(sop, run.key, t))}</b>",
        t.gettext("Owner: {owner}").format(owner=esc(owner)),
        t.gettext("Done when: {what}").format(what=esc(step.done_when(t.lang))),
    ]
    if case.phase is Phase.AWAITING_DECISION:
        lines.append(t.gettext("The Minit Cerai is with top management for a decision."))
    elif case.phase is Phase.REFUSED:
        lines.append(t.gettext("Top management decided Tidak: revise and resubmit, or close "
                               "the case."))
    else:
        lines.append(due_line(run, t, procedure, now, case))
    if step.capture is Capture.INPUTS and case.phase is Phase.WORK:
        lines.append(t.gettext("Tap a BJA to ask for its input (⏳), tap again when it is in "
                               "(✅)."))
    return "\n".join(lines), step_markup(case, t, procedure)


def approval_card(case: Case, t: Translator, divisions: Mapping[str, Division],
                  memo_note: str | None) -> tuple[str, Markup]:
    """An approver's card: the case and the Minit Cerai, with Ya / Tidak."""
    lines = [
        heading(case, t),
        "",
        t.gettext("Minit Cerai from the {division}: do you approve negotiating this IKA?").format(
            division=esc(division_name(divisions.get(case.lead_division), t))),
    ]
    if memo_note:
        lines.append(f"<i>{esc(memo_note)}</i>")
    # The SOP's own words, in every language: management decide "Ya" or "Tidak".
    markup = InlineKeyboardMarkup([[
        _button("Ya", encode(Approve(case.ref, case.round, True))),
        _button("Tidak", encode(Approve(case.ref, case.round, False))),
    ]])
    return "\n".join(lines), markup


def decision_line(decision: Decision, t: Translator, procedure: Procedure,
                  decider: str, absent: str | None = None) -> str:
    """Who decided what, and when (an acting approver: on behalf of ``absent``)."""
    when = t.format_datetime(decision.at, procedure.calendar.tz)
    if absent is not None:
        decider = t.gettext("{acting} on behalf of {name}").format(acting=decider, name=absent)
    if decision.approved:
        line = t.gettext("Ya: approved by {name}, {when}.")
    else:
        line = t.gettext("Tidak: not approved by {name}, {when}.")
    text = line.format(name=esc(decider), when=when)
    if decision.reason:
        text += "\n" + t.gettext("Reason: {reason}").format(reason=esc(decision.reason))
    return text
