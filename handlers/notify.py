"""What a change tells the chats: the next owner's card, the approvers' Ya/Tidak cards, the
decision, the reason, the outcome document passed on, the case's end; and, about no case, an
invitation used (to its maker) and a chat the bot cannot reach (to AB).

Each is an outbox row (bot.domain.reminders.MESSAGE_KINDS) planned with the change and worded
here when the sweep delivers it, in the language of the chat it goes to. Rendering only: the
sweep (handlers/reminders.py) sends, retries and records.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime

from telegram import InlineKeyboardMarkup

from bot.domain.case import Case, CaseStatus, Role
from bot.domain.clock import ExtensionState, extensions
from bot.domain.reminders import Joined, NudgeKind, unreachable_note
from bot.domain.sop import Capture
from bot.i18n import Translator
from bot.messages import role_label, step_heading
from bot.services import Services
from handlers.cards import (
    approval_card,
    decision_line,
    division_label,
    division_name,
    esc,
    heading,
    refusal_markup,
    step_card,
)
from handlers.clock_cards import extension_answer, extension_request, votes_lines
from storage.models import Division, Document, User
from storage.nudges import Claimed

APPROVAL = "approval"  # the kind of card an approver's Ya/Tidak message is kept as


@dataclass(frozen=True)
class Post:
    """A message to send; ``card`` when it is an approval card to remember for later edits."""

    text: str
    markup: InlineKeyboardMarkup | None = None
    card: bool = False
    protect: bool = False  # a Sulit case's: it cannot be forwarded or saved


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
    markup: InlineKeyboardMarkup | None = None  # kept while other approvers still decide


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
    """What ``row`` says to ``chat_id``; None when the case has moved on and it is moot.

    Every message about a Sulit case is protected, and its documents are not passed on.
    """
    delivery = _render(row, chat_id, known, services, t, now)
    case = known.cases.get(row.ref or "")
    if case is not None and case.is_sulit and isinstance(delivery, Post):
        return dataclasses.replace(delivery, protect=True)
    return delivery


def _render(row: Claimed, chat_id: int, known: Known, services: Services, t: Translator,
            now: datetime) -> Delivery | None:
    if row.kind is NudgeKind.JOINED and row.note:
        joined = Joined.read(row.note)
        return Post(t.gettext("{name} has joined ikabot as {role}, {division}.").format(
            name=esc(joined.name), role=role_label(Role(joined.role), t),
            division=division_label(known.divisions.get(joined.division or ""), t)))
    if row.kind is NudgeKind.UNREACHABLE and row.note:
        return Post(_unreachable(row.note, known, t))
    case = known.cases.get(row.ref or "")
    if case is None:
        return None
    procedure = services.procedure
    if row.kind in (NudgeKind.EXTENSION_ASK, NudgeKind.EXTENSION_ANSWER, NudgeKind.VOTE):
        return life_message(row, chat_id, case, known, services, t)
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
        if case.is_sulit:  # never passed on: AB sees it was delivered, not the file
            return Post(t.gettext("{ref}: the outcome document was delivered by the {division}. "
                                  "The case is Sulit: the document is not passed on in "
                                  "Telegram.").format(ref=esc(case.ref), division=esc(
                division_name(known.divisions.get(case.lead_division), t))))
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
    line = decision_line(decision, t, procedure, known.name(decision.by),
                         known.name(decision.on_behalf_of) if decision.on_behalf_of else None)
    if row.target.startswith("user:"):  # an approver: their card shows who decided
        message_ids = known.cards.get((case.ref, row.round, chat_id), ())
        if not message_ids:
            return None
        text, _ = approval_card(case, t, known.divisions, None)
        return EditCards(text + "\n\n<b>" + line + "</b>", message_ids)
    text = heading(case, t) + "\n\n" + line
    refused = row.kind is NudgeKind.DECIDED and not decision.approved and case.is_open
    return Post(text, refusal_markup(case, t, procedure) if refused else None)


def _unreachable(note: str, known: Known, t: Translator) -> str:
    """AB told that a chat blocked or removed the bot, and how many messages it missed."""
    chat, missed = unreachable_note(note)
    kind, _, ident = chat.partition(":")
    who = (division_name(known.divisions.get(ident), t) if kind == "division"
           else known.name(int(ident)) if ident.lstrip("-").isdigit() else ident)
    return t.ngettext("ikabot cannot reach {who} (the bot was blocked or removed), so {n} "
                      "reminder was not delivered. Please check the chat.",
                      "ikabot cannot reach {who} (the bot was blocked or removed), so {n} "
                      "reminders were not delivered. Please check the chat.", missed).format(
        who=esc(who), n=missed)


def _ending(case: Case, t: Translator) -> str:
    if case.status is CaseStatus.COMPLETED:
        return t.gettext("The case is complete: the outcome document has been filed.")
    if case.status is CaseStatus.NOT_APPROVED:
        return t.gettext("The case is closed as not approved by top management.")
    return t.gettext("The case has been withdrawn.")


def life_message(row: Claimed, chat_id: int, case: Case, known: Known, services: Services,
                 t: Translator) -> Delivery | None:
    """A request for more time (AB's Lulus/Tolak card), its answer, or an approver's vote."""
    procedure = services.procedure
    run = case.current_run
    if row.kind is NudgeKind.VOTE:
        decided = case.run(procedure.sop.step_for(Capture.DECISION).key)
        message_ids = known.cards.get((case.ref, row.round, chat_id), ())
        if decided is None or not message_ids or case.decision_this_round() is not None:
            return None  # the decision itself edits the cards
        text, markup = approval_card(case, t, known.divisions, None)
        lines = votes_lines(case, decided, row.round, t, known.name)
        return EditCards("\n\n".join([text, "\n".join(lines)]), message_ids, markup)
    runs = [r for r in case.steps if (r.key, r.round) == (row.step, row.round)]
    asked = next((e for r in runs for e in extensions(r) if e.seq == row.seq), None)
    if asked is None:
        return None
    if row.kind is NudgeKind.EXTENSION_ASK:
        if asked.state is not ExtensionState.PENDING or run is None or run.key != row.step:
            return None  # answered already, or the step is done: nothing left to decide
        text, markup = extension_request(case, asked, t, procedure, known.name)
        return Post(text, markup)
    return Post(extension_answer(case, runs[0], asked, t, procedure, known.name))
