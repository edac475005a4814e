"""The sweep: deliver the outbox. Every message owed (reminders, cards, decisions told,
documents passed on) goes out from here, each at most once, retried until Telegram has it.

The database says what is owed (storage.nudges); the scheduler and every change only wake the
sweep up, and a wake-up that was missed costs nothing because the next one reads what is still
owed. No reminder goes out outside office hours: what came due then waits for the next office
morning; the messages a change causes go out at once.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import os
import socket
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TelegramError
from telegram.ext import ExtBot

from bot.callbacks import Approve, AskMoreTime, Report, encode
from bot.domain.case import Case, StepRun
from bot.domain.clock import waiting
from bot.domain.reminders import MESSAGE_KINDS, NudgeKind
from bot.domain.workload import StepLoad, workload
from bot.i18n import Translator
from bot.messages import step_heading
from bot.pace import Pace
from bot.services import Services
from bot.text import shown_length
from handlers.cards import ab_division, division_name, due_line, due_text, esc, late_text
from handlers.clock_cards import renewal_line, wait_line
from handlers.drawing.chart_child import draw_digest_chart
from handlers.notify import APPROVAL, Delivery, Known, PassDocument, Post, render
from handlers.slips import watch_targets
from storage.boards import board_of, keep_board
from storage.cards import approval_cards, remember_card
from storage.cases import OpenSteps, any_open, documents_by_id, load_cases, open_steps
from storage.gazette import with_gazette
from storage.models import Division, User
from storage.nudges import (
    PER_CHAT,
    Claimed,
    any_due,
    claim_due,
    mark_failed,
    mark_sent_each,
    next_free,
    plan,
    release,
    renew,
)
from storage.org import list_divisions, list_users
from storage.reports import open_counts, step_times_in

log = logging.getLogger(__name__)

LEASE = timedelta(minutes=1)  # SWEEP_LEASE_SECONDS' default: a dead sweeper's rows come back
CLAIM_BATCH = 50  # chats claimed (with every nudge due for them) per round
IN_FLIGHT = 3  # batches being sent at once: a crash holds no more than these
MARK_DELAY = 0.05  # seconds a sent message waits so that other chats' marks share its write
MAX_ROUNDS = 1000  # one sweep's bound, whatever happens
FREE_MARGIN = 0.2  # seconds after a held row's lease runs out that the sweep looks again
TARGETS_EVERY = 3600.0  # seconds between two looks at the target dates' forecasts
DIGEST_LINES = 20  # the rest is a /status away; the message stays under Telegram's limit
WAITING_LINES = 5  # of them, at most this many for the steps waiting on others, listed apart
DIGEST_SAMPLE = 500  # the digest chart's medians: each step's most recent runs this year
MESSAGE_KIND_VALUES = tuple(sorted(kind.value for kind in MESSAGE_KINDS))


def holder_name() -> str:
    """Who claims: this process, recognisably in the log."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


@dataclass
class SweepReport:
    """What one sweep did: for logs, tests and the benchmark."""

    claimed: int = 0
    messages: int = 0
    failed: list[str] = field(default_factory=list)  # targets that cannot be reached
    postponed: int = 0


async def sweep(bot: ExtBot[Any], services: Services, *, holder: str, now: datetime | None = None
                ) -> SweepReport:
    """Send every message due by ``now``, batched per chat; plan the ones they lead to.

    Outside office hours only the messages changes cause go out; reminders wait for the next
    office morning. Claims are made a batch at a time and sent before the next is claimed, so
    a crash delays no more than one batch, by at most the lease.
    """
    now = now or services.now()
    report = SweepReport()
    kinds = None if services.procedure.calendar.is_office_hours(now) else MESSAGE_KIND_VALUES
    async with services.readers() as session:  # a read: SQLite's write lock is not taken
        if not await any_due(session=session, now=now, kinds=kinds):
            return report
    # A batch is claimed while the one before it is still being sent (at Telegram's pace most
    # of a batch's time is waiting), never more than IN_FLIGHT at once: a crash holds no more.
    in_flight = asyncio.Semaphore(IN_FLIGHT)
    sending: list[asyncio.Task[None]] = []

    async def send(claimed: list[Claimed]) -> None:
        # Its place is freed once every chat in it had its first message: what is left are
        # chats' later messages, waiting on their own one-a-second.
        freed = _Once(in_flight.release)
        try:
            await _send_batch(bot, services, holder, claimed, now, report, freed)
        finally:
            freed()

    try:
        for _ in range(MAX_ROUNDS):
            await in_flight.acquire()
            claimed, more = await _claim(services, holder, now, kinds)
            report.claimed += len(claimed)
            if claimed:
                sending.append(asyncio.create_task(send(claimed)))
            else:
                in_flight.release()
            if not more:
                break
    finally:
        await asyncio.gather(*sending)
    return report


def _lease(services: Services) -> timedelta:
    return timedelta(seconds=services.settings.sweep_lease_seconds)


async def _claim(services: Services, holder: str, now: datetime,
                 kinds: tuple[str, ...] | None) -> tuple[list[Claimed], bool]:
    """Claim a batch, and True when another round may find more.

    A sent chase plans the next working day's, which an outage may have made due already:
    those are claimed into the same batch, so that each chat still gets one message.
    """
    planner = services.procedure.planner
    claimed: list[Claimed] = []
    while True:
        async with services.sessions() as session, session.begin():
            batch = await claim_due(session=session, now=now, holder=holder, lease=_lease(services),
                                    limit=CLAIM_BATCH, kinds=kinds)
            following = [n for row in batch for n in planner.following(
                row.nudge(planner.audience(row.kind, row.step)), now)]
            await plan(session=session, nudges=following, now=now)
        claimed.extend(batch)
        per_chat = Counter(row.target for row in batch)
        full = len(per_chat) >= CLAIM_BATCH or max(per_chat.values(), default=0) >= PER_CHAT
        if full or all(n.at > now for n in following):
            return claimed, full


class _Once:
    """Calls ``action`` the first time it is called, never again."""

    def __init__(self, action: Callable[[], object]) -> None:
        self.action: Callable[[], object] | None = action

    def __call__(self) -> None:
        if self.action is not None:
            action, self.action = self.action, None
            action()


async def _send_batch(bot: ExtBot[Any], services: Services, holder: str, claimed: list[Claimed],
                      now: datetime, report: SweepReport,
                      firsts_sent: Callable[[], None] = lambda: None) -> None:
    """Word and send a claimed batch: each chat's messages in order, the chats at once.

    A chat that must wait (a 429) holds back no other: its messages wait for a later sweep.
    """
    by_target: dict[str, list[Claimed]] = defaultdict(list)
    for row in claimed:
        by_target[row.target].append(row)
    context = await _Context.load(services, claimed, now)
    lease = _Lease(services, holder, [row.id for row in claimed])
    marks = _Marks(services, now)
    queues: list[_Queue] = []
    for target, rows in by_target.items():
        chat_id, t = context.chat(target, services)
        if chat_id is None:
            await _give_up(services, [row.id for row in rows], f"{target} has no chat", now)
            report.failed.append(target)
            continue
        queues.append(_Queue(target, chat_id, _parts(rows, chat_id, context, services, t, now)))
    # Each chat in a task of its own, its messages in order; the pace (bot.pace) lets every
    # chat's first message go before any chat's second, and a chat that must wait (a 429, its
    # one message a second) holds back no other.
    waiting = len(queues)

    def first_sent() -> None:
        nonlocal waiting
        waiting -= 1
        if waiting == 0:
            firsts_sent()

    if not queues:
        firsts_sent()
    await asyncio.gather(*(_serve(bot, services, context, queue, now, report, marks, lease,
                                  first_sent) for queue in queues))


@dataclass
class _Queue:
    """A chat's messages still to send in this batch."""

    target: str
    chat_id: int
    parts: list[_Part]


async def _serve(bot: ExtBot[Any], services: Services, context: _Context, queue: _Queue,
                 now: datetime, report: SweepReport, marks: _Marks, lease: _Lease,
                 first_sent: Callable[[], None]) -> None:
    """Send a chat's messages in turn; when one cannot go now, the rest wait with it."""
    once = _Once(first_sent)
    try:
        await _serve_parts(bot, services, context, queue, now, report, marks, lease, once)
    finally:
        once()


async def _serve_parts(bot: ExtBot[Any], services: Services, context: _Context, queue: _Queue,
                       now: datetime, report: SweepReport, marks: _Marks, lease: _Lease,
                       first_sent: Callable[[], None]) -> None:
    for turn, part in enumerate(queue.parts):
        await lease.keep()
        rest = [row.id for waiting in queue.parts[turn + 1:] for row in waiting.rows]
        later = await _deliver(bot, services, context, queue.target, queue.chat_id, part, now,
                               report, marks, turn, rest)
        first_sent()
        if later is None:
            continue
        if rest and later is not _NEVER:  # (a chat that cannot be reached has lost them all)
            await _postpone(services, rest, "waiting for the chat's earlier message", later)
            report.postponed += len(rest)
        return


class _Lease:
    """Renews a batch's claim while it is being sent, so that a slow send is not taken over."""

    def __init__(self, services: Services, holder: str, ids: list[int]) -> None:
        self.services, self.holder, self.ids = services, holder, ids
        self.renewed = time.monotonic()

    async def keep(self) -> None:
        lease = _lease(self.services)
        if time.monotonic() - self.renewed < lease.total_seconds() / 3:
            return
        async with self.services.sessions() as session, session.begin():
            await renew(session=session, ids=self.ids, holder=self.holder,
                        until=self.services.now() + lease)
        self.renewed = time.monotonic()


@dataclass
class _Context:
    """The cases, chats, people and documents a batch of nudges speaks of, loaded once."""

    known: Known
    open_steps: OpenSteps | None  # for the digest, when one is due
    loads: Sequence[StepLoad] | None = None  # the digest chart's figures, when one is due

    @property
    def divisions(self) -> Mapping[str, Division]:
        return self.known.divisions

    @property
    def users(self) -> Mapping[int, User]:
        return self.known.users

    @property
    def cases(self) -> Mapping[str, Case]:
        return self.known.cases

    @classmethod
    async def load(cls, services: Services, claimed: Sequence[Claimed], now: datetime
                   ) -> _Context:
        refs = {row.ref for row in claimed if row.ref}
        document_ids = sorted({row.seq for row in claimed if row.kind is NudgeKind.DOCUMENT})
        edits = sorted({row.ref for row in claimed
                        if row.kind in (NudgeKind.DECIDED, NudgeKind.VOTE)
                        and row.target.startswith("user:")
                        and row.ref})
        async with services.readers() as session:
            cases = await load_cases(session=session, refs=refs)
            divisions = {d.code: d for d in await list_divisions(session=session)}
            users = {u.telegram_id: u for u in await list_users(session=session)}
            documents = await documents_by_id(session=session, ids=document_ids)
            cards = await approval_cards(session=session, refs=edits, kind=APPROVAL)
            listing = any(row.kind in (NudgeKind.DIGEST, NudgeKind.BOARD) for row in claimed)
            steps = (await open_steps(session=session, now=now, first=DIGEST_LINES,
                                      first_waiting=WAITING_LINES) if listing else None)
            if steps is not None:  # what moved each listed due date is said beside it
                listed = {ref for ref, _ in steps.earliest} - set(cases)
                cases = {**cases, **await load_cases(session=session, refs=listed)}
            loads = None
            if any(row.kind is NudgeKind.DIGEST for row in claimed):
                procedure = services.procedure
                year = procedure.calendar.local_date(now).year
                loads = workload(await open_counts(session=session, now=now),
                                 await step_times_in(session=session, year=year,
                                                     keys=procedure.sop.keys,
                                                     per_step=DIGEST_SAMPLE,
                                                     calendar=procedure.calendar),
                                 procedure, year)
        return cls(Known(cases, divisions, users, documents, cards), steps, loads)

    def chat(self, target: str, services: Services) -> tuple[int | None, Translator]:
        """The chat id behind a target, and its language."""
        kind, _, ident = target.partition(":")
        if kind == "division":
            division = self.divisions.get(ident)
            lang = division.language if division else None
            return (division.chat_id if division else None), services.translator(lang)
        user = self.users.get(int(ident)) if ident.lstrip("-").isdigit() else None
        return (user.telegram_id if user else None), services.translator(
            user.language if user else None)


@dataclass(frozen=True)
class _Part:
    """One message to a chat (or one edit) and the rows it delivers."""

    delivery: Delivery | BoardText | DigestChart | None  # None: moot, nothing to send
    rows: list[Claimed]


def _parts(rows: list[Claimed], chat_id: int, context: _Context, services: Services,
           t: Translator, now: datetime) -> list[_Part]:
    """A chat's messages in order: each change's message on its own, the reminders packed."""
    boards = [row for row in rows if row.kind is NudgeKind.BOARD]
    parts = [_Part(render(row, chat_id, context.known, services, t, now), [row])
             for row in rows if row.kind in MESSAGE_KINDS and row.kind is not NudgeKind.BOARD]
    if boards:  # however many minutes' updates are owed, the board is shown once, as it is now
        parts.append(_Part(BoardText(_board(context, services, t, now)), boards))
    reminders = [row for row in rows if row.kind not in MESSAGE_KINDS]
    for text, markup, part in _messages(reminders, context, services, t, now):
        sulit = any(case.is_sulit for row in part
                    if (case := context.cases.get(row.ref or "")) is not None)
        parts.append(_Part(Post(text, markup, protect=sulit) if text else None, part))
    if context.loads is not None and any(row.kind is NudgeKind.DIGEST for row in rows):
        # The digest's picture follows it; it is owed no row of its own (the text is).
        parts.append(_Part(DigestChart(context.loads, t, now.year), []))
    return parts


@dataclass(frozen=True)
class DigestChart:
    """The weekly digest's chart: open cases at each step, and the year's times per step."""

    loads: Sequence[StepLoad]
    t: Translator
    year: int


async def _send_chart(bot: ExtBot[Any], services: Services, chat_id: int, chart: DigestChart,
                      pace: Pace) -> int | None:
    sop_file = services.settings.sop_file
    try:
        png = await draw_digest_chart(chart.loads, str(sop_file) if sop_file else None,
                                      chart.t.lang, chart.year)
    except (RuntimeError, OSError) as error:  # the digest's text went out: the picture waits
        log.error("the digest chart was not sent: %s", error)
        return None
    caption = chart.t.gettext("Open cases at each step, and the working days each step took "
                              "in {year} against the SOP.").format(year=chart.year)
    return (await bot.send_photo(chat_id, png, caption=caption,
                                 rate_limit_args=pace)).message_id


_NEVER = datetime.max.replace(tzinfo=UTC)  # the chat cannot be reached: no retry


async def _deliver(bot: ExtBot[Any], services: Services, context: _Context, target: str,
                   chat_id: int, part: _Part, now: datetime, report: SweepReport, marks: _Marks,
                   turn: int = 0, rest: Sequence[int] = ()) -> datetime | None:
    """Send one part and record it; None when done, else when the chat may be tried again
    (_NEVER: the chat cannot be reached, and this part and the ``rest`` are given up)."""
    ids = [row.id for row in part.rows]
    message_id: int | None
    try:
        if isinstance(part.delivery, BoardText):
            message_id = await _show_board(bot, services, chat_id, part.delivery.text, now,
                                           Pace(retries=0, turn=turn))
        elif isinstance(part.delivery, DigestChart):
            message_id = await _send_chart(bot, services, chat_id, part.delivery,
                                           Pace(retries=0, turn=turn))
        else:
            message_id = await _send(bot, chat_id, part.delivery, Pace(retries=0, turn=turn))
    except RetryAfter as error:  # Telegram asks this chat to wait; the others go on
        retry_at = now + _seconds(error.retry_after)
        await _postpone(services, ids, str(error), retry_at)
        report.postponed += len(ids)
        return retry_at
    except Forbidden as error:
        await _unreachable(services, context, target, [*ids, *rest], str(error), now)
        report.failed.append(target)
        return _NEVER
    except BadRequest as error:
        if "chat not found" in str(error).lower():
            await _unreachable(services, context, target, [*ids, *rest], str(error), now)
            report.failed.append(target)
            return _NEVER
        # Telegram refuses this message as it is: trying again would not help.
        log.error("Telegram refused a message to %s (%s): %s", target,
                  ", ".join(sorted({row.ref or "-" for row in part.rows})), error)
        await _give_up(services, ids, str(error), now)
        return None
    except (NetworkError, TelegramError) as error:  # timeouts, 5xx: try again later
        attempts = max(row.attempts for row in part.rows)
        retry_at = now + timedelta(minutes=min(2 ** attempts, 60))
        await _postpone(services, ids, str(error), retry_at)
        report.postponed += len(ids)
        return retry_at
    card = (part.rows[0] if isinstance(part.delivery, Post) and part.delivery.card
            and message_id else None)
    await marks.sent(ids, message_id, chat_id, card)
    if part.delivery is not None:
        report.messages += 1
    return None


class _Marks:
    """Sent messages marked in batches: many chats' in one transaction, yet no chat with more
    than one message unmarked (its next send waits for the mark), so a crash re-sends at most
    one message a chat."""

    def __init__(self, services: Services, now: datetime) -> None:
        self.services, self.now = services, now
        self._open: _MarkBatch | None = None

    async def sent(self, ids: list[int], message_id: int | None, chat_id: int,
                   card: Claimed | None) -> None:
        """Record one sent message; returns once it is written."""
        batch = self._open
        if batch is None:
            batch = self._open = _MarkBatch()
            batch.task = asyncio.get_running_loop().create_task(self._write(batch))
        batch.sent.append((ids, message_id))
        if card is not None and message_id is not None:
            batch.cards.append((card, chat_id, message_id))
        assert batch.task is not None
        await asyncio.shield(batch.task)

    async def _write(self, batch: _MarkBatch) -> None:
        await asyncio.sleep(MARK_DELAY)  # the other chats' sends under way join this batch
        self._open = None
        async with self.services.sessions() as session, session.begin():
            await mark_sent_each(session=session, sent=batch.sent, now=self.now)
            for row, chat_id, message_id in batch.cards:
                await remember_card(session=session, ref=row.ref or "", kind=APPROVAL,
                                    round=row.round, chat_id=chat_id, message_id=message_id,
                                    sent_at=self.now)


@dataclass
class _MarkBatch:
    sent: list[tuple[list[int], int | None]] = field(default_factory=list)
    cards: list[tuple[Claimed, int, int]] = field(default_factory=list)
    task: asyncio.Task[None] | None = None


async def _send(bot: ExtBot[Any], chat_id: int, delivery: Delivery | None, pace: Pace
                ) -> int | None:
    """Carry out one delivery; the message id sent, if any."""
    if delivery is None:
        return None
    # No retry: a 429 comes straight back here, and only this chat waits.
    if isinstance(delivery, Post):  # a Sulit case's messages are protected
        return (await bot.send_message(chat_id, delivery.text, reply_markup=delivery.markup,
                                       protect_content=delivery.protect or None,
                                       rate_limit_args=pace)).message_id
    if isinstance(delivery, PassDocument):
        return (await bot.send_document(chat_id, delivery.file_id, caption=delivery.caption,
                                        filename=delivery.name, protect_content=True,
                                        rate_limit_args=pace)).message_id
    for message_id in delivery.message_ids:
        try:
            await bot.edit_message_text(delivery.text, chat_id=chat_id, message_id=message_id,
                                        reply_markup=delivery.markup)
        except BadRequest as error:  # edited already (a re-send after a crash), or deleted
            if not any(why in str(error).lower() for why in ("not modified", "not found")):
                raise
    return None


@dataclass(frozen=True)
class BoardText:
    """What a chat's live board shows now."""

    text: str


async def _show_board(bot: ExtBot[Any], services: Services, chat_id: int, text: str,
                      now: datetime, pace: Pace) -> int:
    """Bring the chat's pinned board up to date: edited in place (silently), left alone when
    it already shows this, posted and pinned afresh when it was deleted or unpinned."""
    shown = hashlib.sha256(text.encode()).hexdigest()
    async with services.readers() as session:
        board = await board_of(session=session, chat_id=chat_id)
    if board is not None and board.pinned:
        pinned = (await bot.get_chat(chat_id)).pinned_message
        if pinned is None or pinned.message_id != board.message_id:
            board = None  # unpinned (or deleted): a fresh one is pinned
    if board is not None and board.shown == shown:
        return board.message_id
    if board is not None:
        try:
            await bot.edit_message_text(text, chat_id=chat_id, message_id=board.message_id)
        except BadRequest as error:
            if "not found" not in str(error).lower() and "not modified" not in str(error).lower():
                raise
            board = None if "not found" in str(error).lower() else board
        if board is not None:
            await _keep(services, chat_id, board.message_id, shown, board.pinned, now)
            return board.message_id
    message = await bot.send_message(chat_id, text, disable_notification=True,
                                     rate_limit_args=pace)
    pinned_now = True
    try:
        await bot.pin_chat_message(chat_id, message.message_id, disable_notification=True)
    except BadRequest as error:  # no right to pin here: the board is kept up to date unpinned
        log.warning("cannot pin the board in chat %s: %s", chat_id, error)
        pinned_now = False
    await _keep(services, chat_id, message.message_id, shown, pinned_now, now)
    return message.message_id


async def _keep(services: Services, chat_id: int, message_id: int, shown: str, pinned: bool,
                now: datetime) -> None:
    async with services.sessions() as session, session.begin():
        await keep_board(session=session, chat_id=chat_id, message_id=message_id, shown=shown,
                         pinned=pinned, now=now)


def _seconds(value: int | timedelta) -> timedelta:
    return value if isinstance(value, timedelta) else timedelta(seconds=value)


async def _postpone(services: Services, ids: list[int], error: str, when: datetime) -> None:
    async with services.sessions() as session, session.begin():
        await release(session=session, ids=ids, error=error, retry_at=when)


async def _give_up(services: Services, ids: list[int], error: str, now: datetime) -> None:
    async with services.sessions() as session, session.begin():
        await mark_failed(session=session, ids=ids, error=error, now=now)


async def _unreachable(services: Services, context: _Context, target: str, ids: list[int],
                       error: str, now: datetime) -> None:
    """Record a chat that blocked or lost the bot instead of retrying forever, and tell AB
    through the outbox, in the same transaction (retried like any message, never lost)."""
    log.warning("reminders to %s cannot be delivered: %s", target, error)
    ab = ab_division(context.divisions)
    told = ([] if not ids or ab is None or ab.chat_id is None
            or target == f"division:{ab.code}" else
            [services.procedure.planner.unreachable(target, len(ids), min(ids), now)])
    async with services.sessions() as session, session.begin():
        await mark_failed(session=session, ids=ids, error=error, now=now)
        await plan(session=session, nudges=told, now=now)
    if told:
        services.wake_outbox()


# --- wording -----------------------------------------------------------------------------------

Message = tuple[str, InlineKeyboardMarkup | None, list[Claimed]]
MAX_TEXT = 4096  # Telegram's limit for a message, as shown (shown_length)
MAX_BUTTONS = 100  # Telegram's limit for one message's inline keyboard


BRIEF_TITLE = 24  # characters of a title on a reminder's one-line form


@dataclass(frozen=True)
class _Block:
    """One case's lines and buttons (or the digest), to be packed into messages."""

    text: str
    buttons: list[list[InlineKeyboardButton]]
    rows: list[Claimed]
    brief: str | None = None  # the case on one line, for a chat owed many
    gap: str = "\n\n"  # what sets it apart from the block before


def _messages(rows: list[Claimed], context: _Context, services: Services, t: Translator,
              now: datetime) -> list[Message]:
    """As few messages as fit: every nudge due for one chat in one message, a button per case.

    When the cases' full lines would take more than one message, each case is told on one
    line instead, so that a chat with 50 due cases gets one message with its 100 buttons.
    """
    per_case: dict[str, list[Claimed]] = defaultdict(list)
    blocks: list[_Block] = []
    for row in rows:
        if row.kind is not NudgeKind.DIGEST and row.ref is not None:
            per_case[row.ref].append(row)
    for ref, case_rows in sorted(per_case.items()):
        case = context.cases.get(ref)
        if case is None:  # the case is gone from the database: nothing to say
            blocks.append(_Block("", [], case_rows))
            continue
        blocks.append(_Block(_line(case, case_rows, context, services, t, now),
                             _buttons(case, case_rows, t), case_rows,
                             _brief(case, case_rows, services, t, now)))
    digests = [row for row in rows if row.kind is NudgeKind.DIGEST]
    if digests:
        blocks.append(_Block(_digest(context, services, t, now), [], digests))
    heading = t.gettext("<b>ikabot reminders</b>")
    if shown_length(heading) + sum(shown_length(b.text) + 2 for b in blocks) > MAX_TEXT:
        blocks = [_Block(b.brief, b.buttons, b.rows, gap="\n") if b.brief else b
                  for b in blocks]
    messages: list[Message] = []
    text, size = heading, shown_length(heading)
    buttons: list[list[InlineKeyboardButton]] = []
    part: list[Claimed] = []
    for block in blocks:
        length = shown_length(block.text) + len(block.gap)
        if part and (size + length > MAX_TEXT
                     or _count(buttons) + _count(block.buttons) > MAX_BUTTONS):
            messages.append((_said(text, heading), InlineKeyboardMarkup(buttons)
                             if buttons else None, part))
            text, size, buttons, part = heading, shown_length(heading), [], []
        if block.text:
            text += ("\n\n" if text == heading else block.gap) + block.text
            size += length
        buttons += block.buttons
        part += block.rows
    if part:
        messages.append((_said(text, heading), InlineKeyboardMarkup(buttons) if buttons else None,
                         part))
    return messages


def _said(text: str, heading: str) -> str:
    """The message, or nothing when every nudge in it turned out moot (a wait resumed)."""
    return "" if text == heading else text


def _count(buttons: list[list[InlineKeyboardButton]]) -> int:
    return sum(len(row) for row in buttons)


def _line(case: Case, rows: list[Claimed], context: _Context, services: Services,
          t: Translator, now: datetime) -> str:
    procedure = services.procedure
    run = case.current_run
    kinds = {row.kind for row in rows}
    title = f"<b>{esc(case.ref)}</b> · {esc(case.title)}"
    if NudgeKind.RENEWAL in kinds:
        return renewal_line(case, rows, title, procedure, t)
    if run is None:
        return title
    if NudgeKind.WAITING in kinds:
        wait = waiting(run)
        if wait is None or run.key not in {row.step for row in rows}:
            return ""  # resumed meanwhile: nothing to remind
        return "\n".join([title, esc(step_heading(procedure.sop, run.key, t)),
                          wait_line(wait, t, procedure),
                          t.gettext("Reminder: this step still waits. Once they answer, "
                                    "/resume {ref}.").format(ref=esc(case.ref))])
    step = esc(step_heading(procedure.sop, run.key, t))
    if NudgeKind.DECISION in kinds:
        return "\n".join([title, t.gettext("The Minit Cerai awaits your decision, Ya or Tidak.")])
    lead = esc(division_name(context.divisions.get(case.lead_division), t))
    due, late = due_text(run, t, procedure, case), late_text(run, t, procedure, now) or ""
    if NudgeKind.ESCALATION in kinds:
        head = t.gettext("Escalation: the {division} has not reported this step done. It was "
                         "due {due}, {late}.")
    elif NudgeKind.OVERDUE in kinds:
        head = t.gettext("Overdue since {due}, {late}: please report this step done.")
    elif NudgeKind.DUE_TODAY in kinds:
        head = t.gettext("Due today: {due}.")
    else:
        head = t.gettext("Due soon: {due}.")
    return "\n".join([title, step, head.format(division=lead, due=due, late=late)])


def _brief(case: Case, rows: list[Claimed], services: Services, t: Translator, now: datetime
           ) -> str | None:
    """The case on one line: reference, step, what is due, the title's start. None where only
    the full lines say enough (a wait, a renewal)."""
    run = case.current_run
    kinds = {row.kind for row in rows}
    if run is None or kinds & {NudgeKind.WAITING, NudgeKind.RENEWAL}:
        return None
    procedure = services.procedure
    late = late_text(run, t, procedure, now)
    if NudgeKind.DECISION in kinds:
        state = t.gettext("awaits your Ya or Tidak")
    elif NudgeKind.ESCALATION in kinds:
        state = t.gettext("{late}, not reported by {division}").format(
            late=late or t.gettext("overdue"), division=case.lead_division)
    elif NudgeKind.OVERDUE in kinds:
        state = late or t.gettext("overdue")
    elif NudgeKind.DUE_TODAY in kinds:
        state = t.gettext("due today")
    else:
        state = t.gettext("due {date}").format(
            date=t.format_date(procedure.calendar.local_date(run.due_at), "medium"))
    title = case.title if len(case.title) <= BRIEF_TITLE else (
        case.title[:BRIEF_TITLE - 1].rstrip() + "…")
    step = t.gettext("Step {number}").format(number=procedure.sop.number(run.key))
    return " · ".join([f"<b>{esc(case.ref)}</b>", step, esc(state), esc(title)])


def _buttons(case: Case, rows: list[Claimed], t: Translator) -> list[list[InlineKeyboardButton]]:
    run = case.current_run
    kinds = {row.kind for row in rows}
    if run is None or kinds <= {NudgeKind.ESCALATION, NudgeKind.WAITING, NudgeKind.RENEWAL}:
        return []  # AB is told; the lead division reports
    if NudgeKind.DECISION in kinds:
        return [[
            InlineKeyboardButton(f"Ya · {case.ref}", callback_data=encode(
                Approve(case.ref, case.round, True))),
            InlineKeyboardButton(f"Tidak · {case.ref}", callback_data=encode(
                Approve(case.ref, case.round, False))),
        ]]
    label = t.gettext("✅ Report done: {ref}").format(ref=case.ref)
    more = t.gettext("⏳ More time: {ref}").format(ref=case.ref)
    return [[InlineKeyboardButton(label, callback_data=encode(Report(case.ref, run.key))),
             InlineKeyboardButton(more, callback_data=encode(AskMoreTime(case.ref, run.key)))]]


def _listing(context: _Context, services: Services, t: Translator, now: datetime,
             line: Callable[[str, str, str], str]) -> tuple[OpenSteps, list[str]]:
    """What a digest or a board lists, DIGEST_LINES in all: the steps not waiting, the most
    overdue first, then those waiting on others, apart (their clocks are stopped: not late),
    then how many more. ``line`` words one from its escaped reference, step and due line."""
    procedure, steps = services.procedure, context.open_steps
    assert steps is not None
    waits = steps.waits[:WAITING_LINES]
    earliest = steps.earliest[:DIGEST_LINES - len(waits)]

    def step(run: StepRun) -> str:
        return esc(step_heading(procedure.sop, run.key, t))

    lines = [line(esc(ref), step(run), due_line(run, t, procedure, now, context.cases.get(ref)))
             for ref, run in earliest]
    if waits:
        lines.append(t.gettext("<b>Waiting on others</b>:"))
        lines += [line(esc(ref), step(run), wait_line(wait, t, procedure))
                  for ref, run in waits if (wait := waiting(run)) is not None]
    if steps.open > len(earliest) + len(waits):
        lines.append(t.gettext("…and {n} more: /status lists them all.").format(
            n=steps.open - len(earliest) - len(waits)))
    return steps, lines


def _digest(context: _Context, services: Services, t: Translator, now: datetime) -> str:
    """All open cases, overdue first: what AB reads on Monday morning."""
    steps, lines = _listing(context, services, t, now,
                            lambda ref, step, due: f"{ref} · {step}\n{due}")
    heading = t.ngettext("<b>Weekly digest</b>: {open} open case, {late} overdue.",
                         "<b>Weekly digest</b>: {open} open cases, {late} overdue.",
                         steps.open).format(open=steps.open, late=steps.overdue)
    return "\n\n".join([heading, *lines])


def _board(context: _Context, services: Services, t: Translator, now: datetime) -> str:
    """The open cases, overdue first, one line each, and those waiting on others apart: AB's
    pinned board."""
    steps, lines = _listing(context, services, t, now,
                            lambda ref, step, due: f"<b>{ref}</b> · {step} · {due}")
    heading = t.ngettext("<b>ikabot board</b>: {open} open case, {late} overdue.",
                         "<b>ikabot board</b>: {open} open cases, {late} overdue.",
                         steps.open).format(open=steps.open, late=steps.overdue)
    return "\n".join([heading, *lines])


class Sweeper:
    """Runs the sweep: on every tick, at once when a change has written messages, and when the
    rows a dead sweeper held come free.

    One sweep at a time in this process; a wake-up during a sweep runs another right after it,
    so a message written meanwhile is not left for the next tick. Rows held by a claim after
    a sweep (a dead process's, found at start or at a standby's takeover; this process's own
    when a sweep failed) wake it as their lease runs out: a crash delays what it held by the
    lease, not by the lease and a tick.
    """

    def __init__(self, bot: ExtBot[Any], services: Services) -> None:
        self.bot, self.services, self.holder = bot, services, holder_name()
        self._task: asyncio.Task[None] | None = None
        self._again = False
        self._targets_watched: float | None = None
        self._held = True  # rows may be held by a claim: at start, a dead predecessor's
        self._free_at: asyncio.TimerHandle | None = None

    def wake(self) -> None:
        """Sweep now (or right after the sweep under way)."""
        if self._task is not None and not self._task.done():
            self._again = True
            return
        self._task = asyncio.get_running_loop().create_task(self._run(), name="ikabot-sweep")

    async def run(self) -> None:
        """Sweep now and wait for it."""
        self.wake()
        await self.idle()

    async def idle(self) -> None:
        """Wait for the sweep under way, if any."""
        while self._task is not None and not self._task.done():
            await asyncio.wait({self._task})

    async def _run(self) -> None:
        while True:
            self._again = False
            began = self.services.now()
            try:
                await self._watch_targets()
                await sweep(self.bot, self.services, holder=self.holder)
            except Exception:  # logged; the rows stay owed, and the next tick tries again
                log.exception("the reminder sweep failed")
                self._held = True  # what it had claimed comes free with its lease
            if self._held:
                await self._wake_when_free(began)
            if not self._again:
                return

    async def _wake_when_free(self, began: datetime) -> None:
        """Sweep again when the first row held since the sweep ``began`` comes free (at once
        if it came free while the sweep sent); stop asking once none is held.

        Only one instance serves a database, so held rows appear only at start (or after a
        failed sweep): asked after those sweeps, not on every tick.
        """
        try:
            now = self.services.now()
            async with self.services.readers() as session:
                free = await next_free(session=session, now=now, since=began)
        except Exception:  # logged; the next tick sweeps anyway
            log.exception("cannot read when the held reminders come free")
            return
        self._held = free is not None
        if free is None:
            return
        if self._free_at is not None:
            self._free_at.cancel()
        # A moment after the lease, which a claim compares strictly.
        delay = (free - now).total_seconds() + FREE_MARGIN
        self._free_at = asyncio.get_running_loop().call_later(max(delay, 0.0), self.wake)

    async def _watch_targets(self) -> None:
        """Each hour, warn of forecasts that newly pass a target date (through the outbox)."""
        now = time.monotonic()
        if self._targets_watched is not None and now - self._targets_watched < TARGETS_EVERY:
            return
        self._targets_watched = now
        await watch_targets(self.services)


async def start_sweeping(application: object, services: Services, bot: ExtBot[Any]) -> Sweeper:
    """At start: plan the next digest (and the board's next look), start catching up on what
    came due while down, sweep every SWEEP_INTERVAL_SECONDS (a missed tick is harmless: the
    next reads what is owed) and whenever a change wakes it (``services.wake_outbox``)."""
    now = services.now()
    services.procedure = await with_gazette(sessions=services.sessions,
                                            procedure=services.procedure)
    planner = services.procedure.planner
    async with services.sessions() as session, session.begin():
        # The board's looks plan each other; the first after an upgrade, or with cases open
        # but none changed since, is planned here (kept once if one is planned already).
        looks = [planner.board_check_after(now)] if await any_open(session=session) else []
        await plan(session=session, nudges=[planner.first_digest(now), *looks], now=now)
    sweeper = Sweeper(bot, services)
    services.wake_outbox = sweeper.wake
    # The catch-up runs beside the bot, not before it: a long backlog must not keep it deaf.
    sweeper.wake()

    async def tick(context: object) -> None:
        # `ikabot holidays` may have changed the gazette from another process
        services.procedure = await with_gazette(sessions=services.sessions,
                                                procedure=services.procedure)
        # Woken, not awaited: a long sweep (a burst at Telegram's pace) takes the next tick's
        # place by itself, and the scheduler never has two ticks running.
        sweeper.wake()

    interval = services.settings.sweep_interval_seconds
    job_queue = application.job_queue  # type: ignore[attr-defined]
    job_queue.run_repeating(tick, interval=interval, first=interval, name="sweep",
                            job_kwargs={"misfire_grace_time": None, "coalesce": True,
                                        "max_instances": 1})
    return sweeper
