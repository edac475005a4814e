"""The register drawn as a workbook (openpyxl, streamed) or as CSV: headers in the reader's
language, real dates, sized columns, the header row frozen and filtered."""

from __future__ import annotations

import csv
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, tzinfo
from typing import IO, Any

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import Cell
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter
from openpyxl.worksheet._write_only import WriteOnlyWorksheet

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

CSV_ENCODING = "utf-8-sig"  # with a byte-order mark: Excel then reads it as UTF-8
DATE_FORMAT = "dd/mm/yyyy"
MOMENT_FORMAT = "dd/mm/yyyy hh:mm"

Value = str | int | date | datetime | None


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


class RegisterWorkbook:
    """A workbook written as rows arrive (openpyxl's write-only mode: memory stays flat)."""

    def __init__(self, t: Translator) -> None:
        self._book = Workbook(write_only=True)
        self._cases = self._sheet(t.gettext("Cases"), CASE_COLUMNS, t)
        self._steps = self._sheet(t.gettext("Steps"), STEP_COLUMNS, t)
        self._rows = {id(self._cases): 1, id(self._steps): 1}
        self._formatted: dict[int, dict[tuple[int, bool], Cell]] = {}

    def _sheet(self, title: str, columns: Sequence[Column], t: Translator
               ) -> WriteOnlyWorksheet:
        sheet: WriteOnlyWorksheet = self._book.create_sheet(title)
        headers = [t.gettext(c.header) for c in columns]
        for n, (column, header) in enumerate(zip(columns, headers, strict=True), start=1):
            dimension = sheet.column_dimensions[get_column_letter(n)]  # type: ignore[attr-defined]
            dimension.width = max(column.width, len(header) + 2)
        sheet.freeze_panes = "A2"
        bold = Font(bold=True)
        cells = []
        for header in headers:
            cell = WriteOnlyCell(sheet, value=header)
            cell.font = bold
            cells.append(cell)
        sheet.append(cells)
        return sheet

    def _append(self, sheet: WriteOnlyWorksheet, values: Sequence[Value]) -> None:
        # One formatted cell per column, reused: a write-only sheet writes each row as it is
        # appended, and making a styled cell per date was a third of the workbook's time.
        formatted = self._formatted.setdefault(id(sheet), {})
        cells: list[Any] = []
        for n, value in enumerate(values):
            if isinstance(value, date):
                moment = isinstance(value, datetime)
                cell = formatted.get((n, moment))
                if cell is None:
                    cell = formatted[n, moment] = WriteOnlyCell(sheet)
                    cell.number_format = MOMENT_FORMAT if moment else DATE_FORMAT
                # a date is a day number in Excel: midnight of it, shown without the time
                cell.value = value if moment else datetime.combine(value, time())
                cells.append(cell)
            else:
                cells.append(value)
        sheet.append(cells)
        self._rows[id(sheet)] += 1

    def add_case(self, values: Sequence[Value]) -> None:
        """A row of the cases sheet."""
        self._append(self._cases, values)

    def add_step(self, values: Sequence[Value]) -> None:
        """A row of the steps sheet."""
        self._append(self._steps, values)

    def save(self, out: IO[bytes]) -> None:
        """Filter every column of both sheets and write the workbook to ``out``."""
        for sheet, columns in ((self._cases, CASE_COLUMNS), (self._steps, STEP_COLUMNS)):
            last = get_column_letter(len(columns))
            sheet.auto_filter.ref = (  # type: ignore[attr-defined]
                f"A1:{last}{self._rows[id(sheet)]}")
        self._book.save(out)


class RegisterCsv:
    """The cases sheet as CSV (UTF-8 with a byte-order mark, so Excel reads it as UTF-8)."""

    def __init__(self, t: Translator, out: IO[str]) -> None:
        self._writer = csv.writer(out)
        self._writer.writerow([t.gettext(c.header) for c in CASE_COLUMNS])

    def add_case(self, values: Sequence[Value]) -> None:
        """A row: dates as ISO 8601 (2026-09-01)."""
        self._writer.writerow(["" if v is None else v.isoformat() if isinstance(v, date) else v
                               for v in values])

