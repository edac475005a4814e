"""Dates as officers type them: 31/8/2026, 31-08-2026, 31.8.2026 or 2026-08-31."""

from __future__ import annotations

import re
from datetime import date

_DAY_FIRST = re.compile(r"(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})")
_ISO = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})")


def parse_date(text: str) -> date | None:
    """The date in ``text`` (day first, as written in Malaysia, or ISO), or None."""
    text = text.strip()
    if (found := _ISO.fullmatch(text)) is not None:
        year, month, day = (int(g) for g in found.groups())
    elif (found := _DAY_FIRST.fullmatch(text)) is not None:
        day, month, year = (int(g) for g in found.groups())
    else:
        return None
    try:
        return date(year, month, day)
    except ValueError:
        return None
