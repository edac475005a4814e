"""A page of cases read in SQL, on both databases: the list's order, each filter, the count."""

from __future__ import annotations

from datetime import date

from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.domain.case import CaseStatus, Instrument, Level, Source
from bot.domain.case_filter import CLOSED, CaseFilter
from bot.domain.deadlines import Procedure
from bot.domain.rules import NewCase, Outcome, ResumeWait, StartWait, apply, register_case
from bot.domain.sop import WaitParty
from storage.case_pages import Acting, read_page
from storage.cases import change_case, create_case, load_case
from storage.org import OrgSummary
from tests.builders import AB, KL, OFFICER, at, step_through

NOW = at(date(2026, 9, 8))
EVERY_OPEN_CASE = CaseFilter()


async def make(sessions: async_sessionmaker[AsyncSession], procedure: Procedure, *,
               when: date, until: str = "collect_input", country: str = "ID",
               lead: str = "BKKA", instrument: Instrument = Instrument.MOU) -> str:
    moment = at(when)

    def build(ref: str) -> Outcome:
        new = NewCase(ref, "t", instrument, Level.BILATERAL, (country, "SG"), Source.KLN,
                      lead, when)
        outcome = register_case(new, actor=AB, now=moment, procedure=procedure)
        return Outcome(step_through(procedure, outcome.case, moment, until), outcome.events)

    return (await create_case(sessions=sessions, year=when.year, build=build)).case.ref


async def page(sessions: async_sessionmaker[AsyncSession], found: CaseFilter = EVERY_OPEN_CASE,
               offset: int = 0, limit: int = 10, acting: Acting | None = None
               ) -> tuple[int, int, list[str]]:
    async with sessions() as session, session.begin():
        shown = await read_page(session=session, found=found, now=NOW, tz=KL, offset=offset,
                                limit=limit, acting=acting)
    return shown.total, shown.overdue, [c.ref for c in shown.cases]


async def test_the_lists_order_and_each_filter(sessions: async_sessionmaker[AsyncSession],
                                               org: OrgSummary, procedure: Procedure) -> None:
    soon = await make(sessions, procedure, when=date(2026, 9, 7))  # step 2 due 21 September
    late = await make(sessions, procedure, when=date(2026, 8, 3), lead="BPI")  # 17 August
    # at step 3 since 3 August, its memo due 6 August
    deciding = await make(sessions, procedure, when=date(2026, 8, 3), until="minit_cerai",
                          country="JP")
    later = await make(sessions, procedure, when=date(2026, 9, 8), until="receive",
                       instrument=Instrument.TREATY)
    filed = await make(sessions, procedure, when=date(2026, 3, 2), until="done")
    async with sessions() as session:
        case = await load_case(session=session, ref=deciding)
    assert case is not None and case.phase.value == "work"  # the memo is not submitted yet
    assert await page(sessions) == (4, 2, [deciding, late, later, soon])
    assert (await page(sessions, limit=3, offset=3))[2] == [soon]
    assert (await page(sessions, limit=3, offset=30))[2] == [soon]  # past the end: the last
    assert await page(sessions, CaseFilter(country="JP")) == (1, 1, [deciding])
    assert await page(sessions, CaseFilter(country="SG")) == (4, 2, [deciding, late, later, soon])
    assert await page(sessions, CaseFilter(division="BPI")) == (1, 1, [late])
    # both late: the one due earlier first
    assert await page(sessions, CaseFilter(overdue=True)) == (2, 2, [deciding, late])
    assert (await page(sessions, CaseFilter(instrument=Instrument.TREATY)))[2] == [later]
    assert (await page(sessions, CaseFilter(step="collect_input")))[2] == [late, soon]
    assert (await page(sessions, CaseFilter(level=Level.REGIONAL)))[0] == 0
    assert (await page(sessions, CaseFilter(year=2026, statuses=CLOSED)))[2] == [filed]
    assert (await page(sessions, CaseFilter(
        year=2025, statuses=frozenset({CaseStatus.COMPLETED}))))[0] == 0
    assert (await page(sessions, CaseFilter(year=2026)))[0] == 4  # received in 2026
    assert await page(sessions, CaseFilter(statuses=CLOSED, overdue=True)) == (0, 0, [])
    mine = Acting(lead_steps=("collect_input", "minit_cerai"), division="BKKA")
    assert (await page(sessions, acting=mine))[2] == [deciding, soon]
    assert (await page(sessions, acting=Acting(ab_steps=("receive",))))[2] == [later]
    assert (await page(sessions, acting=Acting()))[0] == 0


async def test_a_step_waiting_on_an_outside_party_is_not_overdue_in_a_list(
        sessions: async_sessionmaker[AsyncSession], org: OrgSummary,
        procedure: Procedure) -> None:
    late = await make(sessions, procedure, when=date(2026, 8, 3), lead="BKKA")  # due 17 Aug
    soon = await make(sessions, procedure, when=date(2026, 9, 7))  # due 21 September

    async def act(action: object) -> None:
        await change_case(sessions=sessions, ref=late, change=lambda case: apply(
            case, action, actor=OFFICER, now=NOW, procedure=procedure))  # type: ignore[arg-type]

    assert await page(sessions) == (2, 1, [late, soon])
    await act(StartWait("collect_input", WaitParty.KLN, "nota"))
    # its clock is stopped: not late, listed after the steps with a date to meet
    assert await page(sessions) == (2, 0, [soon, late])
    assert await page(sessions, CaseFilter(overdue=True)) == (0, 0, [])
    await act(ResumeWait("collect_input"))
    assert await page(sessions) == (2, 1, [late, soon])
