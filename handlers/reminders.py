"""The sweep: send the nudges that are due, one message per chat, each at most once.

The database says what is owed (storage.nudges); the scheduler only wakes the sweep up, and a
tick that was missed costs nothing because the next one reads what is still owed. Nothing goes
out outside office hours: what came due then waits for the next office morning.
"""

from __future__ import annotations

import logging
import os
import socket
import uuid
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TelegramError

from bot.callbacks import Approve, Report, encode
from bot.domain.case import Case
from bot.domain.reminders import NudgeKind
from bot.i18n import Translator
from bot.messages import step_heading
from bot.services import Services
from handlers.cards import ab_division, division_name, due_line, due_text, esc, late_text
from storage.cases import OpenSteps, load_cases, open_steps
from storage.models import Division, User
from storage.nudges import Claimed, any_due, claim_due, mark_failed, mark_sent, plan, release
from storage.org import list_divisions, list_users

log = logging.getLogger(__name__)

LEASE = timedelta(minutes=5)  # a claim outlives any send; a dead sweeper's rows come back
CLAIM_BATCH = 500  # nudges claimed per transaction
DIGEST_LINES = 20  # the rest is a /status away; the message stays under Telegram's limit


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


async def sweep(bot: Bot, services: Services, *, holder: str, now: datetime | None = None
                ) -> SweepReport:
    """Send every nudge due by ``now``, batched per chat; plan the ones they lead to."""
    now = now or services.now()
    report = SweepReport()
    if not services.procedure.calendar.is_office_hours(now):
        return report
    async with services.sessions() as session:
        if not await any_due(session=session, now=now):
            return report
    claimed = await _claim_all(services, holder, now)
    report.claimed = len(claimed)
    by_target: dict[str, list[Claimed]] = defaultdict(list)
    for row in claimed:
        by_target[row.target].append(row)
    context = await _Context.load(services, claimed, now)
    for target, rows in by_target.items():
        await _deliver(bot, services, context, target, rows, now, report)
    return report


async def _claim_all(services: Services, holder: str, now: datetime) -> list[Claimed]:
    """Claim what is due; a sent chase plans tomorrow's, which an outage may make due too."""
    planner = services.procedure.planner
    claimed: list[Claimed] = []
    while True:
        async with services.sessions() as session, session.begin():
            batch = await claim_due(session=session, now=now, holder=holder, lease=LEASE,
                                    limit=CLAIM_BATCH)
            following = [n for row in batch
                         for n in planner.following(
                             row.nudge(planner.audience(row.kind, row.step)))]
            await plan(session=session, nudges=following, now=now)
        claimed.extend(batch)
        # Another round only when this one may have left some: a full batch, or chases it
        # planned that are due already.
        if len(batch) < CLAIM_BATCH and all(n.at > now for n in following):
            return claimed


@dataclass
class _Context:
    """The cases, chats and people a batch of nudges speaks of, loaded once."""

    cases: Mapping[str, Case]
    divisions: Mapping[str, Division]
    users: Mapping[int, User]
    open_steps: OpenSteps | None  # for the digest, when one is due

    @classmethod
    async def load(cls, services: Services, claimed: Sequence[Claimed], now: datetime
                   ) -> _Context:
        async with services.sessions() as session:
            cases = await load_cases(session=session, refs=(row.ref for row in claimed if row.ref))
            divisions = {d.code: d for d in await list_divisions(session=session)}
            users = {u.telegram_id: u for u in await list_users(session=session)}
            digest = any(row.kind is NudgeKind.DIGEST for row in claimed)
            steps = (await open_steps(session=session, now=now, first=DIGEST_LINES) if digest
                     else None)
        return cls(cases, divisions, users, steps)

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


async def _deliver(bot: Bot, services: Services, context: _Context, target: str,
                   rows: list[Claimed], now: datetime, report: SweepReport) -> None:
    chat_id, t = context.chat(target, services)
    ids = [row.id for row in rows]
    if chat_id is None:
        await _give_up(services, ids, f"{target} has no chat", now)
        report.failed.append(target)
        return
    for text, markup, part in _messages(rows, context, services, t, now):
        part_ids = [row.id for row in part]
        try:
            message = await bot.send_message(chat_id, text, reply_markup=markup)
        except RetryAfter as error:  # the rate limiter already waited and retried
            await _postpone(services, part_ids, str(error), now + _seconds(error.retry_after))
            report.postponed += len(part)
        except Forbidden as error:
            await _unreachable(bot, services, context, target, part_ids, str(error), now)
            report.failed.append(target)
            return
        except BadRequest as error:
            if "chat not found" not in str(error).lower():
                raise
            await _unreachable(bot, services, context, target, part_ids, str(error), now)
            report.failed.append(target)
            return
        except (NetworkError, TelegramError) as error:  # timeouts, 5xx: try again later
            attempts = max(row.attempts for row in part)
            await _postpone(services, part_ids, str(error),
                            now + timedelta(minutes=min(2 ** attempts, 60)))
            report.postponed += len(part)
        else:
            async with services.sessions() as session, session.begin():
                await mark_sent(session=session, ids=part_ids, message_id=message.message_id,
                                now=now)
            report.messages += 1


def _seconds(value: int | timedelta) -> timedelta:
    return value if isinstance(value, timedelta) else timedelta(seconds=value)


async def _postpone(services: Services, ids: list[int], error: str, when: datetime) -> None:
    async with services.sessions() as session, session.begin():
        await release(session=session, ids=ids, error=error, retry_at=when)


async def _give_up(services: Services, ids: list[int], error: str, now: datetime) -> None:
    async with services.sessions() as session, session.begin():
        await mark_failed(session=session, ids=ids, error=error, now=now)


async def _unreachable(bot: Bot, services: Services, context: _Context, target: str,
                       ids: list[int], error: str, now: datetime) -> None:
    """Record a chat that blocked or lost the bot, and tell AB, instead of retrying forever."""
    await _give_up(services, ids, error, now)
    log.warning("reminders to %s cannot be delivered: %s", target, error)
    ab = ab_division(context.divisions)
    if ab is None or ab.chat_id is None or target == f"division:{ab.code}":
        return
    t = services.translator(ab.language)
    kind, _, ident = target.partition(":")
    who = (division_name(context.divisions.get(ident), t) if kind == "division"
           else (context.users[int(ident)].name if int(ident) in context.users else ident))
    text = t.ngettext("ikabot cannot reach {who} (the bot was blocked or removed), so {n} "
                      "reminder was not delivered. Please check the chat.",
                      "ikabot cannot reach {who} (the bot was blocked or removed), so {n} "
                      "reminders were not delivered. Please check the chat.", len(ids)).format(
        who=esc(who), n=len(ids))
    try:
        await bot.send_message(ab.chat_id, text)
    except TelegramError as problem:
        log.warning("cannot tell AB either: %s", problem)


# --- wording -----------------------------------------------------------------------------------

Message = tuple[str, InlineKeyboardMarkup | None, list[Claimed]]
MAX_TEXT = 3800  # under Telegram's 4096, with room for the heading
MAX_BUTTON_ROWS = 20


@dataclass
class _Block:
    """One case's lines and buttons (or the digest), to be packed into messages."""

    text: str
    buttons: list[list[InlineKeyboardButton]]
    rows: list[Claimed]


def _messages(rows: list[Claimed], context: _Context, services: Services, t: Translator,
              now: datetime) -> list[Message]:
    """As few messages as fit: every nudge due for one chat in one message, a button per case."""
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
                             _buttons(case, case_rows, t), case_rows))
    digests = [row for row in rows if row.kind is NudgeKind.DIGEST]
    if digests:
        blocks.append(_Block(_digest(context, services, t, now), [], digests))
    heading = t.gettext("<b>ikabot reminders</b>")
    messages: list[Message] = []
    text = heading
    buttons: list[list[InlineKeyboardButton]] = []
    part: list[Claimed] = []
    for block in blocks:
        full = (len(text) + len(block.text) > MAX_TEXT
                or len(buttons) + len(block.buttons) > MAX_BUTTON_ROWS)
        if full and part:
            messages.append((text, InlineKeyboardMarkup(buttons) if buttons else None, part))
            text, buttons, part = heading, [], []
        if block.text:
            text += "\n\n" + block.text
        buttons += block.buttons
        part += block.rows
    if part:
        messages.append((text, InlineKeyboardMarkup(buttons) if buttons else None, part))
    return messages


def _line(case: Case, rows: list[Claimed], context: _Context, services: Services,
          t: Translator, now: datetime) -> str:
    procedure = services.procedure
    run = case.current_run
    kinds = {row.kind for row in rows}
    title = f"<b>{esc(case.ref)}</b> · {esc(case.title)}"
    if run is None:
        return title
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


def _buttons(case: Case, rows: list[Claimed], t: Translator) -> list[list[InlineKeyboardButton]]:
    run = case.current_run
    kinds = {row.kind for row in rows}
    if run is None or kinds == {NudgeKind.ESCALATION}:
        return []  # AB is told; the lead division reports
    if NudgeKind.DECISION in kinds:
        return [[
            InlineKeyboardButton(f"Ya · {case.ref}", callback_data=encode(
                Approve(case.ref, case.round, True))),
            InlineKeyboardButton(f"Tidak · {case.ref}", callback_data=encode(
                Approve(case.ref, case.round, False))),
        ]]
    label = t.gettext("✅ Report done: {ref}").format(ref=case.ref)
    return [[InlineKeyboardButton(label, callback_data=encode(Report(case.ref, run.key)))]]


def _digest(context: _Context, services: Services, t: Translator, now: datetime) -> str:
    """All open cases, overdue first: what AB reads on Monday morning."""
    procedure = services.procedure
    steps = context.open_steps
    assert steps is not None
    lines = [t.ngettext("<b>Weekly digest</b>: {open} open case, {late} overdue.",
                        "<b>Weekly digest</b>: {open} open cases, {late} overdue.",
                        steps.open).format(
        open=steps.open, late=steps.overdue)]
    for ref, run in steps.earliest:  # the most overdue first
        lines.append(f"{esc(ref)} · {esc(step_heading(procedure.sop, run.key, t))}\n"
                     + due_line(run, t, procedure, now))
    if steps.open > len(steps.earliest):
        lines.append(t.gettext("…and {n} more: /status lists them all.").format(
            n=steps.open - len(steps.earliest)))
    return "\n\n".join(lines)


async def start_sweeping(application: object, services: Services, bot: Bot) -> None:
    """At start: plan the next digest, catch up on what came due while down, then sweep
    every SWEEP_INTERVAL_SECONDS (a missed tick is harmless: the next reads what is owed)."""
    now = services.now()
    async with services.sessions() as session, session.begin():
        await plan(session=session, nudges=[services.procedure.planner.first_digest(now)],
                   now=now)
    holder = holder_name()
    await sweep(bot, services, holder=holder)

    async def tick(context: object) -> None:
        await sweep(bot, services, holder=holder)

    interval = services.settings.sweep_interval_seconds
    job_queue = application.job_queue  # type: ignore[attr-defined]
    job_queue.run_repeating(tick, interval=interval, first=interval, name="sweep",
                            job_kwargs={"misfire_grace_time": None, "coalesce": True,
                                        "max_instances": 1})
