"""Inline-button data: short, versioned text, built and parsed here and nowhere else.

Telegram gives a button at most 64 bytes of data and hands back whatever a client sends, so
a parsed button is only a claim: handlers check every one against the database.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

VERSION = "1"
MAX_BYTES = 64

_REF = r"IKA-\d{4}-\d{3,6}"
_KEY = r"[a-z][a-z0-9_]{1,31}"


@dataclass(frozen=True)
class Approve:
    """Ya (approve=True) or Tidak on round ``round`` of a case's Minit Cerai."""

    ref: str
    round: int
    approve: bool


@dataclass(frozen=True)
class Report:
    """Report step ``step`` of a case done."""

    ref: str
    step: str


@dataclass(frozen=True)
class ToggleInput:
    """Tick or untick one BJA's input on a case."""

    ref: str
    code: str


@dataclass(frozen=True)
class AfterRefusal:
    """After Tidak: revise back to ``target`` (a step key) or ``close``."""

    ref: str
    target: str


@dataclass(frozen=True)
class Page:
    """Page ``page`` of a paged listing (``what``: ``open``, ``done``, a filter's token
    (bot.domain.case_filter) or a case reference)."""

    what: str
    page: int


@dataclass(frozen=True)
class Choice:
    """A choice inside a conversation: ``field`` takes ``value``."""

    field: str
    value: str


@dataclass(frozen=True)
class Timeline:
    """Send case ``ref``'s timeline as a picture."""

    ref: str


@dataclass(frozen=True)
class AskMoreTime:
    """The step's owner asks for more time on step ``step`` (the button on cards, reminders)."""

    ref: str
    step: str


@dataclass(frozen=True)
class AnswerMoreTime:
    """AB's Lulus (grant=True) or Tolak on request ``seq`` for more time on ``step``."""

    ref: str
    step: str
    seq: int
    grant: bool


Callback = (Approve | Report | ToggleInput | AfterRefusal | Page | Choice | Timeline
            | AskMoreTime | AnswerMoreTime)

_PATTERNS: list[tuple[re.Pattern[str], type]] = [
    (re.compile(rf"ap:{VERSION}:({_REF}):(\d{{1,3}}):([yn])"), Approve),
    (re.compile(rf"st:{VERSION}:({_REF}):({_KEY})"), Report),
    (re.compile(rf"in:{VERSION}:({_REF}):([A-Z][A-Z0-9_]{{0,15}})"), ToggleInput),
    (re.compile(rf"rv:{VERSION}:({_REF}):({_KEY}|close)"), AfterRefusal),
    (re.compile(rf"pg:{VERSION}:(open|done|f(?:-[A-Za-z][A-Za-z0-9_]*)*|{_REF}):(\d{{1,4}})"),
     Page),
    (re.compile(rf"ch:{VERSION}:([a-z_]{{1,16}}):([A-Za-z0-9_.-]{{1,40}})"), Choice),
    (re.compile(rf"tl:{VERSION}:({_REF})"), Timeline),
    (re.compile(rf"xr:{VERSION}:({_REF}):({_KEY})"), AskMoreTime),
    (re.compile(rf"xa:{VERSION}:({_REF}):({_KEY}):(\d{{1,3}}):([yn])"), AnswerMoreTime),
]


def encode(button: Callback) -> str:
    """The data string for ``button``."""
    match button:
        case Approve(ref, round_, approve):
            data = f"ap:{VERSION}:{ref}:{round_}:{'y' if approve else 'n'}"
        case Report(ref, step):
            data = f"st:{VERSION}:{ref}:{step}"
        case ToggleInput(ref, code):
            data = f"in:{VERSION}:{ref}:{code}"
        case AfterRefusal(ref, target):
            data = f"rv:{VERSION}:{ref}:{target}"
        case Page(what, page):
            data = f"pg:{VERSION}:{what}:{page}"
        case Choice(field, value):
            data = f"ch:{VERSION}:{field}:{value}"
        case Timeline(ref):
            data = f"tl:{VERSION}:{ref}"
        case AskMoreTime(ref, step):
            data = f"xr:{VERSION}:{ref}:{step}"
        case AnswerMoreTime(ref, step, seq, grant):
            data = f"xa:{VERSION}:{ref}:{step}:{seq}:{'y' if grant else 'n'}"
    if decode(data) != button:
        raise ValueError(f"button data would not read back: {data!r}")
    return data


def decode(data: str | None) -> Callback | None:
    """The button ``data`` stands for, or None for anything stale, foreign or forged."""
    if not data or len(data.encode()) > MAX_BYTES:
        return None
    for pattern, kind in _PATTERNS:
        found = pattern.fullmatch(data)
        if found is None:
            continue
        if kind is Timeline:
            return Timeline(found.group(1))
        a, b, *rest = found.groups()
        if kind is Approve:
            return Approve(a, int(b), rest[0] == "y")
        if kind is Page:
            return Page(a, int(b))
        if kind is AnswerMoreTime:
            return AnswerMoreTime(a, b, int(rest[0]), rest[1] == "y")
        return kind(a, b)  # type: ignore[no-any-return]
    return None


def pattern(prefix: str) -> re.Pattern[str]:
    """A CallbackQueryHandler pattern for one kind of button (``ap``, ``st``, …)."""
    return re.compile(rf"^{re.escape(prefix)}:")


def choice_pattern(field: str, *, whole: bool = True) -> re.Pattern[str]:
    """A CallbackQueryHandler pattern for the Choice buttons of ``field`` (not ``whole``: of
    every field that starts with it)."""
    return re.compile(rf"^ch:{VERSION}:{re.escape(field)}" + (":" if whole else ""))
