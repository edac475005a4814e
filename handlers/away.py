"""Approvers away: /away FROM TO [who acts] (an admin adds whose absence it is), /back.

While an approver is away the one acting for them gets the Ya/Tidak cards and the chases
(storage.nudges resolves the approvers by day; recording or ending an absence re-targets those
not yet sent, storage.absences), and decides on their behalf.
"""

from __future__ import annotations

from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession
from telegram import Update
from telegram.ext import BaseHandler, CommandHandler

from bot.context import IkaContext
from bot.dates import parse_date
from bot.domain.absence import Absence, BadAbsence, acting_for, away_on, check_absence
from bot.domain.case import Case, Role
from bot.domain.rules import Decide, votes_of
from bot.domain.sop import Capture
from bot.i18n import N_, Translator
from bot.services import Services
from handlers.cards import esc
from storage.absences import absences_on, coming_absences, end_absences, record_absence
from storage.models import User
from storage.org import list_users

_BAD = {
    "dates_reversed": N_("The return date is before the first day away; please check the "
                         "dates."),
    "in_past": N_("That absence is already over."),
    "too_long": N_("An absence may last a year at most."),
    "not_approver": N_("Only top management's absences are recorded here."),
    "acting_not_approver": N_("The one acting must be another member of top management."),
}


def _find(approvers: list[User], word: str) -> User | None:
    """An approver by Telegram id or by name (whole or its start, in any case)."""
    if word.lstrip("-").isdigit():
        return next((u for u in approvers if u.telegram_id == int(word)), None)
    named = [u for u in approvers if u.name.lower() == word.lower()]
    named = named or [u for u in approvers if u.name.lower().startswith(word.lower())]
    return named[0] if len(named) == 1 else None


def _usage(t: Translator) -> str:
    return t.gettext("Send /away followed by the first and last day away and who acts for "
                     "you, for example: /away 20/12/2026 3/1/2027 TKSU. An administrator "
                     "adds whose absence it is: /away 20/12/2026 3/1/2027 TKSU KSU.")


async def away(update: Update, context: IkaContext) -> None:
    """Record an approver's absence and who acts for them; without arguments, list those coming."""
    message, me = update.effective_message, context.user
    if message is None or me is None:
        return
    t, args = context.t, context.args or []
    services = context.services
    now = services.now()
    today = services.procedure.calendar.local_date(now)
    async with services.sessions() as session:
        approvers = await list_users(session=session, role=Role.MANAGEMENT)
        coming = await coming_absences(session=session, today=today)
    names = {u.telegram_id: u.name for u in approvers}
    if not args:
        await message.reply_text(_listing(coming, names, t) + "\n\n" + _usage(t))
        return
    start = parse_date(args[0])
    end = parse_date(args[1]) if len(args) > 1 else None
    acting = _find(approvers, args[2]) if len(args) > 2 else None
    if acting is None and len(args) == 2:  # the only other approver acts
        others = [u for u in approvers if u.telegram_id != me.telegram_id]
        acting = others[0] if len(others) == 1 else None
    whose: User | None = _find(approvers, args[3]) if len(args) > 3 else next(
        (u for u in approvers if u.telegram_id == me.telegram_id), None)
    if len(args) > 3 and me.role != Role.ADMIN.value:
        await message.reply_text(t.gettext("Only an administrator records another person's "
                                           "absence."))
        return
    if start is None or end is None or acting is None or whose is None:
        await message.reply_text(_usage(t))
        return
    absence = Absence(whose.telegram_id, start, end, acting.telegram_id)
    try:
        check_absence(absence, today=today, approvers=names)
    except BadAbsence as bad:
        await message.reply_text(t.gettext(_BAD[bad.why]))
        return
    async with services.sessions() as session, session.begin():
        await record_absence(session=session, absence=absence, set_by=me.telegram_id, now=now)
    await message.reply_text(t.gettext(
        "Recorded: {name} is away from {start} to {end}; {acting} acts for them and receives "
        "the Ya/Tidak cards and reminders.").format(
        name=esc(whose.name), start=t.format_date(start), end=t.format_date(end),
        acting=esc(acting.name)))


def _listing(coming: list[Absence], names: dict[int, str], t: Translator) -> str:
    if not coming:
        return t.gettext("No absences of top management are recorded.")
    lines = [t.gettext("<b>Top management away</b>")]
    for absence in coming:
        lines.append(t.gettext("{name}: {start} to {end}, {acting} acting").format(
            name=esc(names.get(absence.user_id, absence.user_id)),
            start=t.format_date(absence.start), end=t.format_date(absence.end),
            acting=esc(names.get(absence.acting_id, absence.acting_id))))
    return "\n".join(lines)


async def back(update: Update, context: IkaContext) -> None:
    """/back: the approver is back before their absence ended."""
    message, me = update.effective_message, context.user
    if message is None or me is None:
        return
    services = context.services
    async with services.sessions() as session, session.begin():
        ended = await end_absences(session=session, user_id=me.telegram_id, now=services.now(),
                                   today=services.procedure.calendar.local_date(services.now()))
    t = context.t
    await message.reply_text(t.gettext("Welcome back: your absence is cancelled.") if ended
                             else t.gettext("No absence of yours is recorded."))


async def on_behalf(session: AsyncSession, case: Case, decide: Decide, actor_id: int,
                    services: Services) -> Decide:
    """``decide`` as the tapping approver makes it today: for themselves, or on behalf of an
    approver away whom they act for, with the approvers listed on the case.

    Under the "every approver" policy an acting approver taps once for themselves and once
    more for each approver they act for; their card shows who is still to decide.
    """
    procedure = services.procedure
    today = procedure.calendar.local_date(services.now())
    listed = tuple(u.telegram_id for u in await list_users(session=session, role=Role.MANAGEMENT))
    absences = await absences_on(session=session, day=today)
    stands_for = acting_for(absences, actor_id, today)
    behalf = stands_for[0] if stands_for else None
    if procedure.sop.policy.approvers == "every":
        run = case.run(procedure.sop.step_for(Capture.DECISION).key)
        voted = {v["for"] for v in votes_of(case, run, case.round)} if run else set()
        own = (actor_id in listed and actor_id not in voted
               and away_on(absences, actor_id, today) is None)
        behalf = None if own else next((u for u in stands_for if u not in voted), None)
    return Decide(decide.approve, decide.reason, behalf, listed)


def handlers() -> list[BaseHandler[Any, Any, Any]]:
    """This module's handlers."""
    return [CommandHandler("away", away), CommandHandler("back", back)]
