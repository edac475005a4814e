"""`ikabot export FILE`: the register written from the command line, for an operator."""

from __future__ import annotations

import csv
import sqlite3
from datetime import date
from pathlib import Path

from openpyxl import load_workbook

from bot.domain.rules import Outcome, register_case
from storage.cases import create_case
from storage.db import make_engine, session_factory
from storage.migrate import upgrade
from storage.org import import_org
from tests.builders import AB, at, new_case, procedure
from tests.test_cli import ikabot  # the same subprocess runner, clean environment

ROOT = Path(__file__).resolve().parents[1]


async def _database(tmp_path: Path, cases: int) -> str:
    url = f"sqlite+aiosqlite:///{tmp_path / 'ikabot.db'}"
    engine = make_engine(url)
    await upgrade(engine)
    sessions = session_factory(engine)
    await import_org(ROOT / "org.example.toml", session_factory=sessions)
    for _ in range(cases):
        await create_case(sessions=sessions, year=2026, build=lambda ref: Outcome(
            register_case(new_case(date(2026, 9, 1), ref), actor=AB, now=at(date(2026, 9, 1)),
                          procedure=procedure()).case, []))
    await engine.dispose()
    return url


async def test_export_writes_the_workbook_or_csv_named(tmp_path: Path) -> None:
    url = await _database(tmp_path, 2)
    result = ikabot(tmp_path, "export", "register.xlsx", DATABASE_URL=url)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "Wrote 2 cases to register.xlsx"
    book = load_workbook(tmp_path / "register.xlsx")
    assert book["Kes"]["A2"].value == "IKA-2026-001" and book["Kes"].max_row == 3
    result = ikabot(tmp_path, "export", "register.csv", "--lang", "en", DATABASE_URL=url)
    assert result.returncode == 0, result.stderr
    with (tmp_path / "register.csv").open(encoding="utf-8-sig", newline="") as f:
        rows = list(csv.reader(f))
    assert rows[0][0] == "Reference" and [r[0] for r in rows[1:]] == ["IKA-2026-001",
                                                                      "IKA-2026-002"]
    assert not list(tmp_path.glob("*.part"))


async def test_no_cases_is_a_clear_line_and_no_file(tmp_path: Path) -> None:
    url = await _database(tmp_path, 0)
    result = ikabot(tmp_path, "export", "register.xlsx", DATABASE_URL=url)
    assert result.returncode == 1
    assert result.stderr.strip() == ("ikabot: there are no cases to export; register.xlsx was "
                                     "not written")
    assert not (tmp_path / "register.xlsx").exists() and not list(tmp_path.glob("*.part"))
    bad = ikabot(tmp_path, "export", "register.pdf", DATABASE_URL=url)
    assert bad.returncode == 2 and "Traceback" not in bad.stderr
    assert bad.stderr.strip() == "ikabot: register.pdf: the register is written as .xlsx or .csv"
    with sqlite3.connect(tmp_path / "ikabot.db") as connection:
        assert connection.execute("SELECT count(*) FROM cases").fetchone() == (0,)


async def test_export_takes_the_filters_status_takes(tmp_path: Path) -> None:
    url = await _database(tmp_path, 2)  # both led by BKKA, open
    result = ikabot(tmp_path, "export", "bpi.csv", "BPI", DATABASE_URL=url)
    assert result.returncode == 1 and not (tmp_path / "bpi.csv").exists()
    result = ikabot(tmp_path, "export", "bkka.csv", "BKKA", DATABASE_URL=url)
    assert result.stdout.strip() == "Wrote 2 cases to bkka.csv", result.stderr
    bad = ikabot(tmp_path, "export", "x.csv", "zzzz", DATABASE_URL=url)
    assert bad.returncode == 2 and "zzzz" in bad.stderr and "Traceback" not in bad.stderr
    # read as /status reads it: "all" is no country (it once was the Marshall Islands)
    bad = ikabot(tmp_path, "export", "x.csv", "BKKA", "all", DATABASE_URL=url)
    assert bad.returncode == 2 and "all" in bad.stderr and not (tmp_path / "x.csv").exists()
