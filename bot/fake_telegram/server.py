"""The fake Telegram's HTTP side: the Bot API and file downloads on a free loopback port."""

from __future__ import annotations

import asyncio
import json
import ssl
from types import TracebackType
from typing import Any

import tornado.httpserver
import tornado.httputil
import tornado.netutil
import tornado.web

from bot.fake_telegram.world import TOKEN_PATTERN, ApiError, Upload, World

# What Telegram's nginx answers when the Bot API behind it is down: HTML, not JSON.
_BAD_GATEWAY_PAGE = (
    b"<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n"
    b"<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n"
    b"</body>\r\n</html>\r\n"
)


def _read_params(
    request: tornado.httputil.HTTPServerRequest,
) -> tuple[dict[str, object], dict[str, Upload]]:
    """Query string plus a JSON, form-urlencoded or multipart body, as Telegram accepts."""
    values: dict[str, object] = {
        name: raw[-1].decode("utf-8", "replace") for name, raw in request.query_arguments.items()
    }
    if request.headers.get("Content-Type", "").startswith("application/json") and request.body:
        try:
            body = json.loads(request.body)
        except ValueError:
            raise ApiError(400, "Bad Request: can't parse JSON encoded request") from None
        if not isinstance(body, dict):
            raise ApiError(400, "Bad Request: JSON request must be an object")
        values.update(body)
    else:
        # tornado has already parsed form-urlencoded and multipart bodies for us
        values.update(
            (name, raw[-1].decode("utf-8", "replace"))
            for name, raw in request.body_arguments.items()
        )
    uploads = {
        name: Upload(parts[-1].filename or None, parts[-1].content_type or None, parts[-1].body)
        for name, parts in request.files.items()
    }
    return values, uploads


class _TelegramHandler(tornado.web.RequestHandler):
    """Shared answers: Telegram's JSON envelope and its token checks."""

    def initialize(self, world: World) -> None:
        self.world = world

    def token_error(self, token: str) -> ApiError | None:
        """404 for a malformed token and 401 for a well-formed unknown one, as Telegram does."""
        if token == self.world.token:
            return None
        if TOKEN_PATTERN.match(token):
            return ApiError(401, "Unauthorized")
        return ApiError(404, "Not Found")

    def answer(self, status: int, body: dict[str, Any]) -> None:
        """Write one JSON answer."""
        self.set_status(status)
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps(body))

    def answer_error(self, error: ApiError) -> None:
        """Write an error the way Telegram does (nginx's HTML page for a 502)."""
        if error.status == 502:
            self.set_status(502)
            self.set_header("Content-Type", "text/html")
            self.finish(_BAD_GATEWAY_PAGE)
            return
        body: dict[str, Any] = {
            "ok": False,
            "error_code": error.status,
            "description": error.description,
        }
        if error.retry_after is not None:
            body["parameters"] = {"retry_after": error.retry_after}
        self.answer(error.status, body)


class _BotApiHandler(_TelegramHandler):
    """`GET|POST /bot<token>/<method>`."""

    _call: asyncio.Task[object] | None = None

    async def get(self, token: str, method: str) -> None:
        """Answer a Bot API call."""
        if (refused := self.token_error(token)) is not None:
            self.answer_error(refused)
            return
        try:
            values, uploads = _read_params(self.request)
        except ApiError as error:
            self.answer_error(error)
            return
        self._call = asyncio.ensure_future(self.world.call(method, values, uploads))
        try:
            result = await self._call
        except asyncio.CancelledError:
            return  # the client hung up (a cancelled long poll): nobody to answer
        except ApiError as error:
            self.answer_error(error)
            return
        self.answer(200, {"ok": True, "result": result})

    post = get

    def on_connection_close(self) -> None:
        """Stop work for a client that went away, so its long poll leaves no stale waiter."""
        if self._call is not None:
            self._call.cancel()


class _FileHandler(_TelegramHandler):
    """`GET /file/bot<token>/<file_path>`: the bytes behind getFile."""

    def get(self, token: str, file_path: str) -> None:
        """Serve a stored file."""
        stored = self.world.file_content(file_path) if self.token_error(token) is None else None
        if stored is None:
            self.answer_error(ApiError(404, "Not Found"))
            return
        self.set_header("Content-Type", stored.mime_type or "application/octet-stream")
        self.finish(stored.content)


class FakeTelegram:
    """The fake Bot API on 127.0.0.1 and a free port (or ``port``): `async with FakeTelegram()
    as tg: ...`."""

    def __init__(self, token: str | None = None, *, world: World | None = None,
                 port: int = 0, tls: ssl.SSLContext | None = None) -> None:
        if world is not None and token is not None and token != world.token:
            raise ValueError("give the token or a World built with it, not two tokens")
        self.world = world or World(token or "123:TEST")
        self.port = port  # 0: any free port
        self.tls = tls  # served over HTTPS with this context, as Telegram is
        self._server: tornado.httpserver.HTTPServer | None = None

    @property
    def base_url(self) -> str:
        """Where the server listens, e.g. http://127.0.0.1:54321."""
        if self._server is None:
            raise RuntimeError("the fake Telegram is not running")
        return f"{'https' if self.tls else 'http'}://127.0.0.1:{self.port}"

    @property
    def bot_base_url(self) -> str:
        """PTB's `base_url` (PTB appends the token)."""
        return f"{self.base_url}/bot"

    @property
    def file_base_url(self) -> str:
        """PTB's `base_file_url` (PTB appends the token)."""
        return f"{self.base_url}/file/bot"

    async def start(self) -> None:
        """Listen on a free loopback port."""
        app = tornado.web.Application(
            [
                (r"/bot([^/]*)/([^/]*)", _BotApiHandler, {"world": self.world}),
                (r"/file/bot([^/]*)/(.+)", _FileHandler, {"world": self.world}),
            ],
            log_function=lambda handler: None,  # world.requests is the log worth reading
        )
        sockets = tornado.netutil.bind_sockets(self.port, "127.0.0.1")
        self.port = sockets[0].getsockname()[1]
        self._server = tornado.httpserver.HTTPServer(app, ssl_options=self.tls)
        self._server.add_sockets(sockets)

    async def stop(self) -> None:
        """Answer whatever still waits, then close every connection."""
        if self._server is None:
            return
        self.world.close()
        self._server.stop()
        await self._server.close_all_connections()
        self._server = None

    async def __aenter__(self) -> FakeTelegram:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.stop()
