"""Upgrading from the last released schema (0004, ikabot 0.1.0) keeps every case workable."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from sqlalchemy.engine import URL
from sqlmodel import func, select

from bot.domain.deadlines import Procedure
from bot.domain.rules import Decide, register_case
from storage.cases import create_case, load_case
from storage.db import make_engine, session_factory
from storage.migrate import current_revision, head_revision, upgrade
from storage.models import CaseCountry, CaseRow, Document, EventRow, User
from tests.builders import new_case
from tests.test_cli import _clean_env
from tests.test_storage_cases import AB, MANAGER, Clock, act
from tests.test_storage_migrations import _diff
from tests.upgrade_data import DATA, PREVIOUS_RELEASE, load_rows, projection


def _stored() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(DATA.read_text(encoding="utf-8"))
    assert data["revision"] == PREVIOUS_RELEASE
    return data


async def test_db_upgrade_from_the_last_release_keeps_every_case(
        blank_database_url: URL, procedure: Procedure, tmp_path: Path) -> None:
    data = _stored()
    engine = make_engine(blank_database_url)
    try:
        await upgrade(engine, PREVIOUS_RELEASE)
        async with engine.begin() as connection:
            await connection.run_sync(load_rows, data["rows"])

        # What an operator runs after `pip install` of the new version.
        url = blank_database_url.render_as_string(hide_password=False)
        result = subprocess.run([sys.executable, "-m", "bot", "db", "upgrade"], cwd=tmp_path,
                                env=_clean_env(DATABASE_URL=url), capture_output=True,
                                text=True, timeout=180, check=False)
        assert result.returncode == 0, result.stderr
        head = head_revision()
        said = ("up to date (revision 0004)" if head == PREVIOUS_RELEASE
                else f"upgraded from revision {PREVIOUS_RELEASE} to {head}")
        assert said in result.stdout
        assert await current_revision(engine) == head
        assert await _diff(engine) == []  # exactly the schema the models describe

        sessions = session_factory(engine)
        async with sessions() as session:
            for ref, expected in data["cases"].items():
                case = await load_case(session=session, ref=ref)
                assert case is not None and projection(case) == expected
            events = (await session.exec(select(func.count()).select_from(EventRow))).one()
            users = (await session.exec(select(func.count()).select_from(User))).one()
            documents = (await session.exec(select(Document))).all()
            # 0010 indexed every case's countries from the lists the rows keep.
            listed = {(row.id, code) for row in (await session.exec(select(CaseRow))).all()
                      for code in row.countries}
            indexed = set((await session.exec(
                select(CaseCountry.case_id, CaseCountry.country))).all())
        assert events >= len(data["rows"]["events"]) and users == len(data["rows"]["users"])
        assert [d.sha256 for d in documents] == [d["sha256"] for d in data["rows"]["documents"]]
        assert listed and indexed == listed

        # And the cases go on: a waiting decision is taken, a new case gets the next number.
        waiting = next(ref for ref, c in data["cases"].items()
                       if c["phase"] == "awaiting_decision")
        decided = await act(sessions, procedure, waiting, Decide(True), MANAGER, Clock()())
        assert decided.case.current_step == "prep_meeting"
        now = Clock()()
        created = await create_case(sessions=sessions, year=2026, build=lambda ref: register_case(
            new_case(ref=ref), actor=AB, now=now, procedure=procedure))
        assert created.case.ref == f"IKA-2026-{len(data['cases']) + 1:03d}"
    finally:
        await engine.dispose()
