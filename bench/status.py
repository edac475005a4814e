"""How long /status, a filtered /status, /status REF and /done take over a large database.

    python bench/status.py --cases 10000 --db sqlite
    python bench/status.py --cases 100000 --db postgresql

A fresh database (a temporary SQLite file, or a database created on the PostgreSQL server at
--pg-url and dropped afterwards) is seeded by bulk SQL in a child process with N open cases as
the rules store them (a step record per step reached, the inputs asked at step 2, the decision
at step 3, the current step's due moment on the case; one in five overdue) and N/10 closed ones.
Then this process builds ikabot's own application and times ``process_update`` for each kind
of update, Telegram being replaced at the HTTP boundary by a stand-in that answers at once, and
reports the peak RSS. See bench/README.md.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import platform
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from itertools import count
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import insert, text
from sqlalchemy.engine import URL, make_url

sys.path.insert(0, str(Path(__file__).resolve().parent))
from harness import InstantTelegram, command, create_pg, drop_pg, percentile  # noqa: E402

KL = ZoneInfo("Asia/Kuala_Lumpur")
NOW = datetime(2026, 10, 7, 10, 0, tzinfo=KL)  # a Wednesday morning, in office hours
TOKEN = "123456:BENCH-no-telegram-here"
DEFAULT_PG = os.environ.get("IKABOT_BENCH_PG_URL",
                            "postgresql+psycopg://postgres@127.0.0.1:5432/test")
DIVISIONS = 20
AB_USER, OFFICER = 1001, 2001  # officer of D01
COUNTRIES = ("ID", "JP", "TH", "SG", "KR", "AU", "CN", "IN", "VN", "PH", "BN", "SA")
INSTRUMENTS = ("mou", "treaty", "agreement", "declaration", "protocol", "arrangement")
LEVELS = ("bilateral", "multilateral", "regional")
CHUNK = 5_000
GOALS = {10_000: 50.0, 100_000: 100.0}  # p95 ms, every kind of update
REF_GOALS = {10_000: 50.0, 100_000: 100.0}
RSS_GOAL = 200.0  # MB at 100,000


def _settings(url: str) -> Any:
    from bot.settings import Settings

    # Telegram's pace (30 messages a second, one a second a chat) is out of the way: this
    # measures what an answer costs, and the limiter would space the answers a second apart.
    return Settings(_env_file=None, telegram_bot_token=TOKEN, database_url=url,
                    rate_limit_per_second=100_000, rate_limit_group_per_minute=1_000_000,
                    rate_limit_chat_per_second=100_000)


def ref_of(i: int) -> str:
    """Case ``i``'s reference: ten thousand a year."""
    return f"IKA-{2016 + i // 10_000}-{i % 10_000 + 1:04d}"


# --- seeding (in a child process: its memory is not the measured process's) ---------------


@dataclass
class _Ids:
    steps: count[int]
    inputs: count[int]
    approvals: count[int]


def _rows(i: int, closed: bool, keys: Sequence[str], ids: _Ids
          ) -> tuple[dict[str, Any], list[dict[str, Any]], list[dict[str, Any]],
                     list[dict[str, Any]]]:
    """Case ``i`` (open at a step 1…9, or completed), its step records, inputs, approvals."""
    at = len(keys) - 1 if closed else i % len(keys)
    started = NOW - timedelta(hours=1 + i % 40)
    overdue = not closed and i % 5 == 0
    runs = []
    for k in range(at + 1):
        begun = started - timedelta(days=10 * (at - k))
        due = begun + timedelta(days=3 if k != 1 else 14)
        done = begun + timedelta(days=4) if k < at or closed else None
        if k == at and not closed:
            due = NOW - timedelta(days=1 + i % 9) if overdue else NOW + timedelta(days=1 + i % 20)
        runs.append({"id": next(ids.steps), "case_id": i + 1, "step": keys[k], "round": 1,
                     "started_at": begun.astimezone(UTC), "due_at": due.astimezone(UTC),
                     "done_at": done.astimezone(UTC) if done else None,
                     "done_by": OFFICER if done else None,
                     "data": {"note": "seeded"} if done else {}})
    deciding = keys[at] == "minit_cerai" and i % 2 == 0 and not closed
    inputs = [{"id": next(ids.inputs), "case_id": i + 1, "round": 1, "code": code,
               "asked_at": runs[1]["started_at"],
               "received_at": runs[1]["started_at"] + timedelta(days=2) if at > 1 else None,
               "received_by": OFFICER if at > 1 else None}
              for code in ("PDRM", "AGC")] if at >= 1 else []
    approvals = [{"id": next(ids.approvals), "case_id": i + 1, "round": 1, "approved": True,
                  "decided_by": 3001, "decided_at": runs[2]["done_at"], "reason": None}
                 ] if at > 2 else []
    case = {
        "id": i + 1, "ref": ref_of(i), "title": f"Memorandum persefahaman kerjasama {i}",
        "instrument": INSTRUMENTS[i % len(INSTRUMENTS)], "level": LEVELS[i % len(LEVELS)],
        "countries": [COUNTRIES[i % len(COUNTRIES)]], "source": "kln",
        "lead_division": f"D{1 + i % DIVISIONS:02d}",
        "received_on": (started - timedelta(days=10 * at + 5)).date(),
        "status": "completed" if closed else "open", "current_step": keys[at],
        "phase": "awaiting_decision" if deciding else "work", "round": 1,
        "due_at": None if closed else runs[-1]["due_at"], "version": 1 + 2 * at,
        "created_at": runs[0]["started_at"],
        "updated_at": (runs[-1]["done_at"] if closed else started.astimezone(UTC))}
    return case, runs, inputs, approvals


async def seed(url: str, cases: int) -> dict[str, int]:
    """Migrate the database at ``url`` and fill it: ``cases`` open cases, a tenth as many closed."""
    from sqlmodel import SQLModel

    from bot.domain.sop import load_sop
    from storage.db import make_engine
    from storage.migrate import upgrade

    keys = load_sop().keys
    table = SQLModel.metadata.tables
    engine = make_engine(url)
    closed = cases // 10
    totals = {"open": cases, "closed": closed, "step_records": 0}
    try:
        await upgrade(engine)
        async with engine.begin() as connection:
            await connection.execute(insert(table["divisions"]), [
                {"code": "AB", "kind": "ab", "name_ms": "Bahagian Antarabangsa",
                 "name_en": "International Division", "chat_id": -1001000000000,
                 "language": "ms"},
                {"code": "PT", "kind": "management", "name_ms": "Pengurusan Tinggi",
                 "name_en": "Top Management", "chat_id": None, "language": "ms"},
                *({"code": f"D{n:02d}", "kind": "division", "name_ms": f"Bahagian {n}",
                   "name_en": f"Division {n}", "chat_id": -1001000000000 - n,
                   "language": "ms"} for n in range(1, DIVISIONS + 1))])
            await connection.execute(insert(table["users"]), [
                {"telegram_id": AB_USER, "name": "Aminah", "role": "ab", "division_code": "AB",
                 "language": "ms", "active": True},
                {"telegram_id": OFFICER, "name": "Faizal", "role": "officer",
                 "division_code": "D01", "language": "ms", "active": True},
                {"telegram_id": 3001, "name": "KSU", "role": "management",
                 "division_code": "PT", "language": "ms", "active": True}])
        ids = _Ids(count(1), count(1), count(1))
        total = cases + closed
        for start in range(0, total, CHUNK):
            rows: tuple[list[Any], list[Any], list[Any], list[Any]] = ([], [], [], [])
            for i in range(start, min(start + CHUNK, total)):
                for bucket, made in zip(rows, _rows(i, i >= cases, keys, ids), strict=True):
                    if isinstance(made, dict):
                        bucket.append(made)
                    else:
                        bucket.extend(made)
            async with engine.begin() as connection:
                for name, bucket in zip(("cases", "step_records", "input_requests",
                                         "approvals"), rows, strict=True):
                    if bucket:
                        await connection.execute(insert(table[name]), bucket)
                await connection.execute(insert(table["case_countries"]), [
                    {"case_id": case["id"], "country": code}
                    for case in rows[0] for code in case["countries"]])
            totals["step_records"] += len(rows[1])
        if engine.dialect.name == "postgresql":
            async with engine.begin() as connection:
                for name in ("cases", "step_records", "input_requests", "approvals"):
                    await connection.execute(text(
                        f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), "
                        f"(SELECT max(id) FROM {name}))"))
            async with engine.connect() as connection:
                await connection.execution_options(isolation_level="AUTOCOMMIT")
                await connection.execute(text("VACUUM ANALYZE"))
        else:
            async with engine.begin() as connection:
                await connection.execute(text("ANALYZE"))
    finally:
        await engine.dispose()
    return totals


# --- measuring -----------------------------------------------------------------------------


KINDS = ("/status", "/status Jepun", "/status D06 lewat", "/status REF", "/done")


async def measure(url: str, cases: int, repeat: int) -> dict[str, list[float]]:
    """Time ikabot's application handling each kind of update ``repeat`` times."""
    from telegram import Update

    from bot.app import build_application

    application = build_application(_settings(url), clock=lambda: NOW)
    application.bot._request = (InstantTelegram(), InstantTelegram())  # noqa: SLF001
    rng = random.Random(7)
    times: dict[str, list[float]] = {kind: [] for kind in KINDS}
    await application.initialize()
    gc.collect()
    gc.freeze()  # as `ikabot run` does once the application is built
    try:
        for n in range(repeat + 3):  # the first rounds warm the pool, caches and plans
            for kind in KINDS:
                who = OFFICER if kind == "/done" else AB_USER
                typed = kind.replace("REF", ref_of(rng.randrange(cases)))
                update = Update.de_json(command(who, typed), application.bot)
                began = time.perf_counter()
                await application.process_update(update)
                if n >= 3:
                    times[kind].append((time.perf_counter() - began) * 1000)
    finally:
        await application.shutdown()
        await application.services.engine.dispose()
    return times


def _seed_in_child(url: str, cases: int) -> tuple[dict[str, int], float]:
    began = time.perf_counter()
    done = subprocess.run([sys.executable, __file__, "--seed-into", url, "--cases", str(cases)],
                          capture_output=True, text=True, check=False)
    if done.returncode:
        raise SystemExit(f"seeding failed:\n{done.stderr}")
    return json.loads(done.stdout), time.perf_counter() - began


def run(db: str, cases: int, repeat: int, pg_url: str
        ) -> tuple[dict[str, int], float, dict[str, list[float]], float]:
    """Seed a fresh database of kind ``db``, measure, and throw the database away."""
    with tempfile.TemporaryDirectory(prefix="ikabot-bench-") as folder:
        url: URL = (make_url(f"sqlite+aiosqlite:///{Path(folder) / 'bench.db'}")
                    if db == "sqlite" else create_pg(pg_url))
        shown = url.render_as_string(hide_password=False)
        try:
            totals, seconds = _seed_in_child(shown, cases)
            times = asyncio.run(measure(shown, cases, repeat))
        finally:
            if db == "postgresql":
                drop_pg(pg_url, url)
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return totals, seconds, times, rss


def report(db: str, cases: int, totals: dict[str, int], seconds: float,
           times: dict[str, list[float]], rss: float) -> str:
    """The table, as printed and as pasted into bench/README.md."""
    goal = GOALS.get(cases)
    lines = [
        f"{db}: {totals['open']:,} open cases, {totals['closed']:,} closed, "
        f"{totals['step_records']:,} step records, seeded in {seconds:.0f} s; "
        f"{os.cpu_count()} cores, {platform.system()}, Python {platform.python_version()}, "
        f"{datetime.now(UTC):%Y-%m-%d}", "",
        f"| {'update':<20} | {'median':>9} | {'p95':>9} | {'max':>9} | {'goal':>12} |        |",
        f"|{'-' * 22}|{'-' * 11}|{'-' * 11}|{'-' * 11}|{'-' * 14}|{'-' * 8}|"]
    for kind, values in times.items():
        limit = (REF_GOALS if kind == "/status REF" else GOALS).get(cases)
        p95 = percentile(values, 0.95)
        met = "" if limit is None else ("met" if p95 <= limit else "MISSED")
        shown_goal = f"p95 <= {limit:.0f} ms" if limit else ""
        lines.append(f"| {kind + f' (n={len(values)})':<20} | {statistics.median(values):>6.1f} ms"
                     f" | {p95:>6.1f} ms | {max(values):>6.1f} ms | {shown_goal:>12} | {met:<6} |")
    rss_met = ("met" if rss <= RSS_GOAL else "MISSED") if goal and cases >= 100_000 else ""
    lines.append(f"| {'peak RSS':<20} | {rss:>6.0f} MB | {'':>9} | {'':>9} | "
                 f"{'<= 200 MB' if rss_met else '':>12} | {rss_met:<6} |")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    """Parse the command line, run the benchmark, print the table."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--cases", type=int, default=10_000, help="open cases (10000)")
    parser.add_argument("--db", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--repeat", type=int, default=40, help="timed updates of each kind")
    parser.add_argument("--pg-url", default=DEFAULT_PG,
                        help="a PostgreSQL server (any database on it); a database of the "
                        "benchmark's own is created there and dropped (IKABOT_BENCH_PG_URL)")
    parser.add_argument("--seed-into", help=argparse.SUPPRESS)  # the seeding child's job
    args = parser.parse_args(argv)
    if args.seed_into:
        print(json.dumps(asyncio.run(seed(args.seed_into, args.cases))))
        return 0
    totals, seconds, times, rss = run(args.db, args.cases, args.repeat, args.pg_url)
    print(report(args.db, args.cases, totals, seconds, times, rss))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
