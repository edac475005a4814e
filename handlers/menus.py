"""The command menus Telegram shows, per language and per kind of user (setMyCommands)."""

from __future__ import annotations

import contextlib
from collections.abc import Sequence

from telegram import (
    BotCommand,
    BotCommandScope,
    BotCommandScopeAllGroupChats,
    BotCommandScopeAllPrivateChats,
    BotCommandScopeChat,
)
from telegram.error import TelegramError

from bot.domain.case import Role
from bot.i18n import N_, Translator
from bot.services import Services
from storage.org import list_users

# Each command and what the menu says it does; the lists below say who sees which.
DESCRIPTIONS = {
    "status": N_("Open cases, or one case: /status IKA-2026-001"),
    "done": N_("Report a step of your division done"),
    "new": N_("Register a new IKA case"),
    "note": N_("Add a note to a case"),
    "lang": N_("Choose Malay or English"),
    "help": N_("What ikabot does and how to use it"),
    "invite": N_("Invite a person with a role and division"),
    "bind": N_("Make this group a division's chat"),
    "cancel": N_("Leave what you are doing"),
    "export": N_("The register as a spreadsheet: /export or /export csv"),
    "calendar": N_("Your open deadlines as a calendar file"),
    "target": N_("Set a case's target date: /target IKA-2026-001 30/10/2026"),
    "extend": N_("Ask for more time on a step: /extend IKA-2026-001 5 reason"),
    "wait": N_("A step waits on KLN, the foreign side, the AGC or an agency"),
    "resume": N_("The outside party answered: the step's clock runs again"),
    "away": N_("Record an absence and who acts for you"),
    "back": N_("Back in the office: cancel your absence"),
    "holidays": N_("The coming public holidays"),
    "expiring": N_("Signed instruments expiring soon"),
    "classify": N_("Mark a case Terhad or Sulit"),
    "signed": N_("The signed instrument's dates: /signed IKA-2026-001"),
    "attach": N_("Keep a file with a case: /attach IKA-2026-001"),
}
EVERYONE = ("status", "lang", "help")
BY_ROLE: dict[Role, tuple[str, ...]] = {
    Role.VIEWER: EVERYONE,
    Role.MANAGEMENT: ("status", "export", "calendar", "away", "back", "expiring", "lang",
                      "help"),
    Role.OFFICER: ("done", "status", "note", "attach", "extend", "wait", "resume", "target",
                   "signed", "calendar", "cancel", "lang", "help"),
    Role.AB: ("new", "done", "status", "note", "attach", "extend", "wait", "resume", "classify",
              "signed", "expiring", "export", "target", "calendar", "cancel", "lang", "help"),
    Role.ADMIN: ("new", "done", "status", "note", "attach", "invite", "away", "holidays",
                 "classify", "signed", "export", "target", "calendar", "cancel", "lang", "help"),
}
GROUP = ("status", "done", "extend", "wait", "resume", "holidays", "help", "bind")


def commands(names: Sequence[str], t: Translator) -> list[BotCommand]:
    """The menu entries for ``names`` in ``t``'s language."""
    return [BotCommand(name, t.gettext(DESCRIPTIONS[name])) for name in names]


async def set_menu(bot: object, scope: BotCommandScope, names: Sequence[str],
                   services: Services) -> None:
    """Set one scope's menu in every language, the default language also for all others."""
    set_my_commands = bot.set_my_commands  # type: ignore[attr-defined]
    for lang, t in services.translators.by_language.items():
        await set_my_commands(commands(names, t), scope=scope, language_code=lang)
    await set_my_commands(commands(names, services.translators.default), scope=scope)


async def set_user_menu(bot: object, telegram_id: int, role: Role, services: Services) -> None:
    """A registered user's own menu, for what their role may do."""
    if BY_ROLE[role] == EVERYONE:
        return  # the menu of all private chats already fits
    # A user who has not started the bot yet gets their menu when they do.
    with contextlib.suppress(TelegramError):
        await set_menu(bot, BotCommandScopeChat(telegram_id), BY_ROLE[role], services)


async def register_commands(bot: object, services: Services) -> None:
    """Every menu: private chats, group chats, and each registered user's by role."""
    await set_menu(bot, BotCommandScopeAllPrivateChats(), EVERYONE, services)
    await set_menu(bot, BotCommandScopeAllGroupChats(), GROUP, services)
    async with services.sessions() as session:
        users = await list_users(session=session)
    for user in users:
        await set_user_menu(bot, user.telegram_id, Role(user.role), services)
