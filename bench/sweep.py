"""How long one reminder sweep takes over a large database, and how much memory it needs.

    python bench/sweep.py --cases 10000 --db sqlite
    python bench/sweep.py --cases 100000 --db postgresql

A fresh database (a temporary SQLite file, or a database created on the PostgreSQL server at
--pg-url and dropped afterwards) is seeded with N open cases by bulk SQL in a child process, as
the rules would have stored them: the case rows, a step record per step reached, the reminders
sent for the last two steps done, and those pending for the current step (all in the future).
Then this process times ikabot's own ``sweep``, with nothing due and with 200 nudges made due
before each run, Telegram being replaced at the HTTP boundary by a stand-in that answers at
once, and reports its peak RSS. See bench/README.md.
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
from datetime import UTC, date, datetime, timedelta
from itertools import count
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from harness import InstantTelegram, create_pg, drop_pg  # bench/, beside this script
from sqlalchemy import bindparam, insert, select, text, update
from sqlalchemy.engine import URL, make_url
from sqlalchemy.ext.asyncio import AsyncEngine
from telegram.ext import ExtBot

from bot.domain.case import Case, Instrument, Level, Phase, Source, StepRun
from bot.domain.deadlines import Procedure
from bot.domain.reminders import Audience, Nudge
from bot.domain.sop import load_sop
from bot.pace import TelegramPace
from bot.settings import Settings

KL = ZoneInfo("Asia/Kuala_Lumpur")
NOW = datetime(2026, 10, 7, 10, 0, tzinfo=KL)  # a Wednesday morning, in office hours
TOKEN = "123456:BENCH-no-telegram-here"
DEFAULT_PG = os.environ.get("IKABOT_BENCH_PG_URL",
                            "postgresql+psycopg://postgres@127.0.0.1:5432/test")
DIVISIONS = 20  # lead divisions, each with its group chat; AB and management besides
MANAGERS = (3001, 3002)
CHUNK = 5_000  # cases written per transaction while seeding
GOALS = {"idle": 1.0, "due": 20.0, "rss": 150.0}  # ms (p95), ms (p95), MB


# --- seeding (in a child process: its memory is not the sweeper's) -------------------------------


def _settings(url: str) -> Settings:
    return Settings(_env_file=None, telegram_bot_token=TOKEN, database_url=url)


def _procedure(settings: Settings) -> Procedure:
    return Procedure(load_sop(settings.sop_file), settings.calendar(),
                     settings.count_working_days, settings.reminder_policy())


@dataclass
class _Ids:
    steps: count[int]
    nudges: count[int]


def _nudge_rows(nudges: Sequence[Nudge], case_id: int, lead: str, ids: _Ids, sent: bool
                ) -> list[dict[str, Any]]:
    """The rows storage.nudges.plan writes for ``nudges`` (sent ones as the sweep left them)."""
    from storage.nudges import nudge_key

    rows = []
    for nudge in nudges:
        targets = {Audience.LEAD: [f"division:{lead}"], Audience.AB: ["division:AB"],
                   Audience.APPROVERS: [f"user:{m}" for m in MANAGERS]}[nudge.audience]
        for target in targets:
            rows.append({
                "id": next(ids.nudges), "key": nudge_key(nudge, target), "case_id": case_id,
                "step": nudge.step, "round": nudge.round, "kind": nudge.kind.value,
                "day": nudge.day, "seq": nudge.seq, "note": nudge.note, "target": target,
                "due_at": nudge.at,
                "planned_at": nudge.at - timedelta(days=3),
                "claimed_by": "bench" if sent else None, "claimed_until": None,
                "attempts": 1 if sent else 0, "sent_at": nudge.at if sent else None,
                "message_id": 1 if sent else None, "dropped_at": None, "failed_at": None,
                "last_error": None})
    return rows


def _case_rows(i: int, procedure: Procedure, ids: _Ids
               ) -> tuple[dict[str, Any], list[dict[str, Any]], list[dict[str, Any]]]:
    """Case ``i`` at a step 2…9, its step records, and its nudges (sent and pending)."""
    sop, calendar, planner = procedure.sop, procedure.calendar, procedure.planner
    keys = sop.keys
    at = 1 + i % (len(keys) - 1)  # the current step's index
    lead = f"D{1 + i % DIVISIONS:02d}"
    today = calendar.local_date(NOW)
    started = NOW - timedelta(hours=1 + i % 40)
    case = Case(ref=f"IKA-{2020 + i // 1000}-{i % 1000:03d}", title=f"Memorandum {i}",
                instrument=Instrument.MOU, level=Level.BILATERAL, countries=("ID",),
                source=Source.KLN, lead_division=lead,
                received_on=today - timedelta(days=10 * at + 5), current_step=keys[at])
    runs = []
    for k in range(at):  # the steps done, ten days apart, each a little late
        begun = started - timedelta(days=10 * (at - k))
        runs.append(StepRun(keys[k], 1, begun, calendar.close_of(calendar.add_working_days(
            calendar.local_date(begun), 3)), begun + timedelta(days=6), 1001))
    due = calendar.close_of(calendar.add_working_days(today, 2 + i % 15))  # ahead, always
    current = StepRun(keys[at], 1, started, due)
    runs.append(current)
    case.steps = runs
    deciding = keys[at] == "minit_cerai" and i % 2 == 0
    if deciding:
        case.phase = Phase.AWAITING_DECISION
    case_id = i + 1
    case_row = {
        "id": case_id, "ref": case.ref, "title": case.title, "instrument": "mou",
        "level": "bilateral", "countries": ["ID"], "source": "kln", "lead_division": lead,
        "received_on": case.received_on, "status": "open", "current_step": keys[at],
        "phase": case.phase.value, "round": 1, "version": 1 + 2 * at,
        "created_at": runs[0].started_at, "updated_at": started}
    step_rows: list[dict[str, Any]] = [{
        "id": next(ids.steps), "case_id": case_id, "step": run.key, "round": run.round,
        "started_at": run.started_at, "due_at": run.due_at, "done_at": run.done_at,
        "done_by": run.done_by, "data": {}} for run in runs]
    pending = (planner.for_decision(case, current, started) if deciding
               else planner.for_step(case, current))
    sent = [n for run in runs[-3:-1] for n in planner.for_step(case, run)
            if run.done_at is not None and n.at <= run.done_at]  # the last two steps' history
    nudge_rows = (_nudge_rows(sent, case_id, lead, ids, sent=True)
                  + _nudge_rows(pending, case_id, lead, ids, sent=False))
    return case_row, step_rows, nudge_rows


async def seed(url: str, cases: int) -> dict[str, int]:
    """Migrate the database at ``url`` and fill it with ``cases`` open cases."""
    from sqlmodel import SQLModel

    from storage.db import make_engine
    from storage.migrate import upgrade

    settings = _settings(url)
    procedure = _procedure(settings)
    table = SQLModel.metadata.tables
    engine = make_engine(settings.database_url)
    totals = {"cases": cases, "step_records": 0, "nudges": 0, "pending": 0}
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
                   "language": "ms" if n % 3 else "en"} for n in range(1, DIVISIONS + 1))])
            await connection.execute(insert(table["users"]), [
                {"telegram_id": m, "name": f"Pengurus {m}", "role": "management",
                 "division_code": "PT", "language": None, "active": True} for m in MANAGERS])
        ids = _Ids(count(1), count(1))
        for start in range(0, cases, CHUNK):
            case_rows, step_rows, nudge_rows = [], [], []
            for i in range(start, min(start + CHUNK, cases)):
                case_row, steps, nudges = _case_rows(i, procedure, ids)
                case_rows.append(case_row)
                step_rows += steps
                nudge_rows += nudges
            async with engine.begin() as connection:
                await connection.execute(insert(table["cases"]), case_rows)
                await connection.execute(insert(table["case_countries"]), [
                    {"case_id": row["id"], "country": code}
                    for row in case_rows for code in row["countries"]])
                await connection.execute(insert(table["step_records"]), step_rows)
                await connection.execute(insert(table["nudges"]), nudge_rows)
            totals["step_records"] += len(step_rows)
            totals["nudges"] += len(nudge_rows)
            totals["pending"] += sum(1 for row in nudge_rows if row["sent_at"] is None)
            assert all(row["due_at"] > NOW for row in nudge_rows if row["sent_at"] is None)
        async with engine.begin() as connection:
            if connection.dialect.name == "postgresql":
                # Explicit ids were given: move the sequences past them, as inserts would have.
                for name in ("cases", "step_records", "nudges"):
                    await connection.execute(text(
                        f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), "
                        f"(SELECT max(id) FROM {name}))"))
        if engine.dialect.name == "postgresql":
            # What autovacuum would have done by the time a database holds this much.
            async with engine.connect() as connection:
                await connection.execution_options(isolation_level="AUTOCOMMIT")
                await connection.execute(text("VACUUM ANALYZE"))
    finally:
        await engine.dispose()
    return totals


# --- measuring -----------------------------------------------------------------------------------


class StorageClock:
    """The sweep's session factories, timing each session from open to close and charging the time
    to the kind of storage call made in it: the sweep's database work, by kind."""

    KINDS = {"any_due": "check", "claim_due": "claim", "plan": "claim",
             "mark_sent_each": "mark", "renew": "mark", "release": "mark", "mark_failed": "mark",
             "load_cases": "load", "list_divisions": "load", "list_users": "load",
             "open_steps": "load", "documents_by_id": "load", "approval_cards": "load"}

    def __init__(self, sessions: Any) -> None:
        self._sessions = sessions
        self.spent: dict[str, float] = {}
        self.kind = ""

    def install(self, module: Any) -> None:
        """Wrap the storage calls ``module`` makes, so that each names its session's kind."""
        for name, kind in self.KINDS.items():
            setattr(module, name, self._naming(getattr(module, name), kind))

    def _naming(self, call: Any, kind: str) -> Any:
        async def named(*args: Any, **kwargs: Any) -> Any:
            self.kind = kind
            return await call(*args, **kwargs)
        return named

    def __call__(self, **kwargs: Any) -> _TimedSession:
        return _TimedSession(self, self._sessions(**kwargs))

    def timing(self, sessions: Any) -> Any:
        """Another of the sweep's session factories (its readers), timed by this clock too."""
        return lambda **kwargs: _TimedSession(self, sessions(**kwargs))


class _TimedSession:
    def __init__(self, clock: StorageClock, session: Any) -> None:
        self.clock, self.session, self.began = clock, session, 0.0

    async def __aenter__(self) -> Any:
        self.clock.kind = "other"
        self.began = time.perf_counter()
        return await self.session.__aenter__()

    async def __aexit__(self, *exc: object) -> Any:
        try:
            return await self.session.__aexit__(*exc)
        finally:
            spent, kind = time.perf_counter() - self.began, self.clock.kind
            self.clock.spent[kind] = self.clock.spent.get(kind, 0.0) + spent


def _ms(seconds: float) -> float:
    return seconds * 1000


async def _make_due(engine: AsyncEngine, cases: int, due: int, rng: random.Random) -> int:
    """Make ``due`` pending nudges (of as many cases, of every kind) due a minute ago."""
    from storage.models import NudgeRow

    sample = rng.sample(range(1, cases + 1), min(cases, 2 * due))
    pending = (select(NudgeRow.id, NudgeRow.case_id)  # type: ignore[call-overload]
               .where(NudgeRow.case_id.in_(sample),  # type: ignore[union-attr]
                      NudgeRow.sent_at.is_(None),  # type: ignore[union-attr]
                      NudgeRow.dropped_at.is_(None),  # type: ignore[union-attr]
                      NudgeRow.failed_at.is_(None),  # type: ignore[union-attr]
                      NudgeRow.due_at > NOW))
    async with engine.begin() as connection:
        by_case: dict[int, list[int]] = {}
        for nudge_id, case_id in (await connection.execute(pending)).all():
            by_case.setdefault(case_id, []).append(nudge_id)
        chosen = [rng.choice(ids) for ids in by_case.values()][:due]
        await connection.execute(
            update(NudgeRow)
            .where(NudgeRow.id.in_(bindparam("ids", expanding=True)))  # type: ignore[union-attr]
            .values(due_at=NOW - timedelta(minutes=1)), {"ids": chosen})
    return len(chosen)


async def _make_digest_due(engine: AsyncEngine, day: date) -> None:
    """A weekly digest for AB, due a minute ago (as if planned for ``day``)."""
    from storage.models import NudgeRow

    async with engine.begin() as connection:
        await connection.execute(insert(NudgeRow), [{
            "key": f"-|-|0|digest|{day.isoformat()}|division:AB", "case_id": None,
            "step": None, "round": 0, "kind": "digest", "day": day, "seq": 0,
            "target": "division:AB", "due_at": NOW - timedelta(minutes=1), "planned_at": NOW,
            "claimed_by": None, "claimed_until": None, "attempts": 0, "sent_at": None,
            "message_id": None, "dropped_at": None, "failed_at": None, "last_error": None}])


@dataclass
class Figures:
    """What one run measured: sweep times (ms) by what they cover, and memory (MB)."""

    times: dict[str, list[float]]
    messages: list[int]
    rss_mb: float
    seed_rss_mb: float
    seed_seconds: float
    totals: dict[str, int]


async def measure(url: str, cases: int, due: int, repeat: int, idle_repeat: int
                  ) -> tuple[dict[str, list[float]], list[int]]:
    """Time ikabot's sweep on the seeded database: idle, then with ``due`` nudges due."""
    from dataclasses import replace

    import handlers.reminders
    from bot.app import build_services

    services = build_services(_settings(url), clock=lambda: NOW)
    gc.collect()
    gc.freeze()  # as `ikabot run` does once the application is built
    clock = StorageClock(services.sessions)
    clock.install(handlers.reminders)
    services = replace(services, sessions=clock)  # type: ignore[arg-type]
    services.readers = clock.timing(services.readers)
    # The bot's own pace, opened wide: the database's work is measured, not Telegram's limits.
    wide = TelegramPace(per_second=1e6, group_per_minute=1e6, chat_per_second=1e6,
                        max_retries=0)
    bot = ExtBot(TOKEN, request=InstantTelegram(), get_updates_request=InstantTelegram(),
                 rate_limiter=wide)
    rng = random.Random(7)
    times: dict[str, list[float]] = {k: [] for k in ("idle", "goal", "claim", "mark", "load",
                                                     "whole", "digest")}
    messages: list[int] = []
    try:
        await bot.initialize()
        for i in range(idle_repeat + 5):  # the first few warm the pool and caches
            began = time.perf_counter()
            report = await handlers.reminders.sweep(bot, services, holder="bench", now=NOW)
            if i >= 5:
                times["idle"].append(_ms(time.perf_counter() - began))
            assert report.claimed == 0
        for i in range(repeat + 2):
            made = await _make_due(services.engine, cases, due, rng)
            clock.spent = {}
            began = time.perf_counter()
            report = await handlers.reminders.sweep(bot, services, holder="bench", now=NOW)
            whole = _ms(time.perf_counter() - began)
            assert report.claimed == made and not report.postponed, (report, made)
            if i < 2:
                continue
            spent = {kind: _ms(seconds) for kind, seconds in clock.spent.items()}
            assert set(spent) == {"check", "claim", "mark", "load"}, spent
            times["goal"].append(spent["check"] + spent["claim"] + spent["mark"])
            for kind in ("claim", "mark", "load"):
                times[kind].append(spent[kind])
            times["whole"].append(whole)
            messages.append(report.messages)
        for back in range(3):  # the weekly digest and its chart: every open case counted (its
            # successor, planned by the sweep, falls due next Monday)
            await _make_digest_due(services.engine, NOW.date() - timedelta(days=back))
            began = time.perf_counter()
            report = await handlers.reminders.sweep(bot, services, holder="bench", now=NOW)
            times["digest"].append(_ms(time.perf_counter() - began))
            assert (report.claimed, report.messages) == (1, 2), report  # the text, its chart
    finally:
        await bot.shutdown()
        await services.engine.dispose()
    return times, messages


# --- the databases -------------------------------------------------------------------------------


def _seed_in_child(url: str, cases: int) -> tuple[dict[str, int], float, float]:
    """Seed in a child process; its totals, seconds and peak RSS (MB)."""
    began = time.perf_counter()
    done = subprocess.run([sys.executable, __file__, "--seed-into", url, "--cases", str(cases)],
                          capture_output=True, text=True, check=False)
    if done.returncode:
        raise SystemExit(f"seeding failed:\n{done.stderr}")
    seconds = time.perf_counter() - began
    rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return json.loads(done.stdout), seconds, rss


def run(db: str, cases: int, due: int, repeat: int, idle_repeat: int, pg_url: str) -> Figures:
    """Seed a fresh database of kind ``db``, measure, and throw the database away."""
    with tempfile.TemporaryDirectory(prefix="ikabot-bench-") as folder:
        if db == "sqlite":
            url: URL = make_url(f"sqlite+aiosqlite:///{Path(folder) / 'bench.db'}")
        else:
            url = create_pg(pg_url)
        shown = url.render_as_string(hide_password=False)
        try:
            totals, seconds, seed_rss = _seed_in_child(shown, cases)
            times, messages = asyncio.run(measure(shown, cases, due, repeat, idle_repeat))
        finally:
            if db == "postgresql":
                drop_pg(pg_url, url)
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return Figures(times, messages, rss, seed_rss, seconds, totals)


def _p(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def report(db: str, figures: Figures, due: int) -> str:
    """The table, as printed and as pasted into the README."""
    t, times = figures.totals, figures.times

    def row(what: str, values: list[float], goal: str = "", limit: float | None = None) -> str:
        met = "" if limit is None else ("met" if _p(values, 0.95) <= limit else "MISSED")
        return (f"| {what:<46} | {statistics.median(values):>6.2f} ms | "
                f"{_p(values, 0.95):>7.2f} ms | {max(values):>7.2f} ms | {goal:>12} | {met:<6} |")

    rss_met = "met" if figures.rss_mb <= GOALS["rss"] else "MISSED"
    return "\n".join([
        f"{db}: {t['cases']:,} open cases, {t['step_records']:,} step records, "
        f"{t['nudges']:,} nudges ({t['pending']:,} pending), seeded in "
        f"{figures.seed_seconds:.0f} s; {os.cpu_count()} cores, {platform.system()}, Python "
        f"{platform.python_version()}, {datetime.now(UTC):%Y-%m-%d}",
        "",
        f"| {'one sweep':<46} | {'median':>9} | {'p95':>10} | {'max':>10} | {'goal':>12} |"
        f" {'':<6} |",
        f"|{'-' * 48}|{'-' * 11}|{'-' * 12}|{'-' * 12}|{'-' * 14}|{'-' * 8}|",
        row(f"nothing due (n={len(times['idle'])})", times["idle"], "p95 <= 1 ms",
            GOALS["idle"]),
        row(f"{due} due: check, claim + plan, mark sent (n={len(times['goal'])})",
            times["goal"], "p95 <= 20 ms", GOALS["due"]),
        row("- of which claim + plan the follow-ups", times["claim"]),
        row(f"- of which mark sent ({statistics.median(figures.messages):.0f} messages)",
            times["mark"]),
        row(f"{due} due: load the cases to word them", times["load"]),
        row(f"{due} due: the whole sweep", times["whole"]),
        row(f"weekly digest due: the whole sweep (n={len(times['digest'])})", times["digest"]),
        f"| {'peak RSS of the sweeping process':<46} | {figures.rss_mb:>6.0f} MB | {'':>10} | "
        f"{'':>10} | {'<= 150 MB':>12} | {rss_met:<6} |",
    ])


def main(argv: Sequence[str] | None = None) -> int:
    """Parse the command line, run the benchmark, print the table."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", type=int, default=10_000, help="open cases (10000)")
    parser.add_argument("--db", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--due", type=int, default=200, help="nudges due per timed sweep (200)")
    parser.add_argument("--repeat", type=int, default=50, help="timed sweeps with nudges due")
    parser.add_argument("--idle-repeat", type=int, default=200, help="timed idle sweeps")
    parser.add_argument("--pg-url", default=DEFAULT_PG,
                        help="a PostgreSQL server (any database on it); a database of the "
                        "benchmark's own is created there and dropped (IKABOT_BENCH_PG_URL)")
    parser.add_argument("--seed-into", help=argparse.SUPPRESS)  # the seeding child's job
    args = parser.parse_args(argv)
    if args.seed_into:
        print(json.dumps(asyncio.run(seed(args.seed_into, args.cases))))
        return 0
    figures = run(args.db, args.cases, args.due, args.repeat, args.idle_repeat, args.pg_url)
    print(report(args.db, figures, args.due))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
