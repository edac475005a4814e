"""The outbox: every message owed (reminders, cards, decisions told) as rows, planned in the
transaction of the change that makes them due, claimed by one sweeper at a time, marked sent
once Telegram has them.

A claim is a lease: a sweeper that dies mid-send leaves its rows to be claimed again when the
lease runs out, so a message is sent late rather than never, and at most once more.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import BindParameter, ColumnElement, and_, bindparam, func, update
from sqlalchemy import case as case_when
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import SQLModel, col, or_, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.domain.absence import approvers_on
from bot.domain.case import Role
from bot.domain.reminders import LASTING_KINDS, SEQ_KEYED_KINDS, Audience, Drop, Nudge, NudgeKind
from storage import absences  # as a module: recording an absence re-plans through this one
from storage.models import CaseRow, Division, DivisionKind, NudgeRow, User

# PostgreSQL's advisory lock around a claim ("ikanud" in ASCII), held until the claim commits.
CLAIM_LOCK_KEY = int.from_bytes(b"ikanud", "big")


def nudge_key(nudge: Nudge, target: str) -> str:
    """The unique key of ``nudge`` sent to ``target``."""
    parts = [nudge.ref or "-", nudge.step or "-", str(nudge.round), nudge.kind.value,
             nudge.day.isoformat(), target]
    if nudge.kind in SEQ_KEYED_KINDS:  # two requests for more time, or boards, in one day
        parts.append(str(nudge.seq))
    return "|".join(parts)


async def _targets(session: AsyncSession, audience: Audience, lead: str | None,
                   day: date, person: int | None = None) -> list[str]:
    """The chats an audience means on ``day``: a division's group, one active user in
    private, or each approver in private (the one acting for an approver who is away that
    day)."""
    if audience is Audience.LEAD:
        return [f"division:{lead}"] if lead else []
    if audience is Audience.PERSON:
        user = await session.get(User, person) if person is not None else None
        return [f"user:{person}"] if user is not None and user.active else []
    if audience is Audience.AB:
        code = (await session.exec(select(Division.code).where(
            col(Division.kind) == DivisionKind.AB.value))).first()
        return [f"division:{code}"] if code else []
    users = await session.exec(select(User.telegram_id).where(
        col(User.role) == Role.MANAGEMENT.value, col(User.active)))
    approvers = list(users.all())
    away = await absences.absences_on(session=session, day=day)
    return [f"user:{telegram_id}" for telegram_id in approvers_on(day, approvers, away)]


async def _case_ids(session: AsyncSession, refs: Iterable[str]) -> dict[str, tuple[int, str]]:
    wanted = sorted(set(refs))
    if not wanted:
        return {}
    rows = await session.exec(select(CaseRow.ref, CaseRow.id, CaseRow.lead_division).where(
        col(CaseRow.ref).in_(wanted)))
    return {ref: (case_id, lead) for ref, case_id, lead in rows.all() if case_id is not None}


_LASTING = sorted(kind.value for kind in LASTING_KINDS)


async def plan(*, session: AsyncSession, nudges: Sequence[Nudge], drops: Sequence[Drop] = (),
               now: datetime) -> None:
    """Forget what ``drops`` name, then add ``nudges`` not planned yet, in the caller's transaction.

    A nudge planned again after it was dropped (a due date that moved back) comes back.
    """
    cases = await _case_ids(session, [n.ref for n in nudges if n.ref] + [d.ref for d in drops])
    rows: dict[str, dict[str, Any]] = {}  # the new rows' values, by key
    # looked up once per plan (approvers once per day: who acts for whom changes by the day)
    chats: dict[tuple[Audience, str | None, date | None, int | None], list[str]] = {}
    for nudge in nudges:
        case_id, lead = cases.get(nudge.ref, (None, None)) if nudge.ref else (None, None)
        audience = (nudge.audience, lead if nudge.audience is Audience.LEAD else None,
                    nudge.day if nudge.audience is Audience.APPROVERS else None,
                    nudge.person if nudge.audience is Audience.PERSON else None)
        if audience not in chats:
            chats[audience] = await _targets(session, nudge.audience, lead, nudge.day,
                                             nudge.person)
        for target in chats[audience]:
            key = nudge_key(nudge, target)
            rows[key] = {
                "key": key, "case_id": case_id, "step": nudge.step, "round": nudge.round,
                "kind": nudge.kind.value, "day": nudge.day, "seq": nudge.seq,
                "note": nudge.note, "target": target,
                "due_at": nudge.at, "planned_at": now, "claimed_by": None,
                "claimed_until": None, "attempts": 0, "sent_at": None, "message_id": None,
                "dropped_at": None, "failed_at": None, "last_error": None}
    for dropped in drops:
        if dropped.ref not in cases:
            continue
        statement = (update(NudgeRow)
                     .where(col(NudgeRow.case_id) == cases[dropped.ref][0],
                            col(NudgeRow.sent_at).is_(None), col(NudgeRow.dropped_at).is_(None),
                            col(NudgeRow.kind).not_in(_LASTING),
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
            row.dropped_at, row.due_at = None, fresh["due_at"]
            session.add(row)
    if rows:
        # One INSERT for them all: a morning's chases after a burst are hundreds of rows. A row
        # another change planned meanwhile (two changes' board at the same minute) is the same
        # message: kept once, and neither change fails for it.
        connection = await session.connection()
        upsert = pg_insert if connection.dialect.name == "postgresql" else sqlite_insert
        table = SQLModel.metadata.tables[NudgeRow.__tablename__]
        await session.exec(upsert(table).on_conflict_do_nothing(index_elements=[table.c.key]),
                           params=list(rows.values()))


# What goes to whoever decides on its day: an approver, or the one acting for them. (A
# decision or a vote edits the cards where they were sent, whoever acts since.)
_TO_WHOEVER_DECIDES = sorted(kind.value for kind in (NudgeKind.ASK, NudgeKind.DECISION))


async def retarget_approvers(*, session: AsyncSession, now: datetime) -> None:
    """Who acts for whom changed (an absence recorded, replaced or ended): the Ya/Tidak cards
    and decision chases not yet sent go to whoever decides on their day, in the caller's
    transaction. A row for someone away now is dropped, one for the one acting added; one
    dropped for someone now back comes back.

    Only the approvers' pending rows are read: a few per case awaiting a decision.
    """
    pending = (await session.exec(select(NudgeRow).where(
        col(NudgeRow.kind).in_(_TO_WHOEVER_DECIDES), col(NudgeRow.sent_at).is_(None),
        col(NudgeRow.dropped_at).is_(None), col(NudgeRow.failed_at).is_(None),
        col(NudgeRow.case_id).is_not(None)))).all()
    case_ids = sorted({row.case_id for row in pending if row.case_id is not None})
    if not case_ids:
        return
    refs = dict((await session.exec(select(CaseRow.id, CaseRow.ref).where(
        col(CaseRow.id).in_(case_ids)))).all())
    held: dict[Nudge, list[NudgeRow]] = {}
    for row in pending:
        nudge = Nudge(refs[row.case_id], row.step, row.round, NudgeKind(row.kind), row.day,
                      Audience.APPROVERS, row.due_at, row.seq, row.note)
        held.setdefault(nudge, []).append(row)
    await plan(session=session, nudges=list(held), now=now)  # the ones acting now, and back
    chats: dict[date, set[str]] = {}
    for nudge, rows in held.items():
        if nudge.day not in chats:
            chats[nudge.day] = set(await _targets(session, Audience.APPROVERS, None, nudge.day))
        for row in rows:
            if row.target not in chats[nudge.day]:
                row.dropped_at = now
                session.add(row)
    await session.flush()


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
    note: str | None = None

    def nudge(self, audience: Audience) -> Nudge:
        """The planned nudge this row came from."""
        return Nudge(self.ref, self.step, self.round, self.kind, self.day, audience,
                     self.due_at, self.seq, self.note)


def _pending(now: datetime | BindParameter[datetime],
             kinds: Sequence[str] | None = None) -> ColumnElement[bool]:
    pending = and_(col(NudgeRow.sent_at).is_(None), col(NudgeRow.dropped_at).is_(None),
                   col(NudgeRow.failed_at).is_(None), col(NudgeRow.due_at) <= now,
                   or_(col(NudgeRow.claimed_until).is_(None), col(NudgeRow.claimed_until) < now))
    return pending if kinds is None else and_(pending, col(NudgeRow.kind).in_(kinds))


PER_CHAT = 200  # a chat's nudges in one claim: four full messages (50 cases each) or more


async def claim_due(*, session: AsyncSession, now: datetime, holder: str, lease: timedelta,
                    limit: int = 100, kinds: Sequence[str] | None = None,
                    per_chat: int = PER_CHAT) -> list[Claimed]:
    """Claim what is due by ``now`` and free, whole chats at a time, in the caller's transaction.

    The ``limit`` chats whose nudges fell due first are claimed with every nudge due for them
    (up to ``per_chat`` each, the earliest: a claim is bounded, whatever an outage left due),
    so that a chat's nudges go out together, in as few messages as hold them. Claims are made
    one at a time (an advisory lock held until the caller commits on PostgreSQL, the write
    transaction on SQLite) so that two sweepers never split a chat between them; a row some
    other transaction holds (a change dropping it) is skipped, not waited for. ``kinds``
    narrows the claim (outside office hours only the messages changes cause go out).
    """
    connection = await session.connection()
    if connection.dialect.name == "postgresql":
        await session.exec(select(func.pg_advisory_xact_lock(CLAIM_LOCK_KEY)))
    first = (select(NudgeRow.target).where(_pending(now, kinds))
             .group_by(col(NudgeRow.target))
             .order_by(func.min(col(NudgeRow.due_at)), func.min(col(NudgeRow.id))).limit(limit))
    targets = sorted((await session.exec(first)).all())
    if not targets:
        return []
    place = func.row_number().over(partition_by=col(NudgeRow.target),
                                   order_by=(col(NudgeRow.due_at), col(NudgeRow.id)))
    ranked = (select(col(NudgeRow.id).label("id"), place.label("place"))
              .where(_pending(now, kinds), col(NudgeRow.target).in_(targets)).subquery())
    statement = (select(NudgeRow)
                 .where(_pending(now, kinds),  # checked again on a row another change touched
                        col(NudgeRow.id).in_(select(ranked.c.id)
                                             .where(ranked.c.place <= per_chat)))
                 .order_by(col(NudgeRow.due_at), col(NudgeRow.id))
                 .with_for_update(skip_locked=True))
    rows = (await session.exec(statement)).all()
    # The cases' references apart, by key: joined to the nudges without a LIMIT, PostgreSQL
    # (which expects most rows to be due, the sent ones counted) hashed all of cases (32 ms).
    case_ids = sorted({row.case_id for row in rows if row.case_id is not None})
    refs = dict((await session.exec(select(CaseRow.id, CaseRow.ref).where(
        col(CaseRow.id).in_(case_ids)))).all()) if case_ids else {}
    claimed = [Claimed(row.id, row.key, refs.get(row.case_id) if row.case_id else None,
                       row.step, row.round, NudgeKind(row.kind), row.day, row.seq, row.target,
                       row.due_at, row.attempts + 1, row.note)
               for row in rows if row.id is not None]
    if claimed:
        # One statement for the lot, not one per row: they are locked (PostgreSQL) or the
        # file is (SQLite) until the caller commits.
        await session.exec(update(NudgeRow)
                           .where(col(NudgeRow.id).in_([row.id for row in claimed]))
                           .values(claimed_by=holder, claimed_until=now + lease,
                                   attempts=col(NudgeRow.attempts) + 1)
                           .execution_options(synchronize_session=False))
    return claimed


# ORDER BY due_at keeps PostgreSQL on the partial index. Without it, LIMIT 1 and statistics
# that count the sent rows (all of them due long ago) make a sequential scan look cheaper: it
# read the whole table to find nothing (12 ms at 10,000 cases, 0.05 ms through the index).
_ANY_DUE = (select(NudgeRow.id).where(_pending(bindparam("now")))
            .order_by(col(NudgeRow.due_at)).limit(1))


@functools.cache
def _any_due_of(kinds: tuple[str, ...]) -> Any:
    return (select(NudgeRow.id).where(_pending(bindparam("now"), kinds))
            .order_by(col(NudgeRow.due_at)).limit(1))


async def any_due(*, session: AsyncSession, now: datetime,
                  kinds: Sequence[str] | None = None) -> bool:
    """True when some nudge (of ``kinds``) is due and free: the idle sweep's one question."""
    # Built once, run through the session's connection: the ORM has no rows to make here, and
    # the question is asked every SWEEP_INTERVAL_SECONDS.
    connection = await session.connection()
    statement = _ANY_DUE if kinds is None else _any_due_of(tuple(sorted(kinds)))
    return await connection.scalar(statement, {"now": now}) is not None


async def next_free(*, session: AsyncSession, now: datetime,
                    since: datetime | None = None) -> datetime | None:
    """When the first due row held by a claim (a dead sweeper's, or one whose sending failed)
    after ``since`` comes free: the moment to sweep again, rather than the next tick.

    ``since`` is when the sweep that asks began: a row held then, and free by now (its lease
    ran out while the sweep sent), is owed a sweep at once, so the moment may be past. Rows
    already free when it began are not counted: that sweep could have claimed them. Read
    through the pending rows' index, due ones only: a claimed row was due when claimed.
    """
    held = (select(func.min(col(NudgeRow.claimed_until)))
            .where(col(NudgeRow.sent_at).is_(None), col(NudgeRow.dropped_at).is_(None),
                   col(NudgeRow.failed_at).is_(None), col(NudgeRow.due_at) <= now,
                   col(NudgeRow.claimed_by).is_not(None),
                   col(NudgeRow.claimed_until) > (now if since is None else since)))
    return (await session.exec(held)).one()


async def renew(*, session: AsyncSession, ids: Sequence[int], holder: str,
                until: datetime) -> None:
    """Keep holding these claimed rows until ``until``: the sweeper is still sending them."""
    await session.exec(update(NudgeRow)
                       .where(col(NudgeRow.id).in_(list(ids)), col(NudgeRow.claimed_by) == holder,
                              col(NudgeRow.sent_at).is_(None))
                       .values(claimed_until=until))


async def mark_sent_each(*, session: AsyncSession, sent: Sequence[tuple[Sequence[int], int | None]],
                         now: datetime) -> None:
    """Several messages Telegram has, each (its rows' ids, its message id): one statement."""
    message_of = {row_id: message_id for ids, message_id in sent for row_id in ids
                  if message_id is not None}
    ids = [row_id for row_ids, _ in sent for row_id in row_ids]
    if not ids:
        return
    message_id: Any = (case_when(message_of, value=col(NudgeRow.id)) if message_of else None)
    await session.exec(update(NudgeRow).where(col(NudgeRow.id).in_(ids))
                       .values(sent_at=now, message_id=message_id, claimed_until=None,
                               last_error=None)
                       .execution_options(synchronize_session=False))


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
