"""`ikabot holidays`: the gazette from the command line (add, remove, list).

Kept apart from bot/cli.py, which only adds these commands to its parser. A change is logged,
and every open case's due date not yet passed is counted again, its reminders re-planned; a
running bot takes the new calendar at its next sweep.
"""

from __future__ import annotations

import argparse
import asyncio
from datetime import UTC, date, datetime
from typing import Any

from bot.dates import parse_date


def _day(text: str) -> date:
    day = parse_date(text)
    if day is None:
        raise argparse.ArgumentTypeError(f"not a date: {text!r} (write 2026-12-28)")
    return day


def add_commands(commands: Any, handler: Any) -> None:
    """Add `holidays add|remove|list` to the CLI's subcommands; ``handler`` wraps the runner."""
    holidays = commands.add_parser("holidays", help="the gazette: holidays the calendar lacks")
    sub = holidays.add_subparsers(dest="holidays_command", required=True, metavar="COMMAND")
    add = sub.add_parser("add", help='gazette a holiday: holidays add 2026-12-28 "Cuti Peristiwa"')
    add.add_argument("day", type=_day, metavar="DATE")
    add.add_argument("name", metavar="NAME")
    remove = sub.add_parser("remove", help="take a holiday away: one gazetted here, or a "
                                           "package holiday moved to another day")
    remove.add_argument("day", type=_day, metavar="DATE")
    sub.add_parser("list", help="the coming holidays, gazetted ones marked")
    holidays.set_defaults(handler=handler)


def run(args: argparse.Namespace, settings: Any) -> str:
    """Carry out one `holidays` command; what to print."""
    return asyncio.run(_run(args, settings))


async def _run(args: argparse.Namespace, settings: Any) -> str:
    from bot.domain.deadlines import Procedure
    from bot.domain.sop import load_sop
    from storage.db import make_engine, session_factory
    from storage.gazette import gazetted_days, set_day, with_gazette

    engine = make_engine(settings.database_url)
    sessions = session_factory(engine)
    now = datetime.now(UTC)
    try:
        procedure = await with_gazette(sessions=sessions, procedure=Procedure(
            load_sop(settings.sop_file), settings.calendar(), settings.count_working_days,
            settings.reminder_policy()))
        calendar = procedure.calendar
        if args.holidays_command == "list":
            today = calendar.local_date(now)
            async with sessions() as session:
                gazetted = {row.day for row in await gazetted_days(session=session)}
            lines = [f"{day.isoformat()}  {name}{'  (gazetted)' if day in gazetted else ''}"
                     for day, name in coming_holidays(procedure, today, 366)]
            return "\n".join(lines) or "No holidays in the coming year."
        day: date = args.day
        if args.holidays_command == "add":
            _, moved = await set_day(sessions=sessions, procedure=procedure, day=day,
                                     name=args.name, holiday=True, by=None, now=now)
            said = f"Gazetted {day.isoformat()} {args.name!r}."
        else:
            async with sessions() as session:
                ours = {row.day: row for row in await gazetted_days(session=session)}
            row = ours.get(day)
            package = procedure.calendar.with_gazette(()).holiday(day)
            if row is not None and row.holiday:
                name, holiday = None, True  # out of the gazette again
            elif package is not None and row is None:
                name, holiday = package, False  # the package's holiday is not on this day
            else:
                return f"{day.isoformat()} is not a holiday: nothing changed."
            _, moved = await set_day(sessions=sessions, procedure=procedure, day=day,
                                     name=name, holiday=holiday, by=None, now=now)
            said = f"{day.isoformat()} is a working day now."
        lines = [said, f"{len(moved)} due date{'' if len(moved) == 1 else 's'} moved."]
        lines += [f"  {m.ref} {m.step}: "
                  f"{m.before.astimezone(calendar.tz).date().isoformat()} -> "
                  f"{m.after.astimezone(calendar.tz).date().isoformat()}" for m in moved]
        return "\n".join(lines)
    finally:
        await engine.dispose()


def coming_holidays(procedure: Any, today: date, days: int) -> list[tuple[date, str]]:
    """The public holidays (the gazette's included) from ``today`` on, for ``days`` days."""
    calendar = procedure.calendar
    found: list[tuple[date, str]] = []
    for offset in range(days):
        day = date.fromordinal(today.toordinal() + offset)
        name = calendar.holiday(day)
        if name:
            found.append((day, name))
    return found
