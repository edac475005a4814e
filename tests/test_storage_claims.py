"""Claims take whole chats: a chat's due nudges go to one sweeper, to go out in one message."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import SQLModel

from storage.cases import Sessions
from storage.db import make_engine, session_factory
from storage.nudges import Claimed, claim_due, mark_sent_each, next_free, release, renew

NOW = datetime(2026, 10, 7, 2, 0, tzinfo=UTC)
LEASE = timedelta(minutes=5)


def _row(n: int, target: str, due_at: datetime) -> dict[str, object]:
    return {"key": f"digest|{n}|{target}", "case_id": None, "step": None, "round": 0,
            "kind": "digest", "day": date(2026, 1, 1) + timedelta(days=n), "seq": 0,
            "target": target, "due_at": due_at, "planned_at": due_at, "claimed_by": None,
            "claimed_until": None, "attempts": 0, "sent_at": None, "message_id": None,
            "dropped_at": None, "failed_at": None, "last_error": None}


async def _due(engine: AsyncEngine, chats: int, each: int) -> None:
    """``each`` nudges due for each of ``chats`` chats, interleaved by due time."""
    rows = [_row(n, f"division:D{c}", NOW - timedelta(minutes=n * chats + c))
            for n in range(each) for c in range(chats)]
    async with engine.begin() as connection:
        await connection.execute(insert(SQLModel.metadata.tables["nudges"]), rows)


async def _claim(sessions: Sessions, holder: str, limit: int, per_chat: int = 200
                 ) -> list[Claimed]:
    async with sessions() as session, session.begin():
        return await claim_due(session=session, now=NOW, holder=holder, lease=LEASE,
                               limit=limit, per_chat=per_chat)


async def test_a_claim_takes_every_nudge_due_for_the_chats_it_takes(
        engine: AsyncEngine, sessions: Sessions) -> None:
    await _due(engine, chats=3, each=4)
    first = await _claim(sessions, "a", limit=1)  # the most overdue nudge's chat, whole
    assert len(first) == 4 and len({row.target for row in first}) == 1
    rest = await _claim(sessions, "b", limit=100)
    assert len(rest) == 8 and not {row.target for row in first} & {row.target for row in rest}
    assert await _claim(sessions, "c", limit=100) == []


async def test_two_sweepers_claiming_at_once_never_split_a_chat(engine: AsyncEngine) -> None:
    await _due(engine, chats=40, each=5)
    other = make_engine(engine.url)  # the second sweeper's own engine, as another process's

    async def sweeper(sessions: Sessions, holder: str) -> list[Claimed]:
        claimed: list[Claimed] = []
        while batch := await _claim(sessions, holder, limit=7):  # many small claims
            claimed += batch
        return claimed

    try:
        a, b = await asyncio.gather(sweeper(session_factory(engine), "a"),
                                    sweeper(session_factory(other), "b"))
    finally:
        await other.dispose()
    assert len(a) + len(b) == 200 and not {r.id for r in a} & {r.id for r in b}
    assert not {r.target for r in a} & {r.target for r in b}  # no chat in both


async def test_a_claim_takes_at_most_per_chat_nudges_of_a_chat_the_earliest_first(
        engine: AsyncEngine, sessions: Sessions) -> None:
    """However much an outage left due, a claim (and every statement it makes) is bounded."""
    await _due(engine, chats=2, each=7)
    first = await _claim(sessions, "a", limit=100, per_chat=3)
    assert Counter(row.target for row in first) == {"division:D0": 3, "division:D1": 3}
    for target in ("division:D0", "division:D1"):
        mine = [row.due_at for row in first if row.target == target]
        assert len(mine) == 3 and max(mine) < NOW - timedelta(minutes=6)  # the earliest three
    second = await _claim(sessions, "b", limit=100, per_chat=3)
    third = await _claim(sessions, "c", limit=100, per_chat=3)
    assert [len(second), len(third)] == [6, 2]
    assert len({row.id for row in first + second + third}) == 14
    assert await _claim(sessions, "d", limit=100, per_chat=3) == []


async def test_the_sweep_learns_when_the_first_held_nudge_comes_free(
        engine: AsyncEngine, sessions: Sessions) -> None:
    await _due(engine, chats=3, each=2)
    async with sessions() as session:
        assert await next_free(session=session, now=NOW) is None  # nothing held
    first = await _claim(sessions, "dead", limit=1)  # held until NOW + LEASE
    async with sessions() as session, session.begin():
        await renew(session=session, ids=[first[0].id], holder="dead",
                    until=NOW + LEASE + timedelta(minutes=1))
        later = await claim_due(session=session, now=NOW + timedelta(minutes=1), holder="b",
                                lease=LEASE, limit=1)
        await mark_sent_each(session=session, sent=[([later[0].id], 1)],
                             now=NOW + timedelta(minutes=1))
        await release(session=session, ids=[later[1].id], error="502",
                      retry_at=NOW + timedelta(minutes=2))  # let go: the tick retries it
    async with sessions() as session:
        # the dead sweeper's rows: one comes free at NOW + LEASE, the one it renewed a minute
        # later; b's sent row and the row b let go (a tick retries it) do not count
        assert await next_free(session=session, now=NOW + timedelta(minutes=1)) == (
            NOW + LEASE)
        assert await next_free(session=session, now=NOW + LEASE) == (
            NOW + LEASE + timedelta(minutes=1))
        assert await next_free(session=session, now=NOW + LEASE + timedelta(minutes=1)) is None
        # asked by a sweep that began while they were held: free since, so owed a sweep now
        assert await next_free(session=session, now=NOW + LEASE + timedelta(minutes=2),
                               since=NOW + timedelta(minutes=1)) == NOW + LEASE
