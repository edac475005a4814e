"""A morning burst at Telegram's pace: 1,000 due nudges over 200 chats, against the loopback
fake made to enforce Telegram's limits (30 messages a second overall, 20 a minute per group,
one a second per chat; a 429 with retry_after when broken).

    python bench/burst.py            # both shapes
    python bench/burst.py --shape skewed

Shapes: "even" (200 chats x 5 cases) and "skewed" (10 chats x 50, 120 x 3, 70 x 2). The bot's
own sweep (handlers.reminders.sweep, as `ikabot run` builds it, its pace from the default
settings) runs until every nudge is sent, on a fresh SQLite file. Reported: the time from the
first sweep to the last message, T* (the fastest schedule the same limits allow for the same
messages, found by a greedy simulation), their ratio, the 429s, and nudges lost or sent twice.
Goal: 0 x 429 and <= 1.15 x T* in both shapes.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import re
import sys
import tempfile
import time
from collections import Counter
from datetime import datetime, timedelta
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.app import build_application  # noqa: E402
from bot.fake_telegram import FakeTelegram, Limits, World  # noqa: E402
from bot.services import Services  # noqa: E402
from bot.settings import Settings  # noqa: E402
from handlers.reminders import sweep  # noqa: E402
from storage.migrate import upgrade  # noqa: E402
from storage.models import Division, DivisionKind  # noqa: E402
from storage.nudges import rows_for  # noqa: E402
from tests.builders import KL  # noqa: E402
from tests.seeding import opened, store  # noqa: E402

TOKEN = "123456:BENCH-burst-token"
AB_CHAT = -1003000000000
REGISTERED = datetime(2026, 9, 1, 10, 0, tzinfo=KL)
SHAPES = {"even": [5] * 200, "skewed": [50] * 10 + [3] * 120 + [2] * 70}
LIMITS = Limits()
GOAL = 1.15


def chat_of(n: int) -> int:
    return AB_CHAT - n


async def seed(services: Services, cases_per_chat: list[int]) -> datetime:
    """Divisions with chats, their cases at step 2; the moment their "due today" is due."""
    outcomes = opened(services.procedure, ((f"IKA-2026-{n:03d}{k:02d}", f"MOU {n}.{k}", f"D{n:03d}")
                                           for n, count in enumerate(cases_per_chat, start=1)
                                           for k in range(1, count + 1)), REGISTERED)
    async with services.sessions() as session, session.begin():
        session.add(Division(code="AB", kind=DivisionKind.AB.value, name_ms="Bahagian AB",
                             name_en="AB", chat_id=AB_CHAT))
        session.add_all(Division(code=f"D{n:03d}", kind=DivisionKind.DIVISION.value,
                                 name_ms=f"Bahagian {n}", name_en=f"Division {n}",
                                 chat_id=chat_of(n)) for n in range(1, len(cases_per_chat) + 1))
        await session.flush()
        due = await store(session, outcomes, REGISTERED)
    return due - timedelta(hours=6)


def fastest(per_chat: list[int], limits: Limits, step: float = 0.01) -> float:
    """T*: when the last message can go at the earliest, sending greedily in turn."""
    left = list(per_chat)
    sent_all: list[float] = []
    sent: list[list[float]] = [[] for _ in per_chat]
    now = 0.0
    while any(left):
        for chat, remaining in enumerate(left):
            if not remaining:
                continue
            overall = sum(1 for t in sent_all[-limits.per_second:] if t > now - 1.0)
            mine = sent[chat]
            if (overall < limits.per_second
                    and sum(1 for t in mine if t > now - 1.0) < limits.chat_per_second
                    and sum(1 for t in mine if t > now - 60.0) < limits.group_per_minute):
                sent_all.append(now)
                mine.append(now)
                left[chat] -= 1
        if any(left):
            now += step
    return now


def _serve_fake(chats: int, pipe: Connection) -> None:
    """The fake Telegram in a process of its own, as Telegram is to the bot: its clock, its
    loop. Sends its port, then, when told to stop, what it saw."""

    async def serve() -> None:
        async with FakeTelegram(world=World(TOKEN, limits=LIMITS)) as tg:
            tg.world.add_group(AB_CHAT, "IKA AB", bot_member=True)
            for n in range(1, chats + 1):
                tg.world.add_group(chat_of(n), f"IKA D{n:03d}", bot_member=True)
            loop = asyncio.get_running_loop()
            posts: list[float] = []
            call = tg.world.call

            async def timed(method: str, *args: Any, **kwargs: Any) -> object:
                if method.lower().startswith("send"):
                    posts.append(time.time())
                return await call(method, *args, **kwargs)

            tg.world.call = timed  # type: ignore[method-assign]
            pipe.send(tg.base_url)
            await loop.run_in_executor(None, pipe.recv)
            texts = {n: [m.text for m in tg.world.messages(chat_of(n))]
                     for n in range(1, chats + 1)}
            pipe.send((texts, sum(1 for e in tg.world.errors if e[1] == 429),
                       (min(posts), max(posts)) if posts else (0.0, 0.0)))

    asyncio.run(serve())


async def run_shape(name: str) -> dict[str, object]:
    cases_per_chat = SHAPES[name]
    chats = len(cases_per_chat)
    ours, theirs = multiprocessing.Pipe()
    fake = multiprocessing.Process(target=_serve_fake, args=(chats, theirs), daemon=True)
    fake.start()
    base_url = ours.recv()
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite+aiosqlite:///{Path(tmp) / 'burst.db'}"
        settings = Settings(_env_file=None,  # type: ignore[call-arg]
                            telegram_bot_token=TOKEN, telegram_base_url=base_url,
                            database_url=url, reminder_days_before=0,
                            documents_dir=Path(tmp) / "documents")
        await upgrade(url)
        app = build_application(settings)
        services = app.services
        due = await seed(services, cases_per_chat)
        await app.bot.initialize()
        started, wall = time.monotonic(), time.time()
        now, sweeps = due, 0
        while True:
            await sweep(app.bot, services, holder="bench", now=now)
            sweeps += 1
            async with services.sessions() as session:
                rows = [r for r in await rows_for(session=session) if r.due_at <= due]
            if all(r.sent_at is not None for r in rows) or sweeps > 50:
                break
            await asyncio.sleep(1.0)  # as the scheduler would wake it again
            now = due + timedelta(seconds=time.monotonic() - started)
        elapsed = time.monotonic() - started
        await app.bot.shutdown()
        await services.engine.dispose()
    ours.send("stop")
    texts, refused, (first_post, last_post) = ours.recv()
    fake.join(10)
    messages = [len(texts[n]) for n in range(1, chats + 1)]
    refs = Counter(ref for chat in texts.values() for text in chat
                   for ref in re.findall(r"IKA-2026-\d+", text))
    best = fastest(messages, LIMITS)
    return {"shape": name, "nudges": sum(cases_per_chat), "chats": chats,
            "messages": sum(messages), "seconds": round(elapsed, 2), "t_star": round(best, 2),
            "ratio": round(elapsed / best, 3) if best else None, "refused_429": refused,
            "first_post_after": round(first_post - wall, 2),
            "posting_seconds": round(last_post - first_post, 2),
            "lost": sum(1 for r in rows if r.sent_at is None),
            "sent_twice": sum(1 for c in refs.values() if c > 1), "sweeps": sweeps,
            "goal": f"0 x 429, ratio <= {GOAL}"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shape", choices=[*SHAPES, "both"], default="both")
    args = parser.parse_args()
    for name in SHAPES if args.shape == "both" else [args.shape]:
        print(json.dumps(asyncio.run(run_shape(name))))


if __name__ == "__main__":
    main()
