"""Target dates: a date a case should finish by, and the forecast slips past it worth a warning."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date

from bot.domain.case import Actor, Case, Role
from bot.domain.forecast import Forecast


def may_set_target(actor: Actor, case: Case) -> bool:
    """AB, admins and the case's lead division set its target date."""
    return actor.role in (Role.AB, Role.ADMIN) or (
        actor.role is Role.OFFICER and actor.division == case.lead_division)


@dataclass(frozen=True)
class Target:
    """A date a case should finish by (a state visit), and the late bound last warned about."""

    ref: str
    on: date
    warned_late: date | None = None  # None: no slip warned since the target was set or met


@dataclass(frozen=True)
class Slip:
    """A case whose late bound newly passed its target, and the steps that push it there."""

    ref: str
    target: date
    late: date
    causes: tuple[str, ...]


def new_slips(forecasts: Iterable[Forecast], targets: Mapping[str, Target]) -> list[Slip]:
    """The cases whose late bound now passes a target not yet warned about: warn these once."""
    slips = []
    for fc in forecasts:
        target = targets.get(fc.ref)
        if target is None or fc.late <= target.on or target.warned_late is not None:
            continue
        slips.append(Slip(fc.ref, target.on, fc.late, fc.causes()))
    return slips


def back_on_target(forecasts: Iterable[Forecast], targets: Mapping[str, Target]) -> list[str]:
    """Cases warned of a slip whose late bound is within the target again: the next slip is new."""
    return [fc.ref for fc in forecasts
            if (t := targets.get(fc.ref)) is not None and t.warned_late is not None
            and fc.late <= t.on]
