"""The register's workbook, written by openpyxl in the child process workbook_process starts.

``python -m handlers.drawing.register_workbook PATH`` reads the sheets' specs and then batches
of rows, pickled, on stdin, and saves the workbook to PATH (see workbook_process for why).
This module imports only openpyxl and the standard library, so the child stays small.
"""

from __future__ import annotations

import contextlib
import json
import pickle
import resource
import sys
from collections.abc import Sequence
from datetime import date, datetime, time
from typing import IO, Any

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import Cell
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter
from openpyxl.worksheet._write_only import WriteOnlyWorksheet

from handlers.drawing.workbook_process import Rows, SheetSpec, Value

DATE_FORMAT = "dd/mm/yyyy"
MOMENT_FORMAT = "dd/mm/yyyy hh:mm"
AS_FORMULA = ("=", "#")  # what openpyxl would take for a formula or an error code


class RegisterWorkbook:
    """A workbook written as rows arrive (openpyxl's write-only mode: memory stays flat)."""

    def __init__(self, cases: SheetSpec, steps: SheetSpec) -> None:
        self._book = Workbook(write_only=True)
        self._specs = (cases, steps)
        self._cases, self._steps = self._sheet(cases), self._sheet(steps)
        self._rows = {id(self._cases): 1, id(self._steps): 1}
        self._formatted: dict[int, dict[tuple[int, bool], Cell]] = {}

    def _sheet(self, spec: SheetSpec) -> WriteOnlyWorksheet:
        sheet: WriteOnlyWorksheet = self._book.create_sheet(spec.title)
        for n, (width, header) in enumerate(zip(spec.widths, spec.headers, strict=True), 1):
            dimension = sheet.column_dimensions[get_column_letter(n)]  # type: ignore[attr-defined]
            dimension.width = max(width, len(header) + 2)
        sheet.freeze_panes = "A2"
        bold = Font(bold=True)
        cells = []
        for header in spec.headers:
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
            elif isinstance(value, str) and value.startswith(AS_FORMULA):
                # typed text stays text: a title "=HYPERLINK(…)" is no formula, "#N/A" no error
                text = WriteOnlyCell(sheet, value=value)
                text.data_type = "s"
                cells.append(text)
            else:
                cells.append(value)
        sheet.append(cells)
        self._rows[id(sheet)] += 1

    def add(self, cases: Rows, steps: Rows) -> None:
        """Rows of the cases sheet and of the steps sheet."""
        for values in cases:
            self._append(self._cases, values)
        for values in steps:
            self._append(self._steps, values)

    def save(self, out: IO[bytes]) -> None:
        """Filter every column of both sheets and write the workbook to ``out``."""
        for sheet, spec in zip((self._cases, self._steps), self._specs, strict=True):
            last = get_column_letter(len(spec.headers))
            sheet.auto_filter.ref = (  # type: ignore[attr-defined]
                f"A1:{last}{self._rows[id(sheet)]}")
        self._book.save(out)


def main(path: str) -> None:
    """The child: sheet specs, then batches of rows until None, from stdin; save to ``path``."""
    source = sys.stdin.buffer
    book = RegisterWorkbook(*pickle.load(source))
    while (batch := pickle.load(source)) is not None:
        book.add(*batch)
    with open(path, "wb") as out:
        book.save(out)
    usage = resource.getrusage(resource.RUSAGE_SELF)
    print(json.dumps([_peak_mb(usage.ru_maxrss / 1024), usage.ru_utime + usage.ru_stime]))


def _peak_mb(fallback: float) -> float:
    """This process's own peak RSS: Linux's ru_maxrss of an exec'd child also counts the
    parent it was forked from, /proc's VmHWM does not."""
    with contextlib.suppress(OSError), open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return fallback


if __name__ == "__main__":
    main(sys.argv[1])
