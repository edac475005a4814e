"""A database of the last released schema, kept as rows: written once, loaded by the tests.

`python -m tests.upgrade_data` (run at revision 0004, the schema ikabot 0.1.0 shipped) works real
cases through the storage layer, the way the bot does, and saves every row of every table with
what each case looked like, in tests/data/db-0004.json. tests/test_upgrade.py loads those rows
into a database migrated to 0004, upgrades it to the newest schema and checks that every case
reads back the same and can still be worked.
"""

from __future__ import annotations

import asyncio
import json
import sys
import tempfile
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Date, DateTime, MetaData, select, text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.domain.case import Case

PREVIOUS_RELEASE = "0004"
DATA = Path(__file__).resolve().parent / "data" / f"db-{PREVIOUS_RELEASE}.json"


def projection(case: Case) -> dict[str, Any]:
    """What a case must still say after an upgrade: the fields a release never drops."""
    return {
        "ref": case.ref, "title": case.title, "status": case.status.value,
        "current_step": case.current_step, "phase": case.phase.value, "round": case.round,
        "lead_division": case.lead_division, "received_on": case.received_on.isoformat(),
        "countries": list(case.countries),
        "steps": [[r.key, r.round, r.due_at.isoformat(),
                   r.done_at.isoformat() if r.done_at else None, r.done_by] for r in case.steps],
        "inputs": [[i.code, i.round, i.received_at is not None] for i in case.inputs],
        "decisions": [[d.round, d.approved, d.by] for d in case.decisions],
    }


def _jsonable(value: object) -> object:
    if isinstance(value, datetime):  # naive UTC, as SQLite holds it
        return (value.astimezone(UTC) if value.tzinfo else value).replace(tzinfo=None).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return value


def dump_rows(connection: Connection) -> dict[str, list[dict[str, object]]]:
    """Every row of every table but alembic_version, in dependency order."""
    meta = MetaData()
    meta.reflect(connection)
    return {table.name: [{k: _jsonable(v) for k, v in row._mapping.items()}
                         for row in connection.execute(select(table))]
            for table in meta.sorted_tables if table.name != "alembic_version"}


def load_rows(connection: Connection, rows: dict[str, list[dict[str, Any]]]) -> None:
    """Insert the dumped rows into a database at the same schema, sequences set after them."""
    meta = MetaData()
    meta.reflect(connection)
    for table in meta.sorted_tables:
        if table.name not in rows or not rows[table.name]:
            continue
        converted = []
        for row in rows[table.name]:
            values = dict(row)
            for column in table.columns:
                value = values.get(column.name)
                if isinstance(value, str) and isinstance(column.type, DateTime):
                    values[column.name] = datetime.fromisoformat(value).replace(tzinfo=UTC)
                elif isinstance(value, str) and isinstance(column.type, Date):
                    values[column.name] = date.fromisoformat(value)
            converted.append(values)
        connection.execute(table.insert(), converted)
        if connection.dialect.name == "postgresql" and "id" in table.columns:
            connection.execute(text(
                f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), "
                f"(SELECT max(id) FROM \"{table.name}\"))"))


async def _make(engine: AsyncEngine) -> dict[str, Any]:
    from bot.domain.case import Role
    from bot.domain.rules import (
        Close,
        Decide,
        RequestInputs,
        Revise,
        SubmitMemo,
        TickInput,
        Withdraw,
    )
    from storage.cases import add_document, load_case
    from storage.db import session_factory
    from storage.invites import create_invite, redeem_invite
    from storage.migrate import current_revision, upgrade
    from storage.org import import_org
    from tests.builders import procedure
    from tests.conftest import ORG_EXAMPLE
    from tests.test_storage_cases import AB, MANAGER, OFFICER, Clock, act, register, walk

    await upgrade(engine)
    assert await current_revision(engine) == PREVIOUS_RELEASE, "run this at the 0.1.0 schema"
    sessions = session_factory(engine)
    await import_org(ORG_EXAMPLE, session_factory=sessions)
    proc, clock = procedure(), Clock()
    refs = []
    for until in (None, "collect_input", "minit_cerai", "negotiate", "file_copy"):
        case = (await register(sessions, proc, clock)).case
        refs.append((await walk(sessions, proc, clock, case, until)).ref)
    # Filed whole, half-way through the inputs, a Minit Cerai waiting for a decision, at the
    # negotiation, at filing; Tidak then revised, Tidak then closed, just registered, withdrawn;
    # a document, an invitation used.
    _, at_inputs, at_memo, at_negotiation, _ = refs
    await act(sessions, proc, at_inputs, RequestInputs(("PDRM", "AGC")), OFFICER, clock())
    await act(sessions, proc, at_inputs, TickInput("PDRM"), OFFICER, clock())
    await act(sessions, proc, at_memo, SubmitMemo("first memo"), OFFICER, clock())
    for then in ("revise", "close"):
        case = (await register(sessions, proc, clock)).case
        case = await walk(sessions, proc, clock, case, "minit_cerai")
        await act(sessions, proc, case.ref, SubmitMemo(), OFFICER, clock())
        await act(sessions, proc, case.ref, Decide(False, "needs PUU's view"), MANAGER, clock())
        change = Revise("collect_input", "ask PUU") if then == "revise" else Close("no")
        await act(sessions, proc, case.ref, change, OFFICER, clock())
        refs.append(case.ref)
    refs.append((await register(sessions, proc, clock)).case.ref)  # just registered
    async with sessions() as session, session.begin():
        await add_document(session=session, ref=refs[0], step="send_outcome",
                           telegram_file_id="BQACAgUAAx0", file_unique_id="AgADxyz",
                           name="MoU signed.pdf", sha256="ab" * 32, uploaded_by=2001,
                           uploaded_at=clock(), mime_type="application/pdf", size=12345,
                           stored_path=f"documents/{refs[0]}/abababababababab-MoU_signed.pdf")
        code, _ = await create_invite(session=session, role=Role.OFFICER, division="BKKA",
                                      name="Nur Aisyah", created_by=9001, now=clock(),
                                      ttl=timedelta(days=3))
    async with sessions() as session, session.begin():
        await redeem_invite(session=session, code=code, telegram_id=2010, language="ms",
                            now=clock())
    withdrawn = (await register(sessions, proc, clock)).case
    await act(sessions, proc, withdrawn.ref, Withdraw("KLN withdrew"), AB, clock())
    refs.append(withdrawn.ref)
    del at_negotiation
    async with sessions() as session:
        cases = {ref: projection(c) for ref in refs
                 if (c := await load_case(session=session, ref=ref)) is not None}
    async with engine.connect() as connection:
        rows = await connection.run_sync(dump_rows)
    return {"revision": PREVIOUS_RELEASE, "cases": cases, "rows": rows}


async def main() -> None:
    from storage.db import make_engine

    with tempfile.TemporaryDirectory() as tmp:
        engine = make_engine(f"sqlite+aiosqlite:///{Path(tmp) / 'ikabot.db'}")
        try:
            data = await _make(engine)
        finally:
            await engine.dispose()
    DATA.write_text(json.dumps(data, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    print(f"wrote {DATA}: {len(data['cases'])} cases, "
          f"{sum(len(r) for r in data['rows'].values())} rows", file=sys.stderr)


if __name__ == "__main__":
    asyncio.run(main())
