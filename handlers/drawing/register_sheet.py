"""The register's rows as cells: headers in the reader's language, labels, names, local times;
and the cases as CSV. The workbook itself is written by handlers.drawing.register_workbook."""

from __future__ import annotations

import csv
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, tzinfo
from typing import IO

from bot.domain.register import CaseLine, StepLine
from bot.domain.sop import Sop
from bot.i18n import N_, Translator
from bot.messages import (
    instrument_label,
    level_label,
    phase_label,
    source_label,
    status_label,
    step_heading,
)
from handlers.drawing.workbook_process import SheetSpec, Value

CSV_ENCODING = "utf-8-sig"  # with a byte-order mark: Excel then reads it as UTF-8
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True)
class Column:
    """A column: its header (to translate) and how wide its values usually are."""

    header: str
    width: int


CASE_COLUMNS = (
    Column(N_("Reference"), 14), Column(N_("Title"), 40), Column(N_("Instrument"), 24),
    Column(N_("Level"), 14), Column(N_("Countries"), 20), Column(N_("Source"), 28),
    Column(N_("Lead division"), 30), Column(N_("Received"), 12),
    Column(N_("Current step"), 40), Column(N_("Due"), 12),
    Column(N_("Working days late"), 10), Column(N_("Decision"), 10),
    Column(N_("Decided by"), 20), Column(N_("Projected finish"), 12),
    Column(N_("Forecast (likely)"), 12), Column(N_("Forecast (late)"), 12),
    Column(N_("Target date"), 12), Column(N_("Status"), 24),
    Column(N_("Signed"), 12), Column(N_("In force"), 12), Column(N_("Expires or review"), 12),
)
STEP_COLUMNS = (
    Column(N_("Reference"), 14), Column(N_("Step"), 44), Column(N_("Round"), 8),
    Column(N_("Started"), 16), Column(N_("Due"), 12), Column(N_("Done"), 16),
    Column(N_("Done by"), 20), Column(N_("Working days late"), 10), Column(N_("Decision"), 10),
)


@dataclass(frozen=True)
class Names:
    """Who and what the register names: divisions by code, people by Telegram id."""

    division: Callable[[str], str]
    person: Callable[[int], str]


def _decision(value: bool | str | None) -> str | None:
    # The SOP's own words in every language, as on the approvers' buttons.
    if value is None:
        return None
    return "Ya" if value in (True, "ya") else "Tidak"


def case_values(line: CaseLine, t: Translator, sop: Sop, names: Names) -> list[Value]:
    """One case's cells, in CASE_COLUMNS order."""
    status = status_label(line.status, t)
    if line.current_step is not None and line.phase.value != "work":
        status += " · " + phase_label(line.phase, t)
    return [
        line.ref, line.title, instrument_label(line.instrument, t), level_label(line.level, t),
        t.format_list(t.country_name(c) for c in line.countries),
        source_label(line.source, t), names.division(line.lead_division), line.received,
        step_heading(sop, line.current_step, t) if line.current_step else None, line.due,
        line.days_late, _decision(line.decision),
        names.person(line.decided_by) if line.decided_by is not None else None,
        line.projected, line.likely, line.late, line.target, status,
        line.signed, line.in_force, line.expires,
    ]


def step_values(line: StepLine, t: Translator, sop: Sop, names: Names, tz: tzinfo
                ) -> list[Value]:
    """One step run's cells, in STEP_COLUMNS order; moments in the office's time zone."""
    return [
        line.ref, step_heading(sop, line.step, t), line.round, _local(line.started, tz),
        line.due, _local(line.done, tz) if line.done else None,
        names.person(line.done_by) if line.done_by is not None else None, line.late_by,
        _decision(line.outcome),
    ]


def _local(moment: datetime, tz: tzinfo) -> datetime:
    """Excel has no time zones: the office's wall-clock time."""
    return moment.astimezone(tz).replace(tzinfo=None)


def sheet_specs(t: Translator) -> tuple[SheetSpec, SheetSpec]:
    """The two sheets' titles, headers and widths, in ``t``'s language."""
    def spec(title: str, columns: Sequence[Column]) -> SheetSpec:
        return SheetSpec(title, tuple(t.gettext(c.header) for c in columns),
                         tuple(c.width for c in columns))

    return spec(t.gettext("Cases"), CASE_COLUMNS), spec(t.gettext("Steps"), STEP_COLUMNS)


class RegisterCsv:
    """The cases sheet as CSV (UTF-8 with a byte-order mark, so Excel reads it as UTF-8)."""

    def __init__(self, t: Translator, out: IO[str]) -> None:
        self._writer = csv.writer(out)
        self._writer.writerow([t.gettext(c.header) for c in CASE_COLUMNS])

    def add_case(self, values: Sequence[Value]) -> None:
        """A row: dates as ISO 8601 (2026-09-01), typed text never read as a formula."""
        self._writer.writerow(["" if v is None else v.isoformat() if isinstance(v, date)
                               else _as_text(v) if isinstance(v, str) else v for v in values])


def _as_text(value: str) -> str:
    """Text a spreadsheet would run as a formula ("=…", "+…", "-…", "@…") kept as text, with
    the quote Excel itself uses for that (OWASP's advice against CSV injection)."""
    return "'" + value if value.startswith(FORMULA_STARTS) else value

