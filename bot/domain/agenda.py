"""Deadlines for a person's calendar: every open step of the cases they may act on."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from bot.domain.calendar import OfficeCalendar
from bot.domain.case import Actor, Case, Role

# Who follows every case, not only their own division's.
SEES_ALL = frozenset({Role.AB, Role.MANAGEMENT, Role.ADMIN})


def follows(actor: Actor, case: Case) -> bool:
    """True when ``case`` belongs in ``actor``'s calendar."""
    return actor.role in SEES_ALL or (
        actor.division is not None and case.lead_division == actor.division)


@dataclass(frozen=True)
class Deadline:
    """An open step's due date, with a UID that stays the same while the step is open."""

    uid: str
    ref: str
    title: str
    step: str
    number: int
    round: int
    due: date


def deadline_uid(ref: str, step: str, round_: int) -> str:
    """The same open step always has the same UID, so a newer file updates the event."""
    return f"{ref}.{step}.{round_}@ikabot"


def deadlines(cases: Iterable[Case], actor: Actor, numbers: dict[str, int],
              calendar: OfficeCalendar) -> list[Deadline]:
    """The open steps of the cases ``actor`` follows, soonest first (``numbers``: step numbers)."""
    found = []
    for case in cases:
        run = case.current_run
        if not case.is_open or run is None or run.done or not follows(actor, case):
            continue
        found.append(Deadline(deadline_uid(case.ref, run.key, run.round), case.ref, case.title,
                              run.key, numbers.get(run.key, 0), run.round,
                              calendar.local_date(run.due_at)))
    return sorted(found, key=lambda d: (d.due, d.ref))
