"""The SOP as data: the nine steps, who owns them, what they capture and when they are due."""

from __future__ import annotations

from enum import StrEnum
from functools import cached_property
from importlib import resources
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from bot.tomlfile import load_toml


class Owner(StrEnum):
    """Who must act on a step."""

    AB = "ab"
    LEAD = "lead"


class Capture(StrEnum):
    """What completing a step asks for."""

    INPUTS = "inputs"
    DECISION = "decision"
    MEETING = "meeting"
    NOTE_REF = "note_ref"
    NEGOTIATION = "negotiation"
    DOCUMENT = "document"
    FILE_REF = "file_ref"


class Anchor(StrEnum):
    """The event a step's deadline counts from."""

    RECEIVED = "received"
    PREVIOUS = "previous"
    NEGOTIATION_END = "negotiation_end"


class WaitParty(StrEnum):
    """An outside party a step may wait on."""

    KLN = "kln"
    FOREIGN = "foreign"
    AGC = "agc"
    AGENCY = "agency"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DueRule(_Strict):
    """``days`` (or weeks) after ``after``; see sop.toml for the meaning of each field."""

    days: int = Field(ge=0, le=365)
    unit: Literal["days", "weeks"] = "days"
    after: Anchor
    due_at_agreed_end: bool = False

    @property
    def calendar_days(self) -> int:
        """The duration in days (weeks are seven calendar days)."""
        return self.days * 7 if self.unit == "weeks" else self.days


class StepDef(_Strict):
    """One step of the SOP."""

    key: str = Field(pattern=r"^[a-z][a-z0-9_]{1,31}$")
    owner: Owner
    capture: Capture | None = None
    title_ms: str = Field(min_length=1)
    title_en: str = Field(min_length=1)
    done_when_ms: str = Field(min_length=1)
    done_when_en: str = Field(min_length=1)
    due: DueRule
    wait: bool = False  # may wait on an outside party, its clock stopped
    extend: bool = True  # its owner may ask for more time

    def title(self, lang: str) -> str:
        """The step's title in ``lang`` (ms or en)."""
        return self.title_en if lang == "en" else self.title_ms

    def done_when(self, lang: str) -> str:
        """What "done" means for this step, in ``lang``."""
        return self.done_when_en if lang == "en" else self.done_when_ms


class InputSource(_Strict):
    """A division, department or agency (BJA) whose input step 2 may ask for."""

    code: str = Field(pattern=r"^[A-Z][A-Z0-9_]{0,15}$")
    name_ms: str = Field(min_length=1)
    name_en: str = Field(min_length=1)

    def name(self, lang: str) -> str:
        """The source's name in ``lang``."""
        return self.name_en if lang == "en" else self.name_ms


class SopHeader(_Strict):
    """The SOP's own names."""

    name_ms: str
    name_en: str


class Policy(_Strict):
    """How the ministry runs the procedure beyond the steps; see sop.toml."""

    approvers: Literal["any", "every"] = "any"
    extension_max_days: int = Field(default=20, ge=1, le=250)
    wait_reminder_days: int = Field(default=7, ge=1, le=60)
    renewal_months: tuple[int, ...] = (6, 3, 1)

    @model_validator(mode="after")
    def _months(self) -> Policy:
        if any(not 1 <= m <= 60 for m in self.renewal_months):
            raise ValueError("renewal_months must each be 1 to 60")
        return self


# Captures whose meaning the case rules depend on: each must be owned by exactly one step.
_REQUIRED_CAPTURES = (Capture.INPUTS, Capture.DECISION, Capture.NEGOTIATION, Capture.DOCUMENT)


class Sop(_Strict):
    """The whole procedure, in order."""

    sop: SopHeader
    policy: Policy = Policy()
    step: list[StepDef] = Field(min_length=2)
    input_source: list[InputSource] = Field(min_length=1)

    @model_validator(mode="after")
    def _check(self) -> Sop:
        keys = [s.key for s in self.step]
        dup = {k for k in keys if keys.count(k) > 1}
        if dup:
            raise ValueError(f"step keys must be unique: {', '.join(sorted(dup))}")
        codes = [s.code for s in self.input_source]
        if len(set(codes)) != len(codes):
            raise ValueError("input_source codes must be unique")
        for cap in _REQUIRED_CAPTURES:
            owners = [s.key for s in self.step if s.capture is cap]
            if len(owners) != 1:
                raise ValueError(f"exactly one step must capture {cap.value!r}")
        if self.step[0].due.after is not Anchor.RECEIVED:
            raise ValueError("the first step's deadline must count from 'received'")
        negotiation = keys.index(self.step_for(Capture.NEGOTIATION).key)
        decision = keys.index(self.step_for(Capture.DECISION).key)
        inputs = keys.index(self.step_for(Capture.INPUTS).key)
        if not inputs < decision < negotiation:
            raise ValueError("steps must collect input, then decide, then negotiate, in that order")
        for i, s in enumerate(self.step):
            if s.due.after is Anchor.NEGOTIATION_END and i <= negotiation:
                raise ValueError(f"step {s.key!r} counts from the negotiation's end before it")
            if s.due.after is Anchor.RECEIVED and i > 0:
                raise ValueError(f"only the first step may count from 'received' ({s.key!r})")
        return self

    @cached_property
    def keys(self) -> tuple[str, ...]:
        """Step keys in order."""
        return tuple(s.key for s in self.step)

    def get(self, key: str) -> StepDef:
        """The step with ``key``; KeyError if the SOP has none."""
        for s in self.step:
            if s.key == key:
                return s
        raise KeyError(key)

    def number(self, key: str) -> int:
        """The step's 1-based number, as the SOP shows it."""
        return self.keys.index(key) + 1

    def next_key(self, key: str) -> str | None:
        """The step after ``key``, or None after the last."""
        i = self.keys.index(key)
        return self.keys[i + 1] if i + 1 < len(self.keys) else None

    def step_for(self, capture: Capture) -> StepDef:
        """The step that captures ``capture``."""
        return next(s for s in self.step if s.capture is capture)

    def source(self, code: str) -> InputSource | None:
        """The input source with ``code``, if the SOP has it."""
        return next((s for s in self.input_source if s.code == code), None)


DEFAULT_SOP_FILE = "sop.toml"


def load_sop(path: Path | str | None = None) -> Sop:
    """Load the SOP from ``path``, or the one shipped with ikabot; TomlFileError when wrong."""
    if path is None:
        with resources.as_file(resources.files("bot.domain") / DEFAULT_SOP_FILE) as shipped:
            return load_toml(shipped, Sop)
    return load_toml(path, Sop)
