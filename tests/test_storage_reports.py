"""What the reports read from the database: cases in batches, step times, target dates."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.domain.deadlines import Procedure
from bot.domain.rules import Outcome, register_case
from bot.domain.targets import Target
from storage.cases import UnknownCase, case_events, create_case
from storage.models import CaseRow
from storage.org import OrgSummary
from storage.reports import (
    case_batches,
    clear_slip,
    mark_slip_warned,
    open_counts,
    open_only,
    recent_step_times,
    set_target,
    step_times_in,
    targets,
    with_target,
)
from tests.builders import AB, at, new_case, step_through

Sessions = async_sessionmaker[AsyncSession]
NOW = at(date(2026, 9, 1))


async def _register(sessions: Sessions, procedure: Procedure, n: int, *,
                    until: str | None = None) -> list[str]:
    refs = []
    for _ in range(n):
        def build(ref: str) -> Outcome:
            outcome = register_case(new_case(date(2026, 8, 28), ref), actor=AB, now=NOW,
                                    procedure=procedure)
            if until is None:
                return outcome
            walked = step_through(procedure, outcome.case, NOW, until)
            return Outcome(walked, outcome.events)
        refs.append((await create_case(sessions=sessions, year=2026, build=build)).case.ref)
    return refs


async def test_cases_come_in_batches_oldest_first_and_narrowed(
        sessions: Sessions, org: OrgSummary, procedure: Procedure) -> None:
    refs = await _register(sessions, procedure, 5)
    closed = await _register(sessions, procedure, 2, until="none")
    async with sessions() as session:
        batches = [[c.ref for c in b] async for b in case_batches(session=session, batch=2)]
        only_open = [c.ref async for b in case_batches(session=session, narrow=open_only,
                                                        batch=2) for c in b]
        none = [b async for b in case_batches(
            session=session, narrow=lambda s: s.where(col(CaseRow.lead_division) == "BPI"))]
    assert batches == [refs[0:2], refs[2:4], [refs[4], closed[0]], [closed[1]]]
    assert only_open == refs
    assert none == []


async def test_step_times_are_the_most_recent_done_runs(
        sessions: Sessions, org: OrgSummary, procedure: Procedure) -> None:
    await _register(sessions, procedure, 3, until="none")
    await _register(sessions, procedure, 1)
    async with sessions() as session:
        times = await recent_step_times(session=session, keys=procedure.sop.keys,
                                        calendar=procedure.calendar, per_step=2)
        year = await step_times_in(session=session, year=2026, calendar=procedure.calendar)
        before = await step_times_in(session=session, year=2025, calendar=procedure.calendar)
        sampled = await step_times_in(session=session, year=2026, calendar=procedure.calendar,
                                      keys=procedure.sop.keys, per_step=2)
        counts = await open_counts(session=session, now=NOW)
        later = await open_counts(session=session, now=NOW + timedelta(days=30))
    assert times["receive"] == [0, 0]  # three done, the two most recent kept
    assert set(times) == set(procedure.sop.keys)
    # this year: the three completed cases' runs of every step (the open case has done none)
    assert len(year["receive"].took) == 3 and len(year["file_copy"].took) == 3
    # the digest's bounded read: each step's two most recently done runs of the year
    assert len(sampled["receive"].took) == 2 and len(sampled["file_copy"].took) == 2
    assert year["collect_input"].allowed == [10, 10, 10]  # two weeks of office days
    assert before == {}
    assert counts == {"receive": (1, 0)} and later == {"receive": (1, 1)}


async def test_a_target_is_set_with_its_event_and_a_slip_is_remembered(
        sessions: Sessions, org: OrgSummary, procedure: Procedure) -> None:
    [ref] = await _register(sessions, procedure, 1)
    await _register(sessions, procedure, 1)  # a case without a target
    async with sessions() as session, session.begin():
        await set_target(session=session, ref=ref, on=date(2026, 10, 30), by=AB.user_id, now=NOW)
    async with sessions() as session, session.begin():
        await mark_slip_warned(session=session, ref=ref, late=date(2026, 11, 5), now=NOW)
    async with sessions() as session:
        assert await targets(session=session, refs=[ref]) == {
            ref: Target(ref, date(2026, 10, 30), date(2026, 11, 5))}
    async with sessions() as session, session.begin():
        await clear_slip(session=session, ref=ref, now=NOW)
    async with sessions() as session:
        assert (await targets(session=session))[ref].warned_late is None
    async with sessions() as session, session.begin():
        await mark_slip_warned(session=session, ref=ref, late=date(2026, 11, 5), now=NOW)
        # moving the target forgets the warning: the new date gets its own
        await set_target(session=session, ref=ref, on=date(2026, 11, 30), by=AB.user_id, now=NOW)
    async with sessions() as session:
        assert await targets(session=session) == {ref: Target(ref, date(2026, 11, 30))}
        events = [e for e in await case_events(session=session, ref=ref)
                  if e.kind.startswith("target_")]
    assert [(e.kind, e.data) for e in events] == [
        ("target_set", {"target": "2026-10-30", "before": None}),
        ("target_slipped", {"target": "2026-10-30", "late": "2026-11-05"}),
        ("target_back_on", {"target": "2026-10-30"}),
        ("target_slipped", {"target": "2026-10-30", "late": "2026-11-05"}),
        ("target_set", {"target": "2026-11-30", "before": "2026-10-30"})]
    async with sessions() as session:
        targeted = [c.ref async for b in case_batches(
            session=session, narrow=lambda s: with_target(open_only(s))) for c in b]
    assert targeted == [ref]
    async with sessions() as session:
        with pytest.raises(UnknownCase):
            await set_target(session=session, ref="IKA-2026-999", on=date(2026, 1, 1), by=1,
                             now=NOW)
        rows = (await session.exec(select(CaseRow))).all()
    assert len(rows) == 2  # the refused target changed nothing


async def test_status_reuses_a_recent_history_and_an_export_reads_afresh(
        sessions: Sessions, org: OrgSummary, procedure: Procedure) -> None:
    from handlers.reports import HISTORY_TTL, read_history

    assert await read_history(sessions, procedure, now=NOW) == {}
    await _register(sessions, procedure, 1, until="none")
    assert await read_history(sessions, procedure, now=NOW + HISTORY_TTL / 2) == {}
    fresh = await read_history(sessions, procedure)  # an export: no clock, no reuse
    assert fresh["receive"] == [0]
    assert await read_history(sessions, procedure, now=NOW + HISTORY_TTL) == fresh
