"""How a step's clock and a signed instrument's life look in a chat: requests for more time,
waits on outside parties, approvers' votes, the instrument's dates, and Sulit cases' titles.

Rendering only, like handlers.cards: text (HTML, user text escaped) and buttons.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date, datetime, timedelta

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot.callbacks import AnswerMoreTime, encode
from bot.domain import timeline
from bot.domain.case import Case, Classification, StepRun
from bot.domain.clock import Extension, ExtensionState, Wait, extensions, original_due, waits
from bot.domain.deadlines import Procedure
from bot.domain.reminders import months_before
from bot.domain.rules import votes_of
from bot.domain.sop import WaitParty
from bot.i18n import N_, Translator
from bot.messages import step_heading
from handlers.cards import esc
from storage.models import Division, DivisionKind

Names = Callable[[int | None], str]
SULIT = f"<i>{timeline.SULIT}</i>"  # the marking in a message, where the title would be
# A renewal reminder is planned on the first working day from its month mark; one whose day
# lies further from every mark was planned for an expiry date since corrected.
RENEWAL_SLACK = timedelta(days=7)

PARTIES = {
    WaitParty.KLN: N_("KLN (the Ministry of Foreign Affairs)"),
    WaitParty.FOREIGN: N_("the foreign side"),
    WaitParty.AGC: N_("the AGC"),
    WaitParty.AGENCY: N_("another agency"),
}
CLASSIFICATIONS = {
    Classification.OPEN: N_("not classified"),
    Classification.TERHAD: N_("Terhad (restricted)"),
    Classification.SULIT: N_("Sulit (confidential)"),
}


def party_label(party: WaitParty, t: Translator) -> str:
    """Who a step waits on, in ``t``'s language."""
    return t.gettext(PARTIES[party])


def classification_label(classification: Classification, t: Translator) -> str:
    """"Terhad", "Sulit", or "not classified"."""
    return t.gettext(CLASSIFICATIONS[classification])


def trusted(chat: Division | None, lead_division: str) -> bool:
    """Whether a chat may see the title of a Sulit case led by ``lead_division``: a private
    chat (``chat`` None), AB's group, or that division's group."""
    return chat is None or chat.kind == DivisionKind.AB.value or chat.code == lead_division


def shown_title(case: Case, t: Translator, *, trusted: bool, chars: int | None = None) -> str:
    """The case's title, escaped (cut to ``chars``); a Sulit case's only where ``trusted`` (see
    ``trusted``), elsewhere "Sulit" in its place (beside the reference)."""
    if case.is_sulit and not trusted:
        return SULIT  # the marking itself, as on the paper file, in every language
    title = case.title
    if chars is not None and len(title) > chars:
        title = title[:chars - 1].rstrip() + "…"
    return esc(title)


def title_in(chat: Division | None, case: Case, t: Translator, chars: int | None = None) -> str:
    """The case's title as ``chat`` may see it (see ``shown_title``)."""
    return shown_title(case, t, trusted=trusted(chat, case.lead_division), chars=chars)


def _day(moment: datetime, t: Translator, procedure: Procedure) -> str:
    return t.format_date(procedure.calendar.local_date(moment))


def extension_request(case: Case, asked: Extension, t: Translator, procedure: Procedure,
                      name: Names) -> tuple[str, InlineKeyboardMarkup]:
    """AB's card: who asks for how many more working days on which step, and why; Lulus/Tolak."""
    run = case.current_run
    assert run is not None
    lines = [
        f"<b>{esc(case.ref)}</b> · {esc(case.title)}",
        f"<b>{esc(step_heading(procedure.sop, run.key, t))}</b>",
        t.ngettext("{name} asks for {n} more working day.",
                   "{name} asks for {n} more working days.", asked.days).format(
            name=esc(name(asked.by)), n=asked.days),
        t.gettext("Reason: {reason}").format(reason=esc(asked.reason)),
        t.gettext("Due now: {due}").format(
            due=t.format_datetime(run.due_at, procedure.calendar.tz)),
    ]
    # KDN's own words in every language, as Ya / Tidak are: AB decides "Lulus" or "Tolak".
    markup = InlineKeyboardMarkup([[
        InlineKeyboardButton("Lulus", callback_data=encode(
            AnswerMoreTime(case.ref, run.key, asked.seq, True))),
        InlineKeyboardButton("Tolak", callback_data=encode(
            AnswerMoreTime(case.ref, run.key, asked.seq, False))),
    ]])
    return "\n".join(lines), markup


def extension_answer(case: Case, run: StepRun, answered: Extension, t: Translator,
                     procedure: Procedure, name: Names) -> str:
    """What AB answered, told to the step's owner."""
    head = f"<b>{esc(case.ref)}</b> · {esc(step_heading(procedure.sop, run.key, t))}"
    if answered.state is ExtensionState.GRANTED and answered.due_to is not None:
        line = t.ngettext(
            "More time granted by {name}: {n} working day. Now due {due}.",
            "More time granted by {name}: {n} working days. Now due {due}.",
            answered.days).format(name=esc(name(answered.decided_by)), n=answered.days,
                                  due=t.format_datetime(answered.due_to, procedure.calendar.tz))
    else:
        line = t.gettext("The request for more time was not granted by {name}. The due date "
                         "stays {due}.").format(
            name=esc(name(answered.decided_by)),
            due=t.format_datetime(run.due_at, procedure.calendar.tz))
    return head + "\n" + line


def wait_line(wait: Wait, t: Translator, procedure: Procedure) -> str:
    """"Waiting on KLN since 3 September 2026 (note)", or the wait's whole stretch."""
    party = esc(party_label(wait.party, t))
    if wait.end is None:
        line = t.gettext("Waiting on {party} since {start}: the clock is stopped.").format(
            party=party, start=_day(wait.start, t, procedure))
    else:
        line = t.ngettext("Waited on {party} from {start} to {end} ({n} working day).",
                          "Waited on {party} from {start} to {end} ({n} working days).",
                          wait.days).format(party=party, start=_day(wait.start, t, procedure),
                                            end=_day(wait.end, t, procedure), n=wait.days)
    return line + (f" <i>{esc(wait.note)}</i>" if wait.note else "")


def _extension_line(asked: Extension, t: Translator, procedure: Procedure, name: Names) -> str:
    days = t.ngettext("{n} working day", "{n} working days", asked.days).format(n=asked.days)
    if asked.state is ExtensionState.GRANTED and asked.due_to is not None:
        return t.gettext("Extension {seq}: {days}, granted by {name} on {when}; due "
                         "{due}.").format(
            seq=asked.seq, days=days, name=esc(name(asked.decided_by)),
            when=_day(asked.decided_at or asked.at, t, procedure),
            due=t.format_datetime(asked.due_to, procedure.calendar.tz))
    if asked.state is ExtensionState.REFUSED:
        return t.gettext("Extension {seq}: {days}, not granted by {name}.").format(
            seq=asked.seq, days=days, name=esc(name(asked.decided_by)))
    return t.gettext("Extension {seq}: {days} asked for by {name}, awaiting AB.").format(
        seq=asked.seq, days=days, name=esc(name(asked.by)))


def clock_lines(case: Case, run: StepRun, t: Translator, procedure: Procedure,
                name: Names) -> list[str]:
    """/status REF's lines on a step's clock: the original due date when it moved, each
    extension with who granted it, each wait with its start, end and party."""
    asked, stretches = extensions(run), waits(run)
    if not asked and not stretches:
        return []
    lines: list[str] = []
    first = original_due(case, run, procedure)
    if first != run.due_at:
        lines.append(t.gettext("Originally due: {due}").format(
            due=t.format_datetime(first, procedure.calendar.tz)))
    lines += [_extension_line(e, t, procedure, name) for e in asked]
    lines += [wait_line(w, t, procedure) for w in stretches]
    return lines


def signing_lines(run: StepRun, t: Translator) -> list[str]:
    """The signed instrument's dates, as filing recorded them."""
    labels = (("signed_on", N_("Signed: {date}")), ("in_force_on", N_("In force: {date}")),
              ("expires_on", N_("Expires or due for review: {date}")))
    return [t.gettext(label).format(date=t.format_date(date.fromisoformat(run.data[key])))
            for key, label in labels if isinstance(run.data.get(key), str)]


def signing_summary(case: Case, t: Translator, procedure: Procedure) -> str:
    """What is recorded of a filed case's signed instrument, and how to correct it later."""
    run = case.run(procedure.sop.keys[-1])
    lines = signing_lines(run, t) if run is not None else []
    head = (t.gettext("{ref}: the instrument's dates are recorded.") if lines
            else t.gettext("{ref}: no dates of the instrument are recorded.")).format(
        ref=esc(case.ref))
    if run is not None and isinstance(run.data.get("expires_on"), str):
        months = t.format_list(str(m) for m in procedure.sop.policy.renewal_months)
        lines.append(t.gettext("Bahagian AB and the lead division will be reminded {months} "
                               "months before the expiry to decide on renewal.").format(
            months=months))
    lines.append(t.gettext("To record or correct them: /signed {ref} followed by the signing "
                           "date, the date in force and the expiry date.").format(
        ref=esc(case.ref)))
    return "\n".join([head, *lines])


def votes_lines(case: Case, run: StepRun, round_: int, t: Translator, name: Names) -> list[str]:
    """Who has decided so far, under the "every approver" policy."""
    votes = votes_of(case, run, round_)
    listed = run.data.get(f"approvers_{round_}", [])
    if not votes:
        return []
    lines = [t.gettext("Decided so far:")]
    for vote in votes:
        who = esc(name(vote["for"]))
        if vote["by"] != vote["for"]:
            who = t.gettext("{acting} on behalf of {name}").format(
                acting=esc(name(vote["by"])), name=who)
        lines.append(f"• {who}: {'Ya' if vote['approved'] else 'Tidak'}")
    decided = {vote["for"] for vote in votes}
    waiting_on = [esc(name(user)) for user in listed if user not in decided]
    if waiting_on:
        lines.append(t.gettext("Still to decide: {names}").format(
            names=t.format_list(waiting_on)))
    return lines


def renewal_line(case: Case, rows: Sequence[object], title: str, procedure: Procedure,
                 t: Translator) -> str:
    """The renewal reminder: the instrument expires (or is due for review) on a date. Nothing
    ("") for reminders planned for an expiry date since corrected or cleared."""
    run = case.run(procedure.sop.keys[-1])
    expires = run.data.get("expires_on") if run is not None else None
    if not isinstance(expires, str):
        return ""
    expiry = date.fromisoformat(expires)
    # Which of the SOP's marks a reminder's day is (not its seq: a row keyed by its day may
    # have been planned for another mark of an expiry date since corrected).
    days = [day for row in rows if isinstance(day := getattr(row, "day", None), date)]
    fitting = [months for months in procedure.sop.policy.renewal_months
               if any(timedelta(0) <= day - months_before(expiry, months) <= RENEWAL_SLACK
                      for day in days)]
    if not fitting:
        return ""
    months = max(fitting)
    return "\n".join([title, t.ngettext(
        "The instrument expires or is due for review on {date}, in {n} month: please decide "
        "with the lead division whether to renew it.",
        "The instrument expires or is due for review on {date}, in {n} months: please decide "
        "with the lead division whether to renew it.", months).format(
        date=t.format_date(expiry), n=months)])
