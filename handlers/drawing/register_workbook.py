"""The register's workbook, written by openpyxl in a process of its own.

openpyxl spends ~15 µs of CPU on each cell, most of an export's time: written in the bot's
process it would hold the interpreter for seconds while other people's taps wait, and it
could not overlap the reading. So the bot reads cases and computes each row's values, and
sends them in batches down a pipe to a child process that only writes: the two run on two
cores at once. This module imports only openpyxl and the standard library, so the child starts
quickly and stays small.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import pickle
import resource
import shutil
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time
from typing import IO, Any

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import Cell
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter
from openpyxl.worksheet._write_only import WriteOnlyWorksheet

DATE_FORMAT = "dd/mm/yyyy"
MOMENT_FORMAT = "dd/mm/yyyy hh:mm"

Value = str | int | date | datetime | None
Rows = list[list[Value]]


@dataclass(frozen=True)
class SheetSpec:
    """A sheet's title, its headers (already in the reader's language) and column widths."""

    title: str
    headers: tuple[str, ...]
    widths: tuple[int, ...]


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


class WorkbookProcess:
    """A child process writing one workbook, fed pickled batches of rows on its stdin.

    Started as ``python -m handlers.drawing.register_workbook PATH``, so it imports this module
    and openpyxl only (not the bot's main module, as multiprocessing's spawn would). The rows
    are the parent's own values of plain types; nothing else writes to the pipe.
    """

    def __init__(self, process: asyncio.subprocess.Process, path: str) -> None:
        self._process, self._path = process, path

    @classmethod
    async def start(cls, cases: SheetSpec, steps: SheetSpec) -> WorkbookProcess:
        """Start the child, and tell it the sheets' titles, headers and widths."""
        descriptor, path = tempfile.mkstemp(suffix=".xlsx")
        os.close(descriptor)
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", __spec__.name if __spec__ else __name__, path,
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE)
        writer = cls(process, path)
        await writer._put((cases, steps))
        return writer

    async def _put(self, message: object) -> None:
        stdin = self._process.stdin
        assert stdin is not None
        stdin.write(pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL))
        await stdin.drain()  # waits while the child is behind: memory stays flat

    async def send(self, cases: Rows, steps: Rows) -> None:
        """A batch of rows for the child to write."""
        await self._put((cases, steps))

    async def finish(self, out: IO[bytes]) -> tuple[float, float]:
        """Save the workbook, copy it into ``out``; the child's peak memory (MB) and CPU (s)."""
        try:
            await self._put(None)
            assert self._process.stdin is not None
            self._process.stdin.close()
            report, _ = await self._process.communicate()
            if self._process.returncode != 0:
                raise RuntimeError(
                    f"the workbook's writer failed (exit status {self._process.returncode})")
            with open(self._path, "rb") as saved:
                shutil.copyfileobj(saved, out)
            peak, cpu = json.loads(report)
            return float(peak), float(cpu)
        finally:
            await self.close()

    async def close(self) -> None:
        """Stop the child (if it still runs) and remove its file."""
        if self._process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                self._process.kill()
            await self._process.wait()
        if os.path.exists(self._path):
            os.unlink(self._path)


def main(path: str) -> None:
    """The child: sheet specs, then batches of rows until None, from stdin; save to ``path``."""
    source = sys.stdin.buffer
    book = RegisterWorkbook(*pickle.load(source))
    while (batch := pickle.load(source)) is not None:
        book.add(*batch)
    with open(path, "wb") as out:
        book.save(out)
    usage = resource.getrusage(resource.RUSAGE_SELF)
    print(json.dumps([usage.ru_maxrss / 1024, usage.ru_utime + usage.ru_stime]))


if __name__ == "__main__":
    main(sys.argv[1])
