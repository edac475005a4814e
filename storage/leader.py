"""One ikabot at a time serves a database: polls Telegram and sends the reminders.

PostgreSQL may have standbys: every instance asks for a session advisory lock on a connection of
its own, kept for the process's life; the one that holds it serves, the others wait and ask again
every LEADER_RETRY_SECONDS. PostgreSQL frees the lock when the holder's session ends, so when the
leader dies a standby takes over at its next try. A SQLite file serves one process only: a second
one is refused at start (an exclusive ``flock`` on ``<file>.lock``, held for the process's life).
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import logging
import os
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy.engine import URL, make_url

if TYPE_CHECKING:
    import psycopg

log = logging.getLogger(__name__)

# The advisory lock's key ("ikabot" in ASCII); advisory locks are per database, so two ikabots on
# two databases of one server do not meet.
LOCK_KEY = int.from_bytes(b"ikabot", "big")
APPLICATION_NAME = "ikabot leader lock"
# The lock's connection stays idle for months: keepalives make a dead peer show within ~30 s, on
# the server (which then ends the session and frees the lock) and here (the leader steps down).
_CLIENT_KEEPALIVES = {"keepalives": "1", "keepalives_idle": "10", "keepalives_interval": "5",
                      "keepalives_count": "3", "tcp_user_timeout": "30000", "connect_timeout": "10"}
_SERVER_KEEPALIVES = ("SET tcp_keepalives_idle = 10", "SET tcp_keepalives_interval = 5",
                      "SET tcp_keepalives_count = 3")


def _psycopg() -> Any:
    """The PostgreSQL driver, imported only where PostgreSQL is used: not on SQLite."""
    import psycopg

    return psycopg


class AnotherInstance(Exception):
    """Another ikabot process serves this SQLite file; the message is the one line to show."""


class LeadershipLost(Exception):
    """The leader's lock connection broke: it stopped serving so that a standby may take over."""


# --- SQLite: one process per file ----------------------------------------------------------------


def sqlite_file(database_url: str | URL) -> Path | None:
    """The SQLite file behind ``database_url``; None for PostgreSQL and in-memory databases."""
    url = make_url(database_url)
    if url.get_backend_name() != "sqlite" or url.database in (None, "", ":memory:"):
        return None
    return Path(url.database).resolve()


@contextlib.contextmanager
def sole_instance(database_url: str | URL) -> Iterator[None]:
    """On SQLite, hold ``<file>.lock`` exclusively while inside; AnotherInstance if it is taken.

    An flock belongs to the open file and dies with the process, however it ends: a crashed
    ikabot never leaves a stale lock behind. Nothing is locked for PostgreSQL (see Leadership).
    """
    database = sqlite_file(database_url)
    if database is None:
        yield
        return
    path = database.with_name(database.name + ".lock")
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.read(fd, 32).decode("ascii", "replace").strip()
            who = f" (process {holder})" if holder.isdigit() else ""
            raise AnotherInstance(
                f"another ikabot{who} is already running on {database} (it holds {path}); "
                "stop it first. A SQLite file serves one instance: for a standby, use "
                "PostgreSQL") from None
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode("ascii"))  # for the refusal above
        yield
    finally:
        os.close(fd)  # also releases the lock


# --- PostgreSQL: a leader and standbys -----------------------------------------------------------


def _conninfo(url: URL) -> str:
    """libpq's connection string for a SQLAlchemy URL, with keepalives unless it sets its own."""
    from psycopg.conninfo import conninfo_to_dict, make_conninfo  # PostgreSQL only

    given = conninfo_to_dict(url.set(drivername="postgresql").render_as_string(
        hide_password=False))
    return make_conninfo("", **{**_CLIENT_KEEPALIVES, "application_name": APPLICATION_NAME,
                                **given})


class Leadership:
    """The right to serve the database, taken before anything is read from it.

    On SQLite it is always granted (``sole_instance`` already refused any second process). On
    PostgreSQL ``acquire`` waits, as a standby, until this instance holds the advisory lock.
    """

    def __init__(self, database_url: str | URL, *, retry_seconds: float,
                 key: int = LOCK_KEY) -> None:
        url = make_url(database_url)
        self.retry_seconds = retry_seconds
        self.key = key
        self.where = url.render_as_string(hide_password=True)
        self._conninfo = _conninfo(url) if url.get_backend_name() == "postgresql" else None
        self._connection: psycopg.AsyncConnection[tuple[object, ...]] | None = None
        self.held = self._conninfo is None
        self.lost = False  # the lock's session broke while held

    @property
    def shared(self) -> bool:
        """True when other instances may wait for this database (PostgreSQL)."""
        return self._conninfo is not None

    async def acquire(self) -> None:
        """Return once this instance holds the lock; meanwhile say, once, that it is a standby."""
        said = ""
        while not self.held:
            try:
                await self.try_acquire()
                problem = ""
            except _psycopg().Error as exc:
                problem = " ".join(str(exc).split()) or type(exc).__name__
            if self.held:
                break
            news = (f"standby: cannot reach the database to take the lock ({problem})" if problem
                    else "standby: another instance holds the lock")
            if news != said:
                log.warning("%s on %s; trying again every %g s", news, self.where,
                            self.retry_seconds)
                said = news
            await asyncio.sleep(self.retry_seconds)
        if self.shared:
            log.info("leader: this instance holds the lock on %s and serves", self.where)

    async def try_acquire(self) -> bool:
        """Take the lock if it is free, without waiting (psycopg.Error: database unreachable)."""
        if self.held:
            return True
        assert self._conninfo is not None
        psycopg = _psycopg()
        try:
            if self._connection is None:
                self._connection = await psycopg.AsyncConnection.connect(self._conninfo,
                                                                         autocommit=True)
                for statement in _SERVER_KEEPALIVES:
                    await self._connection.execute(statement)
            cursor = await self._connection.execute("SELECT pg_try_advisory_lock(%s)",
                                                    (self.key,))
            row = await cursor.fetchone()
        except psycopg.Error:
            await self._close()  # connect afresh next time
            raise
        self.held = bool(row and row[0])
        return self.held

    async def still_held(self) -> bool:
        """True while the lock's session is alive (the lock lasts as long as it does)."""
        if self._conninfo is None:
            return True
        if self._connection is None or not self.held:
            return False
        try:
            await asyncio.wait_for(self._connection.execute("SELECT 1"),
                                   timeout=max(self.retry_seconds, 5))
        except (_psycopg().Error, TimeoutError):
            self.held, self.lost = False, True
            await self._close()
            return False
        return True

    async def release(self) -> None:
        """Let a standby take over at its next try."""
        if self._conninfo is not None and self.held and self._connection is not None:
            # Unlocked before the session ends: the server frees a closed session's locks only
            # as its backend exits, a moment after the client has gone.
            with contextlib.suppress(_psycopg().Error):
                await self._connection.execute("SELECT pg_advisory_unlock(%s)", (self.key,))
        if self._conninfo is not None:
            self.held = False
        await self._close()

    async def _close(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            with contextlib.suppress(_psycopg().Error):
                await connection.close()
