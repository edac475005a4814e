"""Approvers away from the office and who acts for them: who gets the Ya/Tidak cards and chases."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date

MAX_AWAY_DAYS = 366


@dataclass(frozen=True)
class Absence:
    """``user_id`` is away from ``start`` to ``end`` (inclusive); ``acting_id`` acts for them."""

    user_id: int
    start: date
    end: date
    acting_id: int

    def covers(self, day: date) -> bool:
        """True when the approver is away on ``day``."""
        return self.start <= day <= self.end


class BadAbsence(ValueError):
    """An absence that cannot be recorded; ``why`` names the reason for the message."""

    def __init__(self, why: str) -> None:
        super().__init__(why)
        self.why = why


def check_absence(absence: Absence, *, today: date, approvers: Iterable[int]) -> None:
    """Raise BadAbsence unless ``absence`` is one a manager may record."""
    listed = set(approvers)
    if absence.end < absence.start:
        raise BadAbsence("dates_reversed")
    if absence.end < today:
        raise BadAbsence("in_past")
    if (absence.end - absence.start).days > MAX_AWAY_DAYS:
        raise BadAbsence("too_long")
    if absence.user_id not in listed:
        raise BadAbsence("not_approver")
    if absence.acting_id == absence.user_id or absence.acting_id not in listed:
        raise BadAbsence("acting_not_approver")


def away_on(absences: Iterable[Absence], user_id: int, day: date) -> Absence | None:
    """The absence that keeps ``user_id`` away on ``day``, if any."""
    return next((a for a in absences if a.user_id == user_id and a.covers(day)), None)


def acting_for(absences: Iterable[Absence], acting_id: int, day: date) -> list[int]:
    """The approvers ``acting_id`` stands in for on ``day``."""
    return [a.user_id for a in absences if a.acting_id == acting_id and a.covers(day)]


def approvers_on(day: date, approvers: Sequence[int], absences: Sequence[Absence]) -> list[int]:
    """Who gets approvers' cards and chases on ``day``: each approver, or the one acting for them.

    An acting approver who is away too passes it on to the one acting for them in turn.
    """
    chosen: list[int] = []
    for user in approvers:
        seen = {user}
        while (absent := away_on(absences, user, day)) is not None and absent.acting_id not in seen:
            user = absent.acting_id
            seen.add(user)
        if away_on(absences, user, day) is None and user not in chosen:
            chosen.append(user)
    return chosen
