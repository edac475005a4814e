"""The one place where domain codes (refusal reasons, roles, statuses…) become user text."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import date
from enum import StrEnum
from typing import Any, TypeVar

from bot.domain.case import CaseStatus, Instrument, Level, Phase, Role, Source
from bot.domain.rules import MAX_COUNTRIES, Reason
from bot.domain.sop import Capture, Owner, Sop, StepDef
from bot.i18n import N_, Translator

E = TypeVar("E", bound=StrEnum)

ROLE_LABELS: Mapping[Role, str] = {
    Role.ADMIN: N_("Administrator"),
    Role.AB: N_("International Division (AB)"),
    Role.OFFICER: N_("Division officer"),
    Role.MANAGEMENT: N_("Top management"),
    Role.VIEWER: N_("Viewer"),
}

STATUS_LABELS: Mapping[CaseStatus, str] = {
    CaseStatus.OPEN: N_("In progress"),
    CaseStatus.COMPLETED: N_("Completed"),
    CaseStatus.NOT_APPROVED: N_("Not approved"),
    CaseStatus.WITHDRAWN: N_("Withdrawn"),
}

PHASE_LABELS: Mapping[Phase, str] = {
    Phase.WORK: N_("Step under way"),
    Phase.AWAITING_DECISION: N_("Awaiting top management's decision"),
    Phase.REFUSED: N_("Top management's decision: Tidak"),
}

SOURCE_LABELS: Mapping[Source, str] = {
    Source.KLN: N_("Ministry of Foreign Affairs (KLN)"),
    Source.EMBASSY: N_("Foreign embassy"),
    Source.MANAGEMENT: N_("Instruction from KDN top management"),
}

LEVEL_LABELS: Mapping[Level, str] = {
    Level.BILATERAL: N_("Bilateral"),
    Level.MULTILATERAL: N_("Multilateral"),
    Level.REGIONAL: N_("Regional (ASEAN)"),
}

INSTRUMENT_LABELS: Mapping[Instrument, str] = {
    Instrument.MOU: N_("Memorandum of Understanding (MoU)"),
    Instrument.TREATY: N_("Treaty"),
    Instrument.AGREEMENT: N_("Agreement"),
    Instrument.DECLARATION: N_("Declaration"),
    Instrument.PROTOCOL: N_("Protocol of cooperation"),
    Instrument.ARRANGEMENT: N_("Arrangement"),
    Instrument.CONVENTION: N_("Convention"),
    Instrument.ACTION_PLAN: N_("Action plan"),
    Instrument.WORK_PLAN: N_("Work plan"),
    Instrument.WORK_PROGRAMME: N_("Work programme"),
    Instrument.OTHER: N_("Other instrument"),
}

OWNER_LABELS: Mapping[Owner, str] = {
    Owner.AB: N_("International Division (AB)"),
    Owner.LEAD: N_("Lead division"),
}

# What to ask for when a step is reported done without the details it needs.
MISSING_DETAILS: Mapping[Capture, str] = {
    Capture.INPUTS: N_("Please tick off the input received from each BJA first."),
    Capture.DECISION: N_("Please submit the Minit Cerai first."),
    Capture.MEETING: N_("Please give the date the meeting was held."),
    Capture.NOTE_REF: N_("Please give the reference of the diplomatic note (Nota Diplomatik)."),
    Capture.NEGOTIATION: N_("Please give the negotiation's start and end dates and its venue."),
    Capture.DOCUMENT: N_("Please send the outcome document as a file."),
    Capture.FILE_REF: N_("Please give the file reference the copy is filed under."),
}


def _label(table: Mapping[Any, str], value: StrEnum, t: Translator) -> str:
    """The translated label of ``value``; its code when the table has none (never a crash)."""
    message = table.get(value)
    return t.gettext(message) if message is not None else str(value)


def role_label(role: Role, t: Translator) -> str:
    """A role, as users know it."""
    return _label(ROLE_LABELS, role, t)


def status_label(status: CaseStatus, t: Translator) -> str:
    """A case's status."""
    return _label(STATUS_LABELS, status, t)


def phase_label(phase: Phase, t: Translator) -> str:
    """Where the current step stands."""
    return _label(PHASE_LABELS, phase, t)


def source_label(source: Source, t: Translator) -> str:
    """Where the information about an IKA came from."""
    return _label(SOURCE_LABELS, source, t)


def level_label(level: Level, t: Translator) -> str:
    """Tahap: bilateral, multilateral or regional."""
    return _label(LEVEL_LABELS, level, t)


def instrument_label(instrument: Instrument, t: Translator) -> str:
    """The kind of IKA."""
    return _label(INSTRUMENT_LABELS, instrument, t)


def owner_label(owner: Owner, t: Translator) -> str:
    """Who acts on a step."""
    return _label(OWNER_LABELS, owner, t)


def step_title(step: StepDef, t: Translator) -> str:
    """The step's title, from the SOP's own data in ``t``'s language."""
    return step.title(t.lang)


def step_heading(sop: Sop, key: str, t: Translator) -> str:
    """"Step 3: <title>", numbered as the SOP shows it; the key when the SOP has no such step."""
    try:
        step = sop.get(key)
    except KeyError:
        return key
    return t.gettext("Step {number}: {title}").format(
        number=sop.number(key), title=step_title(step, t)
    )


def _input_names(codes: Iterable[str], sop: Sop | None, t: Translator) -> str:
    """BJA codes as their names ("IMI" -> Jabatan Imigresen Malaysia), joined as a list."""
    names = []
    for code in codes:
        source = sop.source(code) if sop is not None else None
        names.append(source.name(t.lang) if source is not None else code)
    return t.format_list(names)


def _enum(cls: type[E], value: object) -> E | None:
    """``value`` as a member of ``cls``, or None when it is not one."""
    try:
        return cls(str(value))
    except ValueError:
        return None


def _day(value: object, t: Translator) -> str:
    return t.format_date(value) if isinstance(value, date) else str(value or "")


def _case_closed(details: Mapping[str, Any], t: Translator, sop: Sop | None) -> str:
    status = _enum(CaseStatus, details.get("status"))
    if status is not None:
        return t.gettext("This case is closed ({status}); nothing more can be done on it.").format(
            status=status_label(status, t)
        )
    return t.gettext("This case is closed; nothing more can be done on it.")


def _wrong_step(details: Mapping[str, Any], t: Translator, sop: Sop | None) -> str:
    current = details.get("current")
    if not current:
        return t.gettext("This case has no step open now.")
    step = step_heading(sop, current, t) if sop is not None else str(current)
    return t.gettext("This case is now at {step}. Please act on that step.").format(step=step)


def _inputs_pending(details: Mapping[str, Any], t: Translator, sop: Sop | None) -> str:
    pending = list(details.get("pending") or [])
    return t.ngettext(
        "Input is still awaited from {names}. Tick it off when it arrives.",
        "Input is still awaited from {count} BJA: {names}. Tick each off when it arrives.",
        len(pending),
    ).format(count=len(pending), names=_input_names(pending, sop, t))


def _unknown_input(details: Mapping[str, Any], t: Translator, sop: Sop | None) -> str:
    codes = list(details.get("codes") or [])
    if not codes:
        return t.gettext("Please choose at least one BJA to ask for input.")
    return t.ngettext(
        "This BJA is not in the SOP's list: {codes}.",
        "These BJA are not in the SOP's list: {codes}.",
        len(codes),
    ).format(codes=t.format_list(codes))


def _input_not_asked(details: Mapping[str, Any], t: Translator, sop: Sop | None) -> str:
    return t.gettext("{name} was not asked for input in this round.").format(
        name=_input_names([str(details.get("code", ""))], sop, t)
    )


def _missing_details(details: Mapping[str, Any], t: Translator, sop: Sop | None) -> str:
    capture = _enum(Capture, details.get("capture"))
    message = MISSING_DETAILS.get(capture) if capture is not None else None
    return t.gettext(message or N_("Some details this step needs are missing."))


def _date_in_future(details: Mapping[str, Any], t: Translator, sop: Sop | None) -> str:
    return t.gettext("{date} is still to come; please give a date that has passed.").format(
        date=_day(details.get("date"), t)
    )


def _date_before_received(details: Mapping[str, Any], t: Translator, sop: Sop | None) -> str:
    return t.gettext(
        "{date} is before the information about this case was received; please check the date."
    ).format(date=_day(details.get("date"), t))


def _text_too_long(details: Mapping[str, Any], t: Translator, sop: Sop | None) -> str:
    return t.gettext(
        "That text is too long: {length} characters, and the limit is {limit}. "
        "Please shorten it and send it again."
    ).format(length=details.get("length", "?"), limit=details.get("limit", "?"))


def _bad_case_data(details: Mapping[str, Any], t: Translator, sop: Sop | None) -> str:
    field = details.get("field")
    if field == "countries":
        return t.gettext("Please give at least one country (at most {limit}).").format(
            limit=details.get("limit", MAX_COUNTRIES)
        )
    if field == "lead_division":
        return t.gettext("Please choose the lead division for this case.")
    return t.gettext("Some details of the case are missing or wrong ({field}).").format(
        field=field or "?"
    )


def _revise_target(details: Mapping[str, Any], t: Translator, sop: Sop | None) -> str:
    allowed = list(details.get("allowed") or [])
    steps = [step_heading(sop, key, t) if sop is not None else key for key in allowed]
    return t.gettext("A case sent back for revision can only return to {steps}.").format(
        steps=t.format_list(steps, style="or")
    )


def _extension_days(details: Mapping[str, Any], t: Translator, sop: Sop | None) -> str:
    return t.gettext("Please ask for 1 to {limit} working days.").format(
        limit=details.get("limit", "?"))


def _signing_dates_order(details: Mapping[str, Any], t: Translator, sop: Sop | None) -> str:
    given = [t.gettext(label).format(date=_day(details.get(key), t)) for key, label in (
        ("signed_on", N_("signed {date}")), ("in_force_on", N_("in force {date}")),
        ("expires_on", N_("expires {date}"))) if details.get(key) is not None]
    rule = t.gettext("An instrument enters into force on or after the day it is signed, and "
                     "expires (or is reviewed) after both.")
    if not given:
        return rule
    return t.gettext("These dates are out of order: {dates}.").format(
        dates=t.format_list(given)) + " " + rule


def _fixed(message: str) -> Callable[[Mapping[str, Any], Translator, Sop | None], str]:
    """A refusal whose text needs no details."""
    return lambda details, t, sop: t.gettext(message)


_REFUSALS: Mapping[Reason, Callable[[Mapping[str, Any], Translator, Sop | None], str]] = {
    Reason.NOT_PERMITTED: _fixed(
        N_("Sorry, your role does not allow you to do this on this case.")
    ),
    Reason.CASE_CLOSED: _case_closed,
    Reason.WRONG_STEP: _wrong_step,
    Reason.ALREADY_DECIDED: _fixed(N_("Top management has already decided on this case.")),
    Reason.NOT_AWAITING_DECISION: _fixed(
        N_("No Minit Cerai is awaiting a decision on this case yet.")
    ),
    Reason.MEMO_ALREADY_SUBMITTED: _fixed(
        N_("The Minit Cerai has already been submitted and awaits top management's decision.")
    ),
    Reason.NOT_REFUSED: _fixed(
        N_("This can only be done after top management has decided Tidak.")
    ),
    Reason.INPUTS_PENDING: _inputs_pending,
    Reason.NO_INPUTS_ASKED: _fixed(
        N_("No BJA has been asked for input yet. Please choose whose input is needed first.")
    ),
    Reason.UNKNOWN_INPUT: _unknown_input,
    Reason.INPUT_NOT_ASKED: _input_not_asked,
    Reason.MISSING_DETAILS: _missing_details,
    Reason.DATE_IN_FUTURE: _date_in_future,
    Reason.DATE_BEFORE_RECEIVED: _date_before_received,
    Reason.DATES_REVERSED: _fixed(
        N_("The end date is before the start date; please check the dates.")
    ),
    Reason.TEXT_TOO_LONG: _text_too_long,
    Reason.TEXT_EMPTY: _fixed(N_("The text is empty; please write something.")),
    Reason.BAD_CASE_DATA: _bad_case_data,
    Reason.REVISE_TARGET: _revise_target,
    Reason.DECIDED_BY_MANAGEMENT: _fixed(
        N_("This step is completed by top management's decision (Ya/Tidak), not reported "
           "by hand.")
    ),
    Reason.EXTENSION_NOT_ALLOWED: _fixed(
        N_("More time cannot be asked for on this step now.")
    ),
    Reason.EXTENSION_DAYS: _extension_days,
    Reason.EXTENSION_PENDING: _fixed(
        N_("A request for more time on this step is already awaiting Bahagian AB's answer.")
    ),
    Reason.EXTENSION_ANSWERED: _fixed(N_("This request for more time has already been answered.")),
    Reason.OWN_EXTENSION: _fixed(
        N_("A request for more time is answered by another officer of Bahagian AB, not by the "
           "one who asked.")
    ),
    Reason.WAIT_NOT_ALLOWED: _fixed(
        N_("The SOP does not let this step wait on an outside party.")
    ),
    Reason.ALREADY_WAITING: _fixed(N_("This step is already waiting on an outside party.")),
    Reason.NOT_WAITING: _fixed(N_("This step is not waiting on an outside party.")),
    Reason.NOT_LISTED_APPROVER: _fixed(
        N_("You are not among the approvers listed on this case.")
    ),
    Reason.ALREADY_VOTED: _fixed(N_("Your decision on this case is already recorded.")),
    Reason.SIGNING_DATES_ORDER: _signing_dates_order,
    Reason.NOT_FILED: _fixed(
        N_("The signed instrument's dates are recorded once the case is filed (its last step).")
    ),
}


def refusal(
    reason: Reason, details: Mapping[str, Any], t: Translator, *, sop: Sop | None = None
) -> str:
    """Why an action was refused, politely, in ``t``'s language; ``sop`` names steps and BJA."""
    render = _REFUSALS.get(reason)
    if render is None:  # a new Reason without its message yet: still say something useful
        return t.gettext("Sorry, this cannot be done now.")
    return render(details, t, sop)
