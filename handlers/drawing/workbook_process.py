"""The register's workbook is written in a process of its own, fed rows through a pipe.

openpyxl spends ~15 µs of CPU on each cell, most of an export's time: written in the bot's
process it would hold the interpreter for seconds while other people's taps wait, and it
could not overlap the reading. So the bot reads cases and computes each row's values, and
sends them in batches down a pipe to a child process that only writes: the two run on two
cores at once. The child (handlers.drawing.register_workbook) imports openpyxl and the
standard library only, so it starts quickly and stays small; this side, the standard library.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import pickle
import shutil
import sys
import tempfile
from dataclasses import dataclass
from datetime import date, datetime
from typing import IO

Value = str | int | date | datetime | None
Rows = list[list[Value]]
CHILD = "handlers.drawing.register_workbook"


@dataclass(frozen=True)
class SheetSpec:
    """A sheet's title, its headers (already in the reader's language) and column widths."""

    title: str
    headers: tuple[str, ...]
    widths: tuple[int, ...]


class WorkbookProcess:
    """A child process writing one workbook, fed pickled batches of rows on its stdin.

    Started as ``python -m handlers.drawing.register_workbook PATH``, so it imports openpyxl
    and no more (not the bot's main module, as multiprocessing's spawn would). The rows
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
            sys.executable, "-m", CHILD, path,
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
