"""The one factory that builds ikabot: handlers, storage, translations, limits, in one place."""

from __future__ import annotations

import gc
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import partial
from typing import Any

from telegram import Update
from telegram.constants import ParseMode
from telegram.error import InvalidToken
from telegram.ext import (
    Application,
    ApplicationBuilder,
    BaseHandler,
    ContextTypes,
    Defaults,
    TypeHandler,
)

from bot.context import IkaApplication, IkaContext
from bot.domain.deadlines import Procedure
from bot.domain.sop import load_sop
from bot.i18n import load_translators
from bot.pace import TelegramPace
from bot.services import Clock, Services, utc_now
from bot.settings import Settings
from bot.startup import TokenRejected
from bot.version import ikabot_version
from bot.webhook import WebhookServer, run_webhook
from handlers import (
    admin,
    approvals,
    away,
    cases,
    clock,
    errors,
    fallbacks,
    gate,
    gazette,
    menus,
    reminders,
    reports,
    signed,
    start,
    status,
    steps,
)
from storage.db import make_engine, session_factory
from storage.leader import Leadership, LeadershipLost
from storage.migrate import upgrade
from storage.persistence import DatabasePersistence

log = logging.getLogger(__name__)


def build_services(settings: Settings, *, clock: Clock = utc_now) -> Services:
    """Load the SOP and the catalogs and open the database engine (it connects lazily)."""
    procedure = Procedure(
        load_sop(settings.sop_file), settings.calendar(), settings.count_working_days,
        settings.reminder_policy(),
    )
    engine = make_engine(settings.database_url)
    return Services(
        settings=settings,
        procedure=procedure,
        translators=load_translators(settings.default_language),
        engine=engine,
        sessions=session_factory(engine),
        leadership=Leadership(settings.database_url,
                              retry_seconds=settings.leader_retry_seconds),
        clock=clock,
    )


def handler_groups() -> list[tuple[int, list[BaseHandler[Any, Any, Any]]]]:
    """Every handler, by group, in the order PTB tries them.

    Group -1 runs first for every update: it looks up who is writing and in which language,
    and stops there for anyone the bot must not act for (unknown users, unbound groups,
    anonymous admins). Group 0 holds the commands and conversations proper; within it the
    conversations come first, so a reply inside one never reaches a command handler.
    """
    return [
        (-1, [TypeHandler(Update, gate.identify)]),
        # Conversations that wait for typed answers come before plain commands; the step
        # report and the decision reason take text only in private chats, so they never
        # swallow a group's messages.
        # admin's /invite conversation follows them, as its name step takes private text too;
        # its `/start CODE` (an invitation link) must come before start's plain /start.
        # /new registers a case in a conversation per user whose typed answers come in private
        # only; then the plain commands (/status), then the /cancel that no conversation
        # took, which must come after every conversation's own /cancel; last whatever no one
        # took: any tap gets an answer, a private message a pointer to /help.
        # The SOP as lived (more time, waits, absences, the gazette, after signing) are plain
        # commands and taps of their own, tried after every conversation.
        (0, [*steps.handlers(), *approvals.handlers(), *admin.handlers(), *cases.handlers(),
             *start.handlers(), *status.HANDLERS, *reports.HANDLERS, *clock.handlers(),
             *away.handlers(), *gazette.handlers(), *signed.handlers(),
             cases.NOTHING_TO_CANCEL, *fallbacks.handlers()]),
    ]


async def _take_over(services: Services) -> None:
    """Become the instance that serves the database (a standby waits here), then upgrade it.

    The persistence calls this before it loads anything, in Application.initialize: a standby
    must not load conversations at start that would be stale by the time it takes over.
    """
    await services.leadership.acquire()
    await upgrade(services.engine)


async def _post_init(application: Application[Any, Any, Any, Any, Any, Any]) -> None:
    services: Services = application.services  # type: ignore[attr-defined]
    # This instance serves the database and its schema is up to date: the persistence saw to
    # both before loading from it, in Application.initialize, which runs before post_init.
    await menus.register_commands(application.bot, services)
    application.sweeper = await reminders.start_sweeping(  # type: ignore[attr-defined]
        application, services, application.bot)
    _watch_leadership(application, services)
    log.info("ikabot is ready")


def _watch_leadership(application: Application[Any, Any, Any, Any, Any, Any],
                      services: Services) -> None:
    """A leader whose lock's connection broke stops serving, so that a standby takes over."""
    leadership = services.leadership
    if not leadership.shared:
        return

    async def check(context: object) -> None:
        if not await leadership.still_held():
            log.error("leader: the lock's connection to %s broke; stopping so that a standby "
                      "takes over", leadership.where)
            application.stop_running()

    assert application.job_queue is not None
    application.job_queue.run_repeating(check, interval=leadership.retry_seconds,
                                        name="leadership")


async def _post_stop(application: Application[Any, Any, Any, Any, Any, Any]) -> None:
    """Let a sweep under way finish its sends before the bot's connection closes."""
    sweeper = getattr(application, "sweeper", None)
    if sweeper is not None:
        await sweeper.idle()


async def _post_shutdown(application: Application[Any, Any, Any, Any, Any, Any]) -> None:
    services: Services = application.services  # type: ignore[attr-defined]
    await services.engine.dispose()
    await services.leadership.release()


def build_application(settings: Settings, *, services: Services | None = None,
                      clock: Clock = utc_now) -> IkaApplication:
    """The whole bot, ready for ``run_polling`` / ``run_webhook`` or a test's ``async with``."""
    if settings.telegram_bot_token is None:
        raise ValueError("TELEGRAM_BOT_TOKEN is not set")
    # httpx logs each request's URL at INFO, and the Bot API's URLs hold the token: keep it
    # at WARNING whatever the root level, unless an operator set its level on purpose.
    for noisy in ("httpx", "httpcore"):
        if logging.getLogger(noisy).level == logging.NOTSET:
            logging.getLogger(noisy).setLevel(logging.WARNING)
    services = services or build_services(settings, clock=clock)
    builder = (
        ApplicationBuilder()
        .application_class(IkaApplication, kwargs={"services": services})
        .token(settings.telegram_bot_token.get_secret_value())
        .base_url(settings.bot_api_url())
        .base_file_url(settings.bot_file_url())
        .context_types(ContextTypes(context=IkaContext))
        .defaults(Defaults(parse_mode=ParseMode.HTML, tzinfo=services.procedure.calendar.tz))
        .rate_limiter(
            TelegramPace(
                per_second=settings.rate_limit_per_second,
                group_per_minute=settings.rate_limit_group_per_minute,
                chat_per_second=settings.rate_limit_chat_per_second,
                max_retries=settings.telegram_max_retries,
            )
        )
        # Conversations, user_data and chat_data in the database, so that an officer half-way
        # through one carries on after a restart; first it waits to be the instance that
        # serves the database, and brings the schema up to date.
        .persistence(DatabasePersistence(services.sessions, clock=services.clock,
                                         prepare=partial(_take_over, services)))
        .post_init(_post_init)
        .post_stop(_post_stop)
        .post_shutdown(_post_shutdown)
    )
    if settings.telegram_proxy:
        # Both of PTB's HTTPXRequest objects (one for getUpdates, one for every other call).
        builder = builder.proxy(settings.telegram_proxy).get_updates_proxy(
            settings.telegram_proxy)
    application: IkaApplication = builder.build()  # type: ignore[assignment]
    for group, handlers in handler_groups():
        application.add_handlers(handlers, group=group)
    application.add_error_handler(errors.report)
    return application


def run(settings: Settings, *, webhook: bool = False) -> None:
    """Run the bot until stopped: by polling Telegram, or by serving a webhook.

    On PostgreSQL it first waits, as a standby, while another instance serves the database;
    LeadershipLost when it stopped because its hold on the database broke; TokenRejected when
    Telegram refuses the token.
    """
    application = build_application(settings)
    # What is loaded by now (modules, catalogs, the SOP) lives as long as the process: frozen,
    # it is out of the collector's way, and a full collection no longer stalls every handler
    # and sweep for the ~60 ms it takes to walk it all.
    gc.collect()
    gc.freeze()
    try:
        if webhook:
            run_webhook(application, settings, version=ikabot_version())
        else:
            application.run_polling(allowed_updates=Update.ALL_TYPES)
    except InvalidToken:  # revoked since: PTB's message quotes the token
        raise TokenRejected("Telegram rejected the token (TELEGRAM_BOT_TOKEN)") from None
    leadership = application.services.leadership
    if leadership.lost:
        raise LeadershipLost(f"the lock on {leadership.where} was lost: this instance stopped "
                             "serving so that a standby could take over")


@asynccontextmanager
async def serving(application: IkaApplication, *, webhook: bool = False
                  ) -> AsyncIterator[IkaApplication]:
    """Run the bot inside an ``async with``, as run_polling / run_webhook do: tests and demo."""
    await application.initialize()
    try:
        if application.post_init is not None:
            await application.post_init(application)
        updater = application.updater
        assert updater is not None
        server = (WebhookServer(application, application.services.settings, ikabot_version())
                  if webhook else None)
        if server is not None:
            server.listen()
        else:
            await updater.start_polling(poll_interval=0.0, allowed_updates=Update.ALL_TYPES)
        await application.start()
        try:
            if server is not None:
                await server.register()
            yield application
        finally:
            if updater.running:
                await updater.stop()
            await application.stop()
            if application.post_stop is not None:
                await application.post_stop(application)
            if server is not None:
                await server.stop()
    finally:
        await application.shutdown()
        if application.post_shutdown is not None:
            await application.post_shutdown(application)
