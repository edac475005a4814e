"""After a change: tell the next owner, the approvers and AB what it means for them.

Each chat hears in its own language. A chat that cannot be reached (the bot was removed or
blocked) is logged and skipped: the change itself is already saved.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping

from telegram import Bot, InlineKeyboardMarkup
from telegram.error import BadRequest, Forbidden

from bot.domain.case import Case, Event, Role
from bot.domain.rules import Outcome
from bot.i18n import Translator
from bot.services import Services
from handlers.cards import (
    ab_division,
    approval_card,
    decision_line,
    division_name,
    esc,
    heading,
    owner_division,
    refusal_markup,
    step_card,
)
from storage.cards import cards, remember_card
from storage.models import Division, Document, User
from storage.org import list_divisions, list_users

log = logging.getLogger(__name__)

APPROVAL = "approval"

_Render = Callable[[Translator], str]
_Markup = Callable[[Translator], InlineKeyboardMarkup]


async def send(bot: Bot, chat_id: int, text: str, markup: InlineKeyboardMarkup | None = None,
               ) -> int | None:
    """Send a message; its id, or None when the chat cannot be reached."""
    try:
        message = await bot.send_message(chat_id, text, reply_markup=markup)
    except (Forbidden, BadRequest) as error:
        log.warning("cannot write to chat %s: %s", chat_id, error)
        return None
    return message.message_id


class _Audience:
    """Who is told what: divisions and approvers, each with their language."""

    def __init__(self, services: Services, divisions: Mapping[str, Division],
                 users: Mapping[int, User]) -> None:
        self.services, self.divisions, self.users = services, divisions, users

    def chat_language(self, division: Division | None) -> Translator:
        return self.services.translator(division.language if division else None)

    def user_language(self, telegram_id: int) -> Translator:
        user = self.users.get(telegram_id)
        return self.services.translator(user.language if user else None)

    def name(self, telegram_id: int | None) -> str:
        user = self.users.get(telegram_id) if telegram_id is not None else None
        return user.name if user else str(telegram_id)

    def approvers(self) -> list[User]:
        return [u for u in self.users.values() if u.role == Role.MANAGEMENT.value]


async def announce(bot: Bot, services: Services, outcome: Outcome) -> None:
    """Send what ``outcome``'s events call for."""
    async with services.sessions() as session:
        divisions = {d.code: d for d in await list_divisions(session=session)}
        users = {u.telegram_id: u for u in await list_users(session=session)}
    audience = _Audience(services, divisions, users)
    case = outcome.case
    for event in outcome.events:
        if event.kind == "step_completed" and event.data.get("document_id"):
            await _pass_document(bot, audience, case, event)
        elif event.kind == "step_started" and event.step == case.current_step:
            await _tell_owner(bot, audience, case)
        elif event.kind == "memo_submitted":
            await _ask_approvers(bot, audience, case, event)
        elif event.kind == "decided":
            await _tell_decision(bot, audience, case, event)
        elif event.kind == "decision_explained":
            await _tell_reason(bot, audience, case, event)
        elif event.kind in _ENDINGS:
            await _tell_ending(bot, audience, case, event)


async def _tell_owner(bot: Bot, audience: _Audience, case: Case) -> None:
    services = audience.services
    run = case.current_run
    if run is None:
        return
    division = owner_division(case, services.procedure.sop.get(run.key), audience.divisions)
    if division is None or division.chat_id is None:
        log.warning("%s: the owner of step %s has no group chat", case.ref, run.key)
        return
    t = audience.chat_language(division)
    text, markup = step_card(case, t, services.procedure, services.now(), audience.divisions)
    await send(bot, division.chat_id, text, markup)


async def _tell_lead(bot: Bot, audience: _Audience, case: Case, render: _Render,
                     markup_for: _Markup | None = None) -> None:
    division = audience.divisions.get(case.lead_division)
    if division is None or division.chat_id is None:
        return
    t = audience.chat_language(division)
    text = heading(case, t) + "\n\n" + render(t)
    await send(bot, division.chat_id, text, markup_for(t) if markup_for else None)


async def _ask_approvers(bot: Bot, audience: _Audience, case: Case, event: Event) -> None:
    services = audience.services
    note = event.data.get("note")
    sent: list[tuple[int, int]] = []
    for approver in audience.approvers():
        t = audience.user_language(approver.telegram_id)
        text, markup = approval_card(case, t, audience.divisions,
                                     note if isinstance(note, str) else None)
        message_id = await send(bot, approver.telegram_id, text, markup)
        if message_id is not None:
            sent.append((approver.telegram_id, message_id))
    async with services.sessions() as session, session.begin():
        for chat_id, message_id in sent:
            await remember_card(session=session, ref=case.ref, kind=APPROVAL, round=case.round,
                                chat_id=chat_id, message_id=message_id, sent_at=services.now())
    if not sent:
        log.warning("%s: no approver could be reached for the Minit Cerai", case.ref)


async def _tell_decision(bot: Bot, audience: _Audience, case: Case, event: Event) -> None:
    services = audience.services
    decision = next(d for d in case.decisions if d.round == event.data["round"])
    decider = audience.name(decision.by)
    async with services.sessions() as session:
        sent = await cards(session=session, ref=case.ref, kind=APPROVAL, round=decision.round)
    for card in sent:
        t = audience.user_language(card.chat_id)
        text, _ = approval_card(case, t, audience.divisions, None)
        text += "\n\n<b>" + decision_line(decision, t, services.procedure, decider) + "</b>"
        try:
            await bot.edit_message_text(text, chat_id=card.chat_id, message_id=card.message_id,
                                        reply_markup=None)
        except (Forbidden, BadRequest) as error:
            log.warning("cannot edit the approval card in chat %s: %s", card.chat_id, error)
    await _tell_lead(
        bot, audience, case,
        lambda t: decision_line(decision, t, services.procedure, decider),
        None if decision.approved else (lambda t: refusal_markup(case, t, services.procedure)),
    )


async def _pass_document(bot: Bot, audience: _Audience, case: Case, event: Event) -> None:
    """The outcome document goes on to AB, protected so that it cannot be forwarded out."""
    ab = ab_division(audience.divisions)
    async with audience.services.sessions() as session:
        document = await session.get(Document, event.data["document_id"])
    if ab is None or ab.chat_id is None or document is None:
        return
    t = audience.chat_language(ab)
    caption = t.gettext("{ref}: the outcome document, from the {division}.").format(
        ref=case.ref, division=esc(division_name(audience.divisions.get(case.lead_division), t)))
    try:
        await bot.send_document(ab.chat_id, document.telegram_file_id, caption=caption,
                                filename=document.name, protect_content=True)
    except (Forbidden, BadRequest) as error:
        log.warning("cannot pass %s's document to AB: %s", case.ref, error)


async def _tell_reason(bot: Bot, audience: _Audience, case: Case, event: Event) -> None:
    decider, procedure = audience.name(event.actor), audience.services.procedure
    await _tell_lead(bot, audience, case,
                     lambda t: decision_line(case.decisions[-1], t, procedure, decider))


_ENDINGS = ("case_completed", "case_closed", "case_withdrawn")


async def _tell_ending(bot: Bot, audience: _Audience, case: Case, event: Event) -> None:
    ab = ab_division(audience.divisions)
    chats = {d.code: d for d in (ab, audience.divisions.get(case.lead_division)) if d}
    for division in chats.values():
        if division.chat_id is None:
            continue
        t = audience.chat_language(division)
        text = heading(case, t) + "\n\n" + _ending(event, t)
        reason = event.data.get("reason")
        if isinstance(reason, str) and reason:
            text += "\n" + t.gettext("Reason: {reason}").format(reason=esc(reason))
        await send(bot, division.chat_id, text)


def _ending(event: Event, t: Translator) -> str:
    if event.kind == "case_completed":
        return t.gettext("The case is complete: the outcome document has been filed.")
    if event.kind == "case_closed":
        return t.gettext("The case is closed as not approved by top management.")
    return t.gettext("The case has been withdrawn.")

