"""Acting on a case from a handler: apply the rules in one transaction, then wake the outbox.

Every handler that changes a case goes through ``perform`` (or ``register``), so refusals are
worded the same way everywhere. What the change tells the chats was written as outbox rows in
its own transaction; the sweep is woken to deliver them at once, while the handler answers.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.context import IkaContext
from bot.domain.case import Actor, Case
from bot.domain.rules import Action, CompleteStep, NewCase, Outcome, Refused, apply, register_case
from bot.messages import refusal
from handlers.cards import esc
from storage.cases import (
    ConcurrentChange,
    UnknownCase,
    change_case_with,
    create_case,
    load_case,
)

ActionFor = Action | Callable[[Case], Action]
# For an action that needs rows of its own written in the same transaction (a document).
PrepareAction = Callable[[AsyncSession, Case], Awaitable[Action]]


async def look_at(context: IkaContext, ref: str) -> Case | None:
    """The case as it is now, to look at (a change loads it again in its own transaction)."""
    async with context.services.readers() as session, session.begin():
        return await load_case(session=session, ref=ref, copy=False)


def refusal_of(context: IkaContext, ref: str, case: Case | None, action: Action) -> str | None:
    """Why the rules would refuse ``action`` on case ``ref`` as ``look_at`` found it (None: no
    such case), or None when they would not; a dry run: nothing is written."""
    services, actor = context.services, actor_of(context)
    if case is None or actor is None:
        return context.t.gettext("There is no case {ref}.").format(ref=esc(ref))
    try:
        apply(case, action, actor=actor, now=services.now(), procedure=services.procedure)
    except Refused as refused:
        return refusal(refused.reason, refused.details, context.t, sop=services.procedure.sop)
    return None


def actor_of(context: IkaContext) -> Actor | None:
    """The registered user acting in this update, as the rules see them."""
    return context.user.actor() if context.user is not None else None


async def perform(context: IkaContext, ref: str, action: ActionFor | None = None, *,
                  prepare: PrepareAction | None = None) -> Outcome | str:
    """Apply ``action`` (or the action chosen from the case as it is now) to case ``ref``.

    ``prepare`` instead writes its own rows in the same transaction and returns the action.
    Returns the outcome (its messages on their way to the chats concerned), or the message
    that says why nothing changed, in the user's language.
    """
    services, t = context.services, context.t
    actor = actor_of(context)
    if actor is None:
        return t.gettext("You are not registered with ikabot.")
    now = services.now()

    async def change(session: AsyncSession, case: Case) -> Outcome:
        if prepare is not None:
            chosen = await prepare(session, case)
        elif callable(action):
            chosen = action(case)
        elif action is not None:
            chosen = action
        else:
            raise ValueError("perform needs an action or prepare")
        return apply(case, chosen, actor=actor, now=now, procedure=services.procedure)

    try:
        outcome = await change_case_with(sessions=services.sessions, ref=ref, change=change)
    except Refused as refused:
        return refusal(refused.reason, refused.details, t, sop=services.procedure.sop)
    except UnknownCase:
        return t.gettext("There is no case {ref}.").format(ref=ref)
    except ConcurrentChange:
        return t.gettext("Case {ref} changed at the same moment. Please look at it again and "
                         "retry.").format(ref=ref)
    services.wake_outbox()
    return outcome


async def register(context: IkaContext, build: Callable[[str], NewCase], *,
                   inform_lead: bool) -> Outcome | str:
    """Register a new case under the next reference of the year; its cards are on their way.

    With ``inform_lead`` the bot informs the lead division itself, which completes step 1 in
    the same transaction.
    """
    services, t = context.services, context.t
    actor = actor_of(context)
    if actor is None:
        return t.gettext("You are not registered with ikabot.")
    now: datetime = services.now()
    procedure = services.procedure

    def build_outcome(ref: str) -> Outcome:
        outcome = register_case(build(ref), actor=actor, now=now, procedure=procedure)
        if not inform_lead:
            return outcome
        first = procedure.sop.keys[0]
        return outcome.then(apply(outcome.case, CompleteStep(first), actor=actor, now=now,
                                  procedure=procedure))

    try:
        outcome = await create_case(sessions=services.sessions,
                                    year=procedure.calendar.local_date(now).year,
                                    build=build_outcome)
    except Refused as refused:
        return refusal(refused.reason, refused.details, t, sop=procedure.sop)
    services.wake_outbox()
    return outcome
