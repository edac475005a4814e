"""Webhook mode: ikabot's own web server, for Telegram's posts and for a health probe.

PTB's ``Updater.start_webhook`` serves Telegram's path only; a monitoring probe needs
``GET /healthz`` on the same port. So, as PTB's ``customwebhookbot`` examples do, the bot serves
the webhook itself (with tornado, which PTB's webhook extra brings) and puts each update on
``application.update_queue``; the Application runs as usual.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
import signal
from http import HTTPStatus
from types import TracebackType
from typing import Any
from urllib.parse import urlsplit

import tornado.web
from telegram import Update
from tornado.httpserver import HTTPServer

from bot.context import IkaApplication
from bot.settings import Settings

log = logging.getLogger(__name__)

HEALTH_PATH = "/healthz"
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"


def webhook_options(settings: Settings) -> dict[str, Any]:
    """Where the webhook listens and what Telegram must send; ValueError when unset."""
    if not settings.webhook_url or settings.webhook_secret is None:
        raise ValueError("webhook mode needs WEBHOOK_URL and WEBHOOK_SECRET")
    return {
        "listen": settings.webhook_listen,
        "port": settings.webhook_port,
        # The path of the public URL, so a reverse proxy can pass it through unchanged.
        "url_path": urlsplit(settings.webhook_url).path.lstrip("/"),
        "webhook_url": settings.webhook_url,
        # Telegram sends it in X-Telegram-Bot-Api-Secret-Token; other posts are refused.
        "secret_token": settings.webhook_secret.get_secret_value(),
        "allowed_updates": Update.ALL_TYPES,
    }


class TelegramPosts(tornado.web.RequestHandler):
    """``POST /<path>``: one update from Telegram, with the secret token, onto the queue."""

    SUPPORTED_METHODS = ("POST",)

    def initialize(self, bot_app: IkaApplication, secret: str) -> None:
        """Tornado's per-request set-up."""
        self.bot_app = bot_app
        self.secret = secret

    async def post(self) -> None:
        """Refuse (403) what lacks the secret, and (503) what comes while the bot does not
        run, so that Telegram sends it again later; queue the update and answer 200."""
        given = self.request.headers.get(SECRET_HEADER, "")
        if not hmac.compare_digest(given.encode(), self.secret.encode()):
            raise tornado.web.HTTPError(HTTPStatus.FORBIDDEN)
        if not self.bot_app.running:
            raise tornado.web.HTTPError(HTTPStatus.SERVICE_UNAVAILABLE)
        content_type = self.request.headers.get("Content-Type", "").split(";")[0].strip()
        if content_type != "application/json":
            raise tornado.web.HTTPError(HTTPStatus.UNSUPPORTED_MEDIA_TYPE)
        try:
            update = Update.de_json(json.loads(self.request.body), self.bot_app.bot)
        except (ValueError, TypeError, KeyError) as exc:
            raise tornado.web.HTTPError(HTTPStatus.BAD_REQUEST) from exc
        await self.bot_app.update_queue.put(update)
        self.set_status(HTTPStatus.OK)

    def log_exception(self, typ: type[BaseException] | None, value: BaseException | None,
                      tb: TracebackType | None) -> None:
        """A refusal is the sender's fault and is not logged; anything else is a bug."""
        if not isinstance(value, tornado.web.HTTPError):
            super().log_exception(typ, value, tb)


class Health(tornado.web.RequestHandler):
    """``GET /healthz``: 200 while the bot serves updates, 503 while it starts or stops."""

    SUPPORTED_METHODS = ("GET",)

    def initialize(self, bot_app: IkaApplication, version: str) -> None:
        """Tornado's per-request set-up."""
        self.bot_app = bot_app
        self.version = version

    def get(self) -> None:
        """The bot's state as JSON."""
        serving = self.bot_app.running
        self.set_status(HTTPStatus.OK if serving else HTTPStatus.SERVICE_UNAVAILABLE)
        self.set_header("Cache-Control", "no-store")
        self.write({"status": "ok" if serving else "unavailable", "version": self.version})


class WebhookServer:
    """The HTTP server of webhook mode, and Telegram told where it is."""

    def __init__(self, application: IkaApplication, settings: Settings, version: str) -> None:
        self.application = application
        self.options = webhook_options(settings)
        self.version = version
        self._server: HTTPServer | None = None

    @property
    def path(self) -> str:
        """The path Telegram posts to: the public URL's."""
        return "/" + str(self.options["url_path"])

    def listen(self) -> None:
        """Answer from now on: /healthz says 503 and posts are refused 503 until the bot runs."""
        routes: list[Any] = [
            (HEALTH_PATH, Health, {"bot_app": self.application, "version": self.version}),
            (rf"{self.path.rstrip('/')}/?", TelegramPosts,
             {"bot_app": self.application, "secret": self.options["secret_token"]}),
        ]
        app = tornado.web.Application(routes, log_function=lambda handler: None)
        self._server = HTTPServer(app)
        self._server.listen(self.options["port"], address=self.options["listen"])
        log.info("webhook: listening on %s:%s for %s and %s", self.options["listen"],
                 self.options["port"], self.path, HEALTH_PATH)

    async def register(self) -> None:
        """Ask Telegram to post updates to the public URL, with the secret."""
        await self.application.bot.set_webhook(
            url=self.options["webhook_url"], secret_token=self.options["secret_token"],
            allowed_updates=self.options["allowed_updates"])

    async def stop(self) -> None:
        """Stop listening and close what is open."""
        if self._server is None:
            return
        server, self._server = self._server, None
        server.stop()
        await server.close_all_connections()


def _stop_signal() -> None:
    # As PTB's run_webhook does: out of whatever the loop runs, a standby's wait included.
    raise SystemExit


def run_webhook(application: IkaApplication, settings: Settings, version: str) -> None:
    """Serve the webhook until a stop signal or ``application.stop_running()``.

    PTB's ``Application.run_webhook`` sequence: initialize, post_init, start, the loop until
    stopped (``stop_running`` stops it), then stop, post_stop, shutdown, post_shutdown. The web
    server listens from the first moment, so that /healthz answers 503 while a standby waits
    for the lead, and stops last.
    """
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGABRT):
        loop.add_signal_handler(sig, _stop_signal)
    server = WebhookServer(application, settings, version)
    try:
        server.listen()
        loop.run_until_complete(application.initialize())
        if application.post_init is not None:
            loop.run_until_complete(application.post_init(application))
        loop.run_until_complete(application.start())
        loop.run_until_complete(server.register())
        loop.run_forever()
    except SystemExit:
        log.info("stopping: a stop signal")
    finally:
        try:
            if application.running:
                loop.run_until_complete(application.stop())
                if application.post_stop is not None:
                    loop.run_until_complete(application.post_stop(application))
            loop.run_until_complete(server.stop())
            loop.run_until_complete(application.shutdown())
            if application.post_shutdown is not None:
                loop.run_until_complete(application.post_shutdown(application))
        finally:
            loop.close()
