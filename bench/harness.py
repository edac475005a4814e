"""What bench/status.py and bench/updates.py share: a throw-away database, a Telegram that
answers at once, updates as Telegram sends them, percentiles."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Sequence
from itertools import count
from typing import Any

import psycopg
from sqlalchemy.engine import URL, make_url
from telegram.request import BaseRequest, RequestData

_ids = count(1)


def libpq(url: URL) -> str:
    """The libpq form of a SQLAlchemy URL."""
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


def create_pg(server: str) -> URL:
    """A new, empty database of the benchmark's own on the server at ``server``."""
    base = make_url(server)
    name = f"ikabot_bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(libpq(base), autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"'.encode())
    return base.set(database=name)


def drop_pg(server: str, url: URL) -> None:
    """Drop the benchmark's database."""
    with psycopg.connect(libpq(make_url(server)), autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{url.database}" WITH (FORCE)'.encode())


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q`` quantile (nearest rank)."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


class InstantTelegram(BaseRequest):
    """Answers every Bot API call at once, as Telegram would: no network, no waiting."""

    def __init__(self) -> None:
        self.calls = 0

    async def initialize(self) -> None:
        """Nothing to open."""

    async def shutdown(self) -> None:
        """Nothing to close."""

    @property
    def read_timeout(self) -> float | None:
        """No timeouts: nothing waits."""
        return None

    async def do_request(self, url: str, method: str, request_data: RequestData | None = None,
                         read_timeout: Any = None, write_timeout: Any = None,
                         connect_timeout: Any = None, pool_timeout: Any = None
                         ) -> tuple[int, bytes]:
        """getMe, a message sent or edited, a chat, or True."""
        self.calls += 1
        name = url.rsplit("/", 1)[-1]
        params = request_data.parameters if request_data else {}
        result: Any = True
        if name == "getMe":
            result = {"id": 123456, "is_bot": True, "first_name": "IkaBot",
                      "username": "ikabot_bench_bot"}
        elif name == "getChat":  # the board checks what its chat has pinned
            result = {"id": int(str(params["chat_id"])), "type": "supergroup", "title": "IKA",
                      "accent_color_id": 0, "max_reaction_count": 11,
                      "accepted_gift_types": {"unlimited_gifts": False, "limited_gifts": False,
                                              "unique_gifts": False,
                                              "premium_subscription": False}}
        elif name in ("sendMessage", "sendPhoto", "editMessageText"):
            chat = int(str(params.get("chat_id", 1)))
            result = {"message_id": int(str(params.get("message_id", self.calls))),
                      "date": int(time.time()),
                      "chat": {"id": chat, "type": "supergroup" if chat < 0 else "private"},
                      "text": str(params.get("text", ""))}
        return 200, json.dumps({"ok": True, "result": result}).encode()


def command(user: int, text: str, chat: int | None = None) -> dict[str, Any]:
    """A message update, as Telegram sends it, from ``user`` (in ``chat``, or in private)."""
    where = chat if chat is not None else user
    word = text.split()[0] if text.startswith("/") else ""
    message: dict[str, Any] = {
        "message_id": next(_ids), "date": int(time.time()),
        "chat": {"id": where, "type": "private" if where > 0 else "supergroup",
                 **({"first_name": "User"} if where > 0 else {"title": "IKA"})},
        "from": {"id": user, "is_bot": False, "first_name": "User", "language_code": "ms"},
        "text": text}
    if word:
        message["entities"] = [{"type": "bot_command", "offset": 0, "length": len(word)}]
    return {"update_id": next(_ids), "message": message}


def tap(user: int, data: str, chat: int, message_id: int, text: str = "…") -> dict[str, Any]:
    """A callback query update: ``user`` taps a button carrying ``data`` on the bot's message."""
    return {"update_id": next(_ids), "callback_query": {
        "id": str(next(_ids)), "chat_instance": "1", "data": data,
        "from": {"id": user, "is_bot": False, "first_name": "User", "language_code": "ms"},
        "message": {"message_id": message_id, "date": int(time.time()), "text": text,
                    "chat": {"id": chat, "type": "private" if chat > 0 else "supergroup",
                             **({"first_name": "User"} if chat > 0 else {"title": "IKA"})},
                    "from": {"id": 123456, "is_bot": True, "first_name": "IkaBot"}}}}
