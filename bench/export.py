"""How long /export takes over a large database, and how much memory it needs.

    python bench/export.py --cases 10000 --db sqlite
    python bench/export.py --cases 10000 --db postgresql

A fresh database (a temporary SQLite file, or a database created on the PostgreSQL server at
--pg-url and dropped afterwards) is seeded in a child process, by bulk SQL, with N cases as the
rules would have stored them: open ones at every step, completed ones, refused ones, each with a
step record per step reached and the decisions made. Then this process times ikabot's own
``handlers.reports.write_register`` (what /export and ``ikabot export`` run) writing the
workbook and the CSV to a file, and reports its peak RSS. See bench/README.md.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import psycopg
from sqlalchemy import insert
from sqlalchemy.engine import URL, make_url

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bot.domain.calendar import OfficeCalendar  # noqa: E402
from bot.domain.deadlines import Procedure  # noqa: E402
from bot.domain.sop import load_sop  # noqa: E402

KL = ZoneInfo("Asia/Kuala_Lumpur")
NOW = datetime(2026, 10, 7, 10, 0, tzinfo=KL)
DEFAULT_PG = os.environ.get("IKABOT_BENCH_PG_URL",
                            "postgresql+psycopg://postgres@127.0.0.1:5432/test")
LEADS = ("BKKA", "BPI", "BDP")
CHUNK = 2_000  # cases written per transaction while seeding
GOALS = {"seconds": 10.0, "rss": 300.0}


# --- seeding (in a child process: its memory is not the exporter's) ---------------------------


def _moment(day: date, hour: int) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=KL).astimezone(UTC)


def _case_rows(n: int, procedure: Procedure, rng: random.Random
               ) -> tuple[dict[str, Any], list[dict[str, Any]], list[dict[str, Any]]]:
    """One case's row, its step records and its decisions, walked step by step."""
    sop, calendar = procedure.sop, procedure.calendar
    received = date(2025, 1, 1) + timedelta(days=rng.randrange(600))
    fate = rng.random()
    keys = sop.keys
    decision = keys.index("minit_cerai")
    reach = len(keys) if fate < 0.3 else decision if fate < 0.35 else rng.randrange(len(keys))
    steps, approvals = [], []
    start = received
    for i, key in enumerate(keys[:reach + 1] if reach < len(keys) else keys):
        due = procedure.due_date(start, sop.get(key).due)
        allowed = calendar.working_days_between(start, due)
        done_day = calendar.add_working_days(start, rng.randrange(2 * allowed + 2))
        current = i == reach and fate >= 0.3
        data: dict[str, Any] = {}
        if key == "minit_cerai" and not current:
            data["decision"] = "ya"
        if key == "minit_cerai" and 0.3 <= fate < 0.35:  # refused, closed as not approved
            data["decision"], current = "tidak", False
        if key == "minit_cerai" and data:
            approvals.append({"case_id": n, "round": 1, "approved": data["decision"] == "ya",
                              "decided_by": 3001, "decided_at": _moment(done_day, 11),
                              "reason": None})
        steps.append({"case_id": n, "step": key, "round": 1, "started_at": _moment(start, 10),
                      "due_at": _moment(due, 17),
                      "done_at": None if current else _moment(done_day, 15),
                      "done_by": None if current else 2001, "data": data})
        start = done_day
    status = "completed" if fate < 0.3 else "not_approved" if fate < 0.35 else "open"
    case = {"id": n, "ref": f"IKA-{received.year}-{n:06d}", "title": f"MoU kerjasama {n}",
            "instrument": "mou", "level": "bilateral", "countries": ["JP", "ID"][: 1 + n % 2],
            "source": "kln", "lead_division": LEADS[n % len(LEADS)], "received_on": received,
            "status": status, "current_step": steps[-1]["step"] if status == "open" else None,
            "phase": "work", "round": 1, "version": 1, "created_at": _moment(received, 9),
            "updated_at": _moment(start, 9)}
    return case, steps, approvals


async def _seed(url: str, cases: int) -> None:
    from storage.db import make_engine, session_factory
    from storage.migrate import upgrade
    from storage.models import Approval, CaseCountry, CaseRow, StepRecord
    from storage.org import import_org

    engine = make_engine(url)
    await upgrade(engine)
    await import_org(ROOT / "org.example.toml", session_factory=session_factory(engine))
    procedure = Procedure(load_sop(), OfficeCalendar())
    rng = random.Random(9)
    for first in range(1, cases + 1, CHUNK):
        rows, steps, approvals = [], [], []
        for n in range(first, min(first + CHUNK, cases + 1)):
            case, case_steps, case_approvals = _case_rows(n, procedure, rng)
            rows.append(case)
            steps += case_steps
            approvals += case_approvals
        async with engine.begin() as connection:
            await connection.execute(insert(CaseRow.__table__), rows)  # type: ignore[arg-type]
            await connection.execute(insert(CaseCountry.__table__), [  # type: ignore[arg-type]
                {"case_id": row["id"], "country": code}
                for row in rows for code in row["countries"]])
            await connection.execute(insert(StepRecord.__table__), steps)  # type: ignore
            if approvals:
                await connection.execute(insert(Approval.__table__), approvals)  # type: ignore
    if engine.dialect.name == "postgresql":
        async with engine.connect() as connection:
            await connection.execution_options(isolation_level="AUTOCOMMIT")
            await connection.exec_driver_sql("VACUUM ANALYZE")
    await engine.dispose()


# --- the export -------------------------------------------------------------------------------


async def _export(url: str, fmt: str, repeat: int) -> list[tuple[float, float, float, float]]:
    from bot.i18n import load_translators
    from handlers.reports import write_register
    from storage.db import make_engine, read_session_factory

    engine = make_engine(url)
    procedure = Procedure(load_sop(), OfficeCalendar())
    t = load_translators("ms").get("ms")
    times = []
    try:
        for _ in range(repeat):
            with tempfile.TemporaryFile() as out:
                began, cpu = time.perf_counter(), time.process_time()
                written = await write_register(out, sessions=read_session_factory(engine),
                                               procedure=procedure, t=t, now=NOW, fmt=fmt)
                times.append((time.perf_counter() - began, time.process_time() - cpu,
                              written.writer_cpu_s or 0.0, written.writer_peak_mb or 0.0))
                size = out.tell()
            print(f"  {fmt}: {written.cases} cases, {size / 1e6:.1f} MB, {times[-1][0]:.2f} s "
                  f"({times[-1][1]:.2f} s CPU, writer {times[-1][2]:.2f} s CPU)", file=sys.stderr)
    finally:
        await engine.dispose()
    return times


def _database(args: argparse.Namespace) -> tuple[str, URL | None, Path | None]:
    if args.db == "sqlite":
        path = Path(tempfile.mkdtemp()) / "bench.db"
        return f"sqlite+aiosqlite:///{path}", None, path
    server = make_url(args.pg_url)
    name = f"ikabot_bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(server.set(drivername="postgresql").render_as_string(
            hide_password=False), autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    return server.set(database=name).render_as_string(hide_password=False), server, None


def _drop(server: URL | None, url: str, path: Path | None) -> None:
    if path is not None:
        for leftover in path.parent.iterdir():
            leftover.unlink()
        path.parent.rmdir()
        return
    assert server is not None
    with psycopg.connect(server.set(drivername="postgresql").render_as_string(
            hide_password=False), autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{make_url(url).database}" WITH (FORCE)')


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", type=int, default=10_000)
    parser.add_argument("--db", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--pg-url", default=DEFAULT_PG)
    parser.add_argument("--repeat", type=int, default=3, help="timed exports of each format")
    parser.add_argument("--seed", metavar="URL", help=argparse.SUPPRESS)  # the child's part
    args = parser.parse_args()
    if args.seed:
        asyncio.run(_seed(args.seed, args.cases))
        return 0
    url, server, path = _database(args)
    try:
        began = time.perf_counter()
        subprocess.run([sys.executable, __file__, "--seed", url, "--cases", str(args.cases)],
                       check=True)
        print(f"  seeded in {time.perf_counter() - began:.1f} s", file=sys.stderr)
        results = {fmt: asyncio.run(_export(url, fmt, args.repeat)) for fmt in ("xlsx", "csv")}
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    finally:
        _drop(server, url, path)
    print(f"{args.db}: {args.cases} cases; Python {platform.python_version()}, "
          f"{os.cpu_count()} cores\n")
    print("| export | wall s, median / max | CPU s: bot process | CPU s: workbook writer | goal |"
          "\n|---|---|---|---|---|")
    for fmt, times in results.items():
        walls = [w for w, *_ in times]
        main_cpu = statistics.median(c for _, c, _, _ in times)
        writer = statistics.median(w for _, _, w, _ in times)
        print(f"| {fmt} (n={len(times)}) | {statistics.median(walls):.2f} / {max(walls):.2f} "
              f"| {main_cpu:.2f} | {f'{writer:.2f}' if writer else '-'} "
              f"| ≤ {GOALS['seconds']:g} s |")
    writer_rss = max(r for _, _, _, r in results["xlsx"])
    print(f"| peak RSS: bot process / workbook writer | {rss:.0f} MB / {writer_rss:.0f} MB | | "
          f"| ≤ {GOALS['rss']:g} MB |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
