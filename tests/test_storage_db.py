"""The engine and the tables' own guarantees: SQLite's settings, aware UTC times, the event log."""

from __future__ import annotations

import sqlite3
from datetime import UTC, date, datetime, timedelta, timezone

import pytest
from sqlalchemy import delete, update
from sqlalchemy.exc import DBAPIError, StatementError
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import CaseRow, Division, EventRow

Sessions = async_sessionmaker[AsyncSession]
MYT = timezone(timedelta(hours=8))


async def test_sqlite_runs_in_wal_mode_with_foreign_keys_and_a_busy_timeout(
    engine: AsyncEngine,
) -> None:
    if engine.dialect.name != "sqlite":
        pytest.skip("a SQLite setting; PostgreSQL has its own locking")
    async with engine.connect() as connection:
        pragmas = {name: (await connection.exec_driver_sql(f"PRAGMA {name}")).scalar()
                   for name in ("journal_mode", "foreign_keys", "busy_timeout")}
    assert pragmas == {"journal_mode": "wal", "foreign_keys": 1, "busy_timeout": 30000}


async def test_sqlite_transactions_take_the_write_lock_at_begin(engine: AsyncEngine) -> None:
    if engine.dialect.name != "sqlite":
        pytest.skip("a SQLite setting; PostgreSQL has its own locking")
    async with engine.connect() as connection:
        await connection.exec_driver_sql("SELECT 1")  # any first statement begins
        # a reserved (write) lock is held: a raw second writer is refused at once
        database = engine.url.database
        assert database is not None
        other = sqlite3.connect(database, timeout=0, isolation_level=None)
        try:
            with pytest.raises(sqlite3.OperationalError, match="locked"):
                other.execute("BEGIN IMMEDIATE")
        finally:
            other.close()
        await connection.rollback()


def _case(at: datetime) -> CaseRow:
    return CaseRow(ref="IKA-2026-001", title="t", instrument="mou", level="bilateral",
                   countries=["ID"], source="kln", lead_division="AB",
                   received_on=date(2026, 8, 20), status="open", current_step="receive",
                   phase="work", created_at=at, updated_at=at)


async def _add_ab(session: AsyncSession) -> None:
    session.add(Division(code="AB", kind="ab", name_ms="Bahagian Antarabangsa",
                         name_en="International Division"))
    await session.flush()


async def test_times_are_read_back_as_aware_utc(sessions: Sessions) -> None:
    written = datetime(2026, 9, 1, 17, 0, 0, 123456, tzinfo=MYT)
    async with sessions() as session, session.begin():
        await _add_ab(session)
        session.add(_case(written))
    async with sessions() as session:
        row = (await session.exec(select(CaseRow))).one()
    assert row.created_at == written
    assert row.created_at.tzinfo is UTC
    assert row.created_at.hour == 9 and row.created_at.microsecond == 123456


async def test_naive_times_are_refused(sessions: Sessions) -> None:
    async with sessions() as session:
        with pytest.raises(StatementError, match="naive datetime"):
            async with session.begin():
                await _add_ab(session)
                session.add(_case(datetime(2026, 9, 1, 9)))


async def test_the_event_log_is_append_only(sessions: Sessions) -> None:
    async with sessions() as session, session.begin():
        session.add(EventRow(at=datetime.now(UTC), kind="org_imported", data={"users": 1}))
    for statement in (update(EventRow).values(kind="edited"),
                      delete(EventRow).where(col(EventRow.kind) == "org_imported")):
        async with sessions() as session:
            with pytest.raises(DBAPIError, match="append-only"):
                async with session.begin():
                    await session.exec(statement)
    async with sessions() as session:
        assert [e.kind for e in (await session.exec(select(EventRow))).all()] == ["org_imported"]
