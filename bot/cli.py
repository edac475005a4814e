"""The `ikabot` command: run the bot, upgrade the database, import the org file, translations.

A mistake an operator can fix (a missing token, a bad setting, a wrong line in a file) is one
clear line on stderr and exit status 2, never a traceback; tracebacks are kept for real bugs.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import sys
from collections.abc import Sequence
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from pydantic import ValidationError
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, DBAPIError

from bot import holidays_cli
from bot.domain.sop import Sop, load_sop
from bot.i18n import (
    DOMAIN,
    LANGUAGES,
    SOURCE_LANGUAGE,
    CatalogError,
    catalog_problems,
    fill_source_catalog,
    load_translators,
)
from bot.settings import Settings
from bot.tomlfile import TomlFileError

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_CONFIG = 2  # as argparse does for a bad command line

log = logging.getLogger(__name__)

# Packages whose INFO messages an operator wants to see; everything else logs warnings only.
_INFO_LOGGERS = ("bot", "handlers", "storage")
# httpx logs every request URL at INFO, and Bot API URLs contain the token (<root>/bot<token>/…).
_QUIET_LOGGERS = ("httpx", "httpcore")
_SOURCE_DIRS = ("bot", "handlers", "storage")
# Settings whose value is never echoed back: the token, and a database URL's password.
_SECRET_SETTINGS = frozenset({"TELEGRAM_BOT_TOKEN", "DATABASE_URL"})


class ConfigError(Exception):
    """Something the operator must fix; its message is the one line they see."""


class RedactSecrets(logging.Filter):
    """Replace each protected secret (the bot token) wherever it appears in a log record."""

    def __init__(self) -> None:
        super().__init__()
        self._secrets: set[str] = set()

    def protect(self, secret: str) -> None:
        """Redact ``secret`` from now on."""
        if secret:
            self._secrets.add(secret)

    def redact(self, text: str) -> str:
        """``text`` with every protected secret replaced."""
        for secret in self._secrets:
            text = text.replace(secret, "[REDACTED]")
        return text

    def filter(self, record: logging.LogRecord) -> bool:
        """Rewrite the record's message, traceback and stack in place; never drop it."""
        if not self._secrets:
            return True
        try:
            message = record.getMessage()
        except Exception:  # a malformed record: let the handler report it as logging does
            return True
        redacted = self.redact(message)
        if redacted != message:
            record.msg, record.args = redacted, None
        if record.exc_info and not record.exc_text:
            # Format the traceback now, so the text the handler prints is the redacted one.
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self.redact(record.exc_text)
        if record.stack_info:
            record.stack_info = self.redact(record.stack_info)
        return True


def configure_logging() -> RedactSecrets:
    """Log to stderr once, for the whole process; returns the filter that hides the token."""
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    redactor = RedactSecrets()
    handler.addFilter(redactor)
    logging.basicConfig(level=logging.WARNING, handlers=[handler], force=True)
    for name in _INFO_LOGGERS:
        logging.getLogger(name).setLevel(logging.INFO)
    for name in _QUIET_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)
    return redactor


def safe_url(url: str) -> str:
    """A database URL fit to print: the password hidden."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "<unparsable database URL>"


# --- settings and files ---------------------------------------------------------------------


def load_settings() -> Settings:
    """Settings from the environment and .env; ConfigError naming the first field at fault."""
    try:
        return Settings()
    except ValidationError as exc:
        errors = exc.errors()
        first = errors[0]
        name = ".".join(str(p) for p in first["loc"]).upper()
        reason = str(first["msg"]).removeprefix("Value error, ")
        shown = first.get("input")
        if name and isinstance(shown, str) and name not in _SECRET_SETTINGS and shown not in reason:
            reason += f" (got {shown!r})"
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        what = f"invalid setting {name}" if name else "invalid settings"
        raise ConfigError(
            f"{what}: {reason}{more}. Fix it in the environment or in .env (see .env.example)."
        ) from exc


def require_token(settings: Settings) -> str:
    """The bot token; ConfigError telling how to get one when it is missing."""
    token = settings.telegram_bot_token.get_secret_value().strip() if (
        settings.telegram_bot_token is not None
    ) else ""
    if not token:
        raise ConfigError(
            "TELEGRAM_BOT_TOKEN is not set: get a token by talking to @BotFather in Telegram, "
            "then put TELEGRAM_BOT_TOKEN=<token> in the environment or in .env."
        )
    return token


def load_procedure(settings: Settings) -> Sop:
    """The SOP from SOP_FILE (or the shipped one); ConfigError naming the line at fault."""
    try:
        return load_sop(settings.sop_file)
    except TomlFileError as exc:
        raise ConfigError(f"SOP_FILE {exc}") from exc


# --- commands ---------------------------------------------------------------------------------


def _unreachable(database_url: str, exc: Exception) -> ConfigError:
    """One line for a database that cannot be opened, its password hidden."""
    reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
    return ConfigError(f"cannot open the database {safe_url(database_url)}: {reason}")


async def _upgrade(database_url: str) -> tuple[str | None, str | None]:
    from storage.db import make_engine
    from storage.migrate import current_revision, upgrade

    engine = make_engine(database_url)
    try:
        before = await current_revision(engine)
        await upgrade(engine)
        return before, await current_revision(engine)
    finally:
        await engine.dispose()


def upgrade_database(settings: Settings) -> str:
    """Bring the database schema up to date and say what changed; unreachable is one line."""
    try:
        before, after = asyncio.run(_upgrade(settings.database_url))
    except (DBAPIError, OSError) as exc:
        raise _unreachable(settings.database_url, exc) from exc
    where = safe_url(settings.database_url)
    if before == after:
        return f"Database schema is up to date (revision {after}): {where}"
    return f"Database schema upgraded from revision {before or 'none'} to {after}: {where}"


def cmd_run(args: argparse.Namespace, redactor: RedactSecrets) -> int:
    """Check everything the bot needs, upgrade the schema, then run the bot."""
    settings = load_settings()
    redactor.protect(require_token(settings))
    load_procedure(settings)
    load_translators(settings.default_language)
    if args.webhook and (not settings.webhook_url or settings.webhook_secret is None):
        raise ConfigError("ikabot run --webhook needs WEBHOOK_URL and WEBHOOK_SECRET (see "
                          ".env.example)")
    from storage.leader import AnotherInstance, LeadershipLost, sole_instance

    try:
        # On SQLite the file is this process's from here on: a second one stops before the
        # schema, which the running one relies on, could change under it.
        with sole_instance(settings.database_url):
            log.info("%s", upgrade_database(settings))
            from bot.app import run  # the bot's own imports are only paid for by `run`

            run(settings, webhook=args.webhook)
    except AnotherInstance as exc:
        raise ConfigError(str(exc)) from exc
    except LeadershipLost as exc:
        print(f"ikabot: {exc}", file=sys.stderr)
        return EXIT_FAILED
    return EXIT_OK


def cmd_demo(args: argparse.Namespace, redactor: RedactSecrets) -> int:
    """Play a whole case against a loopback fake of Telegram, printing the conversation."""
    from bot.demo import play

    asyncio.run(play(args.lang, sys.stdout))
    return EXIT_OK


def cmd_db_upgrade(args: argparse.Namespace, redactor: RedactSecrets) -> int:
    """Create or upgrade the database schema."""
    settings = load_settings()
    print(upgrade_database(settings))
    return EXIT_OK


async def _import_org(database_url: str, path: Path) -> object:
    from storage.db import make_engine, session_factory
    from storage.migrate import upgrade
    from storage.org import import_org

    engine = make_engine(database_url)
    try:
        await upgrade(engine)
        return await import_org(path, session_factory=session_factory(engine))
    finally:
        await engine.dispose()


def cmd_org_import(args: argparse.Namespace, redactor: RedactSecrets) -> int:
    """Load divisions, users and chats from an org file into the database."""
    settings = load_settings()
    path = Path(args.file)
    try:
        summary = asyncio.run(_import_org(settings.database_url, path))
    except TomlFileError as exc:
        raise ConfigError(f"org file {exc}") from exc
    except (DBAPIError, OSError) as exc:
        raise _unreachable(settings.database_url, exc) from exc
    print(f"Imported {path}: {summary}")
    return EXIT_OK


def source_root() -> Path:
    """The checkout ikabot runs from: where babel.cfg sits beside bot/."""
    root = Path(__file__).resolve().parent.parent
    if not (root / "babel.cfg").is_file():
        raise ConfigError(
            f"ikabot i18n needs a source checkout (no babel.cfg in {root}); run it from the "
            "git clone, installed with `pip install -e .`"
        )
    return root


def _read_text(path: Path) -> str | None:
    return path.read_text(encoding="utf-8") if path.is_file() else None


def _undated(pot: str) -> str:
    """A template without its POT-Creation-Date line, to compare two extractions."""
    return "\n".join(ln for ln in pot.splitlines() if not ln.startswith('"POT-Creation-Date:'))


def cmd_i18n(args: argparse.Namespace, redactor: RedactSecrets) -> int:
    """Extract messages into the template, update both catalogs and compile them to check."""
    from babel.messages.frontend import CommandLineInterface

    root = source_root()
    # Babel logs through its own handler; without this every line would print twice.
    logging.getLogger("babel").propagate = False
    try:
        project_version = version("ikabot")
    except PackageNotFoundError:
        project_version = "0"
    template = f"locales/{DOMAIN}.pot"
    inputs = [d for d in _SOURCE_DIRS if (root / d).is_dir()]
    steps = [
        ["extract", "--mapping-file=babel.cfg", "--keyword=N_", f"--output-file={template}",
         "--no-location",  # catalogs change when messages do, not when code moves
         "--project=ikabot", f"--version={project_version}", "--add-comments=TRANSLATORS:",
         "--copyright-holder=the ikabot authors", *inputs],
        *(["update", f"--input-file={template}", "--output-dir=locales", f"--domain={DOMAIN}",
           f"--locale={lang}", "--init-missing", "--ignore-obsolete",
           "--ignore-pot-creation-date"] for lang in LANGUAGES),
        ["compile", "--directory=locales", f"--domain={DOMAIN}", "--statistics"],
    ]
    with contextlib.chdir(root):
        before = _read_text(Path(template))
        for step in steps:
            # Babel's frontend is not annotated; it returns the command's exit status.
            status = CommandLineInterface().run(["pybabel", *step])  # type: ignore[no-untyped-call]
            if status:
                print(f"ikabot: pybabel {step[0]} failed (status {status})", file=sys.stderr)
                return EXIT_FAILED
            if step[0] == "extract" and before and _undated(before) == _undated(
                Path(template).read_text(encoding="utf-8")
            ):
                # Nothing but the creation date changed: keep the file, and git quiet.
                Path(template).write_text(before, encoding="utf-8")
        fill_source_catalog(Path("locales", SOURCE_LANGUAGE, "LC_MESSAGES", f"{DOMAIN}.po"))
        problems = [
            f"{path}: {problem}"
            for lang in LANGUAGES
            for path in [Path("locales", lang, "LC_MESSAGES", f"{DOMAIN}.po")]
            for problem in catalog_problems(path, lang)
        ]
    for line in problems:
        print(line, file=sys.stderr)
    if problems:
        print(f"ikabot: {len(problems)} translations to do or fix in locales/", file=sys.stderr)
        return EXIT_FAILED
    print("Catalogs are complete: every message is translated in " + ", ".join(LANGUAGES) + ".")
    return EXIT_OK


# --- the command line -------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    """The `ikabot` argument parser and its subcommands."""
    parser = argparse.ArgumentParser(
        prog="ikabot",
        description="KDN's IKA negotiation procedure, worked from Telegram. "
        "Settings come from the environment and .env (see .env.example).",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    run = commands.add_parser("run", help="upgrade the database and run the bot")
    run.add_argument("--webhook", action="store_true",
                     help="receive updates by webhook instead of polling")
    run.set_defaults(handler=cmd_run)

    db = commands.add_parser("db", help="database maintenance")
    db_commands = db.add_subparsers(dest="db_command", required=True, metavar="COMMAND")
    db_commands.add_parser("upgrade", help="create or upgrade the database schema").set_defaults(
        handler=cmd_db_upgrade
    )

    org = commands.add_parser("org", help="the organisation: divisions, users, group chats")
    org_commands = org.add_subparsers(dest="org_command", required=True, metavar="COMMAND")
    org_import = org_commands.add_parser("import", help="load an org file (see org.example.toml)")
    org_import.add_argument("file", metavar="FILE", help="the org TOML file")
    org_import.set_defaults(handler=cmd_org_import)

    commands.add_parser(
        "i18n", help="extract messages, update the ms and en catalogs, compile them to check"
    ).set_defaults(handler=cmd_i18n)

    demo = commands.add_parser(
        "demo", help="play a whole case with the real bot and a fake Telegram (no token needed)")
    demo.add_argument("--lang", choices=LANGUAGES, default="ms",
                      help="the language everyone speaks in the demo (default ms)")
    demo.set_defaults(handler=cmd_demo)
    holidays_cli.add_commands(commands, cmd_holidays)
    return parser


def cmd_holidays(args: argparse.Namespace, redactor: RedactSecrets) -> int:
    """The gazette: add or remove a holiday, or list the coming ones (bot/holidays_cli.py)."""
    settings = load_settings()
    try:
        print(holidays_cli.run(args, settings))
    except (DBAPIError, OSError) as exc:
        raise _unreachable(settings.database_url, exc) from exc
    return EXIT_OK


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `ikabot` console script and of `python -m bot`."""
    args = build_parser().parse_args(argv)
    redactor = configure_logging()
    try:
        status: int = args.handler(args, redactor)
    except (ConfigError, CatalogError) as exc:
        print(f"ikabot: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    except KeyboardInterrupt:
        return 130
    return status
