"""Which cases a list shows: a filter, read from the words typed after /status and kept short in
a button.

Pure: the caller passes in what the words may name (the divisions, the SOP's steps, a country
lookup), and storage turns the filter into SQL. Words are matched case-insensitively, in Malay
or English. Nothing typed is dropped unsaid: the words nothing matched, the words that may mean
several things (with what they may mean) and the words a later one replaced are handed back so
the answer can name them; only the connectors people type between filters ("dan", "or", commas)
are passed over.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field, fields, replace
from datetime import date
from typing import Literal

from bot.domain.case import CaseStatus, Instrument, Level

CLOSED = frozenset({CaseStatus.COMPLETED, CaseStatus.NOT_APPROVED, CaseStatus.WITHDRAWN})
OPEN_ONLY = frozenset({CaseStatus.OPEN})
EARLIEST_YEAR, LATEST_YEAR = 2000, 2100
MAX_COUNTRY_WORDS = 8  # "United Kingdom of Great Britain and Northern Ireland"
MIN_DIVISION_PREFIX = 2  # "BKK" may mean BKKA; a single letter means nothing
# Words typed between filters ("BKKA dan BDP", "Jepun or Korea"), passed over unsaid.
CONNECTORS = frozenset({"dan", "and", "atau", "or", "di", "in", "yang", "&"})
_SEPARATORS = re.compile(r"[,;]+")

# Phrases of one or two words, in both languages, each naming one value.
INSTRUMENT_WORDS: Mapping[str, Instrument] = {
    "mou": Instrument.MOU, "memorandum": Instrument.MOU,
    "triti": Instrument.TREATY, "treaty": Instrument.TREATY,
    "perjanjian": Instrument.AGREEMENT, "agreement": Instrument.AGREEMENT,
    "deklarasi": Instrument.DECLARATION, "declaration": Instrument.DECLARATION,
    "protokol": Instrument.PROTOCOL, "protocol": Instrument.PROTOCOL,
    "aturan": Instrument.ARRANGEMENT, "arrangement": Instrument.ARRANGEMENT,
    "konvensyen": Instrument.CONVENTION, "convention": Instrument.CONVENTION,
    "pelan tindakan": Instrument.ACTION_PLAN, "action plan": Instrument.ACTION_PLAN,
    "pelan kerja": Instrument.WORK_PLAN, "work plan": Instrument.WORK_PLAN,
    "program kerja": Instrument.WORK_PROGRAMME, "work programme": Instrument.WORK_PROGRAMME,
    "work program": Instrument.WORK_PROGRAMME,
}
LEVEL_WORDS: Mapping[str, Level] = {
    "dua hala": Level.BILATERAL, "duahala": Level.BILATERAL, "bilateral": Level.BILATERAL,
    "pelbagai hala": Level.MULTILATERAL, "pelbagaihala": Level.MULTILATERAL,
    "multilateral": Level.MULTILATERAL,
    "serantau": Level.REGIONAL, "regional": Level.REGIONAL, "asean": Level.REGIONAL,
}
STATUS_WORDS: Mapping[str, frozenset[CaseStatus]] = {
    "terbuka": OPEN_ONLY, "open": OPEN_ONLY,
    "selesai": frozenset({CaseStatus.COMPLETED}), "completed": frozenset({CaseStatus.COMPLETED}),
    "complete": frozenset({CaseStatus.COMPLETED}),
    "difailkan": frozenset({CaseStatus.COMPLETED}), "filed": frozenset({CaseStatus.COMPLETED}),
    "tidak diluluskan": frozenset({CaseStatus.NOT_APPROVED}),
    "not approved": frozenset({CaseStatus.NOT_APPROVED}),
    "ditarik balik": frozenset({CaseStatus.WITHDRAWN}),
    "withdrawn": frozenset({CaseStatus.WITHDRAWN}),
    "ditutup": CLOSED, "closed": CLOSED,
}
OVERDUE_WORDS = frozenset({"lewat", "overdue", "late"})
STEP_WORDS = frozenset({"langkah", "step"})

# In a button: one short code per value (callback data is at most 64 bytes).
_INSTRUMENT_CODES: Mapping[Instrument, str] = {
    Instrument.MOU: "mo", Instrument.TREATY: "tr", Instrument.AGREEMENT: "ag",
    Instrument.DECLARATION: "de", Instrument.PROTOCOL: "pr", Instrument.ARRANGEMENT: "ar",
    Instrument.CONVENTION: "co", Instrument.ACTION_PLAN: "ap", Instrument.WORK_PLAN: "wp",
    Instrument.WORK_PROGRAMME: "wg", Instrument.OTHER: "ot",
}
_LEVEL_CODES: Mapping[Level, str] = {
    Level.BILATERAL: "b", Level.MULTILATERAL: "m", Level.REGIONAL: "r"}
_STATUS_CODES: Mapping[frozenset[CaseStatus], str] = {
    frozenset({CaseStatus.COMPLETED}): "c", frozenset({CaseStatus.NOT_APPROVED}): "n",
    frozenset({CaseStatus.WITHDRAWN}): "w", CLOSED: "x",
}
TOKEN_PREFIX = "f"
_TOKEN = re.compile(r"^f(?:-[a-zA-Z][A-Za-z0-9_]*)*$")
_DIVISION = re.compile(r"[A-Z][A-Z0-9_]{0,15}")


@dataclass(frozen=True)
class CaseFilter:
    """Which cases to list; the default is every open case.

    ``year`` is the year a closed case was closed in, or the year an open case was received.
    ``step`` is the current step's key; ``overdue`` keeps the cases whose current step's work
    is past its due moment.
    """

    division: str | None = None
    country: str | None = None  # an ISO 3166 code
    instrument: Instrument | None = None
    level: Level | None = None
    step: str | None = None
    overdue: bool = False
    statuses: frozenset[CaseStatus] = field(default=OPEN_ONLY)
    year: int | None = None

    @property
    def is_open_only(self) -> bool:
        """True when only open cases are listed."""
        return self.statuses == OPEN_ONLY

    @property
    def is_default(self) -> bool:
        """True for the plain /status list: every open case."""
        return self == CaseFilter()

    def parts(self) -> list[CaseFilter]:
        """This filter with one condition taken away, for each condition: ways to widen it."""
        wider = [narrower for present, narrower in (
            (self.division, replace(self, division=None)),
            (self.country, replace(self, country=None)),
            (self.instrument, replace(self, instrument=None)),
            (self.level, replace(self, level=None)),
            (self.step, replace(self, step=None)),
            (self.year, replace(self, year=None)),
        ) if present]
        if self.overdue:
            wider.append(replace(self, overdue=False))
        if not self.is_open_only:
            wider.append(replace(self, statuses=OPEN_ONLY, overdue=self.overdue))
        return wider

    def words(self, step_numbers: Mapping[str, int]) -> list[str]:
        """The filter as words /status reads back (Malay; both languages read either)."""
        words: list[str] = []
        if self.division:
            words.append(self.division)
        if self.country:
            words.append(self.country)
        if self.instrument:
            words.append(_first_word(INSTRUMENT_WORDS, self.instrument))
        if self.level:
            words.append(_first_word(LEVEL_WORDS, self.level))
        if self.step:
            words.append(f"langkah {step_numbers.get(self.step, self.step)}")
        if self.year:
            words.append(str(self.year))
        if not self.is_open_only:
            words.append(_first_word(STATUS_WORDS, self.statuses))
        if self.overdue:
            words.append("lewat")
        return words

    def token(self, step_numbers: Mapping[str, int]) -> str:
        """The filter as a short code for a button's data (read back by from_token)."""
        parts = [TOKEN_PREFIX]
        if self.division:
            parts.append("d" + self.division)
        if self.country:
            parts.append("c" + self.country)
        if self.instrument:
            parts.append("i" + _INSTRUMENT_CODES[self.instrument])
        if self.level:
            parts.append("l" + _LEVEL_CODES[self.level])
        if self.step:
            parts.append(f"s{step_numbers[self.step]}")
        if self.overdue:
            parts.append("o")
        if self.year:
            parts.append(f"y{self.year}")
        if not self.is_open_only:
            parts.append("x" + _STATUS_CODES[self.statuses])
        return "-".join(parts)


def _first_word(table: Mapping[str, object], value: object) -> str:
    return next(word for word, v in table.items() if v == value)


def from_token(token: str, steps: Sequence[str]) -> CaseFilter | None:
    """The filter a button's code stands for, or None for anything that does not read back."""
    if not _TOKEN.match(token):
        return None
    instruments = {v: k for k, v in _INSTRUMENT_CODES.items()}
    levels = {v: k for k, v in _LEVEL_CODES.items()}
    statuses = {v: k for k, v in _STATUS_CODES.items()}
    found = CaseFilter()
    for part in token.split("-")[1:]:
        kind, value = part[0], part[1:]
        if kind == "d" and _DIVISION.fullmatch(value):
            found = replace(found, division=value)
        elif kind == "c" and len(value) == 2 and value.isupper():
            found = replace(found, country=value)
        elif kind == "i" and value in instruments:
            found = replace(found, instrument=instruments[value])
        elif kind == "l" and value in levels:
            found = replace(found, level=levels[value])
        elif kind == "s" and value.isdigit() and 1 <= int(value) <= len(steps):
            found = replace(found, step=steps[int(value) - 1])
        elif kind == "o" and not value:
            found = replace(found, overdue=True)
        elif kind == "y" and value.isdigit() and EARLIEST_YEAR <= int(value) <= LATEST_YEAR:
            found = replace(found, year=int(value))
        elif kind == "x" and value in statuses:
            found = replace(found, statuses=statuses[value])
        else:
            return None
    return found


@dataclass(frozen=True)
class Choice:
    """A word that may name any of several values of one condition: "Korea", "BKK"."""

    word: str
    condition: Literal["country", "division"]
    values: tuple[str, ...]

    def options(self, found: CaseFilter) -> list[CaseFilter]:
        """``found`` with each value the word may mean in its place."""
        if self.condition == "country":
            return [replace(found, country=value) for value in self.values]
        return [replace(found, division=value) for value in self.values]


@dataclass(frozen=True)
class Parsed:
    """A filter read from words, and the words it left out.

    ``unknown`` is every word the filter did not take, in the order typed: the ones nothing
    matched and the ones that may mean several things (each also in ``choices``, with what it
    may mean). ``replaced`` are the words a later word for the same condition replaced.
    """

    filter: CaseFilter
    unknown: tuple[str, ...]
    choices: tuple[Choice, ...] = ()
    replaced: tuple[str, ...] = ()

    @property
    def not_understood(self) -> tuple[str, ...]:
        """The words nothing matched."""
        asked = {choice.word for choice in self.choices}
        return tuple(word for word in self.unknown if word not in asked)


def parse_filter(
    words: Sequence[str],
    *,
    divisions: Collection[str],
    steps: Sequence[str],
    countries: Callable[[str], Sequence[str]],
) -> Parsed:
    """Read a filter from ``words`` (what followed /status).

    ``divisions`` are the codes of the divisions that may lead cases, ``steps`` the SOP's step
    keys in order (``langkah 3``, ``step 3`` or ``3`` name the third), and ``countries`` finds
    the ISO codes a country's name (Malay or English) stands for, best first: one is taken,
    several are a choice to offer. A word that starts division codes without being one ("BKK"
    for BKKA) is a choice too. A later word for the same condition replaces an earlier one.
    """
    typed = [part for word in words for part in _SEPARATORS.split(word) if part]
    lowered = [w.casefold() for w in typed]
    codes = {d.upper() for d in divisions}
    found = CaseFilter()
    setters: dict[str, str] = {}  # condition -> the words that set it
    unknown: list[str] = []
    choices: list[Choice] = []
    replaced: list[str] = []
    i = 0
    while i < len(typed):
        word, pair = lowered[i], " ".join(lowered[i:i + 2])
        step_number = _step_number(lowered, i, len(steps))
        taken: CaseFilter | None = None
        used = 1
        if word in CONNECTORS:
            pass
        elif pair in INSTRUMENT_WORDS or pair in LEVEL_WORDS or pair in STATUS_WORDS:
            taken, used = _named(found, pair), 2
        elif word in INSTRUMENT_WORDS or word in LEVEL_WORDS or word in STATUS_WORDS:
            taken = _named(found, word)
        elif word in OVERDUE_WORDS:
            taken = replace(found, overdue=True)
        elif word.upper() in codes:
            taken = replace(found, division=word.upper())
        elif step_number is not None:
            number, used = step_number
            taken = replace(found, step=steps[number - 1])
        elif word in steps:
            taken = replace(found, step=word)
        elif word.isdigit() and len(word) == 4 and EARLIEST_YEAR <= int(word) <= LATEST_YEAR:
            taken = replace(found, year=int(word))
        else:
            meant, used = _country(typed, i, countries)
            starting = sorted(c for c in codes if c.startswith(word.upper()))
            if len(meant) == 1:
                taken = replace(found, country=meant[0])
            elif meant:
                choices.append(Choice(" ".join(typed[i:i + used]), "country", tuple(meant)))
            elif len(word) >= MIN_DIVISION_PREFIX and starting:
                choices.append(Choice(typed[i], "division", tuple(starting)))
            if taken is None:
                unknown.append(" ".join(typed[i:i + used]))
        if taken is not None:
            text = " ".join(typed[i:i + used])
            for condition in (f.name for f in fields(CaseFilter)):
                if getattr(taken, condition) != getattr(found, condition):
                    if condition in setters:
                        replaced.append(setters[condition])
                    setters[condition] = text
            found = taken
        i += used
    return Parsed(found, tuple(unknown), tuple(choices), tuple(replaced))


def _named(found: CaseFilter, phrase: str) -> CaseFilter:
    if phrase in INSTRUMENT_WORDS:
        return replace(found, instrument=INSTRUMENT_WORDS[phrase])
    if phrase in LEVEL_WORDS:
        return replace(found, level=LEVEL_WORDS[phrase])
    return replace(found, statuses=STATUS_WORDS[phrase])


def _step_number(lowered: Sequence[str], i: int, count: int) -> tuple[int, int] | None:
    """(the step's number, words used) for ``langkah 3``, ``step 3`` or a bare ``3``."""
    word = lowered[i]
    following = lowered[i + 1] if i + 1 < len(lowered) else ""
    if word in STEP_WORDS and following.isdigit() and 1 <= int(following) <= count:
        return int(following), 2
    if word.isdigit() and len(word) == 1 and 1 <= int(word) <= count:
        return int(word), 1
    return None


def _country(words: Sequence[str], i: int,
             countries: Callable[[str], Sequence[str]]) -> tuple[Sequence[str], int]:
    """The countries named by the longest run of words from ``i`` on, and how many it took."""
    for used in range(min(MAX_COUNTRY_WORDS, len(words) - i), 0, -1):
        name = " ".join(words[i:i + used])
        if used > 1 and any(w.isdigit() for w in words[i:i + used]):
            continue
        found = countries(name)
        if found:
            return found, used
    return (), 1


def year_bounds(year: int) -> tuple[date, date]:
    """The first day of ``year`` and of the year after: a closed range's ends, local days."""
    return date(year, 1, 1), date(year + 1, 1, 1)
