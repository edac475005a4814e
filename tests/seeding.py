"""Many open cases written at once, as ``save_outcome`` would write them one by one: for the
burst tests and benchmarks, where registering thousands of cases through the bot would take
the test's whole time."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.domain.case import Instrument, Level, Source
from bot.domain.deadlines import Procedure
from bot.domain.reminders import MESSAGE_KINDS
from bot.domain.rules import CompleteStep, NewCase, Outcome, apply, register_case
from storage.models import CaseCountry, CaseRow, StepRecord
from storage.nudges import plan
from tests.builders import AB


def opened(procedure: Procedure, cases: Iterable[tuple[str, str, str]], now: datetime
           ) -> list[Outcome]:
    """Each (reference, title, lead division) registered by AB at ``now`` and its step 1 done:
    bilateral MoUs with Indonesia, at step 2."""
    outcomes = []
    for ref, title, lead in cases:
        new = NewCase(ref, title, Instrument.MOU, Level.BILATERAL, ("ID",), Source.KLN, lead,
                      now.date())
        registered = register_case(new, actor=AB, now=now, procedure=procedure)
        outcomes.append(registered.then(apply(registered.case, CompleteStep("receive"),
                                              actor=AB, now=now, procedure=procedure)))
    return outcomes


async def store(session: AsyncSession, outcomes: list[Outcome], now: datetime) -> datetime:
    """Write the cases, their step records and their reminders (their cards went out when they
    were registered: what is owed is the reminders); the moment their current step falls due
    (they must share one)."""
    rows = [CaseRow(ref=c.ref, title=c.title, instrument=c.instrument.value,
                    level=c.level.value, countries=list(c.countries), source=c.source.value,
                    lead_division=c.lead_division, received_on=c.received_on,
                    status=c.status.value, current_step=c.current_step, phase=c.phase.value,
                    round=c.round, created_at=now, updated_at=now)
            for c in (o.case for o in outcomes)]
    session.add_all(rows)
    await session.flush()
    session.add_all(CaseCountry(case_id=row.id, country=code)
                    for row in rows for code in row.countries)
    session.add_all(StepRecord(case_id=row.id, step=run.key, round=run.round,
                               started_at=run.started_at, due_at=run.due_at,
                               done_at=run.done_at, done_by=run.done_by, data=run.data)
                    for row, o in zip(rows, outcomes, strict=True) for run in o.case.steps)
    await plan(session=session, nudges=[n for o in outcomes for n in o.nudges
                                        if n.kind not in MESSAGE_KINDS], now=now)
    (due,) = {o.case.current_run.due_at for o in outcomes if o.case.current_run}
    return due
