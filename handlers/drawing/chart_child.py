"""Charts drawn by a short-lived child process: matplotlib costs the process that imports it
some 60 MB for good, and the bot draws the weekly digest's chart once a week. The child is
handlers.drawing.digest_chart's main (stdin: the figures as JSON, stdout: the PNG)."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import sys
from collections.abc import Sequence

from bot.domain.workload import StepLoad

DIGEST_CHILD = "handlers.drawing.digest_chart"


async def draw_digest_chart(loads: Sequence[StepLoad], sop_file: str | None, lang: str,
                            year: int) -> bytes:
    """The digest chart's PNG, drawn by a child process (the bot never imports matplotlib)."""
    request = json.dumps({"loads": [dataclasses.asdict(s) for s in loads], "sop": sop_file,
                          "lang": lang, "year": year}).encode()
    child = await asyncio.create_subprocess_exec(
        sys.executable, "-m", DIGEST_CHILD, stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    png, problem = await child.communicate(request)
    if child.returncode != 0 or not png.startswith(b"\x89PNG"):
        raise RuntimeError(f"the digest chart could not be drawn: {problem.decode()[-500:]}")
    return png
