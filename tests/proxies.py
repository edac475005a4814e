"""Small outbound proxies on loopback for tests: HTTP (CONNECT and forwarding) and SOCKS5.

Each counts what passed through it, so a test can tell that the bot used it.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import struct
from types import TracebackType
from urllib.parse import urlsplit


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    with contextlib.suppress(ConnectionError, asyncio.IncompleteReadError):
        while chunk := await reader.read(65536):
            writer.write(chunk)
            await writer.drain()
    with contextlib.suppress(ConnectionError, RuntimeError):
        writer.close()


class _Proxy:
    """A listening server on 127.0.0.1 and a free port; ``requests`` what it carried."""

    scheme = ""

    def __init__(self) -> None:
        self.requests: list[str] = []
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    @property
    def url(self) -> str:
        assert self._server is not None
        port = self._server.sockets[0].getsockname()[1]
        return f"{self.scheme}://127.0.0.1:{port}"

    def methods(self) -> list[str]:
        """The Bot API methods asked for through the proxy (the last part of each path)."""
        return [r.rsplit("/", 1)[-1] for r in self.requests]

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        raise NotImplementedError

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        try:
            await self._serve(reader, writer)
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            self._tasks.discard(task)
            writer.close()

    async def __aenter__(self) -> _Proxy:
        self._server = await asyncio.start_server(self._client, "127.0.0.1", 0)
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        assert self._server is not None
        self._server.close()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self._server.wait_closed()


async def _read_head(reader: asyncio.StreamReader) -> list[str]:
    head = await reader.readuntil(b"\r\n\r\n")
    return head.decode("latin-1").split("\r\n")[:-2]


async def _forward(lines: list[str], reader: asyncio.StreamReader,
                   upstream: asyncio.StreamWriter, seen: list[str], *, rewrite: bool) -> None:
    """Pass one HTTP/1.1 request on (absolute-form made origin-form), noting it."""
    method, target, version = lines[0].split(" ")
    path = urlsplit(target)._replace(scheme="", netloc="").geturl() if rewrite else target
    seen.append(f"{method} {path}")
    headers = [h for h in lines[1:] if not h.lower().startswith("proxy-")]
    length = next((int(h.split(":", 1)[1]) for h in headers
                   if h.lower().startswith("content-length:")), 0)
    body = await reader.readexactly(length)
    head = "\r\n".join([f"{method} {path} {version}", *headers, "", ""])
    upstream.write(head.encode("latin-1") + body)
    await upstream.drain()


async def _requests(reader: asyncio.StreamReader, upstream: asyncio.StreamWriter,
                    seen: list[str], *, rewrite: bool) -> None:
    """Pass on every request the client sends on this connection, until it closes."""
    while True:
        try:
            lines = await _read_head(reader)
        except asyncio.IncompleteReadError:
            break
        await _forward(lines, reader, upstream, seen, rewrite=rewrite)
    upstream.close()


class HttpProxy(_Proxy):
    """An HTTP proxy: CONNECT opens a tunnel; an absolute-form request is forwarded.

    httpx tunnels (CONNECT) to https:// targets and forwards plain http:// ones, as the fake
    Telegram is: both are served.
    """

    scheme = "http"

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        lines = await _read_head(reader)
        method, target, _ = lines[0].split(" ")
        if method == "CONNECT":
            host, port = target.rsplit(":", 1)
            self.requests.append(f"CONNECT {target}")
            up_reader, up_writer = await asyncio.open_connection(host, int(port))
            writer.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
            await writer.drain()
            await asyncio.gather(_pipe(reader, up_writer), _pipe(up_reader, writer))
            return
        where = urlsplit(target)
        up_reader, up_writer = await asyncio.open_connection(where.hostname, where.port or 80)

        async def requests() -> None:
            await _forward(lines, reader, up_writer, self.requests, rewrite=True)
            await _requests(reader, up_writer, self.requests, rewrite=True)

        await asyncio.gather(requests(), _pipe(up_reader, writer))


class Socks5Proxy(_Proxy):
    """A SOCKS5 proxy without authentication (RFC 1928), CONNECT only."""

    scheme = "socks5"

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        version, count = await reader.readexactly(2)
        await reader.readexactly(count)
        assert version == 5
        writer.write(b"\x05\x00")  # no authentication
        _, command, _, kind = await reader.readexactly(4)
        assert command == 1  # CONNECT
        if kind == 1:
            host = str(ipaddress.IPv4Address(await reader.readexactly(4)))
        elif kind == 3:
            host = (await reader.readexactly((await reader.readexactly(1))[0])).decode()
        else:
            host = str(ipaddress.IPv6Address(await reader.readexactly(16)))
        (port,) = struct.unpack("!H", await reader.readexactly(2))
        up_reader, up_writer = await asyncio.open_connection(host, port)
        writer.write(b"\x05\x00\x00\x01" + bytes(4) + b"\x00\x00")
        await writer.drain()
        await asyncio.gather(_requests(reader, up_writer, self.requests, rewrite=False),
                             _pipe(up_reader, writer))
