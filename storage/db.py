"""The async engine and session factory, with SQLite set up for concurrent writers."""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import URL, Connection, make_url
from sqlalchemy.exc import ArgumentError
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine
from sqlmodel.ext.asyncio.session import AsyncSession

DEFAULT_BUSY_TIMEOUT = 30.0  # seconds a SQLite writer waits for another to finish


def make_engine(
    url: str | URL, *, busy_timeout: float = DEFAULT_BUSY_TIMEOUT, **kwargs: Any
) -> AsyncEngine:
    """An async engine for ``url``; on SQLite, WAL mode and immediate write transactions."""
    # The bot runs for months: a connection the server dropped is replaced, not reported. A
    # SQLite file has no server to drop it, and the ping would cost every session a round trip.
    sqlite = make_url(url).get_backend_name() == "sqlite"
    kwargs.setdefault("pool_pre_ping", not sqlite)
    if sqlite:
        # The driver is in autocommit mode (the begin event below emits BEGIN) and a connection
        # ends its own transaction when closed: the pool's ROLLBACK on return would be one more
        # trip to aiosqlite's thread for every session, with nothing to roll back.
        kwargs.setdefault("pool_reset_on_return", None)
    engine = create_async_engine(url, **kwargs)
    if engine.dialect.name == "sqlite":
        _serialise_sqlite_writers(engine, busy_timeout)
    return engine


def safe_url(url: str) -> str:
    """A database URL fit to print: the password hidden."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "<unparsable database URL>"


READ_ONLY = "ikabot_read_only"  # an execution option: this connection's transactions only read


def session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """Sessions whose objects stay readable after commit (handlers render them afterwards)."""
    return async_sessionmaker(engine, class_=AsyncSession, expire_on_commit=False)


def read_session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """Sessions for reading only: on SQLite their transactions do not take the write lock.

    They share the engine's pool; a write in one of them may fail with "database is locked"
    at once on SQLite, so nothing that writes may use them.
    """
    return session_factory(engine.execution_options(**{READ_ONLY: True}))


def _switch_to_wal(cursor: Any, deadline: float) -> None:
    """Turn on WAL; SQLite answers "locked" at once, without busy_timeout, while another
    process (a second instance starting) holds the fresh file, so wait for it here."""
    while True:
        try:
            cursor.execute("PRAGMA journal_mode = WAL")
            return
        except Exception as error:  # the driver's OperationalError, however it is wrapped
            if "locked" not in str(error) or time.monotonic() > deadline:
                raise
            time.sleep(0.05)  # only ever while two processes open a new file together


def _serialise_sqlite_writers(engine: AsyncEngine, busy_timeout: float) -> None:
    """Make every transaction take SQLite's write lock at BEGIN.

    With the driver's deferred BEGIN, a transaction that reads and then writes (load a case,
    then save it) must upgrade its lock mid-way; when another writer got there first SQLite
    answers "database is locked" at once, without waiting out busy_timeout. BEGIN IMMEDIATE
    takes the lock up front, so writers queue on busy_timeout instead and all succeed. In WAL
    mode readers are never blocked by them; sessions of read_session_factory begin deferred.
    This is SQLAlchemy's documented recipe: turn off the driver's own BEGIN and emit ours in
    the ``begin`` event.
    """

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # the driver no longer emits BEGIN itself
        cursor = dbapi_connection.cursor()
        try:
            # busy_timeout first: switching to WAL itself needs the lock on a fresh file.
            cursor.execute(f"PRAGMA busy_timeout = {int(busy_timeout * 1000)}")
            _switch_to_wal(cursor, time.monotonic() + busy_timeout)
            cursor.execute("PRAGMA foreign_keys = ON")
            # WAL makes NORMAL durable against crashes of the bot, which is what matters here.
            cursor.execute("PRAGMA synchronous = NORMAL")
        finally:
            cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(connection: Connection) -> None:
        # A reader's deferred BEGIN still gives it one snapshot (a count and its page agree)
        # without queueing behind, or holding up, the writers.
        if connection.get_execution_options().get(READ_ONLY, False):
            # Straight to the driver: one trip to its thread, where a statement is three
            # (cursor, execute, close); reads are every update's path, and a deferred BEGIN
            # neither waits for a lock nor fails on one.
            adapted: Any = connection.connection.dbapi_connection
            adapted.run_async(lambda driver: driver.execute("BEGIN"))
        else:
            connection.exec_driver_sql("BEGIN IMMEDIATE")
