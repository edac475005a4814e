"""Which messages a case is owed, and when: pure functions of the case and the calendar.

Every message the bot sends because of a change or a deadline is a "nudge" planned here and
kept as an outbox row by storage, in the transaction of the change that owes it:

- a reminder is due at the start of office hours on a working day, so it never falls outside
  them. Reminders are planned when a step starts (before the due date, on it, and the first
  overdue morning), and each overdue or chasing one plans the next working day's when it is
  sent, so a stalled case is chased every working day without anything scanning all cases;
- a message a change causes (the next owner's card, the approvers' Ya/Tidak cards, the
  decision told to the division, the outcome document passed to AB, the case's end) is due at
  the moment of the change, at any hour: it is news, not a nag;
- AB's board is brought up to date after every change and, because time alone changes it
  (a step falls overdue, a day later it is one working day later still; someone deletes or
  unpins it), at every office opening, every hour of office hours and the close of office,
  when steps fall due: each look plans the next, like the weekly digest.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum

from bot.domain.calendar import WEEKDAYS, OfficeCalendar
from bot.domain.case import Case, Event, StepRun
from bot.domain.clock import waiting
from bot.domain.sop import Capture, Owner, Sop


class NudgeKind(StrEnum):
    """What a nudge says."""

    DUE_SOON = "due_soon"  # the working day before the due date
    DUE_TODAY = "due_today"
    OVERDUE = "overdue"  # every working day after the due date, to the owner
    ESCALATION = "escalation"  # from the Nth overdue working day, also to AB
    DECISION = "decision"  # every working day while Ya/Tidak waits, to each approver
    DIGEST = "digest"  # every week, all open cases, to AB
    # Messages a change causes, due at once (MESSAGE_KINDS):
    CARD = "card"  # a step started: its owner's card, with the button to report it
    ASK = "ask"  # the Minit Cerai went up: each approver's Ya / Tidak card
    DECIDED = "decided"  # the decision: told to the lead division, approvers' cards edited
    REASON = "reason"  # the reason for a Tidak, given after the tap, told to the division
    DOCUMENT = "document"  # the outcome document, passed on to AB (``seq`` is its id)
    ENDING = "ending"  # the case is complete, closed or withdrawn: AB and the lead division
    BOARD = "board"  # AB's pinned board of open cases, brought up to date (``seq``: the minute)
    SLIP = "slip"  # a target date the forecast's late bound now passes: AB and the lead division
    EXTENSION_ASK = "extension_ask"  # more time asked for: AB's Lulus / Tolak (``seq``)
    EXTENSION_ANSWER = "extension_answer"  # AB's answer, told to the step's owner (``seq``)
    VOTE = "vote"  # an approver said Ya, others still to decide: the approvers' cards edited
    JOINED = "joined"  # an invitation was used: its maker told (``seq``: the invitation)
    UNREACHABLE = "unreachable"  # a chat blocked or removed the bot: AB told (``seq``: a row)
    # Reminders, at the start of office hours:
    WAITING = "waiting"  # every wait_reminder_days while a step waits on an outside party, to AB
    RENEWAL = "renewal"  # months before a filed instrument expires, to AB and the lead division


# Sent at the moment of the change, office hours or not.
MESSAGE_KINDS = frozenset({NudgeKind.CARD, NudgeKind.ASK, NudgeKind.DECIDED, NudgeKind.REASON,
                           NudgeKind.DOCUMENT, NudgeKind.ENDING, NudgeKind.BOARD,
                           NudgeKind.SLIP, NudgeKind.EXTENSION_ASK, NudgeKind.EXTENSION_ANSWER,
                           NudgeKind.VOTE, NudgeKind.JOINED, NudgeKind.UNREACHABLE})
# Never made moot by a later change: what they tell stays true.
LASTING_KINDS = frozenset({NudgeKind.DECIDED, NudgeKind.REASON, NudgeKind.DOCUMENT,
                           NudgeKind.ENDING, NudgeKind.SLIP, NudgeKind.EXTENSION_ANSWER,
                           NudgeKind.RENEWAL, NudgeKind.JOINED, NudgeKind.UNREACHABLE})
# Whose ``seq`` tells nudges of one step and day apart (the request they speak of; the
# board's minute; the invitation used; the first message a chat could not be given).
SEQ_KEYED_KINDS = frozenset({NudgeKind.BOARD, NudgeKind.EXTENSION_ASK,
                             NudgeKind.EXTENSION_ANSWER, NudgeKind.VOTE, NudgeKind.JOINED,
                             NudgeKind.UNREACHABLE})
# The reminders a step's clock owes: none while it waits on an outside party.
CLOCK_KINDS = (NudgeKind.DUE_SOON, NudgeKind.DUE_TODAY, NudgeKind.OVERDUE, NudgeKind.ESCALATION)


class Audience(StrEnum):
    """Who a nudge goes to; storage turns it into chats."""

    AB = "ab"  # the International Division's chat
    LEAD = "lead"  # the case's lead division's chat
    APPROVERS = "approvers"  # each user registered as management, in private
    PERSON = "person"  # one user, in private (``Nudge.person``)


@dataclass(frozen=True)
class ReminderPolicy:
    """The SPEC's reminder defaults; each one comes from settings."""

    days_before: int = 1  # working days before the due date for the "due soon" nudge
    escalate_from: int = 2  # the overdue working day from which AB is told too
    digest_weekday: int = 0  # Monday

    @classmethod
    def from_names(cls, days_before: int, escalate_from: int, digest_day: str) -> ReminderPolicy:
        """From settings' values (a weekday name such as "mon")."""
        return cls(days_before, escalate_from, WEEKDAYS.index(digest_day[:3].lower()))


@dataclass(frozen=True)
class Nudge:
    """One message owed: its key is (case, step, round, kind, day, audience)."""

    ref: str | None  # None for the digest
    step: str | None
    round: int
    kind: NudgeKind
    day: date  # the office day it belongs to
    audience: Audience
    at: datetime  # when it may go out: the start of office hours on ``day``
    seq: int = 0  # the overdue working day it counts (1 = first), for escalation and wording
    note: str | None = None  # what the change said that the case does not keep (a reason)
    person: int | None = None  # whom, for Audience.PERSON: a Telegram user id


@dataclass(frozen=True)
class Drop:
    """Pending nudges of a case to forget: of one step, or all when ``step`` is None.

    A drop never forgets a lasting message (a decision told, a document passed on).
    """

    ref: str
    step: str | None = None
    kinds: tuple[NudgeKind, ...] | None = None  # None: every kind that can become moot

    def matches(self, nudge: Nudge) -> bool:
        """True when this drop forgets ``nudge``."""
        return (nudge.ref == self.ref and (self.step is None or nudge.step == self.step)
                and nudge.kind not in LASTING_KINDS
                and (self.kinds is None or nudge.kind in self.kinds))


@dataclass(frozen=True)
class Planner:
    """Plans nudges on an office calendar under a policy."""

    sop: Sop
    calendar: OfficeCalendar
    policy: ReminderPolicy = ReminderPolicy()

    def morning(self, day: date) -> datetime:
        """The start of office hours on ``day``."""
        return self.calendar.at(day, self.calendar.office_start)

    def audience(self, kind: NudgeKind, step: str | None) -> Audience:
        """Who a nudge of ``kind`` about ``step`` is for."""
        if kind in (NudgeKind.DECISION, NudgeKind.ASK, NudgeKind.VOTE):
            return Audience.APPROVERS
        if kind is NudgeKind.JOINED:
            return Audience.PERSON
        if kind in (NudgeKind.DIGEST, NudgeKind.ESCALATION, NudgeKind.DOCUMENT,
                    NudgeKind.BOARD, NudgeKind.EXTENSION_ASK, NudgeKind.WAITING) or step is None:
            return Audience.AB
        return self.owner(step)

    def owner(self, step: str) -> Audience:
        """Who owns ``step``: AB's chat or the lead division's."""
        return Audience.AB if self.sop.get(step).owner is Owner.AB else Audience.LEAD

    def _nudge(self, case: Case, run: StepRun, kind: NudgeKind, day: date,
               audience: Audience | None = None, seq: int = 0) -> Nudge:
        return Nudge(case.ref, run.key, run.round, kind, day, audience or self.owner(run.key),
                     self.morning(day), seq)

    def for_step(self, case: Case, run: StepRun, since: datetime | None = None) -> list[Nudge]:
        """A step just started (or moved its due date ``since``): before it, on it, and overdue.

        Reminders whose morning came before the step started (or its due date moved) are left
        out (the card that announced the step said it all), except the overdue chase: a step
        that starts overdue (details entered late) is chased from the next office morning,
        counted as the overdue working day it is, so that it escalates exactly as one that fell
        overdue on time. A step waiting on an outside party is owed none: its clock is stopped.
        """
        if waiting(run) is not None:
            return []
        since = since or run.started_at
        cal = self.calendar
        due = cal.local_date(run.due_at)
        before = due
        for _ in range(self.policy.days_before):
            before = cal.previous_working_day(before)
        first_overdue = cal.after_working_day(due)
        day, seq = first_overdue, 1
        if self.morning(day) < since:  # it started overdue
            day = max(cal.local_date(cal.next_office_opening(since)), first_overdue)
            if self.morning(day) < since:  # started during office hours
                day = cal.after_working_day(day)
            seq = 1 + cal.working_days_between(first_overdue, day)
        planned = [
            self._nudge(case, run, NudgeKind.DUE_SOON, before) if self.policy.days_before else None,
            self._nudge(case, run, NudgeKind.DUE_TODAY, due),
        ]
        return [n for n in planned if n is not None and n.at >= since] + self._overdue(
            case, run, day, seq)

    def _overdue(self, case: Case, run: StepRun, day: date, seq: int) -> list[Nudge]:
        nudges = [self._nudge(case, run, NudgeKind.OVERDUE, day, seq=seq)]
        # When AB owns the step its chat already hears every overdue day: nothing to escalate.
        if seq >= self.policy.escalate_from and self.owner(run.key) is Audience.LEAD:
            nudges.append(self._nudge(case, run, NudgeKind.ESCALATION, day, Audience.AB, seq))
        return nudges

    def for_decision(self, case: Case, run: StepRun, submitted: datetime) -> list[Nudge]:
        """The Minit Cerai went up: approvers are chased from the next working day."""
        day = self.calendar.after_working_day(self.calendar.local_date(submitted))
        return [self._nudge(case, run, NudgeKind.DECISION, day, Audience.APPROVERS, 1)]

    def following(self, nudge: Nudge, now: datetime | None = None) -> list[Nudge]:
        """What a sent nudge leaves owed: the next working day's chase, next week's digest, or
        the board's next look (after ``now``: a board owed since an outage is shown once)."""
        if nudge.kind is NudgeKind.DIGEST:
            return [self.digest_after(nudge.day)]
        if nudge.kind is NudgeKind.BOARD:
            return [self.board_check_after(max(nudge.at, now) if now else nudge.at)]
        if nudge.kind is NudgeKind.WAITING:
            return [self._waiting(nudge.ref, nudge.step, nudge.round, nudge.day)]
        if nudge.kind not in (NudgeKind.OVERDUE, NudgeKind.DECISION):
            return []
        day = self.calendar.after_working_day(nudge.day)
        if nudge.kind is NudgeKind.DECISION:
            return [Nudge(nudge.ref, nudge.step, nudge.round, nudge.kind, day, nudge.audience,
                          self.morning(day), nudge.seq + 1)]
        assert nudge.step is not None
        owner = self.owner(nudge.step)
        nudges = [Nudge(nudge.ref, nudge.step, nudge.round, NudgeKind.OVERDUE, day,
                        owner, self.morning(day), nudge.seq + 1)]
        if nudge.seq + 1 >= self.policy.escalate_from and owner is Audience.LEAD:
            nudges.append(Nudge(nudge.ref, nudge.step, nudge.round, NudgeKind.ESCALATION, day,
                                Audience.AB, self.morning(day), nudge.seq + 1))
        return nudges

    def _waiting(self, ref: str | None, step: str | None, round_: int, after: date) -> Nudge:
        """AB's reminder that a step still waits, ``wait_reminder_days`` after ``after``."""
        day = self.calendar.next_working_day(
            date.fromordinal(after.toordinal() + self.sop.policy.wait_reminder_days))
        return Nudge(ref, step, round_, NudgeKind.WAITING, day, Audience.AB, self.morning(day))

    def for_renewal(self, case: Case) -> list[Nudge]:
        """A filed instrument with an expiry date: AB and the lead division are reminded the
        SOP's months before it, on a working morning, to decide on its renewal."""
        run = case.run(self.sop.keys[-1])
        expires = run.data.get("expires_on") if run is not None and run.done else None
        if run is None or run.done_at is None or not isinstance(expires, str):
            return []
        expiry = date.fromisoformat(expires)
        nudges: list[Nudge] = []
        for months in self.sop.policy.renewal_months:
            day = self.calendar.next_working_day(months_before(expiry, months))
            if self.morning(day) < run.done_at:
                continue  # already nearer than that when it was filed
            nudges += [Nudge(case.ref, run.key, run.round, NudgeKind.RENEWAL, day, audience,
                             self.morning(day), months) for audience in (Audience.AB,
                                                                         Audience.LEAD)]
        return nudges

    def digest_after(self, day: date) -> Nudge:
        """The weekly digest due on the first digest weekday after ``day``."""
        ahead = (self.policy.digest_weekday - day.weekday() - 1) % 7 + 1
        digest_day = date.fromordinal(day.toordinal() + ahead)
        opening = self.calendar.next_office_opening(self.morning(digest_day))
        return Nudge(None, None, 0, NudgeKind.DIGEST, digest_day, Audience.AB, opening)

    def first_digest(self, now: datetime) -> Nudge:
        """The next digest from ``now`` (this morning's, if today is the day and it is early)."""
        today = self.calendar.local_date(now)
        return self.digest_after(date.fromordinal(today.toordinal() - 1))

    def changes(self, case: Case, events: list[Event]) -> tuple[list[Nudge], list[Drop]]:
        """The nudges to plan and to drop for a change that produced ``events``."""
        plan: list[Nudge] = []
        drop: list[Drop] = []
        decision_key = self.sop.step_for(Capture.DECISION).key
        for event in events:
            plan.extend(self.messages(case, event))
            if event.kind == "step_completed" and event.step:
                drop.append(Drop(case.ref, event.step))
            elif event.kind == "step_started" and event.step == case.current_step:
                run = case.current_run
                if run is not None:
                    plan.extend(self.for_step(case, run))
            elif event.kind == "negotiation_scheduled" and case.current_run is not None:
                drop.append(Drop(case.ref, event.step))  # the due date moved: plan anew
                plan.extend(self.for_step(case, case.current_run))
            elif event.kind in ("extension_granted", "due_recounted", "wait_ended"):
                # the due date moved (or the clock runs again): the old date's reminders go
                ended = (NudgeKind.WAITING,) if event.kind == "wait_ended" else ()
                drop.append(Drop(case.ref, event.step, CLOCK_KINDS + ended))
                run = case.current_run
                if run is not None and run.key == event.step:
                    plan.extend(self.for_step(case, run, since=event.at))
            elif event.kind == "wait_started" and case.current_run is not None:
                drop.append(Drop(case.ref, event.step, CLOCK_KINDS))  # the clock has stopped
                plan.append(self._waiting(case.ref, event.step, case.current_run.round,
                                          self.calendar.local_date(event.at)))
            elif event.kind == "memo_submitted" and case.current_run is not None:
                drop.append(Drop(case.ref, decision_key))  # the memo is in: chase the decision
                plan.extend(self.for_decision(case, case.current_run, event.at))
            elif event.kind == "decided":
                drop.append(Drop(case.ref, decision_key))
            elif event.kind in ENDINGS:
                drop.append(Drop(case.ref))
                plan.extend(self.for_renewal(case))
            elif event.kind == "signing_recorded":
                # dates recorded after filing plan theirs from now on; one planned for an
                # earlier expiry date is not sent, its day no longer fitting the date recorded
                # (handlers.clock_cards.renewal_line)
                plan.extend(n for n in self.for_renewal(case) if n.at >= event.at)
        if events:
            plan.append(self.board_after(max(event.at for event in events)))
        return plan, drop

    def slipped(self, ref: str, late: date, target: date, causes: tuple[str, ...],
                now: datetime) -> list[Nudge]:
        """A case's forecast now finishes after its target: AB and the lead division are told,
        with the steps that hold it back (in ``note``: late, target, the steps)."""
        note = " ".join([late.isoformat(), target.isoformat(), *causes])
        day = self.calendar.local_date(now)
        return [Nudge(ref, None, 0, NudgeKind.SLIP, day, audience, now, 0, note)
                for audience in (Audience.AB, Audience.LEAD)]

    def board_after(self, moment: datetime) -> Nudge:
        """AB's board brought up to date at the next whole minute: at most once a minute, one
        edit for every change made within it."""
        local = moment.astimezone(self.calendar.tz).replace(second=0, microsecond=0)
        return self._board_at(local + timedelta(minutes=1))

    def board_check_after(self, moment: datetime) -> Nudge:
        """The board's next regular look after ``moment``, on a working day: the office
        opening, each hour of office hours after it, and the close of office.

        Time alone changes what the board shows only when a step falls due (at the close of
        office: Procedure.due_at) and when a new working day makes the late ones a day later
        (before the opening); the hourly looks bring back a board deleted or unpinned within
        the hour. Each look costs a few queries and one getChat, and edits only what changed.
        """
        cal = self.calendar
        day = cal.local_date(moment)
        while True:
            if cal.is_working_day(day):
                close = cal.close_of(day)
                look = self.morning(day)
                while look < close:
                    if look > moment:
                        return self._board_at(look)
                    look += timedelta(hours=1)
                if close > moment:
                    return self._board_at(close)
            day = cal.after_working_day(day)

    def _board_at(self, at: datetime) -> Nudge:
        local = at.astimezone(self.calendar.tz)
        return Nudge(None, None, 0, NudgeKind.BOARD, local.date(), Audience.AB, local,
                     local.hour * 60 + local.minute)

    def joined(self, invitation: int, inviter: int, joined: Joined, now: datetime) -> Nudge:
        """Someone registered with ``invitation``: its maker is told, at once."""
        return Nudge(None, None, 0, NudgeKind.JOINED, self.calendar.local_date(now),
                     Audience.PERSON, now, invitation, joined.note(), inviter)

    def unreachable(self, chat: str, missed: int, first: int, now: datetime) -> Nudge:
        """``chat`` blocked or removed the bot, so ``missed`` messages (the first of them
        ``first``) were not delivered: AB is told, at once."""
        return Nudge(None, None, 0, NudgeKind.UNREACHABLE, self.calendar.local_date(now),
                     Audience.AB, now, first, f"{chat} {missed}")

    def messages(self, case: Case, event: Event) -> list[Nudge]:
        """What ``event`` must tell, and to whom, at once."""
        day = self.calendar.local_date(event.at)

        def now(kind: NudgeKind, audience: Audience, step: str | None = event.step,
                seq: int = 0, note: str | None = None) -> Nudge:
            return Nudge(case.ref, step, case.round, kind, day, audience, event.at, seq, note)

        decision_key = self.sop.step_for(Capture.DECISION).key
        kind, data = event.kind, event.data
        if kind == "step_started" and event.step and event.step == case.current_step:
            return [now(NudgeKind.CARD, self.owner(event.step))]
        if kind == "memo_submitted":
            note = data.get("note")
            return [now(NudgeKind.ASK, Audience.APPROVERS, decision_key,
                        note=note if isinstance(note, str) else None)]
        if kind in ("decided", "decision_explained"):
            decided = data.get("round", case.round)
            rnd = decided if isinstance(decided, int) else case.round
            message = NudgeKind.DECIDED if kind == "decided" else NudgeKind.REASON
            told = [Nudge(case.ref, decision_key, rnd, message, day, Audience.LEAD, event.at)]
            if kind == "decided":  # every approver's card shows who decided
                told.append(Nudge(case.ref, decision_key, rnd, message, day,
                                  Audience.APPROVERS, event.at))
            return told
        if kind in ("extension_requested", "extension_granted", "extension_refused"):
            seq = data.get("seq")
            number = seq if isinstance(seq, int) else 0
            if kind == "extension_requested":
                return [now(NudgeKind.EXTENSION_ASK, Audience.AB, seq=number)]
            return [now(NudgeKind.EXTENSION_ANSWER, self.owner(event.step or ""), seq=number)]
        if kind == "vote_recorded":
            return [now(NudgeKind.VOTE, Audience.APPROVERS, decision_key,
                        seq=len(data.get("remaining", [])) + 1)]
        document = data.get("document_id")
        if kind == "step_completed" and isinstance(document, int):
            return [now(NudgeKind.DOCUMENT, Audience.AB, seq=document)]
        if kind in ENDINGS:
            reason = data.get("reason")  # how it ended, the case's status says
            note = reason if isinstance(reason, str) and reason else None
            return [now(NudgeKind.ENDING, audience, None, note=note)
                    for audience in (Audience.AB, Audience.LEAD)]
        return []


ENDINGS = ("case_completed", "case_closed", "case_withdrawn")


@dataclass(frozen=True)
class Joined:
    """Who joined with an invitation: kept in the nudge's note, as the invitation said it."""

    role: str
    division: str | None
    name: str

    def note(self) -> str:
        """As the nudge keeps it: the role, the division code (or "-"), then the name."""
        return " ".join([self.role, self.division or "-", self.name])

    @classmethod
    def read(cls, note: str) -> Joined:
        """From a nudge's note (role and division codes have no spaces; the name may)."""
        role, division, name = note.split(" ", 2)
        return cls(role, None if division == "-" else division, name)


def unreachable_note(note: str) -> tuple[str, int]:
    """The chat and the number of messages missed, from an UNREACHABLE nudge's note."""
    chat, missed = note.rsplit(" ", 1)
    return chat, int(missed)


def months_before(day: date, months: int) -> date:
    """The same day of the month ``months`` earlier (the month's last day when it is shorter)."""
    year, month = divmod(day.year * 12 + day.month - 1 - months, 12)
    month += 1
    for last in (31, 30, 29, 28):
        try:
            return date(year, month, min(day.day, last))
        except ValueError:
            continue
    raise ValueError(day)  # pragma: no cover
