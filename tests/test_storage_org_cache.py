"""The org in memory: read once, read again after a change in this process or after its TTL."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.org import OrgSummary
from storage.org_cache import OrgCache
from storage.prefs import set_user_language


class Ticks:
    """A monotonic clock moved by hand."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


async def test_read_once_then_again_after_a_change_here(
        sessions: async_sessionmaker[AsyncSession], org: OrgSummary) -> None:
    cache = OrgCache(sessions, ttl=60, clock=Ticks())
    first = await cache.get()
    assert first.user(1001) is not None and first.division_by_chat(-1001000000002) is not None
    assert first.name(1001) == "Aminah binti Abdullah" and first.name(42) == "42"
    assert sorted(first.lead_divisions()) == ["BDP", "BKKA", "BPI"]
    assert await cache.get() is first  # nothing changed: nothing read

    async with sessions() as session, session.begin():  # /lang, in another session
        assert await set_user_language(session=session, telegram_id=1001, lang="en")
    again = await cache.get()
    assert again is not first
    user = again.user(1001)
    assert user is not None and user.language == "en"


async def test_a_change_made_elsewhere_is_seen_after_the_ttl(
        engine: AsyncEngine, sessions: async_sessionmaker[AsyncSession],
        org: OrgSummary) -> None:
    ticks = Ticks()
    cache = OrgCache(sessions, ttl=60, clock=ticks)
    first = await cache.get()
    async with engine.begin() as connection:  # as another process would: no ORM session
        await connection.execute(text("UPDATE users SET name = 'Aminah' WHERE telegram_id = 1001"))
    ticks.now = 59.0
    assert (await cache.get()) is first
    ticks.now = 61.0
    assert (await cache.get()).name(1001) == "Aminah"
    cache.invalidate()
    assert (await cache.get()).name(1001) == "Aminah"
