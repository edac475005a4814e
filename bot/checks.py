"""`ikabot check`: each thing the bot needs to serve, verified and told in one line."""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from importlib.resources.abc import Traversable

from sqlalchemy.exc import DBAPIError
from telegram import Bot
from telegram.error import InvalidToken, NetworkError, TelegramError
from telegram.request import HTTPXRequest

from bot.domain.sop import load_sop
from bot.i18n import LANGUAGES, CatalogError, load_translators
from bot.settings import Settings
from bot.tomlfile import TomlFileError
from storage.db import safe_url
from storage.leader import sqlite_file

TELEGRAM_TIMEOUT = 10.0  # seconds: a monitoring probe must not hang


@dataclass(frozen=True)
class Result:
    """One thing checked: what, whether it is fine, and the detail an operator reads."""

    what: str
    ok: bool
    detail: str

    def line(self) -> str:
        """``ok   database: …`` or ``FAIL database: …``."""
        return f"{'ok  ' if self.ok else 'FAIL'} {self.what}: {self.detail}"


async def check_database(settings: Settings) -> Result:
    """The database answers and its schema is the one this ikabot needs."""
    from storage.migrate import current_revision, head_revision, known_revision

    where = safe_url(settings.database_url)
    database = sqlite_file(settings.database_url)
    if database is not None and not database.exists():  # opening it would make an empty one
        return Result("database", False, f"{where}: no such file (run `ikabot db upgrade` or "
                                         "`ikabot run` to create it)")
    try:
        revision = await current_revision(settings.database_url)
    except (DBAPIError, OSError) as exc:
        reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
        return Result("database", False, f"cannot open {where}: {reason}")
    head = head_revision()
    if revision == head:
        return Result("database", True, f"{where}, schema revision {revision} (current)")
    if revision is not None and not known_revision(revision):
        return Result("database", False, f"{where} has revision {revision}, newer than this "
                                         f"ikabot knows ({head}): install the newer ikabot")
    found = f"revision {revision}" if revision else "no schema"
    return Result("database", False, f"{where} has {found}, this ikabot needs {head}: run "
                                     "`ikabot db upgrade`")


def check_catalogs(settings: Settings, root: Traversable | None = None) -> Result:
    """Every language's catalog loads."""
    try:
        load_translators(settings.default_language, root)
    except CatalogError as exc:
        return Result("catalogs", False, str(exc))
    return Result("catalogs", True, f"{', '.join(LANGUAGES)} loaded, default "
                                    f"{settings.default_language}")


def check_sop(settings: Settings) -> Result:
    """The SOP file (or the shipped one) is valid."""
    try:
        sop = load_sop(settings.sop_file)
    except TomlFileError as exc:
        return Result("SOP", False, f"SOP_FILE {exc}")
    where = str(settings.sop_file) if settings.sop_file else "the shipped SOP"
    return Result("SOP", True, f"{where}, {len(sop.step)} steps")


def check_documents(settings: Settings) -> Result:
    """The documents directory exists and a file can be written in it. A check makes nothing:
    a missing directory (a volume not mounted) fails rather than being made."""
    path = settings.documents_dir
    if path.exists() and not path.is_dir():
        return Result("documents", False, f"{path} is not a directory")
    if not path.exists():
        return Result("documents", False, f"{path} does not exist (create it, or start "
                                          "`ikabot run` once, which makes it)")
    try:
        with tempfile.NamedTemporaryFile(dir=path, prefix=".ikabot-check-"):
            pass
    except OSError as exc:
        return Result("documents", False, f"cannot write in {path}: {exc.strerror or exc}")
    return Result("documents", True, f"{path.resolve()} is writable")


async def check_telegram(settings: Settings) -> Result:
    """Telegram accepts the token (getMe): the bot's name, or why not."""
    secret = settings.telegram_bot_token
    token = secret.get_secret_value().strip() if secret is not None else ""
    if not token:
        return Result("telegram", False, "TELEGRAM_BOT_TOKEN is not set (get one from "
                                         "@BotFather)")
    via = " through TELEGRAM_PROXY" if settings.telegram_proxy else ""
    request = HTTPXRequest(proxy=settings.telegram_proxy, connect_timeout=TELEGRAM_TIMEOUT,
                           read_timeout=TELEGRAM_TIMEOUT)
    bot = Bot(token, base_url=settings.bot_api_url(), base_file_url=settings.bot_file_url(),
              request=request)
    # PTB's own messages may quote the token: every detail here is ikabot's wording.
    try:
        async with bot:
            me = bot.bot
    except InvalidToken:
        return Result("telegram", False, "Telegram rejected TELEGRAM_BOT_TOKEN (401 "
                                         "Unauthorized): get a valid token from @BotFather")
    except NetworkError as exc:
        reason = str(exc).replace(token, "[REDACTED]")
        return Result("telegram", False, f"cannot reach {settings.telegram_base_url}{via}: "
                                         f"{reason}")
    except TelegramError as exc:
        return Result("telegram", False, f"getMe failed: {type(exc).__name__}")
    return Result("telegram", True, f"@{me.username} ({me.first_name}) at "
                                    f"{settings.telegram_base_url}{via}")


async def run_checks(settings: Settings, *, catalogs: Traversable | None = None
                     ) -> list[Result]:
    """Every check after the settings, in the order the bot needs them at start."""
    return [
        await check_database(settings),
        check_catalogs(settings, catalogs),
        check_sop(settings),
        check_documents(settings),
        await check_telegram(settings),
    ]

