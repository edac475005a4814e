"""The sweep's queries stay cheap as sent reminders pile up, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import SQLModel

from storage.cases import Sessions, load_cases
from storage.nudges import _ANY_DUE, any_due

NOW = datetime(2026, 10, 7, 2, 0, tzinfo=UTC)


def _row(n: int, due_at: datetime, sent: bool) -> dict[str, object]:
    return {"key": f"digest|{n}", "case_id": None, "step": None, "round": 0, "kind": "digest",
            "day": date(2026, 1, 1), "seq": 0, "target": "division:AB", "due_at": due_at,
            "planned_at": due_at, "claimed_by": None, "claimed_until": None, "attempts": 0,
            "sent_at": due_at if sent else None, "message_id": 1 if sent else None,
            "dropped_at": None, "failed_at": None, "last_error": None}


async def _plan_of_any_due(engine: AsyncEngine) -> str:
    """The database's plan for the idle sweep's question, asked as the sweep asks it."""
    async with engine.connect() as connection:
        sqlite = connection.dialect.name == "sqlite"
        compiled = _ANY_DUE.compile(dialect=connection.dialect)
        now: object = NOW.replace(tzinfo=None).isoformat(" ") if sqlite else NOW
        values = {**compiled.params, "now": now}
        parameters = (tuple(values[name] for name in compiled.positiontup or ()) if sqlite
                      else values)
        explain = "EXPLAIN QUERY PLAN " if sqlite else "EXPLAIN "
        rows = (await connection.exec_driver_sql(explain + str(compiled), parameters)).all()
    return "\n".join(str(row[-1]) for row in rows)


async def test_the_idle_check_reads_the_partial_index_not_the_sent_rows(
        engine: AsyncEngine, sessions: Sessions) -> None:
    # Months of sent reminders, all due long ago, and those pending for the open cases' current
    # steps, all due later: as many rows of each kind as a busy ministry has.
    sent = [_row(n, NOW - timedelta(minutes=n), sent=True) for n in range(1, 6001)]
    pending = [_row(-n, NOW + timedelta(minutes=n), sent=False) for n in range(1, 4001)]
    async with engine.begin() as connection:
        await connection.execute(insert(SQLModel.metadata.tables["nudges"]), sent + pending)
    async with engine.connect() as connection:
        await connection.execution_options(isolation_level="AUTOCOMMIT")
        await connection.exec_driver_sql("ANALYZE")  # statistics that count the sent rows

    plan = await _plan_of_any_due(engine)
    # Statistics say most rows are due by now; with LIMIT 1 PostgreSQL once chose to scan the
    # whole table for the first pending one, and read every sent row to find none.
    assert "ix_nudges_pending_due_at" in plan, plan
    assert "Seq Scan" not in plan and "SCAN nudges" not in plan, plan

    async with sessions() as session:
        assert not await any_due(session=session, now=NOW)
        assert await any_due(session=session, now=NOW + timedelta(minutes=1))


async def test_cases_are_loaded_together_and_the_unknown_left_out(sessions: Sessions) -> None:
    async with sessions() as session:
        assert await load_cases(session=session, refs=["IKA-2026-404"]) == {}
        assert await load_cases(session=session, refs=[]) == {}
