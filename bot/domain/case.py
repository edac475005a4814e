"""A case as the rules see it: plain data, no Telegram, no database."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum
from typing import Any


class Role(StrEnum):
    """What a registered user may do."""

    ADMIN = "admin"
    AB = "ab"
    OFFICER = "officer"
    MANAGEMENT = "management"
    VIEWER = "viewer"


class CaseStatus(StrEnum):
    """Where a case stands as a whole."""

    OPEN = "open"
    COMPLETED = "completed"
    NOT_APPROVED = "not_approved"
    WITHDRAWN = "withdrawn"


class Phase(StrEnum):
    """Where the current step stands; only the decision step goes past WORK."""

    WORK = "work"
    AWAITING_DECISION = "awaiting_decision"
    REFUSED = "refused"


class Source(StrEnum):
    """Where the information about a proposed IKA came from."""

    KLN = "kln"
    EMBASSY = "embassy"
    MANAGEMENT = "management"


class Level(StrEnum):
    """Tahap: the level of an IKA."""

    BILATERAL = "bilateral"
    MULTILATERAL = "multilateral"
    REGIONAL = "regional"


class Classification(StrEnum):
    """A case's security classification: Sulit cases are guarded in every message."""

    OPEN = "open"  # not classified
    TERHAD = "terhad"  # restricted
    SULIT = "sulit"  # confidential


class Instrument(StrEnum):
    """Kinds of IKA named in the SOP."""

    MOU = "mou"
    TREATY = "treaty"
    AGREEMENT = "agreement"
    DECLARATION = "declaration"
    PROTOCOL = "protocol"
    ARRANGEMENT = "arrangement"
    CONVENTION = "convention"
    ACTION_PLAN = "action_plan"
    WORK_PLAN = "work_plan"
    WORK_PROGRAMME = "work_programme"
    OTHER = "other"


@dataclass(frozen=True)
class Actor:
    """Who is acting: a registered user's Telegram id, role and division code."""

    user_id: int
    role: Role
    division: str | None = None


@dataclass
class StepRun:
    """One attempt at one step; a revision after Tidak starts a new round of the same step."""

    key: str
    round: int
    started_at: datetime
    due_at: datetime
    done_at: datetime | None = None
    done_by: int | None = None
    data: dict[str, Any] = field(default_factory=dict)

    @property
    def done(self) -> bool:
        """True once the step has been reported done."""
        return self.done_at is not None


@dataclass
class InputAsk:
    """One BJA asked for input at the input step, and whether its input is in."""

    code: str
    round: int
    asked_at: datetime
    received_at: datetime | None = None
    received_by: int | None = None


@dataclass
class Decision:
    """Top management's Ya or Tidak on one round of the Minit Cerai."""

    round: int
    approved: bool
    by: int
    at: datetime
    reason: str | None = None
    on_behalf_of: int | None = None  # the approver an acting approver decided for


@dataclass
class Event:
    """One change to a case, as the append-only log records it."""

    kind: str
    actor: int | None
    at: datetime
    step: str | None = None
    data: dict[str, Any] = field(default_factory=dict)


@dataclass
class Case:
    """An IKA negotiation case and its history."""

    ref: str
    title: str
    instrument: Instrument
    level: Level
    countries: tuple[str, ...]
    source: Source
    lead_division: str
    received_on: date
    status: CaseStatus = CaseStatus.OPEN
    current_step: str | None = None
    phase: Phase = Phase.WORK
    round: int = 1
    steps: list[StepRun] = field(default_factory=list)
    inputs: list[InputAsk] = field(default_factory=list)
    decisions: list[Decision] = field(default_factory=list)
    classification: Classification = Classification.OPEN
    version: int = 0

    @property
    def is_open(self) -> bool:
        """True while the case still has a step to do."""
        return self.status is CaseStatus.OPEN

    def run(self, key: str) -> StepRun | None:
        """The latest run of step ``key``, if it has started."""
        runs = [r for r in self.steps if r.key == key]
        return max(runs, key=lambda r: r.round) if runs else None

    @property
    def current_run(self) -> StepRun | None:
        """The run of the current step."""
        return self.run(self.current_step) if self.current_step else None

    def inputs_this_round(self) -> list[InputAsk]:
        """The inputs asked for in the current round."""
        return [i for i in self.inputs if i.round == self.round]

    @property
    def is_sulit(self) -> bool:
        """True when every message about the case must be guarded."""
        return self.classification is Classification.SULIT

    def decision_this_round(self) -> Decision | None:
        """Top management's decision on the current round, if made."""
        return next((d for d in self.decisions if d.round == self.round), None)
