"""How many updates a second ikabot handles against a bare python-telegram-bot bot.

    python bench/updates.py                 # 2,000 updates, 1,000 open cases, five pairs
    python bench/updates.py --updates 300 --pairs 1

Both bots poll the loopback Bot API fake (bot.fake_telegram), which runs in a child process of
its own so that its work is not counted as either bot's, afresh for each run. For each mix
(with and without the whole-list /status) and each of five pairs, the bare bot and ikabot (on
SQLite, seeded by bulk SQL with 1,000 open cases, as bench/status.py seeds) are given the same
updates in turn, in alternating order, and the time from the first update to the answer to the
last is taken. The figure is the ratio of the two rates; ikabot's own CPU per update (process
time while it handles one, its database thread included) is given as p50/p99. Telegram's rate
limits are out of the way for both: the bare bot has no limiter and ikabot's is set far above
what is sent. See bench/README.md.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import platform
import random
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from harness import percentile  # noqa: E402
from status import AB_USER, NOW, OFFICER, ref_of  # noqa: E402

TOKEN = "123456:BENCH-fake-telegram"
GROUP = -1001000000001  # division D01's chat in the seeded org
OPEN_CASES = 1_000
MIXES = {  # what each update is, in turn
    "with the whole-list /status": ("/status", "/status REF", "tap", "text"),
    "without it": ("/status REF", "tap", "text"),
}
GOALS = {"with the whole-list /status": 0.3, "without it": 0.5}
P99_GOAL = 25.0  # ms of ikabot's own CPU per update


# --- the fake Telegram, in its own process ---------------------------------------------------


async def serve_fake() -> None:
    """Per workload read on stdin: a fresh fake (its URL on stdout), then, on "go", the run."""
    from bot.fake_telegram import FakeTelegram

    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    while line := await reader.readline():
        job = json.loads(line)
        # A fresh fake each run: the fake keeps every message, and some of its answers look
        # through them, which would charge a later run for an earlier one's.
        async with FakeTelegram(TOKEN) as tg:
            world = tg.world
            ab, officer = world.add_user(AB_USER, "Aminah"), world.add_user(OFFICER, "Faizal")
            for user in (ab, officer):
                world.chats[user.id].started = True
            world.add_group(GROUP, "IKA D01", members=[ab, officer], bot_member=True)
            print(json.dumps({"base_url": tg.base_url}), flush=True)
            await reader.readline()  # "go": the bot polls
            seconds = await _drive(world, job["kinds"], job["updates"], job["seed"])
            print(json.dumps({"seconds": seconds}), flush=True)
            await reader.readline()  # "done": the bot has stopped polling


async def _drive(world: Any, kinds: Sequence[str], updates: int, seed: int) -> float:
    """Send ``updates`` updates of ``kinds`` in turn, all at once; seconds until all handled."""
    rng = random.Random(seed)
    ab, officer = world.users[AB_USER], world.users[OFFICER]
    await world.send_text(ab, f"/status {ref_of(0)}")  # a message of the bot's to tap on
    target = await world.wait_for_message(AB_USER, timeout=60)
    began, taps = time.perf_counter(), 0
    for n in range(updates):
        kind, ref = kinds[n % len(kinds)], ref_of(rng.randrange(OPEN_CASES))
        if kind == "tap":
            taps += 1
            await world.forge_tap(ab, target, f"pg:1:{ref}:{taps % 2}")
        elif kind == "text":
            await world.send_text(officer, "baik, terima kasih", chat=GROUP)
        else:
            await world.send_text(ab, kind.replace("REF", ref))
    # Updates are handled in turn: once a last tap is answered, all before it were. (Its
    # answer is looked up by id, so waiting costs the fake nothing per request.)
    last = await world.forge_tap(ab, target, f"pg:1:{ref_of(0)}:0")
    await world.wait_for(lambda: world.tap_answer(last) is not None, timeout=900,
                         what="the last update handled")
    return time.perf_counter() - began


class Fake:
    """The fake's process, driven line by line."""

    def __init__(self) -> None:
        self.process = subprocess.Popen(
            [sys.executable, __file__, "--serve-fake"], stdin=subprocess.PIPE,
            stdout=subprocess.PIPE, text=True)

    def _say(self, line: str) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(line + "\n")
        self.process.stdin.flush()

    def _hear(self) -> Any:
        assert self.process.stdout is not None
        return json.loads(self.process.stdout.readline())

    async def start(self, kinds: Sequence[str], updates: int, seed: int) -> str:
        """A fresh fake for one run; its base URL."""
        self._say(json.dumps({"kinds": list(kinds), "updates": updates, "seed": seed}))
        return str((await asyncio.to_thread(self._hear))["base_url"])

    async def run(self) -> float:
        """Go: the seconds the fake took to see the run's updates handled."""
        self._say("go")
        return float((await asyncio.to_thread(self._hear))["seconds"])

    def done(self) -> None:
        """The bot has stopped: the fake may go."""
        self._say("done")

    def close(self) -> None:
        """Stop the fake."""
        assert self.process.stdin is not None
        self.process.stdin.close()
        self.process.wait(timeout=30)


# --- the two bots ----------------------------------------------------------------------------


async def bare_bot(base_url: str, job: Callable[[], Awaitable[float]]) -> tuple[float, list[float]]:
    """A bare PTB bot: /status answered with a line, a tap answered and its message edited."""
    from telegram import Update
    from telegram.error import BadRequest
    from telegram.ext import (
        Application,
        CallbackQueryHandler,
        CommandHandler,
        ContextTypes,
        MessageHandler,
        filters,
    )

    async def status(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.effective_message is not None
        await update.effective_message.reply_text("status " + " ".join(context.args or []))

    async def tapped(update: Update, _context: ContextTypes.DEFAULT_TYPE) -> None:
        query = update.callback_query
        assert query is not None
        await query.answer()
        with contextlib.suppress(BadRequest):  # "not modified", as ikabot takes it
            await query.edit_message_text(f"page {query.data}")

    async def text(_update: Update, _context: ContextTypes.DEFAULT_TYPE) -> None:
        return None

    application = (Application.builder().token(TOKEN).base_url(f"{base_url}/bot")
                   .base_file_url(f"{base_url}/file/bot").build())
    application.add_handlers([CommandHandler("status", status), CallbackQueryHandler(tapped),
                              MessageHandler(filters.TEXT & ~filters.COMMAND, text)])
    async with application:
        assert application.updater is not None
        await application.updater.start_polling(poll_interval=0.0)
        await application.start()
        cpu = _count_cpu(application)
        seconds = await job()
        await application.updater.stop()
        await application.stop()
    return seconds, cpu


async def ikabot(url: str, base_url: str, job: Callable[[], Awaitable[float]]
                 ) -> tuple[float, list[float]]:
    """ikabot itself, as `ikabot run` builds it, polling the fake."""
    from bot.app import build_application, serving
    from bot.settings import Settings

    settings = Settings(_env_file=None, telegram_bot_token=TOKEN,  # type: ignore[call-arg]
                        telegram_base_url=base_url, database_url=url,
                        rate_limit_per_second=100_000, rate_limit_group_per_minute=1_000_000,
                        rate_limit_chat_per_second=100_000,
                        sweep_interval_seconds=3600)
    application = build_application(settings, clock=lambda: NOW)
    async with serving(application):
        cpu = _count_cpu(application)
        seconds = await job()
    return seconds, cpu


def _count_cpu(application: Any) -> list[float]:
    """The process time each update takes to handle, in ms, appended as they are handled."""
    spent: list[float] = []
    handle = application.process_update

    async def timed(update: object) -> None:
        began = time.process_time()
        try:
            await handle(update)
        finally:
            spent.append((time.process_time() - began) * 1000)

    application.process_update = timed
    return spent


# --- the run ---------------------------------------------------------------------------------


def _seed(url: str) -> None:
    here = Path(__file__).resolve().parent / "status.py"
    done = subprocess.run([sys.executable, str(here), "--seed-into", url, "--cases",
                           str(OPEN_CASES)], capture_output=True, text=True, check=False)
    if done.returncode:
        raise SystemExit(f"seeding failed:\n{done.stderr}")


async def measure(url: str, updates: int, pairs: int) -> dict[str, dict[str, list[float]]]:
    """Rates (updates/s) of both bots and ikabot's CPU per update, for each mix."""
    fake = Fake()
    figures: dict[str, dict[str, list[float]]] = {}
    try:
        for mix, kinds in MIXES.items():
            got: dict[str, list[float]] = {"bare": [], "ikabot": [], "cpu": [], "bare_cpu": []}
            for pair in range(pairs + 1):  # the first pair warms both up and is not counted
                order = ("bare", "ikabot") if pair % 2 else ("ikabot", "bare")
                for who in order:
                    count = updates if pair else min(updates, 200)
                    base_url = await fake.start(kinds, count, seed=pair)
                    if who == "bare":
                        seconds, cpu = await bare_bot(base_url, fake.run)
                    else:
                        seconds, cpu = await ikabot(url, base_url, fake.run)
                    fake.done()
                    if pair:
                        got[who].append(count / seconds)
                        got["cpu" if who == "ikabot" else "bare_cpu"] += cpu[1:-1]
            figures[mix] = got
    finally:
        fake.close()
    return figures


def report(figures: dict[str, dict[str, list[float]]], updates: int) -> str:
    """The table, as printed and as pasted into bench/README.md."""
    lines = [f"{updates:,} updates a run, {OPEN_CASES:,} open cases (SQLite); {os.cpu_count()} "
             f"cores, {platform.system()}, Python {platform.python_version()}, "
             f"{datetime.now(UTC):%Y-%m-%d}", "",
             "| mix | bare PTB, updates/s | ikabot, updates/s | ratio (median of pairs) | goal"
             " | ikabot CPU/update p50 / p99 | bare CPU/update p50 | |",
             "|---|---|---|---|---|---|---|---|"]
    for mix, got in figures.items():
        ratios = [i / b for i, b in zip(got["ikabot"], got["bare"], strict=True)]
        ratio = statistics.median(ratios)
        p50, p99 = percentile(got["cpu"], 0.5), percentile(got["cpu"], 0.99)
        met = "met" if ratio >= GOALS[mix] and p99 <= P99_GOAL else "MISSED"
        lines.append(
            f"| {mix} | {statistics.median(got['bare']):.0f} | "
            f"{statistics.median(got['ikabot']):.0f} | {ratio:.2f} "
            f"({', '.join(f'{r:.2f}' for r in ratios)}) | "
            f"≥ {GOALS[mix]} and p99 ≤ {P99_GOAL:.0f} ms | {p50:.1f} / {p99:.1f} ms | "
            f"{percentile(got['bare_cpu'], 0.5):.1f} ms | {met} |")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    """Parse the command line, run the benchmark, print the table."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--updates", type=int, default=2_000, help="updates a run (2000)")
    parser.add_argument("--pairs", type=int, default=5, help="pairs of runs per mix (5)")
    parser.add_argument("--serve-fake", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve_fake:
        asyncio.run(serve_fake())
        return 0
    with tempfile.TemporaryDirectory(prefix="ikabot-bench-") as folder:
        url = f"sqlite+aiosqlite:///{Path(folder) / 'bench.db'}"
        _seed(url)
        figures = asyncio.run(measure(url, args.updates, args.pairs))
    print(report(figures, args.updates))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
