"""python-telegram-bot's persistence in ikabot's database: conversations, user_data, chat_data.

An officer half-way through a conversation (an /invite waiting for the person's name) carries
on after the bot restarts: PTB hands each changed conversation state and each used
``user_data``/``chat_data`` to this class after every update (see
``IkaApplication.process_update``), every ``update_interval`` seconds and once more when the
application stops. bot_data and callback_data are not kept (ikabot's buttons carry their own
data, and what the bot knows lives in its own tables).

Everything stored must be JSON: strings as dict keys, lists not tuples. Anything else would read
back different after a restart, so it is refused when it is stored, not discovered then. Every
string is cleaned of NUL and other control characters first (PostgreSQL stores no NUL), and
each value is written on its own: one the database refuses is logged and dropped, and the others
are stored all the same.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import delete
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlmodel import SQLModel, col, select
from sqlmodel.ext.asyncio.session import AsyncSession
from telegram.ext import BasePersistence, PersistenceInput

from bot.text import clean_data
from storage.cases import Sessions
from storage.models import ChatData, ConversationState, UserData

log = logging.getLogger(__name__)

Data = dict[Any, Any]
# PTB's own aliases (telegram.ext._utils.types, a private module), spelled out.
ConversationKey = tuple[int | str, ...]
ConversationDict = dict[ConversationKey, object]
CDCData = tuple[list[tuple[str, float, dict[str, Any]]], dict[str, str]]
# Seconds between PTB's writes: at most this much of a conversation is lost if the process dies
# without stopping; a clean stop (or Ctrl-C) always writes everything.
UPDATE_INTERVAL = 5.0


def _utc_now() -> datetime:
    return datetime.now(UTC)


def _canonical(value: object, what: str) -> str:
    """``value`` as JSON text; TypeError when it would not read back as the same value."""
    try:
        text = json.dumps(value, sort_keys=True, separators=(",", ":"), allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"{what} must be JSON data to survive a restart: {exc}") from exc
    if json.loads(text) != value:  # int dict keys and tuples would come back changed
        raise TypeError(f"{what} must be JSON data to survive a restart (str keys, lists): "
                        f"{value!r}")
    return text


def _conversation_key(key: ConversationKey) -> str:
    return json.dumps(list(key), separators=(",", ":"))


# Where a value lives: ("conversation", (name, key)), ("user", user_id) or ("chat", chat_id).
Slot = tuple[str, Any]


class DatabasePersistence(BasePersistence[Data, Data, Data]):
    """PTB persistence in the ``conversation_states``, ``user_data`` and ``chat_data`` tables.

    Writes are grouped: the values PTB hands over in one run go to the database in one short
    transaction (SQLite takes its write lock at BEGIN IMMEDIATE, so many small transactions
    would queue behind each other), each value in a savepoint of its own, so that one the
    database refuses rolls back alone; a value equal to what is stored is not written again.
    """

    def __init__(
        self,
        sessions: Sessions,
        *,
        clock: Callable[[], datetime] = _utc_now,
        update_interval: float = UPDATE_INTERVAL,
        prepare: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        super().__init__(
            store_data=PersistenceInput(bot_data=False, callback_data=False),
            update_interval=update_interval,
        )
        self._sessions = sessions
        self._clock = clock
        # PTB loads persisted data in Application.initialize, before post_init: a fresh
        # database gets its schema here, first.
        self._prepare = prepare
        self._preparing = asyncio.Lock()
        self._pending: dict[Slot, object | None] = {}  # None: delete
        self._writing = asyncio.Lock()
        # What the database holds, as canonical JSON, so that unchanged values are skipped.
        self._stored: dict[Slot, str] = {}
        # Values the database refused, so that the same value is not tried again and again.
        self._refused: dict[Slot, str | None] = {}

    # -- loading -----------------------------------------------------------------------------

    async def _ready(self) -> None:
        async with self._preparing:
            if self._prepare is not None:
                await self._prepare()
                self._prepare = None

    async def _load(self, table: type[SQLModel]) -> list[Any]:
        await self._ready()
        async with self._sessions() as session:
            return list((await session.exec(select(table))).all())

    async def get_user_data(self) -> dict[int, Data]:
        """Every stored user_data, by Telegram user id."""
        rows: list[UserData] = await self._load(UserData)
        for row in rows:
            self._stored[("user", row.user_id)] = _canonical(row.data, "user_data")
        return {row.user_id: row.data for row in rows}

    async def get_chat_data(self) -> dict[int, Data]:
        """Every stored chat_data, by chat id."""
        rows: list[ChatData] = await self._load(ChatData)
        for row in rows:
            self._stored[("chat", row.chat_id)] = _canonical(row.data, "chat_data")
        return {row.chat_id: row.data for row in rows}

    async def get_conversations(self, name: str) -> ConversationDict:
        """The stored states of the conversation ``name``, by (chat id, user id) key."""
        await self._ready()
        async with self._sessions() as session:
            rows = (await session.exec(
                select(ConversationState).where(col(ConversationState.name) == name))).all()
        for row in rows:
            self._stored[("conversation", (name, row.key))] = _canonical(row.state, "a state")
        return {tuple(json.loads(row.key)): row.state for row in rows}

    async def get_bot_data(self) -> Data:
        """bot_data is not kept."""
        return {}

    async def get_callback_data(self) -> CDCData | None:
        """callback_data is not kept."""
        return None

    # -- storing -----------------------------------------------------------------------------

    async def update_conversation(
        self, name: str, key: ConversationKey, new_state: object | None
    ) -> None:
        """Keep the conversation's new state (None: the conversation ended)."""
        await self._put(("conversation", (name, _conversation_key(key))), new_state,
                        f"conversation {name}'s state")

    async def update_user_data(self, user_id: int, data: Data) -> None:
        """Keep a user's user_data (an empty one is deleted)."""
        await self._put(("user", user_id), data or None, f"user_data of {user_id}")

    async def update_chat_data(self, chat_id: int, data: Data) -> None:
        """Keep a chat's chat_data (an empty one is deleted)."""
        await self._put(("chat", chat_id), data or None, f"chat_data of {chat_id}")

    async def drop_user_data(self, user_id: int) -> None:
        """Forget a user's user_data."""
        await self._put(("user", user_id), None, "")

    async def drop_chat_data(self, chat_id: int) -> None:
        """Forget a chat's chat_data."""
        await self._put(("chat", chat_id), None, "")

    async def update_bot_data(self, data: Data) -> None:
        """bot_data is not kept."""

    async def update_callback_data(self, data: CDCData) -> None:
        """callback_data is not kept."""

    async def refresh_user_data(self, user_id: int, user_data: Data) -> None:
        """Nothing to refresh: only this bot writes these tables."""

    async def refresh_chat_data(self, chat_id: int, chat_data: Data) -> None:
        """Nothing to refresh: only this bot writes these tables."""

    async def refresh_bot_data(self, bot_data: Data) -> None:
        """bot_data is not kept."""

    async def flush(self) -> None:
        """Write whatever is still waiting (PTB calls this when the application shuts down)."""
        await self._write()

    async def _put(self, slot: Slot, value: object | None, what: str) -> None:
        """Queue ``value`` (None: delete) unless the database holds it already, and write."""
        if value is not None:
            value = clean_data(value)
        text = None if value is None else _canonical(value, what)
        if slot not in self._pending and self._stored.get(slot) == text:
            return  # PTB hands over every user seen, changed or not
        if slot in self._refused and self._refused[slot] == text:
            return  # refused once already: it would be refused again
        self._pending[slot] = value
        await self._write()

    async def _write(self) -> None:
        """Write everything waiting in one transaction."""
        # PTB hands over one run's values concurrently (asyncio.gather): yielding once lets the
        # others join the batch before the first caller writes it.
        await asyncio.sleep(0)
        async with self._writing:
            batch, self._pending = self._pending, {}
            if not batch:
                return
            try:
                refused = await self._store(batch)
            except BaseException:
                # Kept for the next run (or flush), under any newer value queued meanwhile.
                self._pending = {**batch, **self._pending}
                raise
            for slot, value in batch.items():
                text = None if value is None else _canonical(value, "")
                if slot in refused:
                    self._refused[slot] = text
                    continue
                self._refused.pop(slot, None)
                if text is None:
                    self._stored.pop(slot, None)
                else:
                    self._stored[slot] = text

    async def _store(self, batch: dict[Slot, object | None]) -> set[Slot]:
        """Write the batch, each value in its own savepoint; the slots the database refused."""
        now = self._clock()
        refused: set[Slot] = set()
        async with self._sessions() as session, session.begin():
            for slot, value in batch.items():
                try:
                    async with session.begin_nested():
                        await _store_one(session, slot, value, now)
                except Exception as error:  # the driver's, however it is wrapped
                    if _is_transient(error):
                        raise  # the database, not the value: the whole batch is kept
                    # The error's text quotes the values, a user's typed text among them.
                    log.error("persistence: could not store the %s of %r (%s); dropped",
                              *_described(slot), type(getattr(error, "orig", None) or error)
                              .__name__)
                    refused.add(slot)
        return refused


def _is_transient(error: Exception) -> bool:
    """Whether the database failed (a lost connection, a lock), rather than refused a value."""
    return isinstance(error, DBAPIError) and (
        error.connection_invalidated or isinstance(error, OperationalError | InterfaceError))


def _described(slot: Slot) -> tuple[str, object]:
    kind, key = slot
    if kind == "conversation":
        return f"conversation {key[0]}", key[1]
    return f"{kind}_data", key


async def _store_one(session: AsyncSession, slot: Slot, value: Any,
                     now: datetime) -> None:
    """Delete, then insert what has a value: an upsert both databases understand."""
    kind, key = slot
    row: SQLModel | None
    if kind == "conversation":
        name, text_key = key
        await session.exec(delete(ConversationState).where(
            col(ConversationState.name) == name, col(ConversationState.key) == text_key))
        row = (None if value is None
               else ConversationState(name=name, key=text_key, state=value, updated_at=now))
    elif kind == "user":
        await session.exec(delete(UserData).where(col(UserData.user_id) == key))
        row = None if value is None else UserData(user_id=key, data=value, updated_at=now)
    else:
        await session.exec(delete(ChatData).where(col(ChatData.chat_id) == key))
        row = None if value is None else ChatData(chat_id=key, data=value, updated_at=now)
    if row is not None:
        session.add(row)
        await session.flush()
