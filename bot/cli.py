"""The `ikabot` command: run and check the bot, the database, backups, people, translations.

A mistake an operator can fix (a missing token, a bad setting, a wrong line in a file) is one
clear line on stderr and exit status 2, never a traceback; tracebacks are kept for real bugs.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import sys
from collections.abc import Awaitable, Callable, Sequence
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import TypeVar
from urllib.parse import urlsplit

from pydantic import ValidationError
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

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
from bot.logs import RedactSecrets, configure_logging
from bot.settings import LogSettings, Settings
from bot.tomlfile import TomlFileError
from bot.version import ikabot_version
from storage.db import safe_url

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_CONFIG = 2  # as argparse does for a bad command line

log = logging.getLogger(__name__)
T = TypeVar("T")

_SOURCE_DIRS = ("bot", "handlers", "storage")
# Settings whose value is never echoed back: the token, and URLs that may hold a password.
_SECRET_SETTINGS = frozenset({"TELEGRAM_BOT_TOKEN", "DATABASE_URL", "TELEGRAM_PROXY",
                              "WEBHOOK_SECRET"})


class ConfigError(Exception):
    """Something the operator must fix; its message is the one line they see."""


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
    protect_secrets(redactor, settings)
    load_procedure(settings)
    load_translators(settings.default_language)
    if args.webhook and (not settings.webhook_url or settings.webhook_secret is None):
        raise ConfigError("ikabot run --webhook needs WEBHOOK_URL and WEBHOOK_SECRET (see "
                          ".env.example)")
    from bot.startup import TokenRejected, wait_for_telegram
    from storage.leader import AnotherInstance, LeadershipLost, sole_instance

    try:
        # On SQLite the file is this process's from here on: a second one stops before the
        # schema, which the running one relies on, could change under it.
        with sole_instance(settings.database_url):
            try:
                # Then Telegram: a network still coming up at boot is waited out, and a token
                # it rejects is one line (without the token) before the database is touched.
                asyncio.run(wait_for_telegram(settings))
            except TokenRejected as exc:
                raise ConfigError(str(exc)) from None
            log.info("%s", upgrade_database(settings))
            from bot.app import run  # the bot's own imports are only paid for by `run`

            try:
                run(settings, webhook=args.webhook)
            except TokenRejected as exc:
                raise ConfigError(str(exc)) from None
    except AnotherInstance as exc:
        raise ConfigError(str(exc)) from exc
    except LeadershipLost as exc:
        print(f"ikabot: {exc}", file=sys.stderr)
        return EXIT_FAILED
    except (ConfigError, KeyboardInterrupt):
        raise
    except Exception:
        # A bug: its traceback goes through the log, whose filter takes the token out of it.
        log.exception("ikabot stopped on an unexpected error")
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


def protect_secrets(redactor: RedactSecrets, settings: Settings) -> None:
    """Keep the token, the webhook secret and the proxy's password out of every line."""
    for secret in (settings.telegram_bot_token, settings.webhook_secret):
        if secret is not None:
            redactor.protect(secret.get_secret_value().strip())
    if settings.telegram_proxy:
        redactor.protect(urlsplit(settings.telegram_proxy).password or "")


def cmd_check(args: argparse.Namespace, redactor: RedactSecrets) -> int:
    """Verify the settings, database, catalogs, SOP, documents and Telegram; one line each."""
    from bot.checks import run_checks

    try:
        settings = load_settings()
    except ConfigError as exc:
        print(f"FAIL settings: {exc}")
        return EXIT_FAILED
    protect_secrets(redactor, settings)
    print(f"ok   settings: valid (ikabot {ikabot_version()})")
    failed = 0
    for result in asyncio.run(run_checks(settings)):
        print(redactor.redact(result.line()))
        failed += not result.ok
    return EXIT_FAILED if failed else EXIT_OK


def cmd_backup(args: argparse.Namespace, redactor: RedactSecrets) -> int:
    """Back up the database (SQLite) and the documents, with a manifest, into DIR."""
    from storage.backup import BackupError, backup, summary

    settings = load_settings()
    target = Path(args.dir)
    try:
        outcome = asyncio.run(backup(database_url=settings.database_url,
                                     documents_dir=settings.documents_dir, target=target))
    except DBAPIError as exc:
        raise _unreachable(settings.database_url, exc) from exc
    except OSError as exc:
        raise ConfigError(f"cannot back up into {target}: {exc}") from exc
    except BackupError as exc:
        print(f"ikabot: {exc}", file=sys.stderr)
        return EXIT_FAILED
    for note in outcome.notes:
        print(f"note: {note}")
    figures = summary(outcome.manifest)
    print(f"Backed up into {target}: {figures['cases']} cases, {figures['events']} events, "
          f"{figures['documents']} documents, schema revision {figures['schema']}; checksums "
          "in manifest.json")
    return EXIT_OK


def cmd_restore(args: argparse.Namespace, redactor: RedactSecrets) -> int:
    """Verify a backup's checksums and restore it into DATABASE_URL and DOCUMENTS_DIR."""
    from storage.backup import BackupError, restore, summary
    from storage.leader import AnotherInstance

    settings = load_settings()
    try:
        outcome = asyncio.run(restore(source=Path(args.dir), database_url=settings.database_url,
                                      documents_dir=settings.documents_dir, force=args.force))
    except (BackupError, AnotherInstance) as exc:
        print(f"ikabot: {exc}", file=sys.stderr)
        return EXIT_FAILED
    except OSError as exc:
        raise ConfigError(f"cannot restore {args.dir}: {exc}") from exc
    figures = summary(outcome.manifest)
    print(f"Restored {args.dir} (made by ikabot {outcome.manifest.ikabot_version} at "
          f"{outcome.manifest.created_at}): {figures['cases']} cases, {figures['documents']} "
          "documents, every checksum verified")
    for note in outcome.notes:
        print(f"note: {note}")
    return EXIT_OK


Work = Callable[[async_sessionmaker[AsyncSession]], Awaitable[T]]


async def _people(database_url: str, work: Work[T]) -> T:
    from storage.db import make_engine, session_factory
    from storage.migrate import upgrade

    engine = make_engine(database_url)
    try:
        await upgrade(engine)  # as `org import` does: a new deployment starts here
        return await work(session_factory(engine))
    finally:
        await engine.dispose()


def _on_people(settings: Settings, work: Work[T]) -> T:
    """Run ``work`` on the database's sessions; an unreachable database is one line."""
    try:
        return asyncio.run(_people(settings.database_url, work))
    except (DBAPIError, OSError) as exc:
        raise _unreachable(settings.database_url, exc) from exc


def cmd_admin_add(args: argparse.Namespace, redactor: RedactSecrets) -> int:
    """Register (or promote) an admin by Telegram id, so a deployment needs no org file."""
    from datetime import UTC, datetime

    from storage.people import PeopleError, add_admin

    settings = load_settings()
    try:
        user, created = _on_people(settings, lambda sessions: add_admin(
            sessions=sessions, telegram_id=args.telegram_id, name=args.name,
            now=datetime.now(UTC)))
    except PeopleError as exc:
        raise ConfigError(str(exc)) from exc
    what = "added" if created else "is now"
    print(f"{user.name} ({user.telegram_id}) {what} an admin: they may /invite people and "
          "/bind group chats")
    return EXIT_OK


def cmd_user_list(args: argparse.Namespace, redactor: RedactSecrets) -> int:
    """Every registered user: Telegram id, role, division, active, name."""
    from storage.people import all_users

    settings = load_settings()
    users = _on_people(settings, lambda sessions: all_users(sessions=sessions))
    print(f"{'telegram_id':>14}  {'role':<10}  {'division':<8}  {'active':<6}  name")
    for user in users:
        print(f"{user.telegram_id:>14}  {user.role:<10}  {user.division_code or '-':<8}  "
              f"{'yes' if user.active else 'no':<6}  {user.name}")
    print(f"{len(users)} users")
    return EXIT_OK


def cmd_user_forget(args: argparse.Namespace, redactor: RedactSecrets) -> int:
    """Erase one person's personal data, keeping the audit trail and recording the erasure."""
    from datetime import UTC, datetime

    from storage.people import PeopleError, forget_user

    settings = load_settings()
    try:
        erased = _on_people(settings, lambda sessions: forget_user(
            sessions=sessions, telegram_id=args.telegram_id, now=datetime.now(UTC)))
    except PeopleError as exc:
        raise ConfigError(str(exc)) from exc
    print(f"Forgot user {args.telegram_id}: removed {erased}; the case history keeps their "
          "Telegram id only, and the erasure is recorded in the event log")
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


# --- export ------------------------------------------------------------------------------------


async def _export(settings: Settings, sop: Sop, path: Path, fmt: str, lang: str | None,
                  words: Sequence[str] = ()) -> int:
    from datetime import UTC, datetime

    from bot.countries import named
    from bot.domain.case_filter import parse_filter
    from bot.domain.deadlines import Procedure
    from handlers.reports import write_register
    from storage.case_pages import narrowing
    from storage.db import make_engine, read_session_factory
    from storage.org import list_divisions

    procedure = Procedure(sop, settings.calendar(), settings.count_working_days,
                          settings.reminder_policy())
    translator = load_translators(settings.default_language).get(lang)
    engine = make_engine(settings.database_url)
    sessions = read_session_factory(engine)
    now = datetime.now(UTC)
    part = path.with_name(path.name + ".part")
    try:
        narrow = None
        if words:  # the filters /status takes
            async with sessions() as session:
                codes = [d.code for d in await list_divisions(session=session)
                         if d.kind == "division"]
            parsed = parse_filter(words, divisions=codes, steps=sop.keys, countries=named)
            if parsed.unknown or parsed.replaced:
                raise ConfigError("ikabot export: not a filter /status knows, or said twice: "
                                  + ", ".join([*parsed.unknown, *parsed.replaced]))
            narrow = narrowing(parsed.filter, now, procedure.calendar.tz)
        with part.open("wb") as out:
            count = (await write_register(out, sessions=sessions, procedure=procedure,
                                          t=translator, now=now, fmt=fmt,
                                          narrow=narrow)).cases
    finally:
        await engine.dispose()
    if count:
        part.replace(path)  # a half-written file never takes the name
    else:
        part.unlink()
    return count


def cmd_export(args: argparse.Namespace, redactor: RedactSecrets) -> int:
    """Write the register of every case (or those the filters keep) to FILE (.xlsx, .csv)."""
    settings = load_settings()
    sop = load_procedure(settings)
    path = Path(args.file)
    fmt = path.suffix.lower().lstrip(".")
    if fmt not in ("xlsx", "csv"):
        raise ConfigError(f"{path.name}: the register is written as .xlsx or .csv")
    try:
        count = asyncio.run(_export(settings, sop, path, fmt, args.lang, args.words))
    except DBAPIError as exc:
        raise _unreachable(settings.database_url, exc) from exc
    except OSError as exc:
        raise ConfigError(f"cannot write {path}: {exc.strerror or exc}") from exc
    if not count:
        print(f"ikabot: there are no cases to export; {path} was not written", file=sys.stderr)
        return EXIT_FAILED
    print(f"Wrote {count} cases to {path}")
    return EXIT_OK


# --- the command line -------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    """The `ikabot` argument parser and its subcommands."""
    parser = argparse.ArgumentParser(
        prog="ikabot",
        description="KDN's IKA negotiation procedure, worked from Telegram. "
        "Settings come from the environment and .env (see .env.example).",
    )
    parser.add_argument("--version", action="version", version=f"ikabot {ikabot_version()}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    run = commands.add_parser("run", help="upgrade the database and run the bot")
    run.add_argument("--webhook", action="store_true",
                     help="receive updates by webhook instead of polling")
    run.set_defaults(handler=cmd_run)

    commands.add_parser(
        "check", help="verify settings, database, catalogs, SOP, documents and Telegram; "
        "one line each, non-zero exit on any failure").set_defaults(handler=cmd_check)

    backup = commands.add_parser(
        "backup", help="copy the database (SQLite) and the documents, with checksums, into DIR")
    backup.add_argument("dir", metavar="DIR", help="a new or empty directory")
    backup.set_defaults(handler=cmd_backup)
    restore = commands.add_parser("restore", help="verify a backup and restore it")
    restore.add_argument("dir", metavar="DIR", help="a directory written by `ikabot backup`")
    restore.add_argument("--force", action="store_true",
                         help="overwrite a database that already holds data")
    restore.set_defaults(handler=cmd_restore)

    admin = commands.add_parser("admin", help="administrators")
    admin_commands = admin.add_subparsers(dest="admin_command", required=True, metavar="COMMAND")
    admin_add = admin_commands.add_parser("add", help="make a Telegram user an admin")
    admin_add.add_argument("telegram_id", metavar="TELEGRAM_ID", type=int,
                           help="their Telegram id (the bot tells an unknown user theirs)")
    admin_add.add_argument("name", metavar="NAME", help="their name, as colleagues know it")
    admin_add.set_defaults(handler=cmd_admin_add)

    user = commands.add_parser("user", help="registered users")
    user_commands = user.add_subparsers(dest="user_command", required=True, metavar="COMMAND")
    user_commands.add_parser("list", help="every registered user").set_defaults(
        handler=cmd_user_list)
    forget = user_commands.add_parser(
        "forget", help="erase a user's personal data (the audit trail records the erasure)")
    forget.add_argument("telegram_id", metavar="TELEGRAM_ID", type=int)
    forget.set_defaults(handler=cmd_user_forget)

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

    export = commands.add_parser("export", help="write the register of cases to FILE.xlsx or .csv")
    export.add_argument("file", metavar="FILE", help="where to write it (.xlsx or .csv)")
    export.add_argument("--lang", choices=LANGUAGES, default=None,
                        help="the headers' language (default: DEFAULT_LANGUAGE)")
    export.add_argument("words", nargs="*", metavar="FILTER",
                        help="the cases to export, as /status takes them (e.g. BKKA lewat, "
                        "2026 selesai); none: every case")
    export.set_defaults(handler=cmd_export)
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
    try:
        logs = LogSettings()
    except ValidationError:  # the command's own load_settings() names the setting at fault
        logs = LogSettings.model_construct()
    redactor = configure_logging(logs.log_level, logs.log_format)
    try:
        status: int = args.handler(args, redactor)
    except (ConfigError, CatalogError) as exc:
        print(f"ikabot: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    except KeyboardInterrupt:
        return 130
    return status
