"""Bring a database's schema up to date with Alembic, from inside the bot or its CLI.

Alembic (with Mako and Pygments, ~12 MB that a process keeps for its whole life) is imported
only when a migration runs or the scripts are read: a start that finds the schema at ``HEAD``
knows it from one read of ``alembic_version``.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import inspect
from sqlalchemy.engine import URL, Connection
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from storage.db import make_engine

if TYPE_CHECKING:
    from alembic.config import Config

# Found beside this module, wherever the package is installed: never relative to the CWD.
MIGRATIONS = Path(__file__).resolve().parent / "migrations"
# The newest migration's revision (tests/test_storage_migrations.py holds it to the scripts').
HEAD = "0010"
# PostgreSQL's advisory lock around a migration ("ikamig" in ASCII; the leader's is "ikabot").
MIGRATION_LOCK_KEY = int.from_bytes(b"ikamig", "big")


def alembic_config(connection: Connection | None = None) -> Config:
    """Alembic's configuration for ikabot's migrations, optionally bound to ``connection``."""
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def head_revision() -> str | None:
    """The newest revision the installed migrations know, read from the scripts."""
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def known_revision(revision: str) -> bool:
    """Whether the installed migrations know ``revision`` (a newer ikabot's do not)."""
    from alembic.script import ScriptDirectory
    from alembic.util.exc import CommandError

    try:
        return ScriptDirectory.from_config(alembic_config()).get_revision(revision) is not None
    except CommandError:
        return False


@asynccontextmanager
async def _engine(engine_or_url: AsyncEngine | str | URL) -> AsyncIterator[AsyncEngine]:
    """Use the caller's engine as is, or open (and afterwards close) one for a URL."""
    if isinstance(engine_or_url, AsyncEngine):
        yield engine_or_url
        return
    engine = make_engine(engine_or_url)
    try:
        yield engine
    finally:
        await engine.dispose()


async def run_migration(
    engine_or_url: AsyncEngine | str | URL, migrate: Callable[[Connection], None]
) -> None:
    """Run ``migrate`` on one connection in one transaction, safely for SQLite's batch mode.

    On SQLite, Alembic's batch mode alters a table by copying it and dropping the original;
    with foreign keys enforced, dropping a table that others refer to fails (or would cascade).
    So, as SQLite's own ALTER TABLE procedure says, enforcement is switched off around the
    transaction (it cannot change inside one) and the references are checked before commit.
    """
    async with _engine(engine_or_url) as engine, engine.connect() as connection:
        sqlite = connection.dialect.name == "sqlite"
        if sqlite:
            await _sqlite_foreign_keys(connection, on=False)
        try:
            async with connection.begin():
                if connection.dialect.name == "postgresql":
                    # A leader and its standby may start together: one migrates, the other
                    # waits here, then finds the schema up to date. (SQLite's BEGIN IMMEDIATE
                    # already queues them.)
                    await connection.exec_driver_sql(
                        f"SELECT pg_advisory_xact_lock({MIGRATION_LOCK_KEY})")
                await connection.run_sync(migrate)
                if sqlite:
                    broken = (await connection.exec_driver_sql("PRAGMA foreign_key_check")).all()
                    if broken:
                        raise RuntimeError(f"the migration broke foreign keys: {broken[:5]}")
        finally:
            if sqlite:
                await _sqlite_foreign_keys(connection, on=True)


async def _sqlite_foreign_keys(connection: AsyncConnection, *, on: bool) -> None:
    # Straight to the driver: through SQLAlchemy the PRAGMA would first BEGIN (see db.py).
    raw = await connection.get_raw_connection()
    driver: Any = raw.driver_connection
    await driver.execute(f"PRAGMA foreign_keys = {'ON' if on else 'OFF'}")


async def upgrade(engine_or_url: AsyncEngine | str | URL, revision: str = "head") -> None:
    """Migrate the database up to ``revision`` (the newest by default), in one transaction;
    a database already at ``HEAD`` is left as it is without loading Alembic."""
    async with _engine(engine_or_url) as engine:
        if revision == "head" and await current_revision(engine) == HEAD:
            return
        from alembic import command

        await run_migration(
            engine, lambda connection: command.upgrade(alembic_config(connection), revision))


async def downgrade(engine_or_url: AsyncEngine | str | URL, revision: str) -> None:
    """Migrate the database down to ``revision`` ("base" empties it), in one transaction."""
    from alembic import command

    await run_migration(
        engine_or_url, lambda connection: command.downgrade(alembic_config(connection), revision)
    )


async def current_revision(engine_or_url: AsyncEngine | str | URL) -> str | None:
    """The revision the database is at (the one row Alembic keeps in ``alembic_version``);
    None when it was never migrated."""
    def read(connection: Connection) -> str | None:
        if not inspect(connection).has_table("alembic_version"):
            return None
        return connection.exec_driver_sql("SELECT version_num FROM alembic_version").scalar()

    async with _engine(engine_or_url) as engine, engine.connect() as connection:
        return await connection.run_sync(read)


def upgrade_sync(url: str | URL, revision: str = "head") -> None:
    """``upgrade`` for callers without an event loop (a CLI command, a test's setup)."""
    asyncio.run(upgrade(url, revision))
