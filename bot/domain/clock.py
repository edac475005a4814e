"""A step's clock: the extensions asked for and granted on it, its waits on outside parties,
and the due date they give.

Both are kept in the step run's data (``extensions``, ``waits``) as plain dicts, so a saved
case carries its whole history; this module reads them as typed records.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from bot.domain.case import Case, StepRun
from bot.domain.sop import WaitParty

if TYPE_CHECKING:
    from bot.domain.deadlines import Procedure

EXTENSIONS = "extensions"  # the run data key of the extension records
WAITS = "waits"  # the run data key of the wait records


class ExtensionState(StrEnum):
    """Where a request for more time stands."""

    PENDING = "pending"
    GRANTED = "granted"
    REFUSED = "refused"


@dataclass(frozen=True)
class Extension:
    """One request for more working days on a step, and AB's answer."""

    seq: int  # 1 for the step's first request, then 2, …
    days: int
    reason: str
    by: int
    at: datetime
    state: ExtensionState = ExtensionState.PENDING
    decided_by: int | None = None
    decided_at: datetime | None = None
    due_from: datetime | None = None  # the due moment it moved (granted only)
    due_to: datetime | None = None

    @classmethod
    def read(cls, data: dict[str, Any]) -> Extension:
        """From the run's stored dict."""
        return cls(int(data["seq"]), int(data["days"]), str(data["reason"]), int(data["by"]),
                   datetime.fromisoformat(data["at"]), ExtensionState(data["state"]),
                   data.get("decided_by"), _moment(data.get("decided_at")),
                   _moment(data.get("due_from")), _moment(data.get("due_to")))

    def stored(self) -> dict[str, Any]:
        """As the run stores it."""
        return {"seq": self.seq, "days": self.days, "reason": self.reason, "by": self.by,
                "at": self.at.isoformat(), "state": self.state.value,
                "decided_by": self.decided_by, "decided_at": _iso(self.decided_at),
                "due_from": _iso(self.due_from), "due_to": _iso(self.due_to)}


@dataclass(frozen=True)
class Wait:
    """A stretch of time the step waited on an outside party; ``end`` None while it waits."""

    party: WaitParty
    note: str | None
    start: datetime
    by: int
    end: datetime | None = None
    ended_by: int | None = None
    days: int = 0  # working days waited, once it ended

    @classmethod
    def read(cls, data: dict[str, Any]) -> Wait:
        """From the run's stored dict."""
        return cls(WaitParty(data["party"]), data.get("note"),
                   datetime.fromisoformat(data["start"]), int(data["by"]),
                   _moment(data.get("end")), data.get("ended_by"), int(data.get("days", 0)))

    def stored(self) -> dict[str, Any]:
        """As the run stores it."""
        return {"party": self.party.value, "note": self.note, "start": self.start.isoformat(),
                "by": self.by, "end": _iso(self.end), "ended_by": self.ended_by,
                "days": self.days}


def _moment(value: object) -> datetime | None:
    return datetime.fromisoformat(value) if isinstance(value, str) else None


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def extensions(run: StepRun) -> list[Extension]:
    """Every extension asked for on ``run``, oldest first."""
    return [Extension.read(d) for d in run.data.get(EXTENSIONS, [])]


def pending_extension(run: StepRun) -> Extension | None:
    """The request AB has not answered yet, if any."""
    return next((e for e in extensions(run) if e.state is ExtensionState.PENDING), None)


def waits(run: StepRun) -> list[Wait]:
    """Every wait on ``run``, oldest first."""
    return [Wait.read(d) for d in run.data.get(WAITS, [])]


def waiting(run: StepRun | None) -> Wait | None:
    """The wait under way on ``run``, if its clock is stopped."""
    if run is None or run.done:
        return None
    return next((w for w in waits(run) if w.end is None), None)


def store_extensions(run: StepRun, records: list[Extension]) -> None:
    """Write ``records`` back to the run."""
    run.data[EXTENSIONS] = [e.stored() for e in records]


def store_waits(run: StepRun, records: list[Wait]) -> None:
    """Write ``records`` back to the run."""
    run.data[WAITS] = [w.stored() for w in records]


def days_waited(procedure: Procedure, start: datetime, end: datetime) -> int:
    """The working days a wait from ``start`` to ``end`` took off the clock."""
    calendar = procedure.calendar
    return calendar.working_days_between(calendar.local_date(start), calendar.local_date(end))


def original_due(case: Case, run: StepRun, procedure: Procedure) -> datetime:
    """The step's due moment by the SOP's count alone, before any extension or wait."""
    step = procedure.sop.get(run.key)
    return procedure.step_due(case, step, procedure.calendar.local_date(run.started_at))


def recount_due(case: Case, run: StepRun, procedure: Procedure) -> datetime:
    """The due moment the SOP's count, the extensions granted and the waits ended give.

    Each granted extension and each ended wait adds its working days, in the order they
    happened, on the calendar as it is now (a holiday gazetted since is counted).
    """
    calendar = procedure.calendar
    due: date = calendar.local_date(original_due(case, run, procedure))
    moves: list[tuple[datetime, int]] = [
        (e.decided_at or e.at, e.days) for e in extensions(run)
        if e.state is ExtensionState.GRANTED]
    moves += [(w.end, w.days) for w in waits(run) if w.end is not None and w.days]
    for _, days in sorted(moves, key=lambda move: move[0]):
        due = calendar.add_working_days(due, days)
    return procedure.due_at(due)
