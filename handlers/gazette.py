"""/holidays: the coming public holidays, the gazette's included; an administrator adds
(`/holidays add 28/12/2026 Cuti Peristiwa`) or removes (`/holidays remove 28/12/2026`) one."""

from __future__ import annotations

from typing import Any

from telegram import Update
from telegram.ext import BaseHandler, CommandHandler

from bot.context import IkaContext
from bot.dates import parse_date
from bot.holidays_cli import coming_holidays
from handlers.admin import is_admin
from handlers.cards import esc
from storage.gazette import gazetted_days, set_day

LISTED_DAYS = 366
MAX_NAME = 120


async def holidays(update: Update, context: IkaContext) -> None:
    """List the coming holidays; an administrator's add or remove changes the gazette."""
    message = update.effective_message
    if message is None:
        return
    t, args = context.t, list(context.args or [])
    if args and args[0].lower() in ("add", "tambah", "remove", "buang"):
        await _change(update, context, args)
        return
    services = context.services
    today = services.procedure.calendar.local_date(services.now())
    async with services.sessions() as session:
        gazetted = {row.day for row in await gazetted_days(session=session)}
    lines = [t.gettext("<b>Public holidays in the coming year</b>")]
    for day, name in coming_holidays(services.procedure, today, LISTED_DAYS):
        mark = " " + t.gettext("(gazetted)") if day in gazetted else ""
        lines.append(f"{t.format_date(day)} · {esc(name)}{mark}")
    await message.reply_text("\n".join(lines))


async def _change(update: Update, context: IkaContext, args: list[str]) -> None:
    message = update.effective_message
    assert message is not None
    t, services = context.t, context.services
    if not is_admin(context):
        await message.reply_text(t.gettext("Only an administrator changes the holidays."))
        return
    day = parse_date(args[1]) if len(args) > 1 else None
    adding = args[0].lower() in ("add", "tambah")
    name = " ".join(args[2:]).strip()[:MAX_NAME]
    if day is None or (adding and not name):
        await message.reply_text(t.gettext("Send /holidays add 28/12/2026 Cuti Peristiwa, or "
                                           "/holidays remove 28/12/2026."))
        return
    procedure = services.procedure
    async with services.sessions() as session:
        ours = {row.day: row for row in await gazetted_days(session=session)}
    package = procedure.calendar.with_gazette(()).holiday(day)
    if adding:
        change: tuple[str | None, bool] = (name, True)
    elif day in ours and ours[day].holiday:
        change = (None, True)
    elif package is not None and day not in ours:
        change = (package, False)
    else:
        await message.reply_text(t.gettext("{date} is not a holiday: nothing changed.").format(
            date=t.format_date(day)))
        return
    by = context.user.telegram_id if context.user is not None else None
    services.procedure, moved = await set_day(
        sessions=services.sessions, procedure=procedure, day=day, name=change[0],
        holiday=change[1], by=by, now=services.now())
    services.wake_outbox()
    await message.reply_text(t.ngettext(
        "The holidays are changed for {date}: {n} due date moved.",
        "The holidays are changed for {date}: {n} due dates moved.", len(moved)).format(
        date=t.format_date(day), n=len(moved)))


def handlers() -> list[BaseHandler[Any, Any, Any]]:
    """This module's handlers."""
    return [CommandHandler("holidays", holidays)]
