"""Reminders as rows: planned in the transaction of the change that makes them due, claimed by
one sweeper at a time, marked sent once Telegram has them.

A claim is a lease: a sweeper that dies mid-send leaves its rows to be claimed again when the
lease runs out, so a nudge is sent late rather than never, and at most once more.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import ColumnElement, and_, update
from sqlmodel import col, or_, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.domain.case import Role
from bot.domain.reminders import Audience, Drop, Nudge, NudgeKind
from storage.models import CaseRow, Division, DivisionKind, NudgeRow, User


def nudge_key(nudge: Nudge, target: str) -> str:
    """The unique key of ``nudge`` sent to ``target``."""
    return "|".join([nudge.ref or "-", nudge.step or "-", str(nudge.round), nudge.kind.value,
                     nudge.day.isoformat(), target])


async def _targets(session: AsyncSession, audience: Audience, lead: str | None) -> list[str]:
    """The chats an audience means now: a division's group, or each approver in private."""
    if audience is Audience.LEAD:
        return [f"division:{lead}"] if lead else []
    if audience is Audience.AB:
        code = (await session.exec(select(Division.code).where(
            col(Division.kind) == DivisionKind.AB.value))).first()
        return [f"division:{code}"] if code else []
    users = await session.exec(select(User.telegram_id).where(
        col(User.role) == Role.MANAGEMENT.value, col(User.active)))
    return [f"user:{telegram_id}" for telegram_id in users.all()]


async def _case_ids(session: AsyncSession, refs: Iterable[str]) -> dict[str, tuple[int, str]]:
    wanted = sorted(set(refs))
    if not wanted:
        return {}
    rows = await session.exec(select(CaseRow.ref, CaseRow.id, CaseRow.lead_division).where(
        col(CaseRow.ref).in_(wanted)))
    return {ref: (case_id, lead) for ref, case_id, lead in rows.all() if case_id is not None}


async def plan(*, session: AsyncSession, nudges: Sequence[Nudge], drops: Sequence[Drop] = (),
               now: datetime) -> None:
    """Forget what ``drops`` name, then add ``nudges`` not planned yet, in the caller's transaction.

    A nudge planned again after it was dropped (a due date that moved back) comes back.
    """
    cases = await _case_ids(session, [n.ref for n in nudges if n.ref] + [d.ref for d in drops])
    rows: dict[str, NudgeRow] = {}
    for nudge in nudges:
        case_id, lead = cases.get(nudge.ref, (None, None)) if nudge.ref else (None, None)
        for target in await _targets(session, nudge.audience, lead):
            key = nudge_key(nudge, target)
            rows[key] = NudgeRow(
                key=key, case_id=case_id, step=nudge.step, round=nudge.round,
                kind=nudge.kind.value, day=nudge.day, seq=nudge.seq, target=target,
                due_at=nudge.at, planned_at=now)
    for dropped in drops:
        if dropped.ref not in cases:
            continue
        statement = (update(NudgeRow)
                     .where(col(NudgeRow.case_id) == cases[dropped.ref][0],
                            col(NudgeRow.sent_at).is_(None), col(NudgeRow.dropped_at).is_(None),
                            col(NudgeRow.key).not_in(list(rows)))
                     .values(dropped_at=now))
        if dropped.step is not None:
            statement = statement.where(col(NudgeRow.step) == dropped.step)
        if dropped.kinds is not None:
            statement = statement.where(col(NudgeRow.kind).in_([k.value for k in dropped.kinds]))
        await session.exec(statement)
    if not rows:
        return
    existing = await session.exec(select(NudgeRow).where(col(NudgeRow.key).in_(list(rows))))
    for row in existing.all():
        fresh = rows.pop(row.key)
        if row.sent_at is None and row.dropped_at is not None:
            row.dropped_at, row.due_at = None, fresh.due_at
            session.add(row)
    session.add_all(rows.values())


@dataclass(frozen=True)
class Claimed:
    """A nudge row a sweeper holds, with what it needs to word and re-plan it."""

    id: int
    key: str
    ref: str | None
    step: str | None
    round: int
    kind: NudgeKind
    day: date
    seq: int
    target: str
    due_at: datetime
    attempts: int

    def nudge(self, audience: Audience) -> Nudge:
        """The planned nudge this row came from."""
        return Nudge(self.ref, self.step, self.round, self.kind, self.day, audience,
                     self.due_at, self.seq)


def _pending(now: datetime) -> ColumnElement[bool]:
    return and_(col(NudgeRow.sent_at).is_(None), col(NudgeRow.dropped_at).is_(None),
            col(NudgeRow.failed_at).is_(None), col(NudgeRow.due_at) <= now,
            or_(col(NudgeRow.claimed_until).is_(None), col(NudgeRow.claimed_until) < now))


async def claim_due(*, session: AsyncSession, now: datetime, holder: str, lease: timedelta,
                    limit: int = 500) -> list[Claimed]:
    """Claim up to ``limit`` nudges due by ``now`` that nobody holds, in the caller's transaction.

    On PostgreSQL rows another sweeper is claiming are skipped, not waited for; on SQLite the
    write transaction already keeps sweepers apart.
    """
    statement = (select(NudgeRow, CaseRow.ref)
                 .join(CaseRow, col(NudgeRow.case_id) == col(CaseRow.id), isouter=True)
                 .where(_pending(now))
                 .order_by(col(NudgeRow.due_at), col(NudgeRow.id))
                 .limit(limit)
                 .with_for_update(skip_locked=True, of=NudgeRow))
    found = (await session.exec(statement)).all()
    claimed = []
    for row, ref in found:
        row.claimed_by, row.claimed_until = holder, now + lease
        row.attempts += 1
        session.add(row)
        assert row.id is not None
        claimed.append(Claimed(row.id, row.key, ref, row.step, row.round, NudgeKind(row.kind),
                               row.day, row.seq, row.target, row.due_at, row.attempts))
    return claimed


async def any_due(*, session: AsyncSession, now: datetime) -> bool:
    """True when some nudge is due and free: the idle sweep's one cheap question."""
    statement = select(NudgeRow.id).where(_pending(now)).limit(1)
    return (await session.exec(statement)).first() is not None


async def mark_sent(*, session: AsyncSession, ids: Sequence[int], message_id: int | None,
                    now: datetime) -> None:
    """Telegram has these nudges: never send them again."""
    await session.exec(update(NudgeRow).where(col(NudgeRow.id).in_(list(ids)))
                       .values(sent_at=now, message_id=message_id, claimed_until=None,
                               last_error=None))


async def release(*, session: AsyncSession, ids: Sequence[int], error: str,
                  retry_at: datetime) -> None:
    """Sending failed for now: free the rows to be claimed again from ``retry_at``."""
    await session.exec(update(NudgeRow).where(col(NudgeRow.id).in_(list(ids)))
                       .values(claimed_by=None, claimed_until=retry_at, last_error=error[:500]))


async def mark_failed(*, session: AsyncSession, ids: Sequence[int], error: str,
                      now: datetime) -> None:
    """The chat cannot be reached (blocked, removed): stop trying these nudges."""
    await session.exec(update(NudgeRow).where(col(NudgeRow.id).in_(list(ids)))
                       .values(failed_at=now, claimed_until=None, last_error=error[:500]))


async def rows_for(*, session: AsyncSession, ref: str | None = None) -> list[NudgeRow]:
    """Every nudge row (of one case), oldest due first: for /status, tests and the log."""
    statement = select(NudgeRow).order_by(col(NudgeRow.due_at), col(NudgeRow.id))
    if ref is not None:
        statement = statement.join(CaseRow, col(NudgeRow.case_id) == col(CaseRow.id)).where(
            col(CaseRow.ref) == ref)
    return list((await session.exec(statement)).all())
