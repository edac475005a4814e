"""`ikabot holidays`: the gazette from the command line, in its own process."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from tests.test_cli import ikabot


def test_holidays_add_list_and_remove(tmp_path: Path) -> None:
    assert ikabot(tmp_path, "db", "upgrade").returncode == 0
    added = ikabot(tmp_path, "holidays", "add", "2026-12-28", "Cuti Peristiwa")
    assert added.returncode == 0, added.stderr
    assert "Gazetted 2026-12-28 'Cuti Peristiwa'" in added.stdout
    assert "0 due dates moved" in added.stdout  # no case is open
    with sqlite3.connect(tmp_path / "ikabot.db") as connection:
        rows = connection.execute("SELECT day, name, holiday FROM gazetted_days").fetchall()
        logged = connection.execute("SELECT kind FROM events WHERE case_id IS NULL").fetchall()
    assert rows == [("2026-12-28", "Cuti Peristiwa", 1)] and logged == [("holiday_added",)]
    listing = ikabot(tmp_path, "holidays", "list")
    assert listing.returncode == 0
    removed = ikabot(tmp_path, "holidays", "remove", "2026-12-28")
    assert removed.returncode == 0 and "working day now" in removed.stdout
    nothing = ikabot(tmp_path, "holidays", "remove", "2026-12-29")
    assert "not a holiday" in nothing.stdout
    bad = ikabot(tmp_path, "holidays", "add", "28th December", "x")
    assert bad.returncode == 2 and "not a date" in bad.stderr
