"""What a change tells the chats: the next owner's card, the approvers' Ya/Tidak cards, the
decision, the reason, the outcome document passed on, the case's end.

Each is an outbox row (bot.domain.reminders.MESSAGE_KINDS) planned with the change and worded
here when the sweep delivers it, in the language of the chat it goes to. Rendering only: the
sweep (handlers/reminders.py) sends, retries and records.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime

from telegram import InlineKeyboardMarkup

from bot.domain.case import Case, CaseStatus
from bot.domain.reminders import Audience, NudgeKind
from bot.i18n import Translator
from bot.messages import step_heading
from bot.services import Services
from handlers.cards import (
    approval_card,
    decision_line,
    division_name,
    esc,
    heading,
    refusal_markup,
    step_card,
)
from storage.models import Division, Document, User
from storage.nudges import Claimed

APPROVAL = "approval"  # the kind of card an approver's Ya/Tidak message is kept as


@dataclass(frozen=True)
class Post:
    """A message to send; ``card`` when it is an approval card to remember for later edits."""

    text: str
    markup: InlineKeyboardMarkup | None = None
    card: bool = False


@dataclass(frozen=True)
class PassDocument:
    """A document to send on, protected so that it cannot be forwarded out of the chat."""

    file_id: str
    name: str
    caption: str


@dataclass(frozen=True)
class EditCards:
    """The approval cards of one round in this chat, edited to show the decision."""

    text: str
    message_ids: tuple[int, ...]


Delivery = Post | PassDocument | EditCards


@dataclass(frozen=True)
class Known:
    """What the sweep loaded for a batch: the cases, the org, documents and cards sent."""

    cases: Mapping[str, Case]
    divisions: Mapping[str, Division]
    users: Mapping[int, User]
    documents: Mapping[int, Document]
    cards: Mapping[tuple[str, int, int], tuple[int, ...]]  # (ref, round, chat) -> message ids

    def name(self, telegram_id: int | None) -> str:
        """A person's name, or their id when they are not registered."""
        user = self.users.get(telegram_id) if telegram_id is not None else None
        return user.name if user else str(telegram_id)


def render(row: Claimed, chat_id: int, known: Known, services: Services, t: Translator,
           now: datetime) -> Delivery | None:
    """What ``row`` says to ``chat_id``; None when the case has moved on and it is moot."""
    case = known.cases.get(row.ref or "")
    if case is None:
        return None
    procedure = services.procedure
    if row.kind is NudgeKind.CARD:
        run = case.current_run
        if run is None or (run.key, run.round) != (row.step, row.round):
            return None  # the step is already done: its card has nothing left to ask
        text, markup = step_card(case, t, procedure, now, known.divisions)
        return Post(text, markup)
    if row.kind is NudgeKind.ASK:
        if case.round != row.round or case.decision_this_round() is not None:
            return None
        text, markup = approval_card(case, t, known.divisions, row.note)
        return Post(text, markup, card=True)
    if row.kind in (NudgeKind.DECIDED, NudgeKind.REASON):
        return _decision(row, chat_id, case, known, services, t)
    if row.kind is NudgeKind.DOCUMENT:
        document = known.documents.get(row.seq)
        if document is None:
            return None
        caption = t.gettext("{ref}: the outcome document, from the {division}.").format(
            ref=esc(case.ref), division=esc(division_name(
                known.divisions.get(case.lead_division), t)))
        return PassDocument(document.telegram_file_id, document.name, caption)
    if row.kind is NudgeKind.SLIP and row.note:
        late, target, *causes = row.note.split()
        steps = t.format_list(esc(step_heading(procedure.sop, key, t)) for key in causes
                              if key in procedure.sop.keys)
        text = heading(case, t) + "\n\n⚠️ " + t.gettext(
            "At the pace of past cases this case may finish only by {late}, after its target "
            "date of {target}.").format(late=t.format_date(date.fromisoformat(late)),
                                        target=t.format_date(date.fromisoformat(target)))
        if steps:
            text += "\n" + t.gettext("Slowest: {steps}").format(steps=steps)
        return Post(text)
    if row.kind is NudgeKind.ENDING:
        text = heading(case, t) + "\n\n" + _ending(case, t)
        if row.note:
            text += "\n" + t.gettext("Reason: {reason}").format(reason=esc(row.note))
        return Post(text)
    return None


def _decision(row: Claimed, chat_id: int, case: Case, known: Known, services: Services,
              t: Translator) -> Delivery | None:
    decision = next((d for d in case.decisions if d.round == row.round), None)
    if decision is None:
        return None
    procedure = services.procedure
    line = decision_line(decision, t, procedure, known.name(decision.by))
    if row.target.startswith("user:"):  # an approver: their card shows who decided
        message_ids = known.cards.get((case.ref, row.round, chat_id), ())
        if not message_ids:
            return None
        text, _ = approval_card(case, t, known.divisions, None)
        return EditCards(text + "\n\n<b>" + line + "</b>", message_ids)
    text = heading(case, t) + "\n\n" + line
    refused = row.kind is NudgeKind.DECIDED and not decision.approved and case.is_open
    return Post(text, refusal_markup(case, t, procedure) if refused else None)


def _ending(case: Case, t: Translator) -> str:
    if case.status is CaseStatus.COMPLETED:
        return t.gettext("The case is complete: the outcome document has been filed.")
    if case.status is CaseStatus.NOT_APPROVED:
        return t.gettext("The case is closed as not approved by top management.")
    return t.gettext("The case has been withdrawn.")


def audience_of(row: Claimed) -> Audience:
    """Who a message row was planned for, from its target."""
    return Audience.APPROVERS if row.target.startswith("user:") else Audience.LEAD
