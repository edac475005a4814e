"""python-telegram-bot's persistence in ikabot's database: conversations, user_data, chat_data.

An officer half-way through a conversation (an /invite waiting for the person's name) carries
on after the bot restarts: PTB hands each changed conversation state and each used
``user_data``/``chat_data`` to this class every ``update_interval`` seconds and once more when
the application stops. bot_data and callback_data are not kept (ikabot's buttons carry their
own data, and what the bot knows lives in its own tables).

Everything stored must be JSON: strings as dict keys, lists not tuples. Anything else would read
back different after a restart, so it is refused when it is stored, not discovered then.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import delete, tuple_
from sqlmodel import SQLModel, col, select
from telegram.ext import BasePersistence, PersistenceInput

from storage.cases import Sessions
from storage.models import ChatData, ConversationState, UserData

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


def _of(batch: dict[Slot, object | None], kind: str) -> dict[Any, Any]:
    return {key: value for (what, key), value in batch.items() if what == kind}


class DatabasePersistence(BasePersistence[Data, Data, Data]):
    """PTB persistence in the ``conversation_states``, ``user_data`` and ``chat_data`` tables.

    Writes are grouped: the values PTB hands over in one run go to the database in one short
    transaction (SQLite takes its write lock at BEGIN IMMEDIATE, so many small transactions
    would queue behind each other), and a value equal to what is stored is not written again.
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
        text = None if value is None else _canonical(value, what)
        if slot not in self._pending and self._stored.get(slot) == text:
            return  # PTB hands over every user seen, changed or not
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
                await self._store(batch)
            except BaseException:
                # Kept for the next run (or flush), under any newer value queued meanwhile.
                self._pending = {**batch, **self._pending}
                raise
            for slot, value in batch.items():
                if value is None:
                    self._stored.pop(slot, None)
                else:
                    self._stored[slot] = _canonical(value, "")

    async def _store(self, batch: dict[Slot, object | None]) -> None:
        now = self._clock()
        conversations, users, chats = (_of(batch, kind) for kind in ("conversation", "user",
                                                                       "chat"))
        async with self._sessions() as session, session.begin():
            # Delete, then insert what has a value: an upsert both databases understand.
            if conversations:
                await session.exec(delete(ConversationState).where(
                    tuple_(col(ConversationState.name), col(ConversationState.key))
                    .in_(list(conversations))))
                session.add_all(
                    ConversationState(name=name, key=key, state=state, updated_at=now)
                    for (name, key), state in conversations.items() if state is not None)
            if users:
                await session.exec(delete(UserData).where(col(UserData.user_id).in_(users)))
                session.add_all(UserData(user_id=user_id, data=data, updated_at=now)
                                for user_id, data in users.items() if data is not None)
            if chats:
                await session.exec(delete(ChatData).where(col(ChatData.chat_id).in_(chats)))
                session.add_all(ChatData(chat_id=chat_id, data=data, updated_at=now)
                                for chat_id, data in chats.items() if data is not None)
