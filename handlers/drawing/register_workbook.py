"""The register's workbook, written by openpyxl in a process of its own.

openpyxl spends ~15 µs of CPU on each cell, most of an export's time: written in the bot's
process it would hold the interpreter for seconds while other people's taps wait, and it
could not overlap the reading. So the bot reads cases and computes each row's values, and
sends them in batches down a pipe to a child process that only writes: the two run on two
cores at once. This module imports only openpyxl and the standard library, so the child starts
quickly.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import resource
import shutil
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time
from multiprocessing.connection import Connection
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


def _write(connection: Connection, cases: SheetSpec, steps: SheetSpec, path: str) -> None:
    """The child: rows from the pipe into the workbook until None, then save and report."""
    try:
        book = RegisterWorkbook(cases, steps)
        while (batch := connection.recv()) is not None:
            book.add(*batch)
        with open(path, "wb") as out:
            book.save(out)
        usage = resource.getrusage(resource.RUSAGE_SELF)
        connection.send(("saved", (usage.ru_maxrss / 1024, usage.ru_utime + usage.ru_stime)))
    except EOFError:
        return  # the parent gave up on this export
    except BaseException as exc:  # the parent raises it: the child only reports
        with contextlib.suppress(OSError):
            connection.send(("failed", f"{type(exc).__name__}: {exc}"))
    finally:
        connection.close()


class WorkbookProcess:
    """A child process writing one workbook; its methods block (call them in a thread)."""

    def __init__(self, cases: SheetSpec, steps: SheetSpec) -> None:
        descriptor, self._path = tempfile.mkstemp(suffix=".xlsx")
        os.close(descriptor)
        # spawn, not fork: the bot's process has threads and an event loop a fork would copy
        context = multiprocessing.get_context("spawn")
        self._connection, child = context.Pipe()
        self._process = context.Process(target=_write, args=(child, cases, steps, self._path),
                                        name="ikabot-workbook", daemon=True)
        self._process.start()
        child.close()

    def send(self, cases: Rows, steps: Rows) -> None:
        """A batch of rows for the child to write."""
        self._connection.send((cases, steps))

    def finish(self, out: IO[bytes]) -> tuple[float, float]:
        """Save the workbook, copy it into ``out``; the child's peak memory (MB) and CPU (s)."""
        try:
            self._connection.send(None)
            outcome, detail = self._connection.recv()
            if outcome != "saved":
                raise RuntimeError(f"the workbook could not be written: {detail}")
            with open(self._path, "rb") as saved:
                shutil.copyfileobj(saved, out)
            peak, cpu = detail
            return float(peak), float(cpu)
        except EOFError as exc:
            raise RuntimeError("the workbook's writer stopped without saving it") from exc
        finally:
            self.close()

    def close(self) -> None:
        """Stop the child (if it still runs) and remove its file."""
        self._connection.close()
        self._process.join(timeout=5)
        if self._process.is_alive():
            self._process.kill()
            self._process.join()
        if os.path.exists(self._path):
            os.unlink(self._path)
